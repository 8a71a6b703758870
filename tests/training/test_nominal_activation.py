"""The nominal activation: the average device's calibrated curve at the layer's setting (tanh without a datasheet)."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.config import TrainingConfig
from mtjlab.training.activations import NominalActivations, nominal_activation
from mtjlab.training.network import tanh_activation
from mtjlab.training.neurons import CALIBRATION_SPAN
from mtjlab.training.session import run_training

from fake_chip import MA, RANGE_A, FakeArray, bump, fixed, sigmoid

INPUTS = np.linspace(-CALIBRATION_SPAN * RANGE_A, CALIBRATION_SPAN * RANGE_A, 257)


def test_a_tanh_shaped_datasheet_curve_calibrates_to_tanh():
    width_a = 1.2 * MA

    def datasheet(inputs_a, field_oe, kind):
        assert (field_oe, kind) == (25.0, "single")
        t = np.tanh(inputs_a / width_a)
        return 0.2 - 0.05 * t, -0.05 / width_a * (1 - t * t)  # falling: the input scale g is negative

    array = FakeArray({"r0c0": fixed(sigmoid())}, nominal=datasheet)
    activation = nominal_activation(array, INPUTS, 25.0, "single", 1.25)
    assert activation.name == "datasheet sigmoid" and activation.shape == "sigmoid"
    assert activation.calibration.input_per_unit_a == pytest.approx(-width_a, rel=1e-6)
    z = np.linspace(-1.249, 1.249, 301)
    a, da = activation(z)
    # closed form: a = (V - V0)/h with I = I0 + z g is tanh(z) (the sweep saturates: tanh(9.5/1.2) = 1 - 3e-7)
    np.testing.assert_allclose(a, np.tanh(z), atol=2e-6)
    np.testing.assert_allclose(da, 1 - np.tanh(z) ** 2, atol=2e-5)
    # beyond the limit the input is clamped, like a device's: constant activation, no derivative
    a_out, da_out = activation(np.array([-3.0, 3.0]))
    np.testing.assert_allclose(a_out, np.tanh([-1.25, 1.25]), atol=2e-6)
    assert np.all(da_out == 0)


def test_a_bump_shaped_datasheet_curve_calibrates_to_a_gaussian():
    array = FakeArray({}, nominal=lambda i, f, k: bump(0.5 * MA, 1.5 * MA)(i))
    activation = nominal_activation(array, INPUTS, 20.0, "double", 2.0)
    assert activation.name == "datasheet bump"
    z = np.linspace(-1.99, 1.99, 201)
    a, da = activation(z)
    np.testing.assert_allclose(a, np.exp(-z ** 2 / 2), atol=2e-3)
    np.testing.assert_allclose(da, -z * np.exp(-z ** 2 / 2), atol=5e-3)


def test_without_a_datasheet_everything_is_exactly_tanh():
    for array in (FakeArray({}), FakeArray({}, nominal=lambda i, f, k: None)):
        activation = nominal_activation(array, INPUTS, 20.0, "single", 1.25)
        assert activation.name == "tanh (no datasheet)" and activation.is_tanh
    nominal = NominalActivations([activation, activation])
    assert nominal.software is tanh_activation
    z = np.random.default_rng(0).normal(0, 1.5, (7, 3))
    np.testing.assert_array_equal(nominal.derivative(1, z, 1.25), (1.0 - np.tanh(z) ** 2) * (np.abs(z) < 1.25))


def test_the_baseline_and_nominal_method_use_the_datasheet_activation(tmp_path, patched_array):
    def datasheet(inputs_a, field_oe, kind):
        return sigmoid(0.0, 2 * MA)(inputs_a)
    responses = {f"r0c{j}": fixed(sigmoid((j - 2) * 0.3 * MA, (2 + 0.2 * j) * MA)) for j in range(5)}
    config = TrainingConfig(bench="model", folds=2, epochs=2, hidden=[3], seed=2, method="nominal",
                            log_measurements=False)
    seen: list = []
    patched_array(FakeArray(responses, nominal=datasheet))
    with_sheet = run_training(config, out=tmp_path / "sheet", on_trainer=lambda t: seen.append(t))
    patched_array(FakeArray(responses))
    without = run_training(config, out=tmp_path / "plain", on_trainer=lambda t: seen.append(t))
    assert with_sheet.summary["nominal_activation"] == "datasheet sigmoid"
    assert without.summary["nominal_activation"] == "tanh (no datasheet)"
    assert seen[0].baseline_activation is not tanh_activation and seen[1].baseline_activation is tanh_activation
    # a tanh-shaped datasheet gives (nearly) the tanh baseline, but not bit for bit
    assert with_sheet.summary["baseline_fold_accuracies"] != [] and (
        with_sheet.summary["baseline_fold_accuracies"] == pytest.approx(without.summary["baseline_fold_accuracies"],
                                                                         abs=0.1))


def test_a_short_run_with_bump_neurons_learns_iris_above_chance(tmp_path, patched_array):
    responses = {f"r1c{j}": fixed(bump((j - 3) * 0.15 * MA, (1.4 + 0.05 * j) * MA, 0.1 + 0.01 * j, 0.03 - 0.002 * j))
                 for j in range(6)}
    kinds = dict.fromkeys(responses, "double")
    datasheet = lambda inputs_a, field_oe, kind: bump(0.0, 1.5 * MA, 0.12, 0.025)(inputs_a)  # noqa: E731
    for method in ("analog", "nominal"):
        patched_array(FakeArray(responses, kinds, nominal=datasheet))
        config = TrainingConfig(bench="model", folds=3, epochs=8, hidden=[6], seed=0, method=method,
                                pre_activation_limit=2.5, layers=[{"device_kind": "double"}],
                                optimiser={"learning_rate": 0.05}, log_measurements=False)
        summary = run_training(config, out=tmp_path / method).summary
        assert summary["nominal_activation"] == "datasheet bump"
        assert summary["layers"][0]["activation_shape"] == "bump"
        print(method, summary["fold_accuracies"], summary["baseline_fold_accuracies"])
        assert summary["accuracy_mean"] > 0.7, (method, summary["fold_accuracies"])
        assert summary["baseline_accuracy_mean"] > 0.7
