"""Transport (TMR, read voltage) and the lock-in path, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.instruments.sim import harmonics, transport
from mtjlab.instruments.sim.mtj import MTJChip
from mtjlab.instruments.sim.parameters import uniform_devices


@pytest.mark.parametrize("tmr0", [0.5, 1.2, 2.0])
def test_resistance_ratio_is_one_plus_tmr_at_zero_bias(tmr0):
    tiny = 1e-9  # A: negligible bias
    v_p, _ = transport.read_voltage_v(1.0, tiny, 1000.0, tmr0, 0.4)
    v_ap, _ = transport.read_voltage_v(-1.0, tiny, 1000.0, tmr0, 0.4)
    assert v_ap / v_p == pytest.approx(1.0 + tmr0, rel=1e-9)
    assert v_p / tiny == pytest.approx(1000.0, rel=1e-12)


def test_tmr_halves_at_the_half_bias_voltage():
    assert transport.tmr_at_bias(1.2, 0.4, 0.4) == pytest.approx(0.6)
    assert transport.tmr_at_bias(1.2, -0.4, 0.4) == pytest.approx(0.6)
    # and through the junction: find the read current that puts the AP state at Vh
    r_p, tmr0, vh = 1000.0, 1.2, 0.4
    current = vh / (r_p * (1.0 + tmr0 / 2.0))  # R_AP(Vh) = R_P (1 + TMR0/2)
    v_ap, _ = transport.read_voltage_v(-1.0, current, r_p, tmr0, vh)
    assert v_ap == pytest.approx(vh, rel=1e-10)


def test_read_voltage_is_self_consistent_and_its_slope_is_right():
    c = np.linspace(-1.0, 1.0, 21)
    current, r_p, tmr0, vh = 3e-4, 1200.0, 1.5, 0.35
    v, dv_dc = transport.read_voltage_v(c, current, r_p, tmr0, vh)
    g = transport.conductance_s(c, r_p, transport.tmr_at_bias(tmr0, v, vh))
    np.testing.assert_allclose(v, current / g, rtol=1e-10)
    step = 1e-6
    up, _ = transport.read_voltage_v(c + step, current, r_p, tmr0, vh)
    down, _ = transport.read_voltage_v(c - step, current, r_p, tmr0, vh)
    np.testing.assert_allclose(dv_dc, (up - down) / (2 * step), rtol=1e-6)


@pytest.mark.parametrize("x0", [-1.3, 0.0, 0.4, 2.5])
@pytest.mark.parametrize("d", [1e-3, 0.1, 0.7])
def test_first_harmonic_of_a_cubic_is_exact(x0, d):
    a = 2.7
    dc, x, y = harmonics.first_harmonic(lambda u: a * u**3, np.array(x0), np.array(d))
    expected = 3 * a * x0**2 * d + 0.75 * a * d**3
    assert x == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert dc == pytest.approx(a * x0**3 + 1.5 * a * x0 * d**2, rel=1e-9, abs=1e-12)
    assert abs(y) < 1e-12 * max(1.0, abs(expected))


def test_lockin_of_the_mtj_converges_to_the_exact_derivative_as_d_squared():
    chip = MTJChip(uniform_devices(1, 3, stability_factor=2000.0), 1, 3)
    chip.set_bias_field(20.0)
    inputs = np.array([[-2e-3, 0.0, 3e-3]])
    amplitudes = np.array([0.5e-3, 1e-3, 2e-3, 4e-3])
    errors = []
    for d in amplitudes:
        r = chip.measure([1], inputs, 1e-4, d, exact=True)
        errors.append(np.abs(r.lockin_derivative_v_per_a / r.exact_derivative_v_per_a - 1.0)[0])
    errors = np.array(errors)  # (amplitudes, inputs)
    assert np.all(errors[0] < errors[-1])
    assert errors[0].max() < 2e-3
    for k in range(inputs.shape[1]):
        slope = np.polyfit(np.log(amplitudes), np.log(errors[:, k]), 1)[0]
        assert slope == pytest.approx(2.0, abs=0.15)


def test_noise_densities_and_bandwidths():
    k_b = 1.380649e-23
    assert transport.johnson_psd_v2_per_hz(1000.0, 300.0) == pytest.approx(4 * k_b * 300 * 1000)
    assert transport.flicker_psd_v2_per_hz(0.1, 1e-9, 10.0) == pytest.approx(1e-12)
    # one RC pole: ENBW = 1/(4 tau); n poles: C(2n-2, n-1) / 4^n / tau
    from math import comb

    for n, slope in enumerate((6, 12, 18, 24), start=1):
        assert transport.ENBW_TIMES_TAU[slope] == pytest.approx(comb(2 * n - 2, n - 1) / 4**n)
    std = transport.lockin_noise_std_v(0.0, 1000.0, 300.0, 0.0, 1000.0, 0.1, 6)
    assert std == pytest.approx(np.sqrt(2 * 4 * k_b * 300 * 1000 * 2.5))
