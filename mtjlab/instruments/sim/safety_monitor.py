"""A safety monitor inside the virtual lab, independent of the Bench.

The Bench promises to keep the bench file's limits (docs/bench.md, "Safety").
This monitor checks that promise from the lab's side, on the physical truth:
after every change an emulator makes to the lab (a source level, output or
compliance, the lock-in's sine, the coil supply, a relay) it compares what the
instruments now do with ``BenchConfig.limits`` and the wiring. It never asks
the Bench anything, so a bug in the Bench, its adapters or a caller reaching
past them shows up here.

Invariants (``Violation.invariant`` names them):

Levels (checked at every change; a violation is recorded when it starts and
its value grows to the worst seen while it lasts):

- ``read current``: ``|I_read| <= max_read_current_a``, with ``I_read`` the
  current the read source drives (its level if the output is on, else 0).
- ``input current``: on a row's field line ``|I_in| + I_mod,peak <=
  max_input_current_a``, ``I_mod,peak = V_rms sqrt(2) / R_mod``, whenever a
  relay is closed; with every relay open the source is still an output and
  ``|I_in| <= max_input_current_a`` alone.
- ``modulation``: ``V_rms <= max_modulation_v_rms``.
- ``coil current``: ``|I_coil| <= max_coil_current_a`` for the current now and
  the supply's target (set-point if the output is on, else 0). Between
  set-points the coil current moves monotonically (``I(t) = I_target + (I_0 -
  I_target) exp(-t R / L)``), so its extremes are these two ends.
- ``field``: ``|B| <= max_field_oe + FIELD_TOLERANCE_OE`` for ``B = k I +
  B_rem d`` at both ends (``k = coil_oe_per_a``, ``d`` the last driven
  direction).
- ``read compliance``: while the read source's output is on, its voltage
  compliance ``<= max_bias_v`` (the hardware clamp that protects the barrier).
- ``junction voltage``: ``|V_junction| <= max_bias_v`` for every voltage the
  chip answers (noted where the lab evaluates it; no extra chip evaluation).

Rates (:class:`.rate_band.RateBand`): ``read ramp`` (A/s, ``max_source_ramp_a_per_s``)
and ``input ramp`` (A/s, ``max_input_ramp_a_per_s``) on the current each source drives, and
``coil ramp`` (A/s, ``max_field_ramp_oe_per_s / coil_oe_per_a``) on the
supply's target current.

Events: ``relay moved under current`` (a relay closed or opened while the read
source drives a non-zero current, the input source drives a non-zero current,
or the sine is above the lock-in's minimum) and ``coil switched off under
current`` (the supply's output turned off while ``|I_coil| >
COIL_OFF_THRESHOLD_A``).

Every :class:`Violation` carries the lab time (``lab.clock.now_s()``), the
instrument whose change broke the invariant and, when an emulator was
executing one, the command line. Each check is O(1) per change.

Labs register in a module-level registry (weak references) so that a test
fixture can collect what every lab created during a test recorded:
:func:`take_new_violations`.
"""

from __future__ import annotations

import math
import sys
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .rate_band import REL_TOL, RateBand

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .lab import VirtualLab

#: The longest ramp step the Bench takes (s): its input source steps every 0.1 s
#: (1 mA at 0.01 A/s); the read source and the coil step every 0.01 s. A
#: legitimate ramp's step moves at most ``rate * LONGEST_STEP_TIME_S``: the rate
#: allowance is that step plus RAMP_MARGIN. Kept here,
#: not imported from the Bench, so the monitor stays independent of it (a test
#: checks the Bench's step times are within it).
LONGEST_STEP_TIME_S = 0.1
#: The largest single step the Bench's input ramps take (A), whatever their rate: the
#: input line's allowance is this step plus RAMP_MARGIN (a test checks the Bench's).
LARGEST_INPUT_STEP_A = 5e-3
#: Headroom of the allowance over one such step (fraction). The Bench schedules
#: steps at fixed times, so a step lands one wait after the previous one up to
#: float rounding and the difference in bus time of two writes (~1 ms); 25 % of a
#: 0.1 s step (25 ms) absorbs that with room to spare, while two steps at once
#: still fail.
RAMP_MARGIN = 0.25
#: Coil current (A) below which the supply may turn its output off. The Bench
#: waits for the measured current to fall below half a field tolerance (0.5 mA at
#: 100 Oe/A) before it does; 1 mA in a 50 mH coil stores L I^2 / 2 = 25 nJ, a
#: harmless spike, whereas an amp stores 25 mJ.
COIL_OFF_THRESHOLD_A = 1e-3
#: Field over ``max_field_oe`` still accepted (Oe): the closed field loop settles
#: within its tolerance (0.1 Oe) of a reading that carries the probe's noise and
#: resolution (0.01 Oe each), so a target at the limit may end a few tenths of an
#: oersted beyond it. A miscalibrated probe (60 Oe off, half sensitivity) is far
#: beyond this.
FIELD_TOLERANCE_OE = 0.5
#: Lock-in sine minimum (V rms) assumed when the bench file names no known model:
#: the SR830's, the larger of the two supported.
DEFAULT_SINE_MINIMUM_V_RMS = 0.004
SQRT2 = math.sqrt(2.0)

