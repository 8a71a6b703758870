"""BenchNeuronArray end to end on the simulated bench, through every driver."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray
from mtjlab.instruments.interfaces import NeuronArray
from mtjlab.instruments.model_array import ModelNeuronArray
from mtjlab.instruments.sim import transport

DEVICES = ["r0c1", "r2c3", "r3c2"]
INPUTS_A = np.linspace(-6e-3, 6e-3, 7)


@pytest.fixture(scope="module")
def measured(stepped_config):
    with Bench(stepped_config) as bench:
        array = BenchNeuronArray(bench)
        assert isinstance(array, NeuronArray)
        array.prepare()
        started = bench.clock.now_s()
        first = array.measure(DEVICES, np.tile(INPUTS_A, (3, 1)))
        second = array.measure(["r1c2", "r3c0", "r0c0"], np.tile(INPUTS_A[:2], (3, 1)))
        elapsed = bench.clock.now_s() - started
        field_oe = bench.lab.field_oe()
        yield first, second, elapsed, field_oe, bench


def test_outputs_agree_with_the_model_of_the_same_chip_within_the_noise(stepped_config, measured):
    sim_config = stepped_config
    first, _, _, field_oe, bench = measured
    model = ModelNeuronArray.from_bench(sim_config, noise=False)
    model.set_bias_field(field_oe)  # the same physical field the closed loop reached
    expected = model.measure(DEVICES, np.tile(INPUTS_A, (3, 1)))
    env = model.chip.environment
    resistance = expected.output_v / model.read_current_a
    noise_v = transport.dc_noise_std_v(expected.output_v, resistance, env.temperature_k, env.flicker_noise_hooge,
                                       sim_config.wiring.source_nplc / sim_config.wiring.line_frequency_hz)
    assert np.all(np.abs(first.output_v - expected.output_v) <= 6 * noise_v + 1e-5 * np.abs(expected.output_v))
    assert np.ptp(first.output_v) > 0.02  # a real transfer curve, not a constant


def test_lockin_derivative_agrees_with_the_exact_derivative(measured):
    first, *_ = measured
    exact = ModelNeuronArray.from_bench(measured[4].config, noise=False)
    exact.set_bias_field(measured[3])
    truth = exact.measure(DEVICES, np.tile(INPUTS_A, (3, 1))).exact_derivative_v_per_a
    relative = np.abs(first.derivative_v_per_a - truth) / np.abs(truth)
    assert np.median(relative) < 0.02


def test_dead_junctions_are_reported_not_measured(measured):
    _, second, _, _, _ = measured
    np.testing.assert_array_equal(second.dead, [True, True, False])  # r1c2 short, r3c0 open (both known)
    assert np.all(np.isnan(second.output_v[:2])) and np.all(np.isfinite(second.output_v[2]))


def test_instrument_time_is_what_the_virtual_clock_advanced(measured, stepped_config):
    first, second, elapsed, _, _ = measured
    assert first.instrument_time_s + second.instrument_time_s == pytest.approx(elapsed, rel=1e-12)
    wiring = stepped_config.wiring
    # lock-in settling (24 dB/oct: 10 tau) + one reading
    point_floor = 10 * wiring.lockin_time_constant_s + wiring.source_nplc / wiring.line_frequency_hz
    assert first.instrument_time_s > 21 * point_floor


def test_an_unknown_dead_junction_is_found_dead(sim_config):
    config = sim_config.model_copy(deep=True)
    config.chip.known_dead = []
    with Bench(config) as bench:
        array = BenchNeuronArray(bench)
        result = array.measure(["r1c2", "r3c0", "r0c0"], [[1e-3], [1e-3], [1e-3]])
    np.testing.assert_array_equal(result.dead, [True, True, False])
    assert array.dead_ids == {"r1c2", "r3c0"}


def test_the_lab_time_matches_the_timing_model_of_the_model_array(stepped_config):
    """The model array's modelled time (ramps, settling, integration, relays) is the bench's, to bus overheads."""
    inputs = np.random.default_rng(1).uniform(-8e-3, 8e-3, (4, 6))
    ids = ["r0c1", "r1c1", "r2c3", "r3c3"]
    with Bench(stepped_config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        on_bench = array.measure(ids, inputs).instrument_time_s
    modelled = ModelNeuronArray.from_bench(stepped_config, noise=False).measure(ids, inputs).instrument_time_s
    assert on_bench == pytest.approx(modelled, rel=0.03)


def test_dc_only_readings_skip_the_lockin_and_agree_with_the_timing_model(stepped_config):
    """derivative=False: the same outputs without the lock-in's settling; the model array charges the same."""
    inputs = np.random.default_rng(2).uniform(-8e-3, 8e-3, (3, 6))
    ids = ["r0c1", "r2c3", "r3c3"]
    with Bench(stepped_config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        full = array.measure(ids, inputs)
        dc = array.measure(ids, inputs, derivative=False)
    assert np.all(np.isnan(dc.derivative_v_per_a)) and np.all(np.isfinite(full.derivative_v_per_a))
    np.testing.assert_allclose(dc.output_v, full.output_v, rtol=1e-3)
    settle_s = 18 * bench.lockin_settle_time_s()
    assert full.instrument_time_s - dc.instrument_time_s == pytest.approx(settle_s, rel=0.05)
    model = ModelNeuronArray.from_bench(stepped_config, noise=False)
    # A DC point is ~7 ms, so the model's bus accounting (whole transactions per step and
    # reading, not each query the adapters make) shows: within 15 % here, 3 % with the lock-in.
    assert dc.instrument_time_s == pytest.approx(model.measure(ids, inputs, derivative=False).instrument_time_s,
                                                 rel=0.15)
    np.testing.assert_allclose(dc.exact_derivative_v_per_a, full.exact_derivative_v_per_a, rtol=1e-6)
