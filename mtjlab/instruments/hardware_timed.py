"""Hardware-timed acquisition: a device's sorted batch of inputs as one source list, no bus exchange per point.

The instruments time the points themselves (docs/bench.md, "Acquisition"):

- the **input source** (Keithley 2400) runs a source list: per point it sets
  the next level, waits its source delay (the lock-in's settling), and pulses
  Trigger Link line :data:`TRIGGER_LINE`;
- the **read source** (Keithley 2400), armed to wait for that line, takes one
  reading into its data store at each pulse, and when the reading is done
  pulses line :data:`DONE_LINE`;
- the **lock-in** (SR830), with its TRIG IN on line :data:`TRIGGER_LINE`,
  stores X and Y at each pulse (within :data:`LOCKIN_SAMPLE_LATENCY_S`);
- the input source waits for the read source's pulse before its next level
  (a handshake; its first point bypasses that wait, ``:TRIGger:DIRection
  SOURce``). Without it the input would step while the read source still
  integrates, and the lock-in might sample after the step: each instrument
  runs on its own (2400 manual, Appendix A, "Source-delay-measure cycle").
  Its trigger delay keeps every point at least :data:`LOCKIN_SAMPLE_LATENCY_S`
  after the lock-in's trigger and within the lock-in's 512 Hz trigger rate.

Auto-zero is off during lists (one reference and zero conversion, ``:SYST:AZER
ONCE``, at each list instead of two per reading: Appendix A, Cases I and III);
stepped operation turns it on again.

After the list the readings come back in one transfer per instrument. Where
an instrument cannot do its part (a 2450, whose list needs its trigger-model
blocks; an SR860), :func:`acquisition_mode` says so and the Bench measures
point by point (stepped), as before.

Safety: the list is built by :func:`list_path` so that no step of the input
current is larger than one of the Bench's ramp steps (INPUT_RAMP_STEP_A), and
none comes sooner than the input line's rate allows: intermediate points are
inserted where the batch is sparse, and a tail walks back towards the first
level, to which the 2400 returns after the list (the bias level; 2400 manual,
section 10, "Sweep operation"). Those points are measured and dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import InstrumentError
from .adapters.source_meter import STATUS_COMPLIANCE_BIT

#: The Trigger Link line of each step (input source out; read source and the lock-in's TRIG IN in).
TRIGGER_LINE = 1
#: The line of each finished reading (read source out, input source in): the handshake.
DONE_LINE = 2
#: The SR830 records a triggered sample "within 2 ms of a rising edge" and ignores triggers faster
#: than 512 Hz (SR830 manual, chapter 5, "Data storage"): the next step waits at least this long.
LOCKIN_SAMPLE_LATENCY_S = 2e-3
#: Models that can run each part.
LIST_SOURCES = ("Keithley2400",)
TRIGGERED_READERS = ("Keithley2400",)
BUFFERED_LOCKINS = ("SR830",)
#: The input source's own reading during a list is not used: its shortest integration (NPLC).
INPUT_SOURCE_NPLC = 0.01
#: What a 2400 reading takes beyond its integration with auto-zero off, at least: one A/D conversion's
#: 185 us and the firmware's 640 us when sourcing current (2400 manual, Appendix A, Case III).
READ_ACTION_OVERHEAD_S = 185e-6 + 640e-6
#: Elements of a 2400 reading in its data store (voltage, current, resistance, time, status).
READING_ELEMENTS = 5
#: How often the bench looks whether a list is done, after its predicted duration (s).
POLL_INTERVAL_S = 0.01


@dataclass(frozen=True)
class AcquisitionMode:
    """Which mode the bench measures in, and why."""

    mode: str  # "hardware-timed" or "stepped"
    reason: str

    @property
    def hardware_timed(self) -> bool:
        return self.mode == "hardware-timed"


@dataclass
class ListReading:
    """What one list gave, per wanted point: DC voltage (V), X and Y (V rms, NaN without the lock-in),
    compliance; ``measured`` counts the wanted points that were measured (all, unless cut short)."""

    voltage_v: np.ndarray
    x_v_rms: np.ndarray
    y_v_rms: np.ndarray
    in_compliance: np.ndarray
    measured: int


class ListInterrupted(InstrumentError):
    """A list stopped part way; ``partial`` holds the points measured before the fault."""

    def __init__(self, message: str, partial: ListReading) -> None:
        super().__init__(message)
        self.partial = partial


def acquisition_mode(models: dict[str, str], setting: str, lockin: bool = True) -> AcquisitionMode:
    """The mode for instruments ``models`` (role -> model) and ``measurement.acquisition`` = ``setting``."""
    if setting == "stepped":
        return AcquisitionMode("stepped", "measurement.acquisition is 'stepped' in the bench file")
    needs = [("input_source", LIST_SOURCES, "a source list"),
             ("read_source", TRIGGERED_READERS, "readings triggered from the Trigger Link into its buffer")]
    if lockin:
        needs.append(("lockin", BUFFERED_LOCKINS, "a buffer filled one point per trigger"))
    for role, able, what in needs:
        if models.get(role) not in able:
            return AcquisitionMode("stepped", f"the {role} ({models.get(role)}) is not driven with {what} "
                                              f"here (supported: {', '.join(able)})")
    return AcquisitionMode("hardware-timed", "source list on the input source, readings and lock-in samples "
                                             f"triggered on Trigger Link line {TRIGGER_LINE}; each next step waits for "
                                             f"the reading's end on line {DONE_LINE}")


def step_gap_s(integration_s: float) -> float:
    """The input source's trigger delay after each finished reading (s), so that its next step comes at
    least :data:`LOCKIN_SAMPLE_LATENCY_S` after the lock-in's trigger (which came before the reading)."""
    return max(0.0, LOCKIN_SAMPLE_LATENCY_S - (integration_s + READ_ACTION_OVERHEAD_S))


