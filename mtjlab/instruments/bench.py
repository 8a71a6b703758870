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

Connecting, signals, shutdown and recovery live in :mod:`.bench_lifetime`.
Time goes through :attr:`Bench.clock`: virtual on the simulated bench, the wall
clock on hardware.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from dataclasses import asdict
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InstrumentError, MtjlabError, SafetyLimitError
from .adapters import KeithleySourceMeter
from .bench_lifetime import INPUT_COMPLIANCE_V, INPUT_RAMP_STEP_A, INPUT_RAMP_STEP_TIME_S, BenchLifetime
from .drivers.keithley2400_list import MAX_LIST_POINTS
from .hardware_timed import (AcquisitionMode, ListReading, acquisition_mode, configure, run_list, step_gap_s,
                             unconfigure)
from .list_paths import list_path
from .bench_state import SIGTERM_EXIT_STATUS, BenchReadouts, BenchSettings, PointReading, Terminated

log = logging.getLogger(__name__)

#: A ramp that would take longer than this (s) is surely a mistyped rate: refused.
MAX_RAMP_DURATION_S = 3600.0


class Bench(BenchLifetime):
    """The instruments of one bench file, safe to use from any caller.

    Use it as a context manager (``with Bench.open(config) as bench:``); leaving
    the block by any path makes everything safe.
    """

    # ------------------------------------------------------------- requests
    def set_read_current(self, current_a: float, rate_a_per_s: float | None = None) -> None:
        """Ramp the read current through the routed junction to ``current_a`` (A)."""
        self._up_to_date()
        current_a = self.limits.check_read_current(self._applied_level(self._read_source, current_a, "read current"))
        rate = self.limits.check_source_rate(self._rate(rate_a_per_s, self.limits.max_source_ramp_a_per_s))
        self._check_duration("read current", self._settings.read_current_a, current_a, rate, "A")
        with self._operation():
            self._ramp(self._read_source, current_a, rate)
            self._settings.read_current_a = current_a

    def set_input_current(self, current_a: float, rate_a_per_s: float | None = None) -> None:
        """Ramp the DC input current of the routed row's field line to ``current_a`` (A)."""
        self._up_to_date()
        current_a = self.limits.check_input_current(self._applied_level(self._input_source, current_a, "input current"),
                                                    self._settings.modulation_peak_a)
        rate = self.limits.check_input_rate(self._rate(rate_a_per_s, self.limits.max_input_ramp_a_per_s))
        self._check_duration("input current", self._settings.input_current_a, current_a, rate, "A")
        with self._operation():
            self._ramp(self._input_source, current_a, rate)
            self._settings.input_current_a = current_a

    def _applied_level(self, source: KeithleySourceMeter, current_a: float, what: str) -> float:
        """The level ``source`` will apply (finite-checked first)."""
        return source.applied_level(self.limits.finite(what, current_a))

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

    def set_lockin(self, frequency_hz: float, time_constant_s: float) -> None:
        """The lock-in's reference frequency (Hz) and time constant (s, the nearest on its ladder).

        Moves no output: the sine keeps its amplitude. Refused in one line when
        the frequency is outside the lock-in's range.
        """
        self._up_to_date()
        frequency_hz = self.limits.finite("lock-in frequency", frequency_hz)
        time_constant_s = self.limits.finite("lock-in time constant", time_constant_s)
        low, high = self._lockin.frequency_range_hz
        if not low <= frequency_hz <= high or time_constant_s <= 0:
            raise MtjlabError(f"refused: lock-in frequency {frequency_hz:g} Hz must be within {low:g}..{high:g} Hz "
                              f"and the time constant positive (not {time_constant_s:g} s); nothing was sent")
        with self._operation():
            self._lockin.frequency_hz = frequency_hz
            self._lockin.time_constant_s = time_constant_s

    def lockin_limits(self):
        """What the lock-in can do (:class:`~.noise_budget.LockinLimits`)."""
        from .noise_budget import LockinLimits

        low, high = self._lockin.frequency_range_hz
        return LockinLimits(low, high, tuple(self._lockin.time_constants_s), self._lockin.minimum_amplitude_v,
                            min(self._lockin.maximum_amplitude_v, self.limits.max_modulation_v_rms))

    def lockin_timing(self) -> tuple[float, float, int]:
        """The lock-in's frequency (Hz), time constant (s) and slope (dB/oct), read from it."""
        return (float(self._lockin.frequency_hz), float(self._lockin.time_constant_s),
                int(self._lockin.slope_db_per_oct))

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
        sine_v = self._lockin.minimum_amplitude_v
        modulation_peak_a = self._settings.modulation_peak_a
        with self._operation():
            for source in (self._input_source, self._read_source):
                level = source.level
                if level != 0.0 and source.output_enabled:
                    raise InstrumentError(f"{source.name} reads back {level:g} A where the bench set zero; "
                                          f"the relays were not moved")
            if modulation_peak_a > self.limits.modulation_peak_a(sine_v):
                self._lockin.modulation_amplitude_v = sine_v  # no sine on the field line either
                self._settings.modulation_peak_a = self.limits.modulation_peak_a(sine_v)
            move()
        if modulation_peak_a > self._settings.modulation_peak_a:
            self.set_modulation(modulation_peak_a)

    def read_point(self, settle: bool = True, lockin: bool = True, settle_s: float | None = None) -> PointReading:
        """Wait for the lock-in to settle (``settle_s``, or 99 % of a step by default), then read the DC
        voltage and X, Y (``lockin=False``: the DC voltage only, with no wait; X and Y are NaN)."""
        self._leave_lists()
        if settle and lockin:
            self.clock.sleep(self._lockin.settle_time_s() if settle_s is None else settle_s)
        voltage_v = self._read_source.measure_voltage_v()
        in_compliance = self._read_source.in_compliance()
        x_v, y_v = math.nan, math.nan
        if lockin:
            try:
                x_v, y_v = self._lockin.read_xy_v()
            except InstrumentError:
                if not in_compliance:
                    raise
                # at compliance (an open junction) the lock-in sees the source's swing, not a derivative:
                # overloaded even at its largest scale, the point is simply not a derivative
        
        return PointReading(voltage_v, x_v, y_v, in_compliance)

    # ----------------------------------------------------- hardware-timed lists
    def acquisition(self, lockin: bool = True) -> AcquisitionMode:
        """Whether lists run hardware-timed on this bench's instruments, and why (or why not)."""
        models = {i.role: i.model for i in self.config.instruments}
        return acquisition_mode(models, self.config.measurement.acquisition, lockin)

    def list_points(self, levels_a: Sequence[float]) -> int:
        """How many points the list for ``levels_a`` visits (with the steps inserted for the rate)."""
        return len(list_path(levels_a, INPUT_RAMP_STEP_A)[0])

    def measure_list(self, levels_a: Sequence[float], *, lockin: bool = True,
                     settle_s: float | None = None) -> ListReading:
        """Measure the routed junction at each input level (A) as one hardware-timed list.

        Every level is checked (as the instrument will apply it) before anything
        moves; the input then ramps to the first level, the list runs (no step
        larger than one ramp step, none sooner than the input rate allows: see
        :mod:`.hardware_timed`) and the input ends at the first level again.
        ``settle_s``: the wait after each step before the point is taken (the
        lock-in's 99 % settling by default).
        """
        mode = self.acquisition(lockin)
        if not mode.hardware_timed:
            raise MtjlabError(f"no hardware-timed list on bench {self.config.name!r}: {mode.reason}")
        self._up_to_date()
        if self._settings.routed is None:
            raise MtjlabError("route a device before measuring a list")
        levels = [self.limits.check_input_current(self._applied_level(self._input_source, v, "input current"),
                                                  self._settings.modulation_peak_a) for v in levels_a]
        if not levels:
            raise MtjlabError("a list needs at least one input level")
        path, wanted = list_path(levels, INPUT_RAMP_STEP_A)
        path = np.array([self._input_source.applied_level(v) for v in path])
        if not 2 <= len(path) <= MAX_LIST_POINTS:
            raise MtjlabError(f"a list of {len(levels)} levels visits {len(path)} points; the input source holds "
                              f"2 to {MAX_LIST_POINTS}: split it")
        settle = self._lockin.settle_time_s() if settle_s is None else float(settle_s)
        # no step sooner than the input line's rate allows for one ramp step
        delay_s = max(settle if lockin else 0.0, INPUT_RAMP_STEP_A / self.limits.max_input_ramp_a_per_s)
        wiring = self.config.wiring
        integration_s = wiring.source_nplc / wiring.line_frequency_hz
        gap_s = step_gap_s(integration_s) if lockin else 0.0
        predicted_s = len(path) * (delay_s + gap_s + integration_s)  # at least (each point also has overheads)
        self.set_input_current(levels[0])
        with_lockin = self.acquisition(True).hardware_timed  # set up once for both kinds of list
        drivers = (self._input_source.driver, self._read_source.driver)
        lockin_driver = self._lockin.driver if with_lockin else None
        for _attempt in range(len(self._lockin.sensitivities_v)):
            with self._operation():
                if getattr(self, "_list_settings_sent", None) is None:
                    configure(*drivers, lockin_driver)  # once, while lists follow each other
                    self._list_settings_sent = {}  # lists set up; what run_list sends is kept here
                try:
                    reading = run_list(*drivers, lockin_driver if lockin else None, self.clock, path, wanted,
                                       delay_s, predicted_s, gap_s, self._list_settings_sent)
                except BaseException:
                    self._leave_lists()
                    raise
            # points at compliance (an open junction) show the source's swing, not a derivative: not ranged on
            biased = ~reading.in_compliance
            if (not lockin or not biased.any()
                    or not self._lockin.out_of_range(reading.x_v_rms[biased], reading.y_v_rms[biased])):
                return reading
        raise InstrumentError("lockin: overloaded at its largest full scale during a list")

    def _leave_lists(self) -> None:
        """Back to stepped operation if lists set the instruments up (before any point-by-point reading)."""
        if getattr(self, "_list_settings_sent", None) is None:
            return  # (an empty dict is set up: lists ran, or were about to)
        self._list_settings_sent = None
        unconfigure(self._input_source.driver, self._read_source.driver, self._lockin.driver)

    def applied_input_a(self, level_a: float) -> float:
        """The input current the input source applies for ``level_a`` (its resolution, as sent)."""
        return self._input_source.applied_level(float(level_a))

    def lockin_settle_time_s(self) -> float:
        """How long the lock-in's output takes to settle after a step (s)."""
        return self._lockin.settle_time_s()

    def readouts(self) -> BenchReadouts:
        """Everything a bench display shows, read from the instruments now (moves nothing)."""
        x_v, y_v, overload = math.nan, math.nan, False
        self._leave_lists()
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
            "acquisition": dict(zip(("mode", "reason"), (lambda m: (m.mode, m.reason))(self.acquisition()))),
        }


__all__ = ["Bench", "BenchReadouts", "BenchSettings", "INPUT_COMPLIANCE_V", "INPUT_RAMP_STEP_TIME_S", "MAX_RAMP_DURATION_S", "PointReading",
           "SIGTERM_EXIT_STATUS", "Terminated"]
