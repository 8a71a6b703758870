"""The lock-in noise budget against closed forms and limiting cases (docs/bench.md, eqs. L1-L5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtjlab.instruments.noise_budget import (BANDWIDTH_FRACTION, SHARE, LockinLimits, aperture_error,
                                             choose_frequency, noise_error, plan_lockin, ripple_error,
                                             settle_time_s)
from mtjlab.instruments.timing import ENBW_TIMES_TAU, step_response_remaining

SR830 = LockinLimits(1e-3, 102e3, (10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 0.1, 0.3, 1.0),
                     0.004, 5.0)


def first_harmonic_slope(g: float, amplitude: float, samples: int = 4096) -> float:
    """(2/A) * the sin-component of tanh((A sin t)/g) over one period: the lock-in's dV/dI estimate."""
    t = np.linspace(0.0, 2 * np.pi, samples, endpoint=False)
    response = np.tanh(amplitude * np.sin(t) / g)
    return 2.0 * np.mean(response * np.sin(t)) / amplitude


@pytest.mark.parametrize("ratio", [0.02, 0.05, 0.1])
def test_aperture_error_is_the_small_amplitude_limit_of_the_first_harmonic_of_tanh(ratio):
    g = 1e-3
    measured = 1.0 - first_harmonic_slope(g, ratio * g) * g  # tanh'(0) = 1/g
    assert measured == pytest.approx(aperture_error(ratio * g, g), rel=0.02)


def test_one_pole_settling_is_an_exponential():
    assert step_response_remaining(3.0, 6) == pytest.approx(math.exp(-3.0))
    assert settle_time_s(1e-3, 6, 1e-3) == pytest.approx(1e-3 * math.log(1e3), rel=1e-6)


def test_n_pole_settling_is_slower_and_matches_the_table_of_the_manual():
    # SR830 manual: 24 dB/oct settles to 99 % in 10 tau (6 dB: 5 tau)
    assert settle_time_s(1.0, 24, 0.01) == pytest.approx(10.0, rel=0.01)
    assert settle_time_s(1.0, 6, 0.01) == pytest.approx(4.6, rel=0.01)


def test_ripple_of_one_pole_is_its_gain_at_twice_the_frequency_and_falls_as_a_power_of_the_slope():
    f, tau = 1000.0, 1e-3
    assert ripple_error(f, tau, 6) == pytest.approx(1 / abs(1 + 1j * 2 * math.pi * 2 * f * tau))
    assert ripple_error(0.0, tau, 24) == 1.0
    far = ripple_error(1e6, tau, 24)
    assert far == pytest.approx((4 * math.pi * 1e6 * tau) ** -4, rel=1e-6)


def test_noise_error_uses_the_equivalent_noise_bandwidth_of_the_filter():
    # one pole: ENBW = 1 / (4 tau); X_rms = D A / sqrt(2)
    e_n, tau, d, a = 1e-7, 1e-3, 50.0, 1e-4
    expected = e_n * math.sqrt(1 / (4 * tau)) / (d * a / math.sqrt(2))
    assert ENBW_TIMES_TAU[6] == 0.25
    assert noise_error(e_n, tau, 6, d, a) == pytest.approx(expected)


def plan(**overrides):
    values = dict(tolerance=0.01, slope_db_per_oct=24, limits=SR830, field_line_bandwidth_hz=1e6,
                  integration_time_s=2e-3, line_frequency_hz=50.0, noise_density_v_per_rthz=50e-9,
                  input_scale_a=1.5e-3, peak_derivative_v_per_a=40.0, modulation_resistor_ohm=1000.0,
                  max_modulation_peak_a=5e-3)
    values.update(overrides)
    return plan_lockin(**values)


def test_every_error_is_within_its_share_and_the_total_within_the_tolerance():
    chosen = plan()
    share = SHARE * chosen.tolerance
    for error in (chosen.aperture_error, chosen.noise_error, chosen.ripple_error, chosen.settling_error):
        assert error <= share * (1 + 1e-9)
    assert chosen.predicted_error <= chosen.tolerance
    assert chosen.settle_s <= 2e-3  # the lock-in settles within one integration (eq. L5)


def test_a_noisier_chip_gets_a_longer_time_constant_and_a_tighter_tolerance_a_smaller_amplitude():
    quiet, noisy = plan(), plan(noise_density_v_per_rthz=20e-6)
    assert noisy.time_constant_s > quiet.time_constant_s
    assert noisy.noise_error <= SHARE * noisy.tolerance
    assert plan(tolerance=0.001).modulation_peak_a < quiet.modulation_peak_a


def test_the_frequency_respects_the_field_line_the_lock_in_and_the_mains():
    slow_line = plan(field_line_bandwidth_hz=5e3)
    assert slow_line.frequency_hz <= BANDWIDTH_FRACTION * 5e3
    fast = plan(integration_time_s=2e-5)  # a very short integration wants a very high frequency
    assert fast.frequency_hz <= SR830.max_frequency_hz
    for integration in np.linspace(1e-3, 40e-3, 60):
        f = choose_frequency(integration, 24, 0.01, 1e6, SR830, 50.0)
        nearest = round(f / 50.0) * 50.0
        assert abs(f - nearest) >= 5.0 - 1e-9


def test_a_tolerance_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="tolerance"):
        plan(tolerance=0.0)