def list_path(levels: Sequence[float], largest_step_a: float) -> tuple[np.ndarray, np.ndarray]:
    """The levels the list visits and the indices of the wanted ones.

    Between wanted levels, and from the last back to the first, steps are at
    most ``largest_step_a``; the list ends at the first level, the level the
    instrument returns to after it.
    """
    wanted = [float(v) for v in levels]
    path: list[float] = [wanted[0]]
    index = [0]
    for level in wanted[1:]:
        path.extend(_between(path[-1], level, largest_step_a))
        path.append(level)
        index.append(len(path) - 1)
    path.extend(_between(path[-1], wanted[0], largest_step_a))  # the tail: at most one step from the first
    # The last point is the first level again, measured and dropped: the instrument's return to that
    # (bias) level after the list is then no step at all, so it cannot land in the read source's last
    # reading, which is still integrating when the input source finishes (no handshake after the last).
    path.append(path[0])
    return np.array(path), np.array(index)


def _between(start: float, stop: float, largest_step_a: float) -> list[float]:
    pieces = math.ceil(abs(stop - start) / largest_step_a - 1e-9)
    return [start + (stop - start) * k / pieces for k in range(1, pieces)] if pieces > 1 else []


def configure(input_driver: Any, read_driver: Any, lockin_driver: Any | None) -> None:
    """Set up the trigger model for lists (once; :func:`unconfigure` undoes it): the read source waits
    for Trigger Link pulses into its buffer, the input source pulses after each source delay, the
    lock-in stores X and Y at each pulse."""
    read_driver.arm_source = "immediate"
    read_driver.arm_count = 1
    read_driver.trigger_source = "trigger_link"
    read_driver.trigger_input_line = TRIGGER_LINE
    read_driver.trigger_input_event = "source"
    read_driver.trigger_delay = 0
    read_driver.source_delay_auto_enabled = False
    read_driver.source_delay = 0  # its source action changes nothing: the reading follows the pulse at once
    read_driver.trigger_output_line = DONE_LINE
    read_driver.trigger_output_event = "sense"
    read_driver.auto_zero_enabled = False
    input_driver.current_nplc = INPUT_SOURCE_NPLC
    input_driver.auto_zero_enabled = False
    input_driver.source_delay_auto_enabled = False
    input_driver.arm_source = "immediate"
    input_driver.arm_count = 1
    input_driver.trigger_source = "trigger_link"
    input_driver.trigger_input_line = DONE_LINE
    input_driver.trigger_input_event = "source"
    input_driver.trigger_direction = "source"  # the first point does not wait for a reading before it
    input_driver.trigger_output_line = TRIGGER_LINE
    input_driver.trigger_output_event = "delay"
    if lockin_driver is not None:
        lockin_driver.store_on_each_trigger()


