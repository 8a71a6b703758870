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

import logging

from pymeasure.experiment import BooleanParameter, IntegerParameter, Parameter

from ..instruments.bench_array import BenchNeuronArray
from .activation import ActivationMapProcedure, parse_fields_oe

log = logging.getLogger(__name__)

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
    """One input sweep at one bias field, for :func:`assess` (defaults: a dense sweep at 20 Oe).

    With ``lockin_from_budget`` (the default, where the bench file's
    ``measurement.lockin_settings`` is ``auto``) the lock-in's frequency, time
    constant, wait and the modulation come from the noise budget, planned on
    this device (:mod:`mtjlab.instruments.lockin_planning`), and the sweep's own
    modulation parameter is not used: the summary then reports the plan and its
    predicted error beside the measured one. On a simulated bench each point
    also records the junction's true dV/dI, the reference for the measured
    error; elsewhere the DC curve's slope is.
    """

    bias_fields_oe = Parameter("Bias fields (Oe)", default="20")
    points = IntegerParameter("Points per sweep", default=81, minimum=2, maximum=10001)
    lockin_from_budget = BooleanParameter(
        "Lock-in settings from the noise budget (the modulation parameter is then not used)", default=True)

    DATA_COLUMNS = [*ActivationMapProcedure.DATA_COLUMNS, "True derivative (V/A)"]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        #: The noise-budget plan the sweep ran with (None: the sweep's own modulation, the bench's lock-in).
        self.lockin_plan = None

    def execute(self) -> None:
        field_oe = parse_fields_oe(self.bias_fields_oe)[0]
        inputs = self.inputs_a()
        planned = bool(self.lockin_from_budget) and self.bench.config.measurement.lockin_settings == "auto"
        array = BenchNeuronArray(self.bench, read_current_a=self.read_current_a, bias_field_oe=field_oe,
                                 modulation_amplitude_a=None if planned else self.modulation_amplitude_a,
                                 probe_device=self.device_id)
        if not planned:
            self.bench.limits.check_input_current(float(np.max(np.abs(inputs))), self.modulation_amplitude_a)
        array.prepare()
        if planned:
            self.lockin_plan = array.lockin_plan
            self.modulation_amplitude_a = array.modulation_amplitude_a  # what the derivative was taken with
            self.bench.limits.check_input_current(float(np.max(np.abs(inputs))), self.modulation_amplitude_a)
            log.info("derivative check with %s", self.lockin_plan.describe())
        truth = getattr(getattr(self.bench, "lab", None), "exact_derivative_v_per_a", None)
        reading_oe = self.bench.read_field_oe()
        for done, input_a in enumerate(inputs, start=1):
            if self.should_stop():
                log.info("derivative check stopped after %d of %d points", done - 1, inputs.size)
                return
            point = array.measure_point(self.device_id, float(input_a))
            applied_a = self.bench.settings.input_current_a
            self.emit("results", {
                "Bias field (Oe)": field_oe, "Field reading (Oe)": reading_oe,
                "Input current (A)": float(input_a), "Output voltage (V)": point.output_v,
                "Lock-in X (V)": point.x_v_rms, "Lock-in Y (V)": point.y_v_rms,
                "Derivative (V/A)": point.derivative_v_per_a, "Dead": int(point.dead),
                "True derivative (V/A)": float(truth(self.device_id, applied_a)) if truth else float("nan"),
            })
            self.emit("progress", 100.0 * done / inputs.size)
            if point.dead:
                log.warning("%s is dead: the derivative check stops", self.device_id)
                return
        self.bench.set_input_current(0.0)


def measured_error(derivative_v_per_a: np.ndarray, reference_v_per_a: np.ndarray) -> tuple[float, float]:
    """RMS and worst |measured - reference| over the points, relative to the reference's peak (the
    noise budget's measure of error, eq. L5 in docs/bench.md)."""
    measured, reference = np.asarray(derivative_v_per_a, float), np.asarray(reference_v_per_a, float)
    keep = np.isfinite(measured) & np.isfinite(reference)
    if not keep.any() or not np.max(np.abs(reference[keep])) > 0:
        raise ValueError("no finite reference derivative to compare with")
    error = np.abs(measured[keep] - reference[keep]) / np.max(np.abs(reference[keep]))
    return float(np.sqrt(np.mean(error**2))), float(np.max(error))
