"""The array survey against the virtual chip's truth."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.experiment import Results

from mtjlab.config import load_bench
from mtjlab.experiments.runner import run_procedure
from mtjlab.experiments.survey import ArraySurveyProcedure, survey_summary
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.model_array import ModelNeuronArray
from mtjlab.instruments.sim import transport


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory):
    path = tmp_path_factory.mktemp("survey") / "survey.csv"
    config = load_bench("ideal")
    with Bench(config) as bench:
        run_procedure(ArraySurveyProcedure().use_bench(bench), path)
        truth, field_oe = bench.lab.chip.devices, ArraySurveyProcedure().bias_field_oe  # held to 0.1 Oe
        assert bench.lab.everything_safe()
    return Results.load(str(path)).data, truth, field_oe, config


def test_the_survey_against_the_truth(surveyed):
    """One test, so that parallel workers do not each survey the chip (a survey is the slowest sweep)."""
    _every_device_is_surveyed_and_the_dead_ones_found(surveyed)
    _resistance_and_tmr_at_the_read_bias_match_the_truth(surveyed)
    _the_slope_is_the_neurons_derivative_at_rest(surveyed)


def _every_device_is_surveyed_and_the_dead_ones_found(surveyed):
    data, truth, _, _ = surveyed
    assert data["Device"].tolist() == list(truth.device_ids)
    np.testing.assert_array_equal(data["Dead"].to_numpy() != 0, truth.dead)


def _resistance_and_tmr_at_the_read_bias_match_the_truth(surveyed):
    data, truth, _, _ = surveyed
    live = data[data["Dead"] == 0]
    index = [truth.device_ids.index(d) for d in live["Device"]]
    np.testing.assert_allclose(live["Resistance P (ohm)"], truth.resistance_p_ohm[index], rtol=0.01)
    v_ap = live["Resistance AP (ohm)"].to_numpy() * 1e-4  # the AP voltage at the 0.1 mA read current
    expected = transport.tmr_at_bias(truth.tmr0[index], v_ap, truth.tmr_half_bias_v[index])
    np.testing.assert_allclose(live["TMR"], expected, rtol=0.02)


def _the_slope_is_the_neurons_derivative_at_rest(surveyed):
    data, truth, field_oe, config = surveyed
    live = data[data["Dead"] == 0]
    model = ModelNeuronArray.from_bench(config, noise=False)
    model.set_bias_field(field_oe)
    exact = model.measure(live["Device"].tolist(), np.zeros((len(live), 1))).exact_derivative_v_per_a[:, 0]
    np.testing.assert_allclose(live["Slope (V/A)"], exact, rtol=0.03)
    assert "14 of 16 devices live; dead: r1c2, r3c0" in survey_summary(data)[0]