def unconfigure(input_driver: Any, read_driver: Any, lockin_driver: Any | None) -> None:
    """Back to stepped operation: single immediate readings, a fixed input level, no output triggers."""
    interrupt: BaseException | None = None
    for action in (
        lambda: input_driver.reset_trigger(),
        lambda: setattr(input_driver, "source_current_mode", "fixed"),
        lambda: input_driver.disable_output_triggers(),
        lambda: setattr(input_driver, "trigger_direction", "acceptor"),
        lambda: setattr(input_driver, "trigger_delay", 0),
        lambda: input_driver.trigger_immediately(),
        lambda: setattr(input_driver, "trigger_count", 1),
        lambda: setattr(input_driver, "auto_zero_enabled", True),
        lambda: read_driver.reset_trigger(),
        lambda: read_driver.disable_output_triggers(),
        lambda: read_driver.trigger_immediately(),
        lambda: setattr(read_driver, "trigger_count", 1),
        lambda: read_driver.disable_buffer(),
        lambda: setattr(read_driver, "auto_zero_enabled", True),
        lambda: lockin_driver.stop_storage() if lockin_driver is not None else None,
    ):
        try:
            action()
        except (KeyboardInterrupt, SystemExit) as exc:  # every step still runs; then it is raised
            interrupt = interrupt or exc
        except Exception:  # noqa: BLE001 - best effort; the Bench reads the state back after an unfinished operation
            pass
    if interrupt is not None:
        raise interrupt


def run_list(input_driver: Any, read_driver: Any, lockin_driver: Any | None, clock: Any, path: np.ndarray,
             wanted: np.ndarray, delay_s: float, predicted_s: float, gap_s: float = 0.0,
             sent: dict[str, Any] | None = None) -> ListReading:
    """Run one list on instruments :func:`configure` has set up: arm, run, read both buffers back.

    ``delay_s``: the input source's delay after each step (the lock-in's
    settling); ``gap_s``: its trigger delay after each finished reading, before
    the next step. ``sent``: the settings already sent since :func:`configure`
    (kept by the caller; a setting is sent only when it changes). On a fault
    the points already stored are read and raised with :class:`ListInterrupted`
    (the caller then unconfigures, whatever happened).
    """
    n = len(path)
    sent = {} if sent is None else sent

    def setting(driver: Any, name: str, value: Any) -> None:
        key = f"{id(driver)}.{name}"
        if sent.get(key) != value:
            setattr(driver, name, value)
            sent[key] = value

    try:
        read_driver.reset_buffer()
        setting(read_driver, "buffer_points", n)
        setting(read_driver, "trigger_count", n)
        read_driver.auto_zero_once()  # one reference and zero conversion for the whole list
        read_driver.start_buffer()  # :INIT: armed, waiting for the first pulse
        if lockin_driver is not None:
            lockin_driver.reset_buffer()
            lockin_driver.start_storage()
        input_driver.set_current_list(path)
        setting(input_driver, "trigger_count", n)
        setting(input_driver, "source_delay", delay_s)
        setting(input_driver, "trigger_delay", gap_s)
        # LIST stays on between lists: between them the programmed (bias) level is sourced, and the
        # Bench's ramps move it (2400 manual, section 10, Figures 10-1/10-2); unconfigure sets FIXed
        setting(input_driver, "source_current_mode", "list")
        input_driver.clear_trigger()  # no stale "done" pulse may release the second point (2400 manual)
        started_s = clock.now_s()
        input_driver.start_buffer()  # :INIT: the list runs
        # Real instruments run the list after :INIT returns: wait its predicted length (less what the
        # exchange itself took: an emulator runs the whole list inside it).
        clock.sleep(max(0.0, predicted_s - (clock.now_s() - started_s)))
        _wait_until_stored(read_driver, clock, n, predicted_s)
        return _collect(read_driver, lockin_driver, wanted, n)
    except BaseException as exc:
        partial = _partial(read_driver, lockin_driver, wanted)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)) or partial is None:
            raise
        raise ListInterrupted(f"list stopped after {partial.measured} of {len(wanted)} points: {exc}",
                              partial) from exc


