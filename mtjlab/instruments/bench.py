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
  reconnecting to an instrument whose connection dropped to do so.

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
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from ..config.bench import BenchConfig
from ..config.instrument_models import ROLES
from ..errors import ConnectionLostError, InstrumentError, MtjlabError
from .adapters import ClosedLoopField, KeithleySourceMeter, MatrixSwitch, SRSLockIn
from .bench_state import SIGTERM_EXIT_STATUS, BenchSettings, PointReading, Terminated
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
        self.settings = BenchSettings()
        self.identities: dict[str, str] = {}
        self._connector = Connector(config, lab, visa_library)
        self._drivers: dict[str, Any] = {}
        self.read_source: KeithleySourceMeter | None = None
        self.input_source: KeithleySourceMeter | None = None
        self.lockin: SRSLockIn | None = None
        self.field: ClosedLoopField | None = None
        self.switch: MatrixSwitch | None = None
        self._safe = True
        self._outputs_on: set[str] = set()
        self._previous_handlers: dict[int, Any] = {}

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
            self.read_source = KeithleySourceMeter(d["read_source"], self.clock, name="read_source")
        if "input_source" in want:
            self.input_source = KeithleySourceMeter(d["input_source"], self.clock, name="input_source",
                                                    step_time_s=INPUT_RAMP_STEP_TIME_S)
        if "lockin" in want:
            self.lockin = SRSLockIn(d["lockin"], self.clock, name="lockin")
        if want & {"field_supply", "gaussmeter"} and {"field_supply", "gaussmeter"} <= d.keys():
            self.field = ClosedLoopField(
                d["field_supply"], d["gaussmeter"], self.clock,
                coil_oe_per_a=w.coil_oe_per_a, remanence_oe=w.coil_remanence_oe,
                ramp_rate_oe_per_s=lim.max_field_ramp_oe_per_s, max_current_a=lim.max_coil_current_a,
            )
        if "switch" in want:
            chip = self.config.chip
            self.switch = MatrixSwitch(d["switch"], self.clock, rows=chip.rows, cols=chip.cols, settle_s=w.relay_settle_s)

    def _identify(self, role: str) -> str:
        adapter = {"read_source": self.read_source, "input_source": self.input_source, "lockin": self.lockin,
                   "switch": self.switch}.get(role)
        if adapter is not None:
            return adapter.identity
        return self.field.supply_identity if role == "field_supply" else self.field.gaussmeter_identity

    def _configure(self) -> None:
        w = self.config.wiring
        self.switch.open_all()
        for source, compliance_v in ((self.read_source, self.limits.max_bias_v), (self.input_source, INPUT_COMPLIANCE_V)):
            source.source_current(compliance_v=compliance_v)
            source.set_nplc(w.source_nplc)
        self.lockin.frequency_hz = w.lockin_frequency_hz
        self.lockin.time_constant_s = w.lockin_time_constant_s
        self.lockin.slope_db_per_oct = w.lockin_slope_db_per_oct
        self.lockin.modulation_amplitude_v = self.lockin.minimum_amplitude_v
        self.settings = self._resting_settings()

    def _resting_settings(self) -> BenchSettings:
        """Everything at zero, except the lock-in's sine, which cannot go below its minimum:
        that residual modulation (5.7 uA peak for 4 mV rms into 1 kOhm) still counts
        against the input limit."""
        minimum_v = self.lockin.minimum_amplitude_v if self.lockin is not None else 0.0
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
        rate = self.limits.max_source_ramp_a_per_s
        steps: list[tuple[str, tuple[str, ...], Callable[[], None]]] = [
            ("input_source", ("input_source",), lambda: self.input_source.shutdown(rate)),
            ("read_source", ("read_source",), lambda: self.read_source.shutdown(rate)),
            ("lockin", ("lockin",), lambda: self.lockin.shutdown()),
            ("field", ("field_supply", "gaussmeter"), lambda: self.field.zero()),
            ("switch", ("switch",), lambda: self.switch.open_all()),
        ]
        failures = []
        for name, roles, action in steps:
            if any(role not in self._drivers for role in roles) or getattr(self, name) is None:
                continue  # never connected: nothing of ours is on
            try:
                self._safely(roles, action)
            except BaseException as exc:  # noqa: BLE001 - every instrument gets its turn
                failures.append(f"{name}: {MtjlabError.one_line(exc) if isinstance(exc, MtjlabError) else exc!r}")
        self.settings = self._resting_settings()
        self._outputs_on.clear()
        return failures

    def _safely(self, roles: tuple[str, ...], action: Callable[[], None]) -> None:
        try:
            action()
        except ConnectionLostError:
            log.warning("%s: connection lost; reconnecting to make it safe", "/".join(roles))
            for role in roles:
                self._drivers[role] = self._connector.open(role)
            self._build_adapters(set(roles))
            action()

    # ------------------------------------------------------------- requests
    def set_read_current(self, current_a: float, rate_a_per_s: float | None = None) -> None:
        """Ramp the read current through the routed junction to ``current_a`` (A)."""
        current_a = self.limits.check_read_current(current_a)
        rate = self.limits.check_source_rate(rate_a_per_s or self.limits.max_source_ramp_a_per_s)
        self._check_duration("read current", self.settings.read_current_a, current_a, rate, "A")
        self._arm()
        self._ramp(self.read_source, current_a, rate)
        self.settings.read_current_a = current_a

    def set_input_current(self, current_a: float, rate_a_per_s: float | None = None) -> None:
        """Ramp the DC input current of the routed row's field line to ``current_a`` (A)."""
        current_a = self.limits.check_input_current(current_a, self.settings.modulation_peak_a)
        rate = self.limits.check_source_rate(rate_a_per_s or self.limits.max_source_ramp_a_per_s)
        self._check_duration("input current", self.settings.input_current_a, current_a, rate, "A")
        self._arm()
        self._ramp(self.input_source, current_a, rate)
        self.settings.input_current_a = current_a

    @staticmethod
    def _check_duration(what: str, start: float, stop: float, rate: float, unit: str) -> None:
        duration_s = abs(stop - start) / rate
        if duration_s > MAX_RAMP_DURATION_S:
            raise MtjlabError(f"refused: ramping the {what} from {start:g} to {stop:g} {unit} at {rate:g} {unit}/s "
                              f"would take {duration_s:.3g} s (over {MAX_RAMP_DURATION_S:g} s); nothing was sent")

    def _ramp(self, source: KeithleySourceMeter, level: float, rate: float) -> None:
        if level != 0.0 and source.name not in self._outputs_on:
            source.set_output(True)  # at zero: the output comes on only to move
            self._outputs_on.add(source.name)
        source.ramp_to(level, rate)

    def set_modulation(self, peak_a: float) -> None:
        """Set the input modulation's peak current (A) through the modulation resistor."""
        peak_a = self.limits.check_modulation(peak_a, self.settings.input_current_a)
        v_rms = peak_a * self.limits.modulation_resistor_ohm / math.sqrt(2.0)
        if v_rms < self.lockin.minimum_amplitude_v:
            raise MtjlabError(f"modulation of {peak_a:.3g} A needs {v_rms:.3g} V rms, below the lock-in's "
                              f"smallest sine output of {self.lockin.minimum_amplitude_v:g} V rms")
        self._arm()
        self.lockin.modulation_amplitude_v = v_rms
        self.settings.modulation_peak_a = self.limits.modulation_peak_a(self.lockin.modulation_amplitude_v)

    def set_field(self, field_oe: float, rate_oe_per_s: float | None = None) -> None:
        """Ramp the coil to ``field_oe`` (Oe) and settle it there in closed loop."""
        field_oe = self.limits.check_field(field_oe)
        rate = self.limits.check_field_rate(rate_oe_per_s or self.limits.max_field_ramp_oe_per_s)
        self._check_duration("field", self.settings.field_oe, field_oe, rate, "Oe")
        self._arm()
        self.field.ramp_rate_oe_per_s = rate
        self.field.set_field_oe(field_oe)
        self.settings.field_oe = field_oe

    def read_field_oe(self) -> float:
        return self.field.read_field_oe()

    def device_position(self, device_id: str) -> tuple[int, int]:
        """(row, col) of a device id of the chip."""
        ids = self.config.chip.ids()
        if device_id not in ids:
            raise MtjlabError(f"device {device_id!r} is not on the chip of bench {self.config.name!r}")
        return divmod(ids.index(device_id), self.config.chip.cols)

    def route(self, device_id: str) -> None:
        """Connect the instruments to ``device_id``, sources at zero while the relays move."""
        position = self.device_position(device_id)
        if self.settings.routed == position:
            return
        read_current_a = self.settings.read_current_a
        if self.settings.input_current_a:
            self.set_input_current(0.0)
        if read_current_a:
            self.set_read_current(0.0)
        self._arm()
        self.switch.connect(*position)
        self.settings.routed = position
        if read_current_a:
            self.set_read_current(read_current_a)

    def disconnect(self) -> None:
        """Open every relay, sources at zero first."""
        if self.settings.input_current_a:
            self.set_input_current(0.0)
        read_current_a = self.settings.read_current_a
        if read_current_a:
            self.set_read_current(0.0)
        self.switch.open_all()
        self.settings.routed = None
        self.settings.read_current_a = read_current_a  # restored at the next route

    def read_point(self, settle: bool = True, lockin: bool = True) -> PointReading:
        """Wait for the lock-in to settle, then read the DC voltage and X, Y
        (``lockin=False``: the DC voltage only, with no wait; X and Y are NaN)."""
        if settle and lockin:
            self.clock.sleep(self.lockin.settle_time_s())
        voltage_v = self.read_source.measure_voltage_v()
        in_compliance = self.read_source.in_compliance()
        x_v, y_v = self.lockin.read_xy_v() if lockin else (math.nan, math.nan)
        return PointReading(voltage_v, x_v, y_v, in_compliance)

    # ---------------------------------------------------------------- records
    def snapshot(self) -> dict[str, Any]:
        """Instrument identities, settings, calibration and limits, for data-file metadata."""
        w = self.config.wiring
        instruments = {
            i.role: {"model": i.model, "backend": i.backend, "address": i.address,
                     "identity": self.identities.get(i.role, "")}
            for i in self.config.instruments
        }
        settings = asdict(self.settings)
        if self.lockin is not None and self._drivers:
            settings.update(lockin_time_constant_s=self.lockin.time_constant_s,
                            lockin_slope_db_per_oct=self.lockin.slope_db_per_oct,
                            lockin_frequency_hz=self.lockin.frequency_hz,
                            lockin_sensitivity_v=self.lockin.sensitivity_v)
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


__all__ = ["Bench", "BenchSettings", "INPUT_COMPLIANCE_V", "MAX_RAMP_DURATION_S", "PointReading",
           "SIGTERM_EXIT_STATUS", "Terminated"]
