"""LockIn over pymeasure's Stanford Research SR830 and SR860 drivers.

Settings are read from and written to the instrument through the driver's
properties. Time constant and sensitivity take discrete values: a request is
snapped to the nearest allowed value (on a log scale) before it is sent, since
the drivers would otherwise round an inexact value *up* to the next step.

Readings are always in range. :meth:`SRSLockIn.read_xy_v` takes X and Y in one
``SNAP`` and then checks for overload: the SR830's LIA status byte (input,
filter or output overload, latched since the last read) and, on both models,
``|X|`` or ``|Y|`` beyond the full scale (pymeasure gives the SR860 no status
byte). On overload it raises the full scale until the reading would fit with
a margin, waits the output's settle time and reads again; only an overload at
the largest full scale raises an :class:`~mtjlab.errors.InstrumentError`.

The SR860 driver has no ``id`` of its own (it is not declared SCPI), so its
identity is read with pymeasure's generic SCPI ``id`` property.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pymeasure.instruments.generic_types import SCPIMixin
from pymeasure.instruments.srs import SR830, SR860
from pymeasure.instruments.srs.sr830 import LIAStatus

from ...config.instrument_models import MODELS
from ...errors import InstrumentError
from ..interfaces import Clock
from ..quantise import as_sent, on_grid
from ..timing import SETTLE_TIME_CONSTANTS, lockin_settle_time_s

log = logging.getLogger(__name__)

#: Full scale chosen by auto-ranging: at least this many times the present R.
AUTO_RANGE_MARGIN = 1.25
#: After an overload the new full scale holds the (saturated) reading times this.
OVERLOAD_MARGIN = 1.5
#: LIA status bits that mean the reading cannot be trusted.
OVERLOAD_FLAGS = LIAStatus.INPUT_OVERLOAD | LIAStatus.FILTER_OVERLOAD | LIAStatus.OUTPUT_OVERLOAD
SLOPES_DB_PER_OCT = (6, 12, 18, 24)
#: How pymeasure's drivers format the sine amplitude (``SLVL%0.3f``, ``SLVL %0.9e``).
SINE_FORMAT = {"SR830": "%0.3f", "SR860": "%0.9e"}
#: The sine amplitude's resolution, V rms (SR830 manual, SLVL: "rounded to 0.002 V";
#: the SR860 takes the value as sent).
SINE_RESOLUTION_V = {"SR830": 0.002, "SR860": 0.0}


def nearest_on_log_scale(allowed: list[float], value: float) -> float:
    """The allowed value closest to ``value`` in ratio."""
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"must be a positive number, not {value!r}")
    return min(allowed, key=lambda a: abs(math.log(a / value)))


class SRSLockIn:
    """An SR830 or SR860 behind the :class:`~..interfaces.LockIn` protocol."""

    def __init__(self, driver: Any, clock: Clock, *, name: str) -> None:
        if isinstance(driver, SR860):
            self.model = "SR860"
        elif isinstance(driver, SR830):
            self.model = "SR830"
        else:
            raise TypeError(f"{name}: SRSLockIn drives an SR830 or SR860, not {type(driver).__name__}")
        self.driver = driver
        self.clock = clock
        self.name = name
        spec = MODELS[self.model]
        self.minimum_amplitude_v = float(spec.sine_min_v_rms)
        self.maximum_amplitude_v = float(spec.sine_max_v_rms)
        self.frequency_range_hz = (float(spec.freq_min_hz), float(spec.freq_max_hz))
        self.sensitivities_v = sorted(float(s) for s in driver.SENSITIVITIES)
        self.time_constants_s = sorted(float(t) for t in driver.TIME_CONSTANTS)
        self._time_constant_s: float | None = None  # cached: settle_time_s is asked at every point
        self._slope_db_per_oct: int | None = None
        self._sensitivity_v: float | None = None

    # ------------------------------------------------------------ identity
    @property
    def identity(self) -> str:
        """The instrument's *IDN reply."""
        if self.model == "SR830":
            return str(self.driver.id).strip()
        return str(SCPIMixin.id.fget(self.driver)).strip()

    # ---------------------------------------------------------- sine output
    @property
    def modulation_amplitude_v(self) -> float:
        """Sine output amplitude (V rms), as the instrument has it."""
        return float(self.driver.sine_voltage)

    @modulation_amplitude_v.setter
    def modulation_amplitude_v(self, value_v: float) -> None:
        low, high = self.minimum_amplitude_v, self.maximum_amplitude_v
        if not (math.isfinite(value_v) and low * (1 - 1e-9) <= value_v <= high):
            raise ValueError(f"{self.name}: sine amplitude must be within {low:g}..{high:g} V rms, not {value_v!r}")
        self.driver.sine_voltage = self.applied_amplitude_v(value_v)

    def applied_amplitude_v(self, value_v: float) -> float:
        """The sine amplitude (V rms) the instrument puts out when asked for ``value_v``:
        clamped to its range as the driver does, formatted as the driver sends it,
        rounded to the instrument's resolution."""
        low, high = self.minimum_amplitude_v, self.maximum_amplitude_v
        sent = as_sent(min(max(value_v, low), high), SINE_FORMAT[self.model])
        return min(max(on_grid(sent, SINE_RESOLUTION_V[self.model]), low), high)

    # ------------------------------------------------------------ reference
    @property
    def frequency_hz(self) -> float:
        return float(self.driver.frequency)

    @frequency_hz.setter
    def frequency_hz(self, value_hz: float) -> None:
        low, high = self.frequency_range_hz
        if not (math.isfinite(value_hz) and low <= value_hz <= high):
            raise ValueError(f"{self.name}: frequency must be within {low:g}..{high:g} Hz, not {value_hz!r}")
        self.driver.frequency = value_hz

    # --------------------------------------------------------------- filter
    @property
    def time_constant_s(self) -> float:
        self._time_constant_s = float(self.driver.time_constant)
        return self._time_constant_s

    @time_constant_s.setter
    def time_constant_s(self, value_s: float) -> None:
        snapped = nearest_on_log_scale(self.time_constants_s, value_s)
        if snapped != value_s:
            log.info("%s: time constant %g s snapped to %g s", self.name, value_s, snapped)
        self.driver.time_constant = snapped
        self._time_constant_s = snapped

    @property
    def slope_db_per_oct(self) -> int:
        value = int(self.driver.filter_slope)
        self._slope_db_per_oct = value if self.model == "SR830" else SLOPES_DB_PER_OCT[value]
        return self._slope_db_per_oct

    @slope_db_per_oct.setter
    def slope_db_per_oct(self, value: int) -> None:
        if value not in SLOPES_DB_PER_OCT:
            raise ValueError(f"{self.name}: filter slope must be one of {SLOPES_DB_PER_OCT} dB/oct, not {value!r}")
        value = int(value)
        # the SR830 driver maps dB/oct itself; the SR860 driver takes the index
        self.driver.filter_slope = value if self.model == "SR830" else SLOPES_DB_PER_OCT.index(value)
        self._slope_db_per_oct = value

    def settle_time_s(self) -> float:
        """Wait after a step for the output to settle to 99 % (from tau and slope)."""
        tau = self._time_constant_s if self._time_constant_s is not None else self.time_constant_s
        slope = self._slope_db_per_oct if self._slope_db_per_oct is not None else self.slope_db_per_oct
        if slope not in SETTLE_TIME_CONSTANTS:
            raise InstrumentError(f"{self.name}: unexpected filter slope {slope!r} dB/oct")
        return lockin_settle_time_s(tau, slope)

    # ---------------------------------------------------------- sensitivity
    @property
    def sensitivity_v(self) -> float:
        """Full-scale sensitivity (V rms), read from the instrument."""
        self._sensitivity_v = float(self.driver.sensitivity)
        return self._sensitivity_v

    def set_sensitivity_v(self, value_v: float) -> None:
        """Set the full scale to the allowed value nearest ``value_v``."""
        snapped = nearest_on_log_scale(self.sensitivities_v, value_v)
        self.driver.sensitivity = snapped
        self._sensitivity_v = snapped

    def _full_scale_v(self) -> float:
        return self._sensitivity_v if self._sensitivity_v is not None else self.sensitivity_v

    def _range_for(self, amplitude_v: float, margin: float) -> float:
        """The smallest full scale of at least ``margin * amplitude_v`` (the largest if none is)."""
        wanted = margin * abs(amplitude_v)
        return next((s for s in self.sensitivities_v if s >= wanted), self.sensitivities_v[-1])

    def auto_range(self) -> None:
        """Pick the smallest full scale above the present R by :data:`AUTO_RANGE_MARGIN` (from a reading)."""
        x_v, y_v = self.read_xy_v()
        r_v = math.hypot(x_v, y_v)
        full_scale = self._range_for(r_v, AUTO_RANGE_MARGIN)
        if full_scale != self._full_scale_v():
            log.debug("%s: auto range: R = %.3g V -> full scale %g V", self.name, r_v, full_scale)
            self.set_sensitivity_v(full_scale)
            self.clock.sleep(self.settle_time_s())

    # ------------------------------------------------------------- readings
    def _overloaded(self, x_v: float, y_v: float) -> bool:
        overload = max(abs(x_v), abs(y_v)) > self._full_scale_v()
        if self.model == "SR830":
            status = LIAStatus(int(self.driver.lia_status))
            overload = overload or bool(status & OVERLOAD_FLAGS)
        return overload

    def read_xy_v(self) -> tuple[float, float]:
        """X and Y (V rms) from one snap, in range: the full scale is raised on overload and the point re-read."""
        while True:
            x_v, y_v = (float(v) for v in self.driver.snap("X", "Y"))
            if not self._overloaded(x_v, y_v):
                return x_v, y_v
            present = self._full_scale_v()
            if present >= self.sensitivities_v[-1]:
                raise InstrumentError(f"{self.name}: overloaded at the largest full scale {present:g} V "
                                      f"(X = {x_v:.4g} V, Y = {y_v:.4g} V)")
            next_step = next(s for s in self.sensitivities_v if s > present * (1 + 1e-9))
            bigger = max(self._range_for(max(abs(x_v), abs(y_v)), OVERLOAD_MARGIN), next_step)
            log.info("%s: overload at full scale %g V (X = %.3g V, Y = %.3g V): raising it to %g V",
                     self.name, present, x_v, y_v, bigger)
            self.set_sensitivity_v(bigger)
            self.clock.sleep(self.settle_time_s())
            if self.model == "SR830":
                self.driver.lia_status  # noqa: B018 - reading clears the overload latched at the old range

    def out_of_range(self, xs, ys) -> bool:
        """After buffered points (which cannot be re-read one by one): whether any was beyond the full
        scale or latched an overload; if so the full scale is raised for the next try."""
        x_max = max((abs(float(v)) for v in xs if v == v), default=0.0)
        y_max = max((abs(float(v)) for v in ys if v == v), default=0.0)
        if not self._overloaded(x_max, y_max):
            return False
        present = self._full_scale_v()
        if present >= self.sensitivities_v[-1]:
            return True  # nothing larger: the caller gives up after its tries
        next_step = next(s for s in self.sensitivities_v if s > present * (1 + 1e-9))
        self.set_sensitivity_v(max(self._range_for(max(x_max, y_max), OVERLOAD_MARGIN), next_step))
        self.clock.sleep(self.settle_time_s())
        if self.model == "SR830":
            self.driver.lia_status  # noqa: B018 - reading clears the overload latched at the old range
        return True

    def read_r_theta(self) -> tuple[float, float]:
        """Magnitude R (V rms) and phase theta (deg), from one in-range snap of X and Y."""
        x_v, y_v = self.read_xy_v()
        return math.hypot(x_v, y_v), math.degrees(math.atan2(y_v, x_v))

    # ------------------------------------------------------------- shutdown
    def shutdown(self) -> None:
        """Sine amplitude to the instrument's minimum."""
        self.driver.sine_voltage = self.minimum_amplitude_v
        log.info("%s: sine output at its minimum, %g V rms", self.name, self.minimum_amplitude_v)
