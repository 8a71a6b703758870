"""Training on the harder chips, through the drivers and emulators of each preset's simulated bench."""

from __future__ import annotations

import pytest

from mtjlab.config import TrainingConfig
from mtjlab.training.session import run_training


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["harsh", "drifting"])
def test_analog_stays_within_two_points_of_the_software_baseline_on_a_hard_chip(preset, tmp_path):
    summary = run_training(TrainingConfig(bench=preset, log_measurements=False), out=tmp_path / preset).summary
    assert summary["bench"].endswith(f"{preset}.yaml")
    assert abs(summary["accuracy_mean"] - summary["baseline_accuracy_mean"]) <= 0.02, summary
    assert summary["accuracy_mean"] >= 0.93, summary  # the paper's figure on real devices


@pytest.mark.slow
def test_bump_shaped_activations_train_iris_beside_a_software_network_of_the_same_activation(tmp_path):
    """The junctions with two reference layers (row 3 of typical), on the branch a negative field sets: their
    calibrated activation is a bump, and the software network beside them uses the average device's bump."""
    config = TrainingConfig(bench="typical", layers=[{"device_kind": "double", "bias_field_oe": -20.0}],
                            log_measurements=False)
    summary = run_training(config, out=tmp_path / "bump").summary
    assert "bump" in str(summary["nominal_activation"]), summary
    assert all(device.startswith("r3") for layer in summary["neurons"] for device in layer)
    assert summary["accuracy_mean"] >= 0.90, summary
    assert abs(summary["accuracy_mean"] - summary["baseline_accuracy_mean"]) <= 0.03, summary
