"""FieldSource: the coil's Kepco BOP supply in closed loop with a Lake Shore 425 gaussmeter.

Calibration model (the bench file's ``wiring``): the field at the chip is

    field_oe = coil_oe_per_a * current_a + remanence_oe * d

where ``d`` is the sign of the last non-zero current the coil was driven with
(the yoke keeps its remanence along the last driven direction; ``d`` flips as
soon as the current changes sign). Hence a field ``F`` with ``F > remanence``
needs ``(F - remanence) / coil_oe_per_a``, one with ``F < -remanence`` needs
``(F + remanence) / coil_oe_per_a``. A field inside the remanence band
``|F| < remanence`` cannot be held by any current in this model: the coil is
left at zero current with its remanence along ``sign(F)`` (the nearest field
it can hold; for ``F = 0`` the present direction), and a warning names the
residual error if it exceeds the tolerance. Every other target is reached in
closed loop.

:meth:`ClosedLoopField.set_field_oe`:

1. computes the current from the calibration; a current beyond
   ``max_current_a`` is refused with ValueError before anything is sent;
2. ramps the supply's current set-point in steps no faster than
   ``ramp_rate_oe_per_s / coil_oe_per_a`` (A/s);
3. polls the gaussmeter every ``settle_poll_s``. While two successive readings
   differ by more than half the tolerance the coil (L/R) is still settling and
   the loop only waits. A steady reading within ``tolerance_oe`` of the target
   ends the loop; a steady reading off target corrects the current by
   ``(target - reading) / coil_oe_per_a`` (ramped) and the loop waits again.
   After ``max_iterations`` readings it raises InstrumentError naming the
   target and the last reading.

The gaussmeter is not trusted blindly. Every steady reading is compared with
the open-loop prediction of the coil constant for the present current (the
equation above); a disagreement beyond ``agreement_oe + agreement_fraction *
|prediction|`` (a probe zeroed in a field, at the wrong sensitivity, reversed,
or a stale reply) ramps the coil back to zero and raises
:class:`GaussmeterDisagreement`. A correction is also bounded by
``max_field_oe``: no current is set whose open-loop field would exceed it,
whatever the probe says.

:meth:`ClosedLoopField.zero` ramps the current to zero the same way, waits
until the measured coil current has decayed, then turns the output off. An
inductive load is never switched off under current: if the ramp or the
decay cannot be confirmed (a timeout, a garbled reply), the output stays on,
holding whatever the supply holds, and the error is raised for the caller to
retry or report as critical.

The supply is put in current mode, with its voltage limit at
``voltage_limit_v``, the first time a field is set; the gaussmeter reads in
oersted, DC, auto range, from its first reading. Time goes through the clock.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pymeasure.instruments.generic_types import SCPIMixin

from ...errors import InstrumentError
from ..interfaces import Clock
from ..quantise import KEITHLEY_NUMBER_FORMAT, toward_zero_as_sent
from .source_meter import DEFAULT_STEP_TIME_S, ramp_steps, run_ramp

log = logging.getLogger(__name__)

#: Voltage limit of the BOP 36-6M in current mode (its full scale), V.
DEFAULT_VOLTAGE_LIMIT_V = 36.0
#: Gaussmeter against the coil constant's prediction: the absolute part of the
#: tolerated disagreement, Oe (a few probe noise widths plus the remanence's
#: uncertainty on a calibrated coil).
DEFAULT_AGREEMENT_OE = 3.0
#: ... and the relative part (a coil constant calibrated to a few per cent).
DEFAULT_AGREEMENT_FRACTION = 0.05


class GaussmeterDisagreement(InstrumentError):
    """The gaussmeter's reading and the coil constant's prediction disagree: one of them is wrong."""


class ClosedLoopField:
    """Coil supply plus gaussmeter behind the :class:`~..interfaces.FieldSource` protocol."""

    def __init__(self, supply: Any, gaussmeter: Any, clock: Clock, *, coil_oe_per_a: float, remanence_oe: float,
                 ramp_rate_oe_per_s: float, tolerance_oe: float = 0.1, max_current_a: float,
                 settle_poll_s: float = 0.05, max_iterations: int = 20,
                 voltage_limit_v: float = DEFAULT_VOLTAGE_LIMIT_V, step_time_s: float = DEFAULT_STEP_TIME_S,
                 max_field_oe: float = math.inf, agreement_oe: float = DEFAULT_AGREEMENT_OE,
                 agreement_fraction: float = DEFAULT_AGREEMENT_FRACTION) -> None:
        for what, value in (("coil_oe_per_a", coil_oe_per_a), ("ramp_rate_oe_per_s", ramp_rate_oe_per_s),
                            ("max_field_oe", max_field_oe), ("agreement_oe", agreement_oe),
                            ("tolerance_oe", tolerance_oe), ("max_current_a", max_current_a),
                            ("settle_poll_s", settle_poll_s), ("voltage_limit_v", voltage_limit_v),
                            ("step_time_s", step_time_s)):
            if not (value > 0 and (math.isfinite(value) or what == "max_field_oe")):
                raise ValueError(f"field: {what} must be a positive number, not {value!r}")
        if not (math.isfinite(remanence_oe) and remanence_oe >= 0):
            raise ValueError(f"field: remanence_oe must be a finite number >= 0, not {remanence_oe!r}")
        if not (math.isfinite(agreement_fraction) and 0 <= agreement_fraction < 1):
            raise ValueError(f"field: agreement_fraction must be within [0, 1), not {agreement_fraction!r}")
        if int(max_iterations) < 1:
            raise ValueError(f"field: max_iterations must be at least 1, not {max_iterations!r}")
        self.supply = supply
        self.gaussmeter = gaussmeter
        self.clock = clock
        self.coil_oe_per_a = float(coil_oe_per_a)
        self.remanence_oe = float(remanence_oe)
        self.ramp_rate_oe_per_s = float(ramp_rate_oe_per_s)
        self.tolerance_oe = float(tolerance_oe)
        self.max_current_a = float(max_current_a)
        self.settle_poll_s = float(settle_poll_s)
        self.max_iterations = int(max_iterations)
        self.voltage_limit_v = float(voltage_limit_v)
        self.step_time_s = float(step_time_s)
        self.max_field_oe = float(max_field_oe)
        self.agreement_oe = float(agreement_oe)
        self.agreement_fraction = float(agreement_fraction)
        self._direction = 0.0  # sign of the last non-zero current driven; 0: unknown
        self._current_a = 0.0  # the set-point we last sent
        self._supply_ready = False
        self._gaussmeter_ready = False

    # ------------------------------------------------------------ identity
    @property
    def supply_identity(self) -> str:
        return str(self.supply.id).strip()

    @property
    def gaussmeter_identity(self) -> str:
        # the LakeShore425 driver is not declared SCPI: use pymeasure's generic id property
        return str(SCPIMixin.id.fget(self.gaussmeter)).strip()

    @property
    def identity(self) -> str:
        return f"{self.supply_identity} | {self.gaussmeter_identity}"

    # ---------------------------------------------------------- calibration
    def current_for_field_a(self, field_oe: float) -> float | None:
        """The coil current that holds ``field_oe`` in the calibration model; None inside the remanence band."""
        first = 1.0 if field_oe >= 0 else -1.0
        for direction in (first, -first):
            current_a = (field_oe - self.remanence_oe * direction) / self.coil_oe_per_a
            if current_a * direction >= 0:
                return current_a
        return None

    def predicted_field_oe(self, current_a: float, direction: float | None = None) -> float:
        """The field (Oe) the coil constant predicts for ``current_a`` (remanence along ``direction``,
        default: the sign of the last non-zero current)."""
        d = self._direction if direction is None else direction
        if current_a:
            d = math.copysign(1.0, current_a)
        return self.coil_oe_per_a * current_a + self.remanence_oe * d

    def forget_cached_state(self) -> None:
        """After an interrupted exchange: re-prepare both instruments before the next request."""
        self._supply_ready = False
        self._gaussmeter_ready = False

    # --------------------------------------------------------------- setup
    def _prepare_supply(self) -> None:
        if self._supply_ready:
            return
        if self.supply.operating_mode != "CURR":
            self.supply.current_setpoint = 0.0  # in voltage mode this is the current limit: no jump on the switch
            self.supply.operating_mode = "CURR"
        self.supply.voltage_setpoint = self.voltage_limit_v
        if not self.supply.output_enabled:
            self.supply.current_setpoint = 0.0
            self.supply.output_enabled = True
        errors = self.supply.check_errors()
        if errors:
            raise InstrumentError(f"field supply: errors while setting current mode: {errors}")
        self._supply_ready = True

    def _prepare_gaussmeter(self) -> None:
        if self._gaussmeter_ready:
            return
        self.gaussmeter.unit = "Oe"
        self.gaussmeter.dc_mode()
        self.gaussmeter.auto_range()
        self._gaussmeter_ready = True

    # ------------------------------------------------------------- ramping
    @property
    def ramp_rate_oe_per_s(self) -> float:
        """The field ramp rate (Oe/s); the current ramps at this over the coil constant."""
        return self._ramp_rate_oe_per_s

    @ramp_rate_oe_per_s.setter
    def ramp_rate_oe_per_s(self, value: float) -> None:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"field: ramp rate must be a positive number of Oe/s, not {value!r}")
        self._ramp_rate_oe_per_s = float(value)

    @property
    def ramp_rate_a_per_s(self) -> float:
        return self.ramp_rate_oe_per_s / self.coil_oe_per_a

    def _ramp_current(self, current_a: float) -> None:
        start_a = float(self.supply.current_setpoint)
        if start_a and not self._direction:
            self._direction = math.copysign(1.0, start_a)
        current_a = toward_zero_as_sent(current_a, KEITHLEY_NUMBER_FORMAT)  # what the supply will hold

        def step(level_a: float) -> None:
            self.supply.current_setpoint = level_a
            if level_a:
                self._direction = math.copysign(1.0, level_a)

        run_ramp(self.clock, ramp_steps(start_a, current_a, self.ramp_rate_a_per_s, self.step_time_s), step)
        self._current_a = current_a

    # ------------------------------------------------------------ requests
    def set_field_oe(self, field_oe: float) -> None:
        """Ramp to ``field_oe`` (Oe) at the ramp rate and settle it within the tolerance (closed loop)."""
        if not math.isfinite(field_oe):
            raise ValueError(f"field: target must be a finite number of Oe, not {field_oe!r}")
        current_a = self.current_for_field_a(field_oe)
        in_band = current_a is None
        current_a = 0.0 if in_band else current_a
        if abs(current_a) > self.max_current_a:
            raise ValueError(f"field: {field_oe:g} Oe needs {current_a:.4g} A in the coil, beyond its "
                             f"limit of {self.max_current_a:g} A")
        if abs(field_oe) > self.max_field_oe:
            raise ValueError(f"field: {field_oe:g} Oe is beyond the field limit of {self.max_field_oe:g} Oe")
        self._prepare_supply()
        self._prepare_gaussmeter()
        log.debug("field: to %g Oe (%.5g A)", field_oe, current_a)
        if in_band and field_oe and self._direction != math.copysign(1.0, field_oe):
            # put the remanence along the target: a nudge of one tolerance's worth of current
            self._ramp_current(math.copysign(self.tolerance_oe / self.coil_oe_per_a, field_oe))
        self._ramp_current(current_a)
        self._settle(field_oe, in_band)

    def _settle(self, target_oe: float, in_band: bool) -> None:
        previous_oe: float | None = None
        reading_oe = math.nan
        for _ in range(self.max_iterations):
            self.clock.sleep(self.settle_poll_s)
            reading_oe = self.read_field_oe()
            moving = previous_oe is None or abs(reading_oe - previous_oe) > self.tolerance_oe / 2
            previous_oe = reading_oe
            if moving:
                continue  # the coil current is still relaxing (L/R): judge only a steady field
            self._cross_check(reading_oe)
            error_oe = target_oe - reading_oe
            if abs(error_oe) <= self.tolerance_oe:
                log.debug("field: %g Oe settled (reading %.4g Oe)", target_oe, reading_oe)
                return
            if in_band:  # zero field is asked for often (resting, surveys): that is not worth a warning
                log.log(logging.INFO if target_oe == 0 else logging.WARNING,
                        "field: %g Oe lies inside the coil's remanence band (+/-%g Oe); holding %.4g Oe "
                        "at zero current", target_oe, abs(self.remanence_oe), reading_oe)
                return
            corrected_a = self._current_a + error_oe / self.coil_oe_per_a
            if abs(corrected_a) > self.max_current_a:
                raise InstrumentError(f"field: reaching {target_oe:g} Oe (reading {reading_oe:.4g} Oe) would need "
                                      f"{corrected_a:.4g} A, beyond the coil limit of {self.max_current_a:g} A")
            if abs(self.predicted_field_oe(corrected_a)) > self.max_field_oe:
                raise InstrumentError(f"field: reaching {target_oe:g} Oe (reading {reading_oe:.4g} Oe) would need "
                                      f"{corrected_a:.4g} A, whose open-loop field "
                                      f"{self.predicted_field_oe(corrected_a):.4g} Oe is beyond the limit of "
                                      f"{self.max_field_oe:g} Oe")
            log.debug("field: reading %.4g Oe for %g Oe: correcting to %.6g A", reading_oe, target_oe, corrected_a)
            self._ramp_current(corrected_a)
            previous_oe = None
        raise InstrumentError(f"field: did not settle within {self.tolerance_oe:g} Oe of {target_oe:g} Oe after "
                              f"{self.max_iterations} readings; last reading {reading_oe:.4g} Oe")

    def _cross_check(self, reading_oe: float) -> None:
        """A steady reading against the coil constant's prediction; on disagreement: zero, raise."""
        predicted_oe = self.predicted_field_oe(self._current_a)
        allowed_oe = self.agreement_oe + self.agreement_fraction * abs(predicted_oe)
        if abs(reading_oe - predicted_oe) <= allowed_oe:
            return
        message = (f"field: the gaussmeter reads {reading_oe:.4g} Oe where the coil constant predicts "
                   f"{predicted_oe:.4g} Oe at {self._current_a:.4g} A (tolerance {allowed_oe:.3g} Oe); "
                   f"check the probe (zero, sensitivity, orientation) and the coil calibration; "
                   f"the coil was ramped to zero")
        log.error("%s", message)
        self.zero()
        raise GaussmeterDisagreement(message)

    def read_field_oe(self) -> float:
        """The field the gaussmeter reads (Oe)."""
        self._prepare_gaussmeter()
        return float(self.gaussmeter.field)

    def zero(self) -> None:
        """Ramp the coil to zero current at the ramp rate, let it decay (L/R), turn the supply output off.

        The output goes off only once the measured coil current is below half a
        tolerance's worth: the supply, not a broken circuit, takes the coil's
        stored energy. If that cannot be confirmed, the output stays on (the
        supply holds the coil) and InstrumentError is raised.
        """
        self._supply_ready = False
        if self.supply.output_enabled:
            self._ramp_current(0.0)
            self._wait_for_zero_current()
            self.supply.output_enabled = False
        elif float(self.supply.current_setpoint) != 0.0:
            self.supply.current_setpoint = 0.0  # output off: no current flows, nothing to ramp
        self._current_a = 0.0
        log.info("field: coil at zero current, supply output off")

    def _wait_for_zero_current(self) -> None:
        threshold_a = 0.5 * self.tolerance_oe / self.coil_oe_per_a
        measured_a = math.nan
        for _ in range(self.max_iterations):
            self.clock.sleep(self.settle_poll_s)
            measured_a = float(self.supply.current)
            if abs(measured_a) <= threshold_a:
                return
        raise InstrumentError(f"field: the coil still carries {measured_a:.4g} A after {self.max_iterations} "
                              f"polls at zero set-point; the supply output stays on, holding it")
