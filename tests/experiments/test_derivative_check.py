"""The derivative check: lock-in derivative against the DC curve's own slope."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.experiment import Results

from mtjlab.config import load_default_bench
from mtjlab.experiments.catalog import SWEEPS
from mtjlab.experiments.derivative_check import (DerivativeCheckProcedure, assess, measured_error,
                                                 numerical_derivative)
from mtjlab.experiments.runner import run_procedure
from mtjlab.instruments.bench import Bench


def _check(tmp_path, modulation_a: float):
    config = load_default_bench().model_copy(deep=True)
    config.limits.max_modulation_v_rms = 2.0  # room for a modulation ten times the default
    procedure = DerivativeCheckProcedure(device_id="r2c3", input_min_a=-0.012, input_max_a=0.012, points=49,
                                         modulation_amplitude_a=modulation_a, lockin_from_budget=False)
    with Bench(config) as bench:
        run_procedure(procedure.use_bench(bench), tmp_path / f"check-{modulation_a:g}.csv")
    data = Results.load(str(tmp_path / f"check-{modulation_a:g}.csv")).data
    return assess(data["Input current (A)"].to_numpy(), data["Output voltage (V)"].to_numpy(),
                  data["Derivative (V/A)"].to_numpy(), modulation_a)


def test_default_modulation_agrees_within_two_percent_and_is_ok(tmp_path):
    result = _check(tmp_path, 2e-4)
    assert result.median_relative_error < 0.02 and result.correlation > 0.99
    assert result.verdict == "ok"


def test_ten_times_the_modulation_is_flagged_too_large(tmp_path):
    assert _check(tmp_path, 2e-3).verdict == "modulation too large"


def test_numerical_derivative_is_exact_for_a_quadratic_on_an_uneven_grid():
    x = np.sort(np.random.default_rng(3).uniform(-1, 1, 30))
    np.testing.assert_allclose(numerical_derivative(x, 3 * x**2 - x), 6 * x - 1, atol=1e-9)


def test_a_noisy_lockin_is_flagged_as_too_small_a_modulation():
    x = np.linspace(-0.01, 0.01, 41)
    v = 0.1 * np.tanh(x / 0.008)
    noisy = numerical_derivative(x, v) * (1 + 0.2 * np.random.default_rng(0).standard_normal(x.size))
    assert assess(x, v, noisy, 1e-5).verdict == "modulation too small"


def test_too_few_points_are_refused():
    with pytest.raises(ValueError, match="at least 5"):
        assess(np.arange(3.0), np.arange(3.0), np.ones(3), 1e-4)


def _budgeted(tmp_path, tolerance: float):
    config = load_default_bench().model_copy(deep=True)
    config.measurement.derivative_tolerance = tolerance
    procedure = DerivativeCheckProcedure(device_id="r2c3", input_min_a=-0.012, input_max_a=0.012, points=41)
    path = tmp_path / f"budget-{tolerance:g}.csv"
    with Bench(config) as bench:
        run_procedure(procedure.use_bench(bench), path)
    return procedure, Results.load(str(path)).data


def test_with_the_noise_budget_the_check_reports_the_plan_and_meets_the_asked_tolerance(tmp_path):
    procedure, data = _budgeted(tmp_path, 0.01)
    plan = procedure.lockin_plan
    assert plan is not None and procedure.modulation_amplitude_a == pytest.approx(plan.modulation_peak_a, rel=0.01)
    rms, worst = measured_error(data["Derivative (V/A)"].to_numpy(), data["True derivative (V/A)"].to_numpy())
    assert rms <= 0.01 and plan.predicted_error <= 0.01
    lines = SWEEPS["derivative"].summarise(data, procedure)
    assert any(line.startswith("settings from the noise budget:") for line in lines)
    assert any(line.startswith("predicted error") for line in lines)
    assert any(line.startswith("measured error against the true dV/dI") and "within" in line for line in lines)


def test_a_four_times_tighter_tolerance_halves_the_modulation(tmp_path):
    """Eq. L1: the aperture error grows as A^2, so its share of a tolerance four times smaller needs half A."""
    loose, _ = _budgeted(tmp_path, 0.01)
    tight, _ = _budgeted(tmp_path, 0.0025)
    ratio = loose.lockin_plan.modulation_peak_a / tight.lockin_plan.modulation_peak_a
    assert ratio == pytest.approx(2.0, rel=0.1)


def test_measured_error_is_relative_to_the_reference_peak_and_skips_missing_points():
    reference = np.array([1.0, 2.0, 4.0, np.nan])
    measured = np.array([1.0, 2.2, 3.6, 5.0])
    rms, worst = measured_error(measured, reference)
    assert worst == pytest.approx(0.1)
    assert rms == pytest.approx(np.sqrt((0.0 + 0.05**2 + 0.1**2) / 3))
