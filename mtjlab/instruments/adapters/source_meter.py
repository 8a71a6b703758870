"""SourceMeter over pymeasure's Keithley 2400 and 2450 drivers.

The adapter talks only through the drivers' properties and methods. Where the
two models differ:

- 2400: every reading returns voltage, current, resistance, time and a status
  word. :meth:`KeithleySourceMeter.measure_voltage_v` reads through the
  driver's ``measure_all`` so that the status word's compliance bit (bit 3)
  comes with the same reading; :meth:`in_compliance` reports it.
- 2450: a reading returns the selected measure function only, and pymeasure
  offers no compliance flag. The adapter selects the voltage function when it
  configures the source, switches to current for :meth:`measure_current_a`
  and back, and counts a voltage reading at ``|V| >= 0.999 * compliance`` as
  in compliance.

Levels move only by :meth:`ramp_to`: steps of at most ``rate * step_time_s``,
each preceded by ``clock.sleep(step / rate)``, so the level never moves faster
than the rate on average, even across a ramp cut short and the next one. Time goes through the injected clock.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Sequence

import numpy as np
from pymeasure.instruments.keithley import Keithley2450

from ...errors import InstrumentError
from ..interfaces import Clock
from ..quantise import KEITHLEY_NUMBER_FORMAT, at_most_as_sent, keithley_current_level, toward_zero_as_sent

log = logging.getLogger(__name__)

#: Default duration of one ramp step (s).
DEFAULT_STEP_TIME_S = 0.01
#: A reading within this fraction of the compliance counts as in compliance
#: (for models whose driver reports no compliance flag).
COMPLIANCE_FRACTION = 0.999
#: Compliance bit of the Keithley 2400 status word.
STATUS_COMPLIANCE_BIT = 3
#: Overflow bit of the Keithley 2400 status word.
STATUS_OVERFLOW_BIT = 0
#: Keithley 2400/2450 readings at or above this are the instruments' overflow / NaN codes.
OVERFLOW_READING = 9.9e37
#: Allowed integration times (power-line cycles).
NPLC_RANGE = (0.01, 10.0)


#: Most steps one ramp is cut into (a very slow ramp gets longer steps instead).
MAX_RAMP_STEPS = 10_000


def ramp_steps(start: float, stop: float, rate_per_s: float, step_time_s: float) -> list[tuple[float, float]]:
    """The (level, wait_s) steps of a ramp from ``start`` to ``stop``.

    Equal steps of at most ``rate_per_s * step_time_s`` (or of 1/MAX_RAMP_STEPS
    of the distance, if larger); each waits ``step / rate``.
    The last level is exactly ``stop``. A zero-length ramp has no steps.
    """
    if not (math.isfinite(rate_per_s) and rate_per_s > 0):
        raise ValueError(f"ramp rate must be a positive number, not {rate_per_s!r}")
    if not (math.isfinite(step_time_s) and step_time_s > 0):
        raise ValueError(f"ramp step time must be a positive number of seconds, not {step_time_s!r}")
    distance = stop - start
    if distance == 0:
        return []
    # Slow ramps take longer steps rather than more of them: the rate holds either way.
    n_steps = max(1, min(MAX_RAMP_STEPS, math.ceil(abs(distance) / (rate_per_s * step_time_s) - 1e-9)))
    step = distance / n_steps
    wait_s = abs(step) / rate_per_s
    levels = [start + step * (i + 1) for i in range(n_steps - 1)] + [stop]
    return [(level, wait_s) for level in levels]


#: A step written later than this fraction of a wait after its due time (a retried
#: timeout, a slow bus) restarts the ramp's schedule from when it landed, so the
#: steps behind it never catch up in a burst faster than the rate. Ordinary bus
#: time (a millisecond or so against waits of 10 ms and more) stays absorbed.
LATE_STEP_FRACTION = 0.2


def run_ramp(clock: Clock, steps: list[tuple[float, float]], apply: Any) -> None:
    """Apply each (level, wait_s) step after its wait, on a fixed schedule.

    Steps are due at fixed times from the start, so the bus time of the writes
    is absorbed and a ramp takes exactly distance / rate. The wait comes before
    its step: a ramp cut short just after a step, then followed at once by
    another, still never moves faster than the rate. A step that lands late
    (see :data:`LATE_STEP_FRACTION`) moves the schedule with it.
    """
    due_s = clock.now_s()
    for level, wait_s in steps:
        due_s += wait_s
        clock.sleep(due_s - clock.now_s())
        apply(level)
        due_s = max(due_s, clock.now_s() - LATE_STEP_FRACTION * wait_s)


class KeithleySourceMeter:
    """A Keithley 2400 or 2450 behind the :class:`~..interfaces.SourceMeter` protocol."""

    def __init__(self, driver: Any, clock: Clock, *, name: str, step_time_s: float = DEFAULT_STEP_TIME_S) -> None:
        self.driver = driver
        self.clock = clock
        self.name = name
        self.step_time_s = step_time_s
        self._is_2450 = isinstance(driver, Keithley2450)
        self._mode: str | None = None  # "current" or "voltage", once configured or read
        self._compliance: float | None = None  # V (current mode) or A (voltage mode)
        self._nplc = 1.0
        self._sense: str | None = None  # 2450: the selected measure function
        self._last_voltage_v: float | None = None
        self._last_current_a: float | None = None
        self._last_status: int | None = None

    # ------------------------------------------------------------ identity
    @property
    def identity(self) -> str:
        """The instrument's *IDN reply."""
        return str(self.driver.id).strip()

    @property
    def model(self) -> str:
        return "Keithley2450" if self._is_2450 else "Keithley2400"

    # ------------------------------------------------------- configuration
    def source_current(self, compliance_v: float) -> None:
        """Current source (auto source range) with voltage compliance ``compliance_v``; sense voltage."""
        compliance_v = at_most_as_sent(self._positive("voltage compliance", compliance_v, 210.0, "V"),
                                       KEITHLEY_NUMBER_FORMAT)  # never above what was asked
        self._configure("current")
        self.driver.compliance_voltage = compliance_v
        self._compliance = compliance_v
        if self._is_2450:
            self._select_sense("voltage")
        else:
            self.driver.voltage_range_auto_enabled = True
        self._check_errors(f"configuring a current source with {compliance_v:g} V compliance")
        log.info("%s: current source, compliance %g V", self.name, compliance_v)

    def source_voltage(self, compliance_a: float) -> None:
        """Voltage source (auto source range) with current compliance ``compliance_a``; sense current."""
        compliance_a = at_most_as_sent(self._positive("current compliance", compliance_a, 1.05, "A"),
                                       KEITHLEY_NUMBER_FORMAT)
        self._configure("voltage")
        self.driver.compliance_current = compliance_a
        self._compliance = compliance_a
        if self._is_2450:
            self._select_sense("current")
        else:
            self.driver.current_range_auto_enabled = True
        self._check_errors(f"configuring a voltage source with {compliance_a:g} A compliance")
        log.info("%s: voltage source, compliance %g A", self.name, compliance_a)

    def _configure(self, mode: str) -> None:
        # A function change with the output on is refused by the instrument (seen by _check_errors).
        self.driver.source_mode = mode
        self._mode = mode
        if self._is_2450:
            self.driver.auto_range_source()
        elif mode == "current":
            self.driver.source_current_range_auto_enabled = True
        else:
            self.driver.source_voltage_range_auto_enabled = True

    def set_nplc(self, nplc: float) -> None:
        """Integration time of each reading, in power-line cycles (0.01 .. 10)."""
        low, high = NPLC_RANGE
        if not (math.isfinite(nplc) and low <= nplc <= high):
            raise ValueError(f"{self.name}: NPLC must be within {low:g}..{high:g}, not {nplc!r}")
        self.driver.voltage_nplc = nplc
        if self._is_2450:  # per measure function on the 2450 (one global setting on the 2400)
            self.driver.current_nplc = nplc
        self._nplc = float(nplc)

    @staticmethod
    def _positive(what: str, value: float, limit: float, unit: str) -> float:
        if not (math.isfinite(value) and 0 < value <= limit):
            raise ValueError(f"{what} must be within (0, {limit:g}] {unit}, not {value!r}")
        return float(value)

    def _source_mode(self) -> str:
        if self._mode is None:
            self._mode = self.driver.source_mode
        return self._mode

    # ------------------------------------------------------------- levels
    @property
    def level(self) -> float:
        """The programmed source level (A in current mode, V in voltage mode)."""
        if self._source_mode() == "current":
            return float(self.driver.source_current)
        return float(self.driver.source_voltage)

    def applied_level(self, level: float) -> float:
        """The level the instrument will source for ``level``: in current mode on its range's
        resolution, as the driver formats it; never larger in magnitude than asked."""
        if self._mode == "current" or self._mode is None:
            return keithley_current_level(float(level))
        return toward_zero_as_sent(float(level), KEITHLEY_NUMBER_FORMAT)

    @property
    def compliance(self) -> float:
        """The compliance (V in current mode, A in voltage mode), read from the instrument."""
        if self._source_mode() == "current":
            self._compliance = abs(float(self.driver.compliance_voltage))
        else:
            self._compliance = abs(float(self.driver.compliance_current))
        return self._compliance

    def forget_cached_state(self) -> None:
        """After an interrupted exchange: read mode and compliance from the instrument again."""
        self._mode = self._compliance = self._sense = None
        self._last_voltage_v = self._last_current_a = self._last_status = None

    def _set_level(self, value: float) -> None:
        if self._source_mode() == "current":
            self.driver.source_current = value
        else:
            self.driver.source_voltage = value

    def ramp_to(self, level: float, rate_per_s: float) -> None:
        """Move the level to ``level`` in steps no faster than ``rate_per_s`` (units/s)."""
        if not math.isfinite(level):
            raise ValueError(f"{self.name}: level must be a finite number, not {level!r}")
        steps = ramp_steps(self.level, self.applied_level(level), rate_per_s, self.step_time_s)
        if steps:
            log.debug("%s: ramp to %g in %d steps at %g /s", self.name, level, len(steps), rate_per_s)
        run_ramp(self.clock, steps, self._set_level)

    # ------------------------------------------------------------- output
    @property
    def output_enabled(self) -> bool:
        """Whether the output is on (read from the instrument)."""
        return bool(self.driver.source_enabled)

    def set_output(self, enabled: bool) -> None:
        """Turn the output on or off; off only at zero level (refused otherwise)."""
        if enabled:
            self.driver.enable_source()
            return
        level = self.level
        if level != 0.0:
            raise ValueError(f"{self.name}: refusing to turn the output off at {level:g}; ramp to zero first")
        self.driver.disable_source()

    def shutdown(self, rate_per_s: float) -> None:
        """Ramp to zero at ``rate_per_s`` and turn the output off."""
        self.ramp_to(0.0, rate_per_s)
        self.driver.disable_source()
        log.info("%s: at zero, output off", self.name)

    # ----------------------------------------------------------- readings
    def measure_voltage_v(self) -> float:
        """One voltage reading (V), integrated over the configured NPLC."""
        if self._is_2450:
            self._select_sense("voltage")
            voltage_v = float(self.driver.voltage)
            self._last_status = None
        else:
            reading = self.driver.measure_all()
            voltage_v, self._last_status = float(reading["voltage"]), int(reading["status"])
            if self._last_status >> STATUS_OVERFLOW_BIT & 1:
                voltage_v = math.inf
        if not math.isfinite(voltage_v) or abs(voltage_v) >= OVERFLOW_READING:
            raise InstrumentError(f"{self.name}: no valid voltage reading (overflow or not measured)")
        self._last_voltage_v = voltage_v
        return voltage_v

    def measure_current_a(self) -> float:
        """One current reading (A)."""
        if self._is_2450:
            self._select_sense("current")
        current_a = float(self.driver.current)
        if not math.isfinite(current_a) or abs(current_a) >= OVERFLOW_READING:
            raise InstrumentError(f"{self.name}: no valid current reading (overflow or not measured)")
        self._last_current_a = current_a
        return current_a

    def _select_sense(self, function: str) -> None:
        """2450: select the measure function (the 2400 measures both at once)."""
        if self._sense == function:
            return
        if function == "voltage":
            self.driver.measure_voltage(nplc=self._nplc, auto_range=True)
        else:
            self.driver.measure_current(nplc=self._nplc, auto_range=True)
        self._sense = function

    def in_compliance(self) -> bool:
        """Whether the last reading was limited by the compliance (a reading is taken if none was).

        2400: the compliance bit of the last voltage reading's status word.
        2450 (pymeasure offers no flag): a current source is in compliance when
        its last voltage reading is at ``|V| >= 0.999 * compliance_v``; a
        voltage source when its last current reading is at ``|I| >= 0.999 * compliance_a``.
        """
        if self._is_2450 and self._source_mode() == "voltage":
            reading = self._last_current_a if self._last_current_a is not None else self.measure_current_a()
            compliance = self._compliance if self._compliance is not None else abs(float(self.driver.compliance_current))
        else:
            reading = self._last_voltage_v if self._last_voltage_v is not None else self.measure_voltage_v()
            if self._last_status is not None:
                return bool(self._last_status >> STATUS_COMPLIANCE_BIT & 1)
            compliance = self._compliance if self._compliance is not None else abs(float(self.driver.compliance_voltage))
        self._compliance = compliance
        return abs(reading) >= COMPLIANCE_FRACTION * compliance

    def list_sweep_voltage_v(self, levels: Sequence[float]) -> np.ndarray:
        """Source each level in turn (no ramp between them) and read the voltage at each."""
        values = [float(v) for v in levels]
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"{self.name}: sweep levels must be finite numbers")
        readings = np.empty(len(values))
        for i, value in enumerate(values):
            self._set_level(value)
            readings[i] = self.measure_voltage_v()
        return readings

    # ------------------------------------------------------------- errors
    def _check_errors(self, doing: str) -> None:
        errors = self.driver.check_errors()
        if errors:
            described = "; ".join(" ".join(str(part).strip() for part in e) for e in errors)
            raise InstrumentError(f"{self.name}: the instrument reported errors {doing}: {described}")