_ROLE_OF_CHANGE = {"read": "read_source", "input": "input_source", "sine": "lockin",
                   "coil": "field_supply", "relays": "switch", "chip": "chip"}


@dataclass
class Violation:
    """One broken invariant: what, by how much, when (lab time, s) and by whom."""

    invariant: str
    value: float
    limit: float
    unit: str
    time_s: float
    instrument: str
    command: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        by = self.instrument + (f" [{self.command}]" if self.command else "")
        detail = f" ({self.detail})" if self.detail else ""
        return (f"{self.invariant}: {self.value:.6g} {self.unit} beyond {self.limit:.6g} {self.unit}"
                f"{detail} at lab time {self.time_s:.6f} s, by {by}")


def _command_in_progress() -> str | None:
    """The emulator command line being executed, if an emulator is executing one.

    Walks the stack only when a violation is recorded (rare), so the check
    itself stays O(1).
    """
    from .scpi import ScpiEmulator

    frame = sys._getframe(2)
    for _ in range(40):
        if frame is None:
            return None
        if frame.f_code.co_name == "write":
            emulator = frame.f_locals.get("self")
            if isinstance(emulator, ScpiEmulator):
                command = frame.f_locals.get("part") or frame.f_locals.get("line")
                return f"{type(emulator).__name__}: {str(command).strip()}"
        frame = frame.f_back
    return None


def sine_minimum_v_rms(bench: Any) -> float:
    """The smallest sine (V rms) the bench file's lock-in model can put out."""
    from ...config.instrument_models import MODELS

    for instrument in getattr(bench, "instruments", ()) or ():
        if getattr(instrument, "role", None) == "lockin":
            model = MODELS.get(getattr(instrument, "model", ""))
            if model is not None and model.sine_min_v_rms is not None:
                return float(model.sine_min_v_rms)
    return DEFAULT_SINE_MINIMUM_V_RMS


