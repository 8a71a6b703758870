"""ModelNeuronArray: the NeuronArray on the physics model."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.config import load_default_bench
from mtjlab.errors import MtjlabError, SafetyLimitError
from mtjlab.instruments.interfaces import NeuronArray, NeuronMeasurement
from mtjlab.instruments.model_array import ModelNeuronArray
from mtjlab.instruments.timing import MeasurementTiming, integration_time_s, lockin_settle_time_s


@pytest.fixture(scope="module")
def bench():
    return load_default_bench()


def test_is_a_neuron_array(bench):
    array = ModelNeuronArray.from_bench(bench)
    assert isinstance(array, NeuronArray)
    assert array.device_ids == tuple(bench.chip.ids())
    assert array.dead_ids == frozenset(bench.chip.known_dead)
    # the sine rides on top: the modulation a bench of this file would plan (tests/instruments/test_model_lab_time.py)
    assert array.modulation_amplitude_a == pytest.approx(array.lockin_plan.modulation_peak_a, rel=0.01)
    room = bench.limits.max_input_current_a - array.modulation_amplitude_a
    assert array.input_range_a == pytest.approx((-room, room))


def test_lockin_derivative_matches_the_exact_derivative(bench):
    array = ModelNeuronArray.from_bench(bench, noise=True)
    live = [d for d in array.device_ids if d not in array.dead_ids]
    inputs = np.linspace(-0.012, 0.012, 41)
    m = array.measure(live, inputs)
    assert isinstance(m, NeuronMeasurement)
    exact = m.exact_derivative_v_per_a
    strong = np.abs(exact) > 0.2 * np.abs(exact).max()
    relative = np.abs(m.derivative_v_per_a[strong] / exact[strong] - 1.0)
    assert np.median(relative) < 0.02
    # the activation is monotonic (sensor junction) and spans tens of millivolts
    assert np.all(np.ptp(m.output_v, axis=1) > 0.02)


def test_noise_free_outputs_repeat_and_noisy_ones_scatter(bench):
    quiet = ModelNeuronArray.from_bench(bench, noise=False)
    inputs = np.linspace(-0.005, 0.005, 11)
    a = quiet.measure(["r0c0"], inputs)
    b = quiet.measure(["r0c0"], inputs)
    np.testing.assert_array_equal(a.output_v, b.output_v)
    noisy = ModelNeuronArray.from_bench(bench, noise=True)
    c = noisy.measure(["r0c0"], inputs)
    assert not np.array_equal(a.output_v, c.output_v)
    np.testing.assert_allclose(c.output_v, a.output_v, rtol=1e-2)


def test_dead_devices_are_reported_not_measured(bench):
    array = ModelNeuronArray.from_bench(bench)
    ids = ["r0c0", "r1c2", "r3c0"]
    m = array.measure(ids, np.zeros(3))
    assert list(m.dead) == [False, True, True]
    assert np.all(np.isnan(m.output_v[1:])) and np.all(np.isnan(m.derivative_v_per_a[1:]))
    assert np.all(np.isfinite(m.output_v[0]))


def test_a_dead_junction_unknown_to_the_user_is_found(bench):
    # Same chip, but the user forgot that r3c0 is dead: the array still says so.
    array = ModelNeuronArray.from_bench(bench)
    forgetful = ModelNeuronArray(array.chip, known_dead=["r1c2"], noise=False)
    m = forgetful.measure(["r3c0", "r0c1"], np.zeros(2))
    assert list(m.dead) == [True, False]
    assert np.isnan(m.output_v[0, 0])


def test_instrument_time_follows_the_timing_model(bench):
    timing = MeasurementTiming(nplc=2.0, line_frequency_hz=60.0, lockin_time_constant_s=0.01,
                               lockin_slope_db_per_oct=12, relay_settle_s=0.02, reading_overhead_s=0.001)
    array = ModelNeuronArray(ModelNeuronArray.from_bench(bench).chip, timing=timing, noise=False)
    m = array.measure(["r0c0", "r0c1", "r2c2"], np.zeros((3, 7)))
    # 12 dB/oct settles in 7 time constants; the 2400's measure action with auto-zero on (Appendix A,
    # Case I): three conversions of NPLC / f + 185 us, and 2.15 ms of firmware overhead
    point = 7 * 0.01 + 3 * (2.0 / 60.0 + 185e-6) + 2.15e-3 + 0.001
    assert m.instrument_time_s == pytest.approx(3 * (0.02 + timing.relay_check_s) + 21 * point)


def test_settling_and_integration_times():
    assert lockin_settle_time_s(0.1, 6) == pytest.approx(0.5)
    assert lockin_settle_time_s(0.1, 24) == pytest.approx(1.0)
    assert integration_time_s(1.0, 50.0) == pytest.approx(0.02)


def test_requests_beyond_the_input_limit_are_refused_and_change_nothing(bench):
    array = ModelNeuronArray.from_bench(bench, noise=False)
    before = array.chip.branch.copy()
    limit = bench.limits.max_input_current_a
    with pytest.raises(SafetyLimitError, match="exceeds the limit"):
        array.measure(["r0c0"], np.array([0.0, limit]))  # the modulation pushes it over
    np.testing.assert_array_equal(array.chip.branch, before)


@pytest.mark.parametrize(
    "ids, inputs, message",
    [
        (["r9c9"], np.zeros(2), "not on the chip"),
        (["r0c0", "r0c1"], np.zeros((3, 2)), "rows of input currents"),
        (["r0c0"], np.array([0.0, np.nan]), "NaN"),
    ],
)
def test_bad_requests_give_one_clear_error(bench, ids, inputs, message):
    array = ModelNeuronArray.from_bench(bench)
    with pytest.raises(MtjlabError, match=message) as info:
        array.measure(ids, inputs)
    assert "\n" not in str(info.value)
