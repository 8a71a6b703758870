"""Per-hidden-layer settings: bias field and device kind per layer, on a synthetic array."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtjlab.config import TrainingConfig, parse_training
from mtjlab.errors import ConfigError, DeadDeviceError
from mtjlab.training.records import RunRecord
from mtjlab.training.session import resume_training, run_training
from mtjlab.training.settings import ShapeMismatchError
from mtjlab.training.trainer import TrainingStopped

from fake_chip import MA, FakeArray, bump, fixed, sigmoid

SMALL = dict(bench="model", folds=2, epochs=2, seed=5, log_measurements=False)


def chip(singles: int = 4, doubles: int = 3, double_shape=None):
    """Single junctions r0c*, sigmoids; double junctions r1c*, bumps (or ``double_shape``)."""
    responses, kinds = {}, {}
    for j in range(singles):
        responses[f"r0c{j}"] = fixed(sigmoid(offset_a=(j - 1.5) * 0.2 * MA, width_a=(2 + 0.1 * j) * MA))
        kinds[f"r0c{j}"] = "single"
    for j in range(doubles):
        responses[f"r1c{j}"] = fixed((double_shape or bump)(0.1 * j * MA, (1.5 + 0.05 * j) * MA))
        kinds[f"r1c{j}"] = "double"
    return responses, kinds


def test_a_layers_list_of_the_wrong_length_is_refused_at_the_field():
    with pytest.raises(ConfigError) as caught:
        parse_training({"hidden": [4, 3], "layers": [{"bias_field_oe": 10}]}, "t.yaml")
    assert str(caught.value) == ("t.yaml: layers: has 1 entries but hidden has 2 layers [4, 3]; "
                                 "give one entry per hidden layer")
    with pytest.raises(ConfigError, match=r"t.yaml: layers.0.device_kind: must be one of: single, double"):
        parse_training({"layers": [{"device_kind": "triple"}]}, "t.yaml")
    config = parse_training({"hidden": [4, 3], "layers": [{}, {"bias_field_oe": 35.5, "device_kind": "double"}]})
    assert config.layers[0].bias_field_oe is None and config.layers[1].device_kind == "double"


def test_layers_at_different_fields_switch_the_coil_before_each_layer(tmp_path, patched_array):
    responses, kinds = chip(doubles=0)
    array = patched_array(FakeArray(responses, kinds))
    config = TrainingConfig(**SMALL, hidden=[3, 2], layers=[{"bias_field_oe": 15.0}, {"bias_field_oe": 30.0}])
    result = run_training(config, out=tmp_path / "run")
    # the coil goes to 15 Oe for layer 1's calibration, 30 Oe for layer 2's, then alternates per layer
    assert array.switches[:2] == [15.0, 30.0]
    first, second = result.summary["neurons"]
    for field_oe, devices in array.measured[2:]:
        assert field_oe == (15.0 if devices == tuple(first) else 30.0)
    # every step and validation pass measures layer 1 then layer 2: the coil switches before each measurement
    assert len(array.switches) == len(array.measured) > 2 * 2 * 2 * 10
    assert array.switches == [15.0, 30.0] * (len(array.switches) // 2)
    assert result.summary["field_switches"] == len(array.switches)
    assert [(s["bias_field_oe"], s["device_kind"]) for s in result.summary["layers"]] == [(15.0, "single"),
                                                                                          (30.0, "single")]
    assert (result.directory / "calibration.npz").exists() and (result.directory / "calibration-2.npz").exists()


def test_a_field_left_null_is_the_arrays_own_and_costs_no_switch(tmp_path, patched_array):
    responses, kinds = chip(doubles=0)
    array = patched_array(FakeArray(responses, kinds, bias_field_oe=20.0))
    config = TrainingConfig(**SMALL, hidden=[3, 2], layers=[{}, {"bias_field_oe": 20.0}])
    result = run_training(config, out=tmp_path / "run")
    assert array.switches == [] and result.summary["field_switches"] == 0
    assert not (result.directory / "calibration-2.npz").exists()  # one setting, one sweep


def test_a_double_layer_takes_only_double_devices(tmp_path, patched_array):
    responses, kinds = chip()
    patched_array(FakeArray(responses, kinds))
    config = TrainingConfig(**SMALL, hidden=[5, 4], pre_activation_limit=2.0,
                            layers=[{"device_kind": "single"}, {"device_kind": "double"}])
    summary = run_training(config, out=tmp_path / "run").summary
    first, second = summary["neurons"]
    assert {kinds[d] for d in first} == {"single"} and {kinds[d] for d in second} == {"double"}
    assert set(second) == {"r1c0", "r1c1", "r1c2"}  # 4 neurons wrap round the 3 double junctions
    assert [s["activation_shape"] for s in summary["layers"]] == ["sigmoid", "bump"]
    assert summary["nominal_activation"] == "layer 1: tanh (no datasheet), layer 2: gaussian (no datasheet)"


def test_too_few_devices_of_a_kind_is_one_line_naming_the_layer_kind_and_counts(tmp_path, patched_array):
    responses, kinds = chip(doubles=1)
    patched_array(FakeArray(responses, kinds))
    config = TrainingConfig(**SMALL, hidden=[2, 3], max_neurons_per_device=2,
                            layers=[{}, {"device_kind": "double"}])
    with pytest.raises(DeadDeviceError) as caught:
        run_training(config, out=tmp_path / "run")
    assert str(caught.value) == ("hidden layer 2 (double junctions): 3 neurons need at least 2 live double devices "
                                 "at max_neurons_per_device 2, the chip has 1 (r1c0); use fewer neurons, allow more "
                                 "neurons per device or another device_kind")
    assert not (tmp_path / "run").exists()
    # an array with no device_kinds has single junctions only
    patched_array(FakeArray(responses, None))
    with pytest.raises(DeadDeviceError, match=r"^hidden layer 2 \(double junctions\): .* the chip has 0;"):
        run_training(config, out=tmp_path / "run")


def test_a_device_whose_shape_differs_from_its_layers_nominal_curve_is_refused(tmp_path, patched_array):
    responses, kinds = chip(double_shape=lambda c, w: sigmoid(c, w))  # "double" junctions that are sigmoids
    patched_array(FakeArray(responses, kinds))
    config = TrainingConfig(**SMALL, hidden=[2, 2], layers=[{}, {"device_kind": "double"}])
    with pytest.raises(ShapeMismatchError, match=r"^hidden layer 2 \(double junctions at 20 Oe\): device r1c0 "
                                                 r"calibrates as a sigmoid but the layer's nominal curve is a bump"):
        run_training(config, out=tmp_path / "run")


def stop_after(steps: int):
    def hook(trainer):
        trainer.subscribe(lambda event: trainer.request_stop() if event.kind == "step" and event.step == steps
                          else None)
    return hook


def test_a_run_with_layers_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path, patched_array):
    config = TrainingConfig(**SMALL, hidden=[3, 2], pre_activation_limit=2.0,
                            layers=[{"bias_field_oe": 15.0}, {"bias_field_oe": 25.0, "device_kind": "double"}])
    patched_array(FakeArray(*chip()))
    whole = run_training(config, out=tmp_path / "whole")
    patched_array(FakeArray(*chip()))
    with pytest.raises(TrainingStopped):
        run_training(config, out=tmp_path / "stopped", on_trainer=stop_after(25))
    patched_array(FakeArray(*chip()))
    resumed = resume_training(tmp_path / "stopped")
    a, b = (RunRecord(r.directory).latest_checkpoint() for r in (whole, resumed))
    for key in (k for k in a if k.startswith(("network.", "baseline."))):
        np.testing.assert_array_equal(a[key], b[key])
    assert resumed.summary["fold_accuracies"] == whole.summary["fold_accuracies"]
    assert resumed.summary["field_switches"] == whole.summary["field_switches"] > 0
    saved = json.loads((resumed.directory / "summary.json").read_text())
    assert [layer["device_kind"] for layer in saved["layers"]] == ["single", "double"]
