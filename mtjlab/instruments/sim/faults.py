"""Faults injected on purpose into the simulated bench, for tests and drills.

``Faults.attach(lab)`` gives a lab a schedule of faults; the emulator adapters
(:class:`~.scpi.EmulatorAdapter`) consult it on every write and read, and the
source-meter emulators on every reading. Each fault is triggered after a number
of further commands written to one role's instrument (``after``):

- ``timeout``: the next replies never arrive; the read raises exactly what
  pyvisa raises (``VisaIOError`` with ``error_timeout``) after the adapter's
  timeout has passed on the lab clock, and the lost reply is gone.
- ``garble``: the next replies arrive corrupted by bytes no instrument sends.
- ``drop_connection``: every connection open at that moment dies
  (``VisaIOError`` with ``error_connection_lost`` on each write and read); the
  instrument keeps its state, outputs and all, as real hardware does. A new
  connection (a reconnect) works: a cable glitch, not a dead instrument.
- ``compliance_trip``: a source-meter's readings report compliance from then on.
- ``kill_device`` / ``drift``: a junction dies (open or short) or one of its
  parameters drifts linearly in lab time, in steps of ``step_s`` (each change
  of parameters costs the chip a new response table).
- ``at_operation``: at the k-th bus operation of the whole lab (every write,
  read and device clear, whatever the role, counted from 1), something
  happens there and then: a Ctrl-C (``KeyboardInterrupt``) or a SIGTERM
  (what the Bench's handler raises) before or after the operation reached
  the instrument, a timeout, a garbled reply (the next read), or a dropped
  connection. This is how tests interrupt a workload at every point of it.

Lying instruments live on the emulators themselves (a gaussmeter zeroed in a
field, at the wrong sensitivity or reversed: ``LakeShore425Emulator.probe_offset_oe``
and ``probe_gain``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from pyvisa import constants
from pyvisa.errors import VisaIOError

from ..bench_state import Terminated
from .parameters import OPEN, SHORT

#: What ``at_operation`` can do at the k-th bus operation.
OPERATION_FAULTS = ("interrupt_before", "interrupt_after", "sigterm_before", "sigterm_after",
                    "timeout", "garble", "drop")


@dataclass
class _Scheduled:
    kind: str
    role: str | None
    due: int  # commands written to ``role`` (any role if None) before it starts
    count: int = 1
    payload: Any = None


@dataclass
class _Drift:
    device_id: str
    parameter: str
    per_s: float
    step_s: float
    start_value: float
    start_s: float
    applied_steps: int = 0


class Faults:
    """The fault schedule of one virtual lab."""

    def __init__(self, lab: Any, seed: int = 0) -> None:
        self.lab = lab
        self.rng = np.random.default_rng(seed)
        self.writes: dict[str, int] = {}
        self.total_writes = 0
        self._scheduled: list[_Scheduled] = []
        self._tripped: set[str] = set()
        self._dropped_before: dict[str, int] = {}  # role -> adapters numbered below this are dead
        self._serials = itertools.count(1)
        self._drifts: list[_Drift] = []
        #: Bus operations (writes, reads, device clears) so far, all roles.
        self.operations = 0
        self._at_operation: dict[int, str] = {}
        self._garble_next_read = False
        self._last_reply: dict[str, str] = {}

    @classmethod
    def attach(cls, lab: Any, seed: int = 0) -> "Faults":
        """Give ``lab`` a fault schedule (adapters made afterwards consult it)."""
        lab.faults = cls(lab, seed)
        return lab.faults

    # --------------------------------------------------------------- schedule
    def _at(self, role: str | None, after: int) -> int:
        return (self.writes.get(role, 0) if role is not None else self.total_writes) + int(after)

    def timeout(self, role: str, *, after: int = 0, count: int = 1) -> None:
        self._scheduled.append(_Scheduled("timeout", role, self._at(role, after), count))

    def stale(self, role: str, *, after: int = 0, count: int = 1) -> None:
        """The next replies are the previous one again (the fresh reply stays pending, as after
        a query whose reply was never read)."""
        self._scheduled.append(_Scheduled("stale", role, self._at(role, after), count))

    def garble(self, role: str, *, after: int = 0, count: int = 1) -> None:
        self._scheduled.append(_Scheduled("garble", role, self._at(role, after), count))

    def drop_connection(self, role: str, *, after: int = 0) -> None:
        self._scheduled.append(_Scheduled("drop", role, self._at(role, after)))

    def at_operation(self, k: int, kind: str) -> None:
        """At the k-th bus operation from now (1: the next one), ``kind`` (see OPERATION_FAULTS)."""
        if kind not in OPERATION_FAULTS:
            raise ValueError(f"unknown operation fault {kind!r}; one of {', '.join(OPERATION_FAULTS)}")
        if k < 1:
            raise ValueError(f"operations are counted from 1, not {k!r}")
        self._at_operation[self.operations + int(k)] = kind

    def _operation(self, adapter: Any, kind_of_operation: str) -> str | None:
        """Count one bus operation; what must happen at it, if anything (raised here if it comes first)."""
        self.operations += 1
        kind = self._at_operation.pop(self.operations, None)
        if kind is None:
            return None
        if kind == "interrupt_before":
            raise KeyboardInterrupt
        if kind == "sigterm_before":
            raise Terminated()
        if kind == "drop":
            self._dropped_before[adapter.role] = next(self._serials)
            raise VisaIOError(constants.StatusCode.error_connection_lost)
        if kind == "timeout" and kind_of_operation != "read":
            self.lab.clock.sleep(getattr(adapter, "timeout", 5000.0) / 1000.0)
            raise VisaIOError(constants.StatusCode.error_timeout)  # the command never arrived
        if kind == "garble" and kind_of_operation != "read":
            self._garble_next_read = True
            return None
        return kind

    @staticmethod
    def _after(kind: str | None) -> None:
        """What happens once the operation has reached the instrument."""
        if kind == "interrupt_after":
            raise KeyboardInterrupt
        if kind == "sigterm_after":
            raise Terminated()

    def restore_connection(self, role: str) -> None:
        self._dropped_before.pop(role, None)

    def compliance_trip(self, role: str, *, after: int = 0) -> None:
        self._scheduled.append(_Scheduled("trip", role, self._at(role, after)))

    def kill_device(self, device_id: str, kind: str = "open", *, after: int = 0, role: str | None = None) -> None:
        if kind not in ("open", "short"):
            raise ValueError(f"a junction dies open or short, not {kind!r}")
        self.lab.chip.devices.index_of([device_id])  # KeyError now, not mid-run
        self._scheduled.append(_Scheduled("kill", role, self._at(role, after), payload=(device_id, kind)))

    def drift(self, device_id: str, parameter: str, per_s: float, *, step_s: float = 1.0) -> None:
        index = self.lab.chip.devices.index_of([device_id])[0]
        start = float(getattr(self.lab.chip.devices, parameter)[index])
        self._drifts.append(_Drift(device_id, parameter, float(per_s), float(step_s), start, self.lab.clock.now_s()))

    # ------------------------------------------------------------------ hooks
    def _serial(self, adapter: Any) -> int:
        if getattr(adapter, "_fault_serial", None) is None:
            adapter._fault_serial = next(self._serials)
        return adapter._fault_serial

    def _due(self, kind: str, role: str) -> _Scheduled | None:
        for fault in self._scheduled:
            if fault.kind == kind and fault.role == role and self.writes.get(role, 0) >= fault.due:
                return fault
        return None

    def _consume(self, fault: _Scheduled) -> None:
        fault.count -= 1
        if fault.count <= 0:
            self._scheduled.remove(fault)

    def _check_connection(self, adapter: Any, role: str) -> None:
        if self._serial(adapter) < self._dropped_before.get(role, 0):
            raise VisaIOError(constants.StatusCode.error_connection_lost)

    def on_write(self, adapter: Any, command: str) -> str | None:
        """Before ``command`` reaches ``adapter``'s instrument (may raise); what must happen after it."""
        role = adapter.role
        self._check_connection(adapter, role)
        pending = self._operation(adapter, "write")
        self.writes[role] = self.writes.get(role, 0) + 1
        self.total_writes += 1
        for fault in [f for f in self._scheduled if f.kind in ("drop", "trip", "kill")]:
            reached = self.writes.get(fault.role, 0) if fault.role is not None else self.total_writes
            if reached <= fault.due:
                continue
            self._scheduled.remove(fault)
            if fault.kind == "drop":
                self._dropped_before[fault.role] = next(self._serials)
                raise VisaIOError(constants.StatusCode.error_connection_lost)
            if fault.kind == "trip":
                self._tripped.add(fault.role)
            else:
                device_id, kind = fault.payload
                self.lab.set_device_parameters(device_id, dead_kind=OPEN if kind == "open" else SHORT)
        self._apply_drifts()
        return pending

    def after_write(self, pending: str | None) -> None:
        """Once the command has reached the instrument."""
        self._after(pending)

    def on_clear(self, adapter: Any) -> None:
        """Before a device clear reaches ``adapter``'s instrument (may raise)."""
        self._check_connection(adapter, adapter.role)
        self._after(self._operation(adapter, "clear"))

    def on_read(self, adapter: Any, read: Callable[[], str]) -> str:
        """A reply from ``adapter``'s instrument, as the faults let it arrive."""
        role = adapter.role
        self._check_connection(adapter, role)
        pending = self._operation(adapter, "read")
        timeout = self._due("timeout", role)
        if timeout is not None or pending == "timeout":
            if timeout is not None:
                self._consume(timeout)
            try:
                read()  # the reply is lost on the way
            except Exception:  # noqa: BLE001 - nothing was pending: still a timeout
                pass
            self.lab.clock.sleep(getattr(adapter, "timeout", 5000.0) / 1000.0)
            raise VisaIOError(constants.StatusCode.error_timeout)
        reply = read()
        stale = self._due("stale", role)
        if stale is not None and role in self._last_reply:
            self._consume(stale)
            adapter.emulator.replies.appendleft(reply)
            reply = self._last_reply[role]
        self._last_reply[role] = reply
        garble = self._due("garble", role)
        if garble is not None or pending == "garble" or self._garble_next_read:
            if garble is not None:
                self._consume(garble)
            self._garble_next_read = False
            cut = int(self.rng.integers(0, max(len(reply), 1)))
            reply = reply[:cut] + "\x00\xfe" + reply[cut + 1:]
        self._after(pending)  # a Ctrl-C once the reply has arrived: it is lost to the caller
        return reply

    def forced_compliance(self, role: str) -> bool:
        """Whether ``role``'s source-meter readings are forced into compliance."""
        return role in self._tripped

    def _apply_drifts(self) -> None:
        now_s = self.lab.clock.now_s()
        for drift in self._drifts:
            steps = int((now_s - drift.start_s) // drift.step_s)
            if steps > drift.applied_steps:
                drift.applied_steps = steps
                value = drift.start_value + drift.per_s * steps * drift.step_s
                self.lab.set_device_parameters(drift.device_id, **{drift.parameter: value})
