"""The Bench: every instrument of a bench file behind its safety limits.

Everything above ``instruments`` moves outputs only through a Bench, which

- checks each request against the bench file's limits first (read current,
  junction bias, input current plus modulation, field, coil current, ramp
  rates) and refuses it with one clear line, sending nothing;
- moves source and coil outputs only by ramps at the allowed rate;
- sets the read source-meter's voltage compliance to ``limits.max_bias_v``, so
  the hardware itself cannot put more across a junction whatever its state;
- routes a junction only with the sources at zero (break before make);
- leaves by any path (normal exit, exception, Ctrl-C, SIGTERM, an instrument
  fault) with every output ramped to zero and off and every relay open,
  reconnecting to an instrument whose connection dropped to do so;
- checks the value each instrument will actually apply (as the driver formats
  it, as the instrument rounds it), not only the value asked for;
- after an operation that did not finish (an exception, a Ctrl-C the caller
  caught), reads the state back from the instruments before checking the next
  request (:mod:`.bench_recovery`).

The instruments are the Bench's own: no public attribute moves an output.
:meth:`Bench.unsafe_instruments` hands out the raw adapters for work the
Bench does not offer; nothing the caller does through them is checked
(docs/bench.md warns about it).

Time goes through :attr:`Bench.clock`: virtual on the simulated bench, the wall
clock on hardware.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import logging
import math
import signal
import threading
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

from ..config.bench import BenchConfig
from ..config.instrument_models import ROLES
from ..errors import InstrumentError, MtjlabError, SafetyLimitError
from .adapters import ClosedLoopField, KeithleySourceMeter, MatrixSwitch, SRSLockIn
from .bench_recovery import make_everything_safe, read_back_settings
from .bench_state import SIGTERM_EXIT_STATUS, BenchReadouts, BenchSettings, PointReading, Terminated
from .quantise import KEITHLEY_NUMBER_FORMAT, at_most_as_sent
from .connect import Connector
from .limits import SafetyLimits
from .timing import WallClock

log = logging.getLogger(__name__)

#: Voltage compliance of the input source (V): the field line is ~50 ohm, so
#: 20 mA needs 1 V; 10 V still stops at once on an open line.
INPUT_COMPLIANCE_V = 10.0
#: Ramp step time of the input source (s): 1 mA steps at 0.01 A/s, 5 Oe on the packaged
#: chip, inside a sensor's linear range; finer steps only add bus traffic.
INPUT_RAMP_STEP_TIME_S = 0.1
#: A ramp that would take longer than this (s) is surely a mistyped rate: refused.
MAX_RAMP_DURATION_S = 3600.0


class Bench:
    """The instruments of one bench file, safe to use from any caller.

    Use it as a context manager (``with Bench.open(config) as bench:``); leaving
    the block by any path makes everything safe.
    """

    def __init__(self, config: BenchConfig, *, lab: Any = None, visa_library: str = "") -> None:
        self.config = config
        self.limits = SafetyLimits.from_bench(config)
        if lab is None and config.uses_sim:
            from .sim.lab import VirtualLab

            lab = VirtualLab(config)
        self.lab = lab
        all_sim = all(i.backend == "sim" for i in config.instruments)
        self.clock = lab.clock if all_sim else WallClock()
        self._settings = BenchSettings()
        self.identities: dict[str, str] = {}
        self._connector = Connector(config, lab, visa_library)
        self._drivers: dict[str, Any] = {}
        self._read_source: KeithleySourceMeter | None = None
        self._input_source: KeithleySourceMeter | None = None
        self._lockin: SRSLockIn | None = None
        self._field: ClosedLoopField | None = None
        self._switch: MatrixSwitch | None = None
        self._safe = True
        self._unfinished = False  # an operation was cut short: the settings may be wrong
        self._outputs_on: set[str] = set()
        self._previous_handlers: dict[int, Any] = {}

    # ---------------------------------------------------------------- state
    @property
    def settings(self) -> BenchSettings:
        """What the Bench has set (a copy: changing it changes nothing)."""
        return replace(self._settings)

    def unsafe_instruments(self) -> SimpleNamespace:
        """The raw adapters (read_source, input_source, lockin, field, switch): NOTHING done
        through them is checked against the limits, ramped or tracked. For work the Bench
        does not offer, by someone who knows the hardware; the Bench reads its state back
        from the instruments before its next request."""
        log.warning("raw instrument access handed out: the Bench's limits do not apply to it")
        self._unfinished = True
        self._arm()
        return SimpleNamespace(read_source=self._read_source, input_source=self._input_source,
                               lockin=self._lockin, field=self._field, switch=self._switch)

    # ---------------------------------------------------------------- lifetime
    @classmethod
    def open(cls, config: BenchConfig, **kwargs: Any) -> "Bench":
        """Build and connect a Bench (everything made safe again if connecting fails)."""
        bench = cls(config, **kwargs)
        bench.connect()
        return bench

    @classmethod
    def from_file(cls, path: str | Path | None = None, **kwargs: Any) -> "Bench":
        """Connect the bench of a bench file (default: the packaged simulated bench)."""
        from ..config import load_bench, load_default_bench

        return cls.open(load_bench(path) if path is not None else load_default_bench(), **kwargs)

    def connect(self) -> None:
        """Open every instrument, identify it and put it in a known, safe state."""
        self._arm()
        try:
            failed: list[InstrumentError] = []
            for role in ROLES:  # every one we can reach, so that all of them can be made safe
                try:
                    self._drivers[role] = self._connector.open(role)
                except InstrumentError as exc:
                    failed.append(exc)
            if failed:
                raise failed[0]
            self._build_adapters()
            self.identities = {role: self._identify(role) for role in ROLES}
            self._configure()
        except BaseException:
            # what did connect may have been left on by someone else: make it safe too
            try:
                self._build_adapters(set(self._drivers))
            except Exception:  # noqa: BLE001 - the original error is the one to report
                log.exception("could not prepare the connected instruments for a safe shutdown")
            self.shutdown(raise_errors=False)
            raise

    def _arm(self) -> None:
        """Something may be on from now: the next shutdown must do its work."""
        if self._safe:
            self._safe = False
            atexit.register(self.shutdown)

    def _build_adapters(self, only: set[str] | None = None) -> None:
        w, d, lim = self.config.wiring, self._drivers, self.limits
        want = (only or set(ROLES)) & set(d)  # only what is connected
        if "read_source" in want:
            self._read_source = KeithleySourceMeter(d["read_source"], self.clock, name="read_source")
        if "input_source" in want:
            self._input_source = KeithleySourceMeter(d["input_source"], self.clock, name="input_source",
                                                     step_time_s=INPUT_RAMP_STEP_TIME_S)
        if "lockin" in want:
            self._lockin = SRSLockIn(d["lockin"], self.clock, name="lockin")
        if want & {"field_supply", "gaussmeter"} and {"field_supply", "gaussmeter"} <= d.keys():
            self._field = ClosedLoopField(
                d["field_supply"], d["gaussmeter"], self.clock,
                coil_oe_per_a=w.coil_oe_per_a, remanence_oe=w.coil_remanence_oe,
                ramp_rate_oe_per_s=lim.max_field_ramp_oe_per_s, max_current_a=lim.max_coil_current_a,
                max_field_oe=lim.max_field_oe,
            )
        if "switch" in want:
            chip = self.config.chip
            self._switch = MatrixSwitch(d["switch"], self.clock, rows=chip.rows, cols=chip.cols, settle_s=w.relay_settle_s)

    def _reconnect(self, roles: tuple[str, ...]) -> None:
        """Open fresh connections for ``roles`` (after a dropped one) and rebuild their adapters."""
        for role in roles:
            self._drivers[role] = self._connector.open(role)
        self._build_adapters(set(roles))

    def _identify(self, role: str) -> str:
        adapter = {"read_source": self._read_source, "input_source": self._input_source, "lockin": self._lockin,
                   "switch": self._switch}.get(role)
        if adapter is not None:
            return adapter.identity
        return self._field.supply_identity if role == "field_supply" else self._field.gaussmeter_identity

    def _configure(self) -> None:
        w = self.config.wiring
        # someone may have left outputs on: a relay moves only with the sources at zero
        self._settings = read_back_settings(self)
        if self._settings.read_current_a or self._settings.input_current_a:
            self._zero_sources()
        self._switch.open_all()
        # %g would send a compliance of 0.4999999 V as 0.5 V: never above the limit
        bias_compliance_v = at_most_as_sent(self.limits.max_bias_v, KEITHLEY_NUMBER_FORMAT)
        for source, compliance_v in ((self._read_source, bias_compliance_v), (self._input_source, INPUT_COMPLIANCE_V)):
            source.source_current(compliance_v=compliance_v)
            source.set_nplc(w.source_nplc)
        self._lockin.frequency_hz = w.lockin_frequency_hz
        self._lockin.time_constant_s = w.lockin_time_constant_s
        self._lockin.slope_db_per_oct = w.lockin_slope_db_per_oct
        self._lockin.modulation_amplitude_v = self._lockin.minimum_amplitude_v
        self._settings = self._resting_settings()

    def _resting_settings(self) -> BenchSettings:
        """Everything at zero, except the lock-in's sine, which cannot go below its minimum:
        that residual modulation (5.7 uA peak for 4 mV rms into 1 kOhm) still counts
        against the input limit."""
        minimum_v = self._lockin.minimum_amplitude_v if self._lockin is not None else 0.0
        return BenchSettings(modulation_peak_a=self.limits.modulation_peak_a(minimum_v))

    def __enter__(self) -> "Bench":
        if not self._drivers:
            self.connect()
        self._install_signal_handlers(self._on_sigterm)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.shutdown(raise_errors=exc_type is None)
        finally:
            self._restore_signal_handlers()

    # ---------------------------------------------------------------- signals
    @staticmethod
    def _on_sigterm(signum, frame) -> None:
        raise Terminated()

    @staticmethod
    def _ignore_during_shutdown(signum, frame) -> None:
        log.warning("signal %d while ramping everything down: finishing the safe shutdown first", signum)

    def _install_signal_handlers(self, handler: Callable) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may handle signals; atexit still covers us
        for signum in (signal.SIGTERM,):
            previous = signal.signal(signum, handler)
            self._previous_handlers.setdefault(signum, previous)

    def _restore_signal_handlers(self) -> None:
        for signum, previous in self._previous_handlers.items():
            signal.signal(signum, previous)
        self._previous_handlers.clear()

    # ----------------------------------------------------------------- shutdown
    def shutdown(self, raise_errors: bool = True) -> None:
        """Ramp every output to zero, turn it off, open every relay (idempotent).

        Each instrument is made safe on its own; one whose connection dropped
        is reconnected first. What cannot be made safe is logged as critical
        and raised as one InstrumentError (unless ``raise_errors`` is False).
        """
        if self._safe:
            return
        in_main = threading.current_thread() is threading.main_thread()
        held = {}
        if in_main:  # a second Ctrl-C or SIGTERM must not abort the ramp-down
            for signum in (signal.SIGINT, signal.SIGTERM):
                held[signum] = signal.signal(signum, self._ignore_during_shutdown)
        try:
            failures = self._make_everything_safe()
        finally:
            for signum, previous in held.items():
                signal.signal(signum, previous)
        self._safe = True
        atexit.unregister(self.shutdown)
        if failures:
            message = "could not make safe: " + "; ".join(failures)
            log.critical(message)
            if raise_errors:
                raise InstrumentError(message)

    def _make_everything_safe(self) -> list[str]:
        failures = make_everything_safe(self)
        self._settings = self._resting_settings()
        self._unfinished = bool(failures)  # what could not be made safe is read back next time
        self._outputs_on.clear()
        return failures

    # --------------------------------------------------- interrupted operations
    @contextmanager
    def _operation(self) -> Iterator[None]:
        """Around everything that moves an output: the settings are trusted again only if it ends."""
        self._arm()
        self._unfinished = True
        yield
        self._unfinished = False

    def _up_to_date(self) -> None:
        """Before checking a request: after an unfinished operation, believe the instruments."""
        if self._unfinished:
            log.warning("the last operation did not finish: reading the bench's state back from the instruments")
            self._settings = read_back_settings(self)
            self._outputs_on = {name for name, source in (("read_source", self._read_source),
                                                          ("input_source", self._input_source))
                                if source is not None and source.output_enabled}
            self._unfinished = False

    def _zero_sources(self) -> None:
        """Ramp both sources to zero (before relays move)."""
        rate = self.limits.max_source_ramp_a_per_s
        for source in (self._input_source, self._read_source):
            source.ramp_to(0.0, rate)  # with the output off, the level moves and nothing flows
        self._settings.input_current_a = self._settings.read_current_a = 0.0

    # ------------------------------------------------------------- requests
    def set_read_current(self, current_a: float, rate_a_per_s: float | None = None) -> None:
        """Ramp the read current through the routed junction to ``current_a`` (A)."""
        self._up_to_date()
        current_a = self.limits.check_read_current(self._applied_level(current_a, "read current"))
        rate = self.limits.check_source_rate(self._rate(rate_a_per_s, self.limits.max_source_ramp_a_per_s))
        self._check_duration("read current", self._settings.read_current_a, current_a, rate, "A")
        with self._operation():
            self._ramp(self._read_source, current_a, rate)
            self._settings.read_current_a = current_a

    def set_input_current(self, current_a: float, rate_a_per_s: float | None = None) -> None:
        """Ramp the DC input current of the routed row's field line to ``current_a`` (A)."""
        self._up_to_date()
        current_a = self.limits.check_input_current(self._applied_level(current_a, "input current"),
                                                    self._settings.modulation_peak_a)
        rate = self.limits.check_source_rate(self._rate(rate_a_per_s, self.limits.max_source_ramp_a_per_s))
        self._check_duration("input current", self._settings.input_current_a, current_a, rate, "A")
        with self._operation():
            self._ramp(self._input_source, current_a, rate)
            self._settings.input_current_a = current_a

    def _applied_level(self, current_a: float, what: str) -> float:
        """The level the source-meter will receive (finite-checked first)."""
        return KeithleySourceMeter.applied_level(self.limits.finite(what, current_a))

    @staticmethod
    def _rate(rate: float | None, default: float) -> float:
        return default if rate is None else rate

    @staticmethod
    def _check_duration(what: str, start: float, stop: float, rate: float, unit: str) -> None:
        duration_s = abs(stop - start) / rate
        if duration_s > MAX_RAMP_DURATION_S:
            raise SafetyLimitError(f"refused: ramping the {what} from {start:g} to {stop:g} {unit} at {rate:g} "
                                   f"{unit}/s would take {duration_s:.3g} s (over {MAX_RAMP_DURATION_S:g} s); "
                                   f"nothing was sent")

    def _ramp(self, source: KeithleySourceMeter, level: float, rate: float) -> None:
        if level != 0.0 and source.name not in self._outputs_on:
            source.set_output(True)  # at zero: the output comes on only to move
            self._outputs_on.add(source.name)
        source.ramp_to(level, rate)

    def set_modulation(self, peak_a: float) -> None:
        """Set the input modulation's peak current (A) through the modulation resistor.

        The sine the lock-in will really put out (its driver's format, its 2 mV
        steps on the SR830) is what is checked and what the settings record.
        """
        self._up_to_date()
        peak_a = self.limits.finite("modulation amplitude", peak_a)
        if peak_a < 0:
            raise SafetyLimitError(f"refused: modulation amplitude {peak_a:g} A is negative; nothing was sent")
        v_rms = peak_a * self.limits.modulation_resistor_ohm / math.sqrt(2.0)
        if v_rms < self._lockin.minimum_amplitude_v * (1 - 1e-9):
            raise SafetyLimitError(f"refused: a modulation of {peak_a:.3g} A needs {v_rms:.3g} V rms, below the "
                                   f"lock-in's smallest sine output of {self._lockin.minimum_amplitude_v:g} V rms")
        applied_v = self._lockin.applied_amplitude_v(v_rms)
        self.limits.check_modulation(self.limits.modulation_peak_a(applied_v), self._settings.input_current_a)
        with self._operation():
            self._lockin.modulation_amplitude_v = applied_v
            self._settings.modulation_peak_a = self.limits.modulation_peak_a(applied_v)

    def set_field(self, field_oe: float, rate_oe_per_s: float | None = None) -> None:
        """Ramp the coil to ``field_oe`` (Oe) and settle it there in closed loop."""
        self._up_to_date()
        field_oe = self.limits.check_field(field_oe)
        rate = self.limits.check_field_rate(self._rate(rate_oe_per_s, self.limits.max_field_ramp_oe_per_s))
        self._check_duration("field", self._settings.field_oe, field_oe, rate, "Oe")
        with self._operation():
            self._field.ramp_rate_oe_per_s = rate
            self._field.set_field_oe(field_oe)
            self._settings.field_oe = field_oe

    def read_field_oe(self) -> float:
        """The field the gaussmeter reads (Oe)."""
        return self._field.read_field_oe()

    def device_position(self, device_id: str) -> tuple[int, int]:
        """(row, col) of a device id of the chip."""
        ids = self.config.chip.ids()
        if device_id not in ids:
            raise MtjlabError(f"device {device_id!r} is not on the chip of bench {self.config.name!r}")
        return divmod(ids.index(device_id), self.config.chip.cols)

    def route(self, device_id: str) -> None:
        """Connect the instruments to ``device_id``, sources at zero while the relays move."""
        position = self.device_position(device_id)
        self._up_to_date()
        if self._settings.routed == position:
            return
        read_current_a = self._settings.read_current_a
        self._move_relays(lambda: self._switch.connect(*position))
        self._settings.routed = position
        if read_current_a:
            self.set_read_current(read_current_a)

    def disconnect(self) -> None:
        """Open every relay, sources at zero first."""
        self._up_to_date()
        read_current_a = self._settings.read_current_a
        self._move_relays(self._switch.open_all)
        self._settings.routed = None
        self._settings.read_current_a = read_current_a  # restored at the next route

    def _move_relays(self, move: Callable[[], None]) -> None:
        """Bring both sources to zero, confirm it on the instruments themselves, then move the relays."""
        if self._settings.input_current_a:
            self.set_input_current(0.0)
        if self._settings.read_current_a:
            self.set_read_current(0.0)
        with self._operation():
            for source in (self._input_source, self._read_source):
                level = source.level
                if level != 0.0 and source.output_enabled:
                    raise InstrumentError(f"{source.name} reads back {level:g} A where the bench set zero; "
                                          f"the relays were not moved")
            move()

    def read_point(self, settle: bool = True, lockin: bool = True) -> PointReading:
        """Wait for the lock-in to settle, then read the DC voltage and X, Y
        (``lockin=False``: the DC voltage only, with no wait; X and Y are NaN)."""
        if settle and lockin:
            self.clock.sleep(self._lockin.settle_time_s())
        voltage_v = self._read_source.measure_voltage_v()
        in_compliance = self._read_source.in_compliance()
        x_v, y_v = self._lockin.read_xy_v() if lockin else (math.nan, math.nan)
        return PointReading(voltage_v, x_v, y_v, in_compliance)

    def lockin_settle_time_s(self) -> float:
        """How long the lock-in's output takes to settle after a step (s)."""
        return self._lockin.settle_time_s()

    def readouts(self) -> BenchReadouts:
        """Everything a bench display shows, read from the instruments now (moves nothing)."""
        x_v, y_v, overload = math.nan, math.nan, False
        try:
            x_v, y_v = self._lockin.read_xy_v()
        except InstrumentError:
            overload = True  # overloaded even at the largest full scale
        voltage_v = math.nan
        if self._read_source.output_enabled:
            voltage_v = self._read_source.measure_voltage_v()
        return BenchReadouts(
            read_current_a=self._read_source.level if self._read_source.output_enabled else 0.0,
            junction_voltage_v=voltage_v,
            input_current_a=self._input_source.level if self._input_source.output_enabled else 0.0,
            modulation_v_rms=self._lockin.modulation_amplitude_v,
            field_set_oe=self._settings.field_oe,
            field_measured_oe=self._field.read_field_oe(),
            lockin_x_v=x_v, lockin_y_v=y_v, lockin_overload=overload,
            closed_relays=self._switch.read_route(),
            lab_time_s=self.clock.now_s(),
        )

    # ---------------------------------------------------------------- records
    def snapshot(self) -> dict[str, Any]:
        """Instrument identities, settings, calibration and limits, for data-file metadata."""
        w = self.config.wiring
        instruments = {
            i.role: {"model": i.model, "backend": i.backend, "address": i.address,
                     "identity": self.identities.get(i.role, "")}
            for i in self.config.instruments
        }
        settings = asdict(self._settings)
        if self._lockin is not None and self._drivers:
            settings.update(lockin_time_constant_s=self._lockin.time_constant_s,
                            lockin_slope_db_per_oct=self._lockin.slope_db_per_oct,
                            lockin_frequency_hz=self._lockin.frequency_hz,
                            lockin_sensitivity_v=self._lockin.sensitivity_v)
        settings["source_nplc"] = w.source_nplc
        return {
            "bench": self.config.name,
            "taken": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "lab_time_s": self.clock.now_s(),
            "instruments": instruments,
            "settings": settings,
            "calibration": {
                "coil_oe_per_a": w.coil_oe_per_a,
                "coil_remanence_oe": w.coil_remanence_oe,
                "modulation_resistor_ohm": w.modulation_resistor_ohm,
                "bias_field_angle_deg": w.bias_field_angle_deg,
            },
            "limits": self.config.limits.model_dump(),
        }


__all__ = ["Bench", "BenchReadouts", "BenchSettings", "INPUT_COMPLIANCE_V", "MAX_RAMP_DURATION_S", "PointReading",
           "SIGTERM_EXIT_STATUS", "Terminated"]
