"""The activation map on the simulated bench: a pymeasure Results file, point by point."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pymeasure.experiment import Procedure, Results

from mtjlab.config import load_default_bench
from mtjlab.errors import DataFileError, InstrumentError
from mtjlab.experiments.activation import ActivationMapProcedure, parse_fields_oe
from mtjlab.experiments.runner import run_procedure
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.model_array import ModelNeuronArray
from mtjlab.instruments.sim.faults import Faults


def _procedure(bench, **params):
    procedure = ActivationMapProcedure(device_id="r0c1", bias_fields_oe="15, 30", input_min_a=-0.006,
                                       input_max_a=0.006, points=7, **params)
    return procedure.use_bench(bench)


def test_the_map_is_a_pymeasure_results_file_with_the_bench_in_its_header(tmp_path):
    config = load_default_bench()
    with Bench(config) as bench:
        results = run_procedure(_procedure(bench), tmp_path / "map.csv")
        assert bench.lab.everything_safe()  # shutdown() made it safe, the bench stays connected
    loaded = Results.load(str(tmp_path / "map.csv"))
    data = loaded.data
    assert list(data.columns) == ActivationMapProcedure.DATA_COLUMNS and len(data) == 14
    assert loaded.procedure.device_id == "r0c1" and loaded.procedure.points == 7
    snapshot = json.loads(loaded.procedure.bench_snapshot)
    assert snapshot["instruments"]["lockin"]["model"] == "SR830"
    assert results.procedure.status == Procedure.FINISHED
    model = ModelNeuronArray.from_bench(config, noise=False)
    for field_oe, sweep in data.groupby("Bias field (Oe)"):
        model.set_bias_field(float(sweep["Field reading (Oe)"].iloc[0]))
        ordered = sweep.sort_values("Input current (A)")
        inputs = ordered["Input current (A)"].to_numpy()
        exact = model.measure(["r0c1"], [inputs]).exact_derivative_v_per_a[0]
        relative = np.abs(ordered["Derivative (V/A)"].to_numpy() - exact) / np.abs(exact)
        assert np.median(relative) < 0.02
    slopes = data.groupby("Bias field (Oe)")["Derivative (V/A)"].apply(lambda d: np.max(np.abs(d)))
    assert slopes[15.0] > slopes[30.0]  # the coil field stiffens the neuron: 1/(Hk + H_b)


def test_a_fault_midway_leaves_a_valid_file_with_every_point_so_far_and_the_bench_safe(tmp_path):
    with Bench(load_default_bench()) as bench:
        faults = Faults.attach(bench.lab)
        faults.drop_connection("lockin", after=16)
        with pytest.raises(InstrumentError, match="points measured so far"):
            run_procedure(_procedure(bench), tmp_path / "map.csv")
        assert bench.lab.everything_safe()
    data = Results.load(str(tmp_path / "map.csv")).data
    assert 0 < len(data) < 14 and np.all(np.isfinite(data["Output voltage (V)"]))


def test_an_existing_file_is_never_overwritten(tmp_path):
    target = tmp_path / "map.csv"
    target.write_text("precious")
    with pytest.raises(DataFileError, match="already exists"):
        run_procedure(ActivationMapProcedure(), target)
    assert target.read_text() == "precious"


@pytest.mark.parametrize("text, fields", [("10, 20 40", [10.0, 20.0, 40.0]), ("-5", [-5.0])])
def test_bias_field_lists(text, fields):
    assert parse_fields_oe(text) == fields


@pytest.mark.parametrize("text", ["", "10, twenty"])
def test_bad_bias_field_lists_are_named(text):
    with pytest.raises(ValueError, match="bias fields"):
        parse_fields_oe(text)
