"""Derivative check: the lock-in's analogue derivative against the DC curve's slope.

One input sweep of one device at one bias field gives both the DC output V(I)
and the lock-in derivative X-based dV/dI at each point. The numerical
derivative of the DC curve (second-order centred differences on the measured,
possibly uneven, grid) is the reference. The agreement is reported as the
median and worst relative error and the correlation, over the points where the
slope is large enough to compare (above ``SLOPE_FLOOR_FRACTION`` of its peak).

The modulation amplitude is judged against the curve. The lock-in's first
harmonic of a peak-``d`` sine averages the slope over the aperture ``+/- d``
(to second order it is ``V' + (d^2/8) V'''``), so ``d`` must be small against
the width over which the slope changes: the check flags the modulation as too
large when the aperture ``2d`` exceeds ``MAX_APERTURE_FRACTION`` of the full
width at half maximum of |V'| (the sweep's span if the peak is wider than the
sweep). It flags it as too small when the lock-in derivative is noisy: its
scatter about a smooth fit exceeds ``MAX_NOISE_FRACTION`` of its peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activation import ActivationMapProcedure

#: Points whose slope is below this fraction of the peak slope are not compared.
SLOPE_FLOOR_FRACTION = 0.2
#: Largest acceptable aperture 2d of the modulation, as a fraction of the slope's FWHM.
MAX_APERTURE_FRACTION = 0.1
#: Largest acceptable scatter of the lock-in derivative, relative to its peak.
MAX_NOISE_FRACTION = 0.05


@dataclass(frozen=True)
class DerivativeAgreement:
    """How the lock-in derivative compares with the DC curve's slope."""

    median_relative_error: float
    worst_relative_error: float
    correlation: float
    compared_points: int
    aperture_fraction: float  # 2d over the full width at half maximum of |V'|
    verdict: str  # "ok", "modulation too large" or "modulation too small"


def numerical_derivative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dy/dx on an uneven grid (second order inside, first order at the ends)."""
    return np.gradient(y, x, edge_order=2)


def assess(input_a: np.ndarray, output_v: np.ndarray, lockin_derivative_v_per_a: np.ndarray,
           modulation_peak_a: float) -> DerivativeAgreement:
    """Compare the lock-in derivative with the slope of the DC curve (see the module doc)."""
    x, v, lockin = (np.asarray(a, float) for a in (input_a, output_v, lockin_derivative_v_per_a))
    finite = np.isfinite(x) & np.isfinite(v) & np.isfinite(lockin)  # a dead device's readings are not data
    order = np.argsort(x[finite])
    x, v, lockin = x[finite][order], v[finite][order], lockin[finite][order]
    if x.size < 5 or np.any(np.diff(x) <= 0):
        raise ValueError(f"the derivative check needs at least 5 distinct input currents (got {np.unique(x).size})")
    slope = numerical_derivative(x, v)
    if not np.max(np.abs(slope)) > 0 or not np.max(np.abs(lockin)) > 0:
        raise ValueError("the DC curve or the lock-in derivative is flat: no slope to compare")
    compare = np.abs(slope) >= SLOPE_FLOOR_FRACTION * np.max(np.abs(slope))
    relative = np.abs(lockin[compare] - slope[compare]) / np.abs(slope[compare])
    correlation = float(np.corrcoef(lockin, slope)[0, 1]) if np.ptp(lockin) > 0 and np.ptp(slope) > 0 else 0.0
    above_half = x[np.abs(slope) >= 0.5 * np.max(np.abs(slope))]
    fwhm_a = max(float(above_half[-1] - above_half[0]), float(np.min(np.diff(x))))
    aperture = 2.0 * modulation_peak_a / fwhm_a
    smooth = np.polyval(np.polyfit(x, lockin, min(6, x.size - 1)), x)
    scatter = float(np.std(lockin - smooth) / np.max(np.abs(lockin)))
    verdict = ("modulation too large" if aperture > MAX_APERTURE_FRACTION
               else "modulation too small" if scatter > MAX_NOISE_FRACTION else "ok")
    return DerivativeAgreement(float(np.median(relative)), float(np.max(relative)), correlation,
                               int(compare.sum()), aperture, verdict)


class DerivativeCheckProcedure(ActivationMapProcedure):
    """One input sweep at one bias field, for :func:`assess` (defaults: a dense sweep at 20 Oe)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("bias_fields_oe", "20")
        kwargs.setdefault("points", 81)
        super().__init__(**kwargs)
