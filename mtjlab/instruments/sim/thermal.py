"""Temperature of the chip: its laws, Joule heating and drift over lab time.

The bench file's nominal Hk, TMR0 and Delta hold at ``reference_temperature_k``.
At another junction temperature T they follow (docs/chip_realism.md, eq. R4)::

    Ms(T) = Ms(0) (1 - beta T^1.5)                                   (Bloch)
    Hk(T) = Hk(T_ref) [Ms(T) / Ms(T_ref)]^n                          (n = 1: shape anisotropy)
    P(T)  = P(T_ref) (1 - alpha T^1.5) / (1 - alpha T_ref^1.5)       (Shang et al. 1998)
    TMR   = 2 P^2 / (1 - P^2)                                        (Jullière, equal electrodes)
    Delta(T) = Delta(T_ref) [Ms(T)/Ms(T_ref)]^(1+n) T_ref / T        (Delta = Ms Hk V / 2 k_B T)

A junction's temperature is the chip's plus the heating by its read power (eq. R5)::

    T_i = T_chip(t) + r_J I_read^2 R_mid,i        R_mid = R_P (1 + TMR) / (1 + TMR / 2)

(R_mid: the resistance half way between parallel and antiparallel conductance,
where a sensor junction sits at zero field). The chip's temperature and the
offset field drift over lab time ``t`` (eq. R6)::

    T_chip(t) = T0 + dT (1 - exp(-t / tau_T))
    H_N,i(t)  = H_N,i + dH (1 - exp(-t / tau_H))

Lab time is the bench's clock: virtual on the simulated bench, so a
calibration made at the start of a long run is stale by its end exactly as on a
real bench. The effective parameters are recomputed only when the temperature
or the offset has moved by :data:`TEMPERATURE_RESOLUTION_K` or
:data:`OFFSET_RESOLUTION_OE`: a drift is followed as a staircase of such steps,
so response tables (half a second each for a 4 x 4 chip) are rebuilt a bounded
number of times, about 50 per kelvin and 100 per oersted of drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .parameters import DeviceParameters

#: Temperatures closer than this (K) share effective parameters: Hk and TMR then differ by < 1e-4 relative.
TEMPERATURE_RESOLUTION_K = 0.02
#: Offset fields closer than this (Oe) share effective parameters: the gaussmeter's own noise.
OFFSET_RESOLUTION_OE = 0.01
_KEPT = 16


@dataclass(frozen=True)
class ThermalModel:
    """The laws R4-R6 with the bench file's parameters (names and units as in ``chip.physics``)."""

    temperature_k: float = 300.0
    reference_temperature_k: float = 300.0
    ms_bloch_coefficient_per_k1p5: float = 3.0e-5
    anisotropy_ms_exponent: float = 1.0
    polarisation_bloch_coefficient_per_k1p5: float = 2.0e-5
    joule_heating_k_per_mw: float = 0.0
    temperature_drift_k: float = 0.0
    temperature_drift_time_s: float = 3600.0
    offset_drift_oe: float = 0.0
    offset_drift_time_s: float = 3600.0

    @classmethod
    def from_physics(cls, physics: Any) -> "ThermalModel":
        return cls(**{name: float(getattr(physics, name)) for name in cls.__dataclass_fields__})

    @property
    def active(self) -> bool:
        """Whether any junction ever differs from its nominal (reference-temperature) parameters."""
        return (self.temperature_k != self.reference_temperature_k or self.joule_heating_k_per_mw > 0
                or self.temperature_drift_k != 0 or self.offset_drift_oe != 0)

    # ----------------------------------------------------------------- laws
    def chip_temperature_k(self, lab_time_s: float) -> float:
        """T_chip(t), eq. R6."""
        return self.temperature_k + self.temperature_drift_k * -math.expm1(-lab_time_s / self.temperature_drift_time_s)

    def offset_shift_oe(self, lab_time_s: float) -> float:
        """H_N(t) - H_N, eq. R6."""
        return self.offset_drift_oe * -math.expm1(-lab_time_s / self.offset_drift_time_s)

    def magnetisation_ratio(self, temperature_k):
        """Ms(T) / Ms(T_ref), eq. R4."""
        beta = self.ms_bloch_coefficient_per_k1p5
        return (1.0 - beta * np.asarray(temperature_k) ** 1.5) / (1.0 - beta * self.reference_temperature_k ** 1.5)

    def anisotropy_ratio(self, temperature_k):
        """Hk(T) / Hk(T_ref), eq. R4."""
        return self.magnetisation_ratio(temperature_k) ** self.anisotropy_ms_exponent

    def stability_ratio(self, temperature_k):
        """Delta(T) / Delta(T_ref), eq. R4."""
        m = self.magnetisation_ratio(temperature_k)
        return m ** (1.0 + self.anisotropy_ms_exponent) * self.reference_temperature_k / np.asarray(temperature_k)

    def tmr(self, tmr_at_reference, temperature_k):
        """TMR(T) from the TMR at T_ref, eq. R4 (Jullière with a Bloch-law polarisation)."""
        alpha = self.polarisation_bloch_coefficient_per_k1p5
        p_ref = np.sqrt(np.asarray(tmr_at_reference) / (2.0 + np.asarray(tmr_at_reference)))
        p = p_ref * (1.0 - alpha * np.asarray(temperature_k) ** 1.5) / (1.0 - alpha * self.reference_temperature_k ** 1.5)
        return 2.0 * p**2 / (1.0 - p**2)

    def junction_temperature_k(self, devices: DeviceParameters, lab_time_s: float, read_current_a: float):
        """T_i of every junction, eq. R5."""
        r_mid = devices.resistance_p_ohm * (1.0 + devices.tmr0) / (1.0 + 0.5 * devices.tmr0)
        power_mw = read_current_a**2 * r_mid * 1e3
        return self.chip_temperature_k(lab_time_s) + self.joule_heating_k_per_mw * power_mw

    # ------------------------------------------------------------ parameters
    def effective(self, devices: DeviceParameters, lab_time_s: float, read_current_a: float) -> DeviceParameters:
        """The junctions' parameters at lab time ``t`` and this read current (eqs. R4-R6)."""
        temperature = self.junction_temperature_k(devices, lab_time_s, read_current_a)
        temperature = np.round(temperature / TEMPERATURE_RESOLUTION_K) * TEMPERATURE_RESOLUTION_K
        shift = round(self.offset_shift_oe(lab_time_s) / OFFSET_RESOLUTION_OE) * OFFSET_RESOLUTION_OE
        return devices.with_values(
            anisotropy_field_oe=devices.anisotropy_field_oe * self.anisotropy_ratio(temperature),
            tmr0=self.tmr(devices.tmr0, temperature),
            stability_factor=devices.stability_factor * self.stability_ratio(temperature),
            offset_field_oe=devices.offset_field_oe + shift,
        )

    def key(self, lab_time_s: float, read_current_a: float) -> tuple:
        """What the effective parameters depend on, at the resolutions above."""
        joule = read_current_a**2 if self.joule_heating_k_per_mw > 0 else 0.0
        return (round(self.chip_temperature_k(lab_time_s) / TEMPERATURE_RESOLUTION_K),
                round(self.offset_shift_oe(lab_time_s) / OFFSET_RESOLUTION_OE), joule)


class EffectiveDevices:
    """The chip's junctions as they are now: a small cache of :meth:`ThermalModel.effective`.

    Keyed by what the parameters depend on (the caller's key: the truth's generation and
    :meth:`ThermalModel.key`), so the same conditions give back the same object and
    a replaced truth never meets a stale entry.
    """

    def __init__(self, thermal: ThermalModel) -> None:
        self.thermal = thermal
        self._cache: dict[tuple, DeviceParameters] = {}

    def at(self, devices: DeviceParameters, key: tuple, lab_time_s: float, read_current_a: float) -> DeviceParameters:
        if not self.thermal.active:
            return devices
        found = self._cache.pop(key, None)
        if found is None:
            if len(self._cache) >= _KEPT:
                self._cache.pop(next(iter(self._cache)))
            found = self.thermal.effective(devices, lab_time_s, read_current_a)
        self._cache[key] = found  # most recently used last
        return found