class SafetyMonitor:
    """Checks a virtual lab's invariants at every change and records violations.

    The lab calls :meth:`check` after each change of its state and
    :meth:`junction_voltage` for each voltage the chip answers. The monitor
    holds the lab weakly (the lab owns the monitor).
    """

    def __init__(self, lab: "VirtualLab") -> None:
        self._lab = weakref.ref(lab)
        limits, wiring = lab.bench.limits, lab.wiring
        self.max_bias_v = float(limits.max_bias_v)
        self.max_read_current_a = float(limits.max_read_current_a)
        self.max_input_current_a = float(limits.max_input_current_a)
        self.max_modulation_v_rms = float(limits.max_modulation_v_rms)
        self.max_coil_current_a = float(limits.max_coil_current_a)
        self.max_field_oe = float(limits.max_field_oe)
        self.modulation_resistor_ohm = float(wiring.modulation_resistor_ohm)
        self.sine_minimum_v_rms = sine_minimum_v_rms(lab.bench)
        source_rate = float(limits.max_source_ramp_a_per_s)
        coil_rate = float(limits.max_field_ramp_oe_per_s) / float(wiring.coil_oe_per_a)
        step_s = LONGEST_STEP_TIME_S * (1.0 + RAMP_MARGIN)
        now_s = lab.clock.now_s()
        self.read_ramp = RateBand(source_rate, source_rate * step_s, lab.read.driving_a, now_s)
        input_rate = float(limits.max_input_ramp_a_per_s)
        self.input_ramp = RateBand(input_rate, LARGEST_INPUT_STEP_A * (1.0 + RAMP_MARGIN), lab.input.driving_a,
                                   now_s)
        self.coil_ramp = RateBand(coil_rate, coil_rate * step_s, self._coil_target_a(lab), now_s)
        #: Every violation so far, in the order recorded.
        self.violations: list[Violation] = []
        self._active: dict[str, Violation] = {}  # level invariants broken right now
        self._closed = frozenset(lab.closed)
        self._seen = self._state(lab)
        _register(lab, self.violations)

    # ---------------------------------------------------------------- hooks
    @staticmethod
    def _coil_target_a(lab: "VirtualLab") -> float:
        return lab.coil.setpoint_a if lab.coil.output_on else 0.0

    @staticmethod
    def _state(lab: "VirtualLab") -> tuple:
        r, i, c = lab.read, lab.input, lab.coil
        return (r.level_a, r.output_on, r.compliance_v, i.level_a, i.output_on, lab.lockin.sine_v_rms,
                c.setpoint_a, c.output_on)

    def check(self) -> None:
        """Compare the lab's present state with the last one seen; check what changed."""
        lab = self._lab()
        if lab is None:
            return
        state = self._state(lab)
        relays_moved = lab.closed != self._closed
        if state == self._seen and not relays_moved:
            return
        before, self._seen = self._seen, state
        now_s = lab.clock.now_s()
        if state[:3] != before[:3]:
            self._ramp("read ramp", self.read_ramp, lab.read.driving_a, now_s, "read")
        if state[3:5] != before[3:5]:
            self._ramp("input ramp", self.input_ramp, lab.input.driving_a, now_s, "input")
        if state[6:8] != before[6:8]:
            self._coil_changed(lab, before[7], now_s)
        if relays_moved:
            self._relays_moved(lab, now_s)
        changed = ("read" if state[:3] != before[:3] else "input" if state[3:5] != before[3:5]
                   else "sine" if state[5] != before[5] else "coil" if state[6:8] != before[6:8] else "relays")
        self._levels(lab, now_s, changed)

    def junction_voltage(self, voltage_v: float, time_s: float, device_id: str) -> None:
        """A junction voltage the chip answered (V, at lab time ``time_s``)."""
        self._level("junction voltage", abs(voltage_v), self.max_bias_v, "V", time_s, "read_source",
                    f"device {device_id}")

    # --------------------------------------------------------------- checks
    def _record(self, invariant: str, value: float, limit: float, unit: str, time_s: float, changed: str,
                detail: str = "") -> Violation:
        violation = Violation(invariant, float(value), float(limit), unit, float(time_s),
                              _ROLE_OF_CHANGE.get(changed, changed), _command_in_progress(), detail)
        self.violations.append(violation)
        return violation

    def _level(self, invariant: str, value: float, limit: float, unit: str, time_s: float, changed: str,
               detail: str = "") -> None:
        """A level invariant: recorded when it starts to fail, its value raised to the worst while it lasts."""
        if value <= limit * (1.0 + REL_TOL):
            self._active.pop(invariant, None)
            return
        active = self._active.get(invariant)
        if active is None:
            self._active[invariant] = self._record(invariant, value, limit, unit, time_s, changed, detail)
        elif value > active.value:
            active.value = value

    def _levels(self, lab: "VirtualLab", now_s: float, changed: str) -> None:
        read_a, input_a = abs(lab.read.driving_a), abs(lab.input.driving_a)
        sine_v = lab.lockin.sine_v_rms
        self._level("read current", read_a, self.max_read_current_a, "A", now_s, changed)
        if lab.closed:  # the input source and the sine share the routed row's field line
            peak_a = sine_v * SQRT2 / self.modulation_resistor_ohm
            self._level("input current", input_a + peak_a, self.max_input_current_a, "A", now_s, changed,
                        f"DC {input_a:.6g} A + sine peak {peak_a:.6g} A")
        else:
            self._level("input current", input_a, self.max_input_current_a, "A", now_s, changed, "nothing routed")
        self._level("modulation", sine_v, self.max_modulation_v_rms, "V rms", now_s, changed)
        target_a = self._coil_target_a(lab)
        present_a = lab.coil_current_a()
        self._level("coil current", max(abs(target_a), abs(present_a)), self.max_coil_current_a, "A", now_s,
                    changed, f"now {present_a:.6g} A, heading to {target_a:.6g} A")
        field_oe = max(abs(lab.field_for_current(target_a)), abs(lab.field_for_current(present_a)))
        self._level("field", field_oe, self.max_field_oe + FIELD_TOLERANCE_OE, "Oe", now_s, changed,
                    f"max_field_oe {self.max_field_oe:g} Oe + tolerance {FIELD_TOLERANCE_OE:g} Oe")
        compliance_v = abs(lab.read.compliance_v) if lab.read.output_on else 0.0
        self._level("read compliance", compliance_v, self.max_bias_v, "V", now_s, changed, "read output on")

    def _ramp(self, invariant: str, band: RateBand, value: float, now_s: float, changed: str) -> None:
        before = band.value
        excess = band.move(value, now_s)
        if excess is not None:
            self._record(invariant, excess, band.allowance, "A", now_s, changed,
                         f"moved beyond {band.rate_per_s:g} A/s times the time elapsed; "
                         f"this change {before:.6g} -> {value:.6g} A")

    def _coil_changed(self, lab: "VirtualLab", was_on: bool, now_s: float) -> None:
        present_a = lab.coil.start_a  # the current when the supply changed (set_coil notes it)
        if was_on and not lab.coil.output_on and abs(present_a) > COIL_OFF_THRESHOLD_A:
            self._record("coil switched off under current", abs(present_a), COIL_OFF_THRESHOLD_A, "A", now_s,
                         "coil", f"set-point was {self.coil_ramp.value:.6g} A")
        self._ramp("coil ramp", self.coil_ramp, self._coil_target_a(lab), now_s, "coil")

    def _relays_moved(self, lab: "VirtualLab", now_s: float) -> None:
        closed = frozenset(lab.closed)
        moved = sorted(closed ^ self._closed)
        self._closed = closed
        detail = "relays " + ", ".join(f"r{row}c{col}" for row, col in moved)
        for line, value, limit, unit in (("read current", abs(lab.read.driving_a), 0.0, "A"),
                                         ("input current", abs(lab.input.driving_a), 0.0, "A"),
                                         ("sine", lab.lockin.sine_v_rms, self.sine_minimum_v_rms, "V rms")):
            if value > limit * (1.0 + REL_TOL):
                self._record("relay moved under current", value, limit, unit, now_s, "relays",
                             f"{line} on; {detail}")

    # ---------------------------------------------------------------- tests
    def assert_clean(self) -> None:
        """Raise AssertionError listing every violation, if there is any."""
        if self.violations:
            raise AssertionError(f"{len(self.violations)} safety violation(s) in the virtual lab:\n"
                                 + "\n".join(f"  {v}" for v in self.violations))


