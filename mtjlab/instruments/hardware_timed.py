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

What a list costs (:class:`ListCosts`): its bus transactions, one auto-zero,
the instruments' own cycle per point (:func:`list_run_s`, Appendix A) and the
transfer of the stored readings. The physics model of a bench charges its lab
time with it (:class:`~.model_array.ModelNeuronArray`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import InstrumentError
from .adapters.source_meter import STATUS_COMPLIANCE_BIT
from .list_paths import list_points
from .timing import A_D_CONVERSION_OVERHEAD_S

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

# ----------------------------------------------------------------- what a list costs
#: The 2400's trigger latency from an immediate trigger (2400 manual, section 6, Figure 6-1: 100 us) and
#: from a Trigger Link input (Appendix A, Cases I-IV: 225 us), and its source configuration per source
#: action (Appendix A: 50 us), s.
TRIGGER_LATENCY_S = 100e-6
TRIGGER_LINK_LATENCY_S = 225e-6
SOURCE_CONFIGURATION_S = 50e-6
#: :func:`run_list`'s auto-zero once: two A/D conversions (reference and zero) before the list (Appendix A).
AUTO_ZERO_CONVERSIONS = 2
#: Bus transactions (a write, or the read of a reply) of every list: before it the read source's buffer reset,
#: auto-zero once and :INIT, the list, :TRIGger:CLEar and the input source's :INIT (6); after it the query of
#: the readings stored, the data format and the buffer's transfer (5). With the lock-in: its buffer reset and
#: start (2), then its points stored, X and Y (SPTS?, two TRCA?) and its status byte for overloads (8).
LIST_TRANSACTIONS = {False: 6 + 5, True: 6 + 2 + 5 + 8}
#: A list of another length than the last sets the read source's buffer size (1) and both sources' trigger
#: counts (3 each: pymeasure reads the arm count back first).
LENGTH_TRANSACTIONS = 7
#: :func:`configure`: 13 writes and queries to each source (the arm counts read back), and 6 to a lock-in that
#: stores its points (:data:`BUFFERED_LOCKINS`), by whether it does; the first list after it also sends the
#: input source's delays and source mode (3), each one when it changes.
CONFIGURE_TRANSACTIONS = {False: 26, True: 32}
#: :func:`unconfigure`: 12 to the input source, 10 to the read source, and a buffered lock-in's pause (1).
UNCONFIGURE_TRANSACTIONS = {False: 22, True: 23}
#: A stored value as it crosses the bus: a 2400 reading element ("+1.408253E-01,") and an SR830 TRCA? value
#: ("-3.136635e-003,"), bytes; a block moves at most at IEEE 488.1's 1 Mbyte/s.
READING_ELEMENT_BYTES = 14
LOCKIN_VALUE_BYTES = 15
GPIB_BYTES_PER_S = 1.0e6


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


def list_delays_s(settle_s: float, lockin: bool, integration_s: float, input_ramp_a_per_s: float,
                  largest_step_a: float) -> tuple[float, float]:
    """The input source's source delay and trigger delay in a list (s), as :meth:`.Bench.measure_list` sets
    them: the lock-in's wait (with the lock-in), but no step sooner than one ramp step at the input rate;
    and the gap after each reading of :func:`step_gap_s` (with the lock-in, which samples at each trigger)."""
    delay_s = max(settle_s if lockin else 0.0, largest_step_a / input_ramp_a_per_s)
    return delay_s, step_gap_s(integration_s) if lockin else 0.0


def list_run_s(n_points: int, delay_s: float, gap_s: float, integration_s: float) -> float:
    """How long two 2400s in handshake take to run a list of ``n_points`` (s), from the input source's :INIT to
    the read source's last reading (2400 manual, Appendix A).

    Per point: the input source's trigger latency (immediate on the first point, which bypasses its
    detector; then from the read source's pulse on :data:`DONE_LINE`), its trigger delay ``gap_s``, source
    configuration and source delay ``delay_s``; then the read source's latency from the pulse on
    :data:`TRIGGER_LINE`, its source configuration and its reading with auto-zero off. The input source's own
    reading (:data:`INPUT_SOURCE_NPLC`, the shortest integration) runs alongside the read source's.
    """
    step_s = gap_s + SOURCE_CONFIGURATION_S + delay_s
    read_s = TRIGGER_LINK_LATENCY_S + SOURCE_CONFIGURATION_S + integration_s + READ_ACTION_OVERHEAD_S
    return n_points * (TRIGGER_LINK_LATENCY_S + step_s + read_s) - (TRIGGER_LINK_LATENCY_S - TRIGGER_LATENCY_S)


@dataclass
class ListCosts:
    """The lab time hardware-timed lists take on a bench, for a model of it (no instruments).

    It keeps what the Bench keeps between lists, since a list costs what it has
    to send: whether the trigger set-up of :func:`configure` is in place (a
    stepped reading undoes it, :meth:`leave_s`) and the settings last sent
    (the list's length, the delays).
    """

    integration_s: float
    input_ramp_a_per_s: float
    largest_step_a: float
    #: Whether the lock-in stores points at the triggers (:data:`BUFFERED_LOCKINS`): it then takes part in
    #: the set-up, and :func:`unconfigure` pauses it.
    buffered_lockin: bool = True
    bus_transaction_s: float = 0.001
    configured: bool = False
    #: (points, source delay, trigger delay) of the last list since :func:`configure`; None: nothing sent.
    sent: tuple[int, float, float] | None = None
    #: Whether a set-up has run: :func:`configure` leaves the read source with no source delay, which
    #: :func:`unconfigure` does not restore (its stepped readings then skip the delay it had after *RST).
    source_delay_cleared: bool = False

    def list_s(self, levels: Sequence[float], lockin: bool, settle_s: float) -> float:
        """One list of the wanted ``levels`` (A, in the order measured) with or without the lock-in, whose
        wait after each step is ``settle_s`` (s): its bus transactions, auto-zero, points and transfers."""
        n = list_points(levels, self.largest_step_a)
        delay_s, gap_s = list_delays_s(settle_s, lockin, self.integration_s, self.input_ramp_a_per_s,
                                       self.largest_step_a)
        transactions = LIST_TRANSACTIONS[bool(lockin)]
        if not self.configured:
            transactions += CONFIGURE_TRANSACTIONS[self.buffered_lockin] + 1  # and the source mode, with the first
            self.configured, self.sent, self.source_delay_cleared = True, None, True
        length, sent_delay, sent_gap = self.sent or (None, None, None)
        transactions += (LENGTH_TRANSACTIONS if n != length else 0) + (delay_s != sent_delay) + (gap_s != sent_gap)
        self.sent = (n, delay_s, gap_s)
        value_bytes = READING_ELEMENTS * READING_ELEMENT_BYTES + (2 * LOCKIN_VALUE_BYTES if lockin else 0)
        return (transactions * self.bus_transaction_s
                + AUTO_ZERO_CONVERSIONS * (self.integration_s + A_D_CONVERSION_OVERHEAD_S)
                + list_run_s(n, delay_s, gap_s, self.integration_s)
                + n * value_bytes / GPIB_BYTES_PER_S)

    def leave_s(self) -> float:
        """A stepped reading after lists: the instruments back to stepped operation first (s)."""
        if not self.configured:
            return 0.0
        self.configured, self.sent = False, None
        return UNCONFIGURE_TRANSACTIONS[self.buffered_lockin] * self.bus_transaction_s


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


