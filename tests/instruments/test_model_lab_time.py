"""The physics model charges the lab time its bench would take: the bench's lock-in plan and acquisition.

Each test runs the same short measurements on the simulated bench (through the
drivers and emulators, on its virtual clock) and on ``ModelNeuronArray.from_bench``
of the same bench file, and compares the lab time each reports.
"""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.config import load_default_bench
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray
from mtjlab.instruments.model_array import ModelNeuronArray

DEVICES = ["r0c1", "r1c1", "r2c3", "r3c3"]
#: Each measurement's lab time on the model within this of the bench's (a few bus transactions the model
#: does not count: the adapters' occasional extra queries).
TOLERANCE = 0.05


@pytest.fixture(scope="module")
def sim_config():
    return load_default_bench()


def variant(config, *, acquisition="auto", lockin_settings="auto", lockin=None):
    measurement = config.measurement.model_copy(update={"acquisition": acquisition,
                                                        "lockin_settings": lockin_settings})
    config = config.model_copy(update={"measurement": measurement})
    if lockin is not None:
        instruments = [i.model_copy(update={"model": lockin}) if i.role == "lockin" else i for i in config.instruments]
        config = config.model_copy(update={"instruments": instruments})
    return config


def workload():
    """A training step's batches (analogue, then DC only), a calibration-like sweep of two devices, the same
    device again, and single points (which a bench measures stepped, leaving its lists)."""
    rng = np.random.default_rng(7)
    sweep = np.linspace(-0.017, 0.017, 41)
    return [
        (DEVICES, rng.uniform(-8e-3, 8e-3, (4, 8)), True),
        (DEVICES, rng.uniform(-8e-3, 8e-3, (4, 8)), False),
        (["r0c1", "r2c3"], np.tile(sweep, (2, 1)), True),
        (["r2c3"], rng.uniform(-8e-3, 8e-3, (1, 8)), True),
        (["r0c1", "r1c1"], np.array([[1e-3], [-2e-3]]), True),
        (DEVICES[:2], rng.uniform(-8e-3, 8e-3, (2, 6)), True),
    ]


def lab_times(config):
    """Each measurement's lab time on the simulated bench and on the model of the same bench file (s)."""
    model = ModelNeuronArray.from_bench(config, noise=False)
    on_bench, on_model = [], []
    with Bench(config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        for ids, inputs, derivative in workload():
            on_bench.append(array.measure(ids, inputs, derivative=derivative).instrument_time_s)
            on_model.append(model.measure(ids, inputs, derivative=derivative).instrument_time_s)
        plan, modulation_a = array.lockin_plan, bench.settings.modulation_peak_a
    return np.array(on_bench), np.array(on_model), model, plan, modulation_a


@pytest.mark.parametrize("options", [
    {},  # the packaged bench: noise-budget lock-in, hardware-timed lists
    {"acquisition": "stepped"},  # the plan's short wait, point by point
    {"lockin_settings": "bench"},  # the wiring's 30 ms time constant, in lists
    {"lockin": "SR860"},  # lock-in points stepped (no buffered capture), DC points in lists
], ids=["auto", "stepped", "wiring-lockin", "sr860"])
def test_each_measurement_takes_the_lab_time_of_the_simulated_bench(sim_config, options):
    on_bench, on_model, model, _, _ = lab_times(variant(sim_config, **options))
    np.testing.assert_allclose(on_model, on_bench, rtol=TOLERANCE)
    assert on_model.sum() == pytest.approx(on_bench.sum(), rel=0.02)
    lists = variant(sim_config, **options).measurement.acquisition == "auto"
    assert model.acquisition(False).hardware_timed == lists


def test_the_model_plans_the_lock_in_the_bench_plans_and_measures_with_its_modulation(sim_config):
    _, _, model, plan, modulation_a = lab_times(sim_config)
    ours = model.lockin_plan
    assert plan is not None and ours is not None
    assert (ours.frequency_hz, ours.time_constant_s, ours.settle_s) == (plan.frequency_hz, plan.time_constant_s,
                                                                        plan.settle_s)
    assert ours.input_scale_a == pytest.approx(plan.input_scale_a, rel=0.02)
    assert ours.peak_derivative_v_per_a == pytest.approx(plan.peak_derivative_v_per_a, rel=0.02)
    # the bench's estimate is the spread of 16 readings (about 18 % scatter); the model's is its closed form
    assert ours.noise_density_v_per_rthz == pytest.approx(plan.noise_density_v_per_rthz, rel=0.5)
    assert model.modulation_amplitude_a == pytest.approx(modulation_a, rel=0.01)
    assert model.modulation_amplitude_a > 2 * sim_config.measurement.modulation_amplitude_a
    assert model.input_range_a[1] == pytest.approx(sim_config.limits.max_input_current_a - modulation_a, rel=1e-3)
    assert model.timing.settle_s == plan.settle_s
    assert model.lockin_frequency_hz == plan.frequency_hz


def test_with_the_wiring_lock_in_the_model_keeps_the_wiring_settings(sim_config):
    config = variant(sim_config, lockin_settings="bench")
    model = ModelNeuronArray.from_bench(config, noise=False)
    assert model.lockin_plan is None
    assert model.modulation_amplitude_a == config.measurement.modulation_amplitude_a
    assert model.timing.lockin_time_constant_s == config.wiring.lockin_time_constant_s
    assert model.timing.settle_s == pytest.approx(10 * config.wiring.lockin_time_constant_s)  # 24 dB/oct, 99 %
    assert model.lockin_frequency_hz == config.wiring.lockin_frequency_hz


def test_a_resumed_model_charges_what_an_uninterrupted_one_would(sim_config):
    """The clock's state (routed device, input level, list set-up) is part of the checkpoint."""
    inputs = np.random.default_rng(3).uniform(-8e-3, 8e-3, (2, 8))
    whole = ModelNeuronArray.from_bench(sim_config, noise=False)
    whole.measure(DEVICES[:2], inputs)
    resumed = ModelNeuronArray.from_bench(sim_config, noise=False)
    resumed.restore(whole.state())
    fresh = ModelNeuronArray.from_bench(sim_config, noise=False)
    again = [a.measure(DEVICES[1:2], inputs[:1]).instrument_time_s for a in (whole, resumed, fresh)]
    assert again[0] == again[1] < again[2]  # the fresh one still has to route and set the lists up