# ------------------------------------------------------------------ registry
@dataclass
class _Entry:
    lab: "weakref.ref[Any]"
    violations: list[Violation]
    reported: int = 0


#: Every lab created in this process that has not been collected and reported.
_REGISTRY: list[_Entry] = []


def _register(lab: "VirtualLab", violations: list[Violation]) -> None:
    # The entry keeps the violation list itself, so what a lab recorded survives the lab.
    _REGISTRY.append(_Entry(weakref.ref(lab), violations))


def registered_labs() -> list["VirtualLab"]:
    """The labs created so far that are still alive."""
    return [lab for lab in (entry.lab() for entry in _REGISTRY) if lab is not None]


def take_new_violations() -> list[Violation]:
    """Violations recorded by any lab since the last call, oldest lab first.

    Labs that no longer exist are forgotten once their violations are taken.
    """
    new: list[Violation] = []
    for entry in _REGISTRY:
        new.extend(entry.violations[entry.reported:])
        entry.reported = len(entry.violations)
    _REGISTRY[:] = [entry for entry in _REGISTRY if entry.lab() is not None]
    return new


def assert_no_violations(lab: "VirtualLab") -> None:
    """Raise AssertionError listing every violation ``lab`` recorded, if any."""
    lab.monitor.assert_clean()


__all__ = ["COIL_OFF_THRESHOLD_A", "FIELD_TOLERANCE_OE", "LARGEST_INPUT_STEP_A", "LONGEST_STEP_TIME_S", "RAMP_MARGIN", "RateBand",
           "SafetyMonitor", "Violation", "assert_no_violations", "registered_labs", "take_new_violations"]