def _wait_until_stored(read_driver: Any, clock: Any, n: int, predicted_s: float) -> None:
    waited = 0.0
    while read_driver.buffer_points_stored < n:
        if waited > max(1.0, predicted_s):
            raise InstrumentError(f"read_source: {read_driver.buffer_points_stored} of {n} list readings after "
                                  f"{predicted_s + waited:.3g} s")
        clock.sleep(POLL_INTERVAL_S)
        waited += POLL_INTERVAL_S


def _collect(read_driver: Any, lockin_driver: Any | None, wanted: np.ndarray, n: int) -> ListReading:
    readings = np.asarray(read_driver.buffer_data, float)
    if readings.size != n * READING_ELEMENTS:
        raise InstrumentError(f"read_source: {readings.size} values in its buffer, expected {n * READING_ELEMENTS}")
    readings = readings.reshape(n, READING_ELEMENTS)
    x = y = np.full(n, np.nan)
    if lockin_driver is not None:
        stored = int(lockin_driver.buffer_count)
        if stored != n:
            raise InstrumentError(f"lockin: {stored} points in its buffer after a list of {n}")
        x = np.asarray(lockin_driver.stored(1, 0, n), float)
        y = np.asarray(lockin_driver.stored(2, 0, n), float)
    status = readings[:, 4].astype(np.int64)
    return ListReading(readings[wanted, 0], x[wanted], y[wanted], (status[wanted] >> STATUS_COMPLIANCE_BIT & 1) == 1,
                       len(wanted))


def _partial(read_driver: Any, lockin_driver: Any | None, wanted: np.ndarray) -> ListReading | None:
    """The wanted points stored before a fault (None when even that cannot be read)."""
    try:
        stored = int(read_driver.buffer_points_stored)
        done = wanted[wanted < stored]
        readings = np.asarray(read_driver.buffer_data, float).reshape(-1, READING_ELEMENTS) if stored else \
            np.empty((0, READING_ELEMENTS))
        x = y = np.full(stored, np.nan)
        if lockin_driver is not None and stored:
            count = min(int(lockin_driver.buffer_count), stored)
            x[:count] = np.asarray(lockin_driver.stored(1, 0, count), float)
            y[:count] = np.asarray(lockin_driver.stored(2, 0, count), float)
    except Exception:  # noqa: BLE001 - the instruments may be what failed
        return None
    nan = np.full(len(wanted), np.nan)
    voltage, xs, ys, compliance = nan.copy(), nan.copy(), nan.copy(), np.zeros(len(wanted), bool)
    k = len(done)
    voltage[:k], xs[:k], ys[:k] = readings[done, 0], x[done], y[done]
    compliance[:k] = (readings[done, 4].astype(np.int64) >> STATUS_COMPLIANCE_BIT & 1) == 1
    return ListReading(voltage, xs, ys, compliance, k)


