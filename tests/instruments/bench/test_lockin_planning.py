"""lockin_settings: auto — the noise budget measured on the simulated chip, applied, and met."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray


@pytest.fixture
def auto_config(sim_config):
    assert sim_config.measurement.lockin_settings == "auto"  # the packaged bench's default
    measurement = sim_config.measurement.model_copy(update={"lockin_settings": "auto"})
    return sim_config.model_copy(update={"measurement": measurement})


def test_the_plan_is_applied_and_its_predicted_error_is_within_the_tolerance(auto_config):
    with Bench(auto_config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        plan = array.lockin_plan
        tolerance = auto_config.measurement.derivative_tolerance
        assert plan is not None and plan.predicted_error <= tolerance
        frequency, tau, _ = bench.lockin_timing()
        assert frequency == pytest.approx(plan.frequency_hz) and tau == pytest.approx(plan.time_constant_s)
        assert bench.settings.modulation_peak_a == pytest.approx(plan.modulation_peak_a, rel=0.02)
        assert plan.noise_density_v_per_rthz > 0 and plan.input_scale_a > 0
    assert bench.lab.everything_safe()


def test_measured_derivatives_meet_the_tolerance_against_the_chip_truth(auto_config):
    """Against the simulated chip's exact dV/dI, the rms error over a sweep through the linear range is
    within the tolerance asked, relative to the peak derivative (the budget's definition)."""
    with Bench(auto_config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        scale = array.lockin_plan.input_scale_a
        inputs = np.linspace(-0.8 * scale, 0.8 * scale, 21)
        result = array.measure(["r0c1"], inputs[None, :])
        measured, exact = result.derivative_v_per_a[0], result.exact_derivative_v_per_a[0]
        rms = float(np.sqrt(np.mean((measured - exact) ** 2)) / np.max(np.abs(exact)))
        assert rms <= auto_config.measurement.derivative_tolerance


def test_with_lockin_settings_bench_the_wiring_settings_are_used(sim_config):
    measurement = sim_config.measurement.model_copy(update={"lockin_settings": "bench"})
    sim_config = sim_config.model_copy(update={"measurement": measurement})
    with Bench(sim_config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        assert array.lockin_plan is None
        frequency, tau, _ = bench.lockin_timing()
        assert frequency == pytest.approx(sim_config.wiring.lockin_frequency_hz)
        assert tau == pytest.approx(sim_config.wiring.lockin_time_constant_s)


@pytest.mark.parametrize("lockin", ["SR830", "SR860"])
def test_the_bench_file_gives_the_lockin_limits_and_sine_the_connected_lockin_reports(sim_config, lockin):
    """What the physics model plans with (no instruments) is what a Bench reads from its lock-in."""
    from mtjlab.instruments.lockin_planning import applied_modulation_peak_a, lockin_limits_of

    instruments = [i.model_copy(update={"model": lockin}) if i.role == "lockin" else i for i in sim_config.instruments]
    config = sim_config.model_copy(update={"instruments": instruments})
    with Bench(config) as bench:
        assert lockin_limits_of(config) == bench.lockin_limits()
        for peak_a in (0.2e-3, 0.9183e-3, 1.2345e-3):
            bench.set_modulation(peak_a)
            assert applied_modulation_peak_a(config, peak_a) == bench.settings.modulation_peak_a
