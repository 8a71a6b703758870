"""Tunnelling transport and the lock-in path against closed forms.

* G(c, V) = G_P [(1 + c)/2 + (1 - c)/(2 (1 + TMR(V)))], TMR(V) = TMR0 / (1 + (V/Vh)^2):
  R_AP / R_P = 1 + TMR0 at zero bias, TMR halves at V = Vh, and the antiparallel
  junction forced with I = Vh / (R_P (1 + TMR0/2)) sits exactly at V = Vh.
* First harmonic of f(x) = a x^3 modulated as x0 + d sin(phi):
  X = 3 a x0^2 d + (3/4) a d^3, DC = a x0^3 + (3/2) a x0 d^2, Y = 0.
* For a smooth response X / d = f'(x0) + f'''(x0) d^2 / 8 + O(d^4): the lock-in
  derivative converges to the exact one with an error ~ d^2.
"""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.instruments.sim import harmonics, transport
from mtjlab.instruments.sim.mtj import MTJChip
from mtjlab.instruments.sim.parameters import uniform_devices

K_B = 1.380649e-23


def _conductance(c, r_p, tmr):
    return (0.5 * (1 + c) + 0.5 * (1 - c) / (1 + tmr)) / r_p


def _tmr(tmr0, v, vh):
    return tmr0 / (1 + (v / vh) ** 2)


# ------------------------------------------------------------------ transport
@pytest.mark.parametrize("r_p, tmr0, vh", [(1000.0, 1.2, 0.4), (250.0, 0.8, 0.3), (5e3, 2.0, 0.6)])
def test_resistance_ratio_at_zero_bias_is_one_plus_tmr0(r_p, tmr0, vh):
    tiny = 1e-9
    v_p, _ = transport.read_voltage_v(1.0, tiny, r_p, tmr0, vh)
    v_ap, _ = transport.read_voltage_v(-1.0, tiny, r_p, tmr0, vh)
    assert v_p / tiny == pytest.approx(r_p, rel=1e-9)
    assert v_ap / v_p == pytest.approx(1.0 + tmr0, rel=1e-9)
    # perpendicular: halfway in conductance
    v_90, _ = transport.read_voltage_v(0.0, tiny, r_p, tmr0, vh)
    assert tiny / v_90 == pytest.approx(0.5 * (1 + 1 / (1 + tmr0)) / r_p, rel=1e-9)


@pytest.mark.parametrize("r_p, tmr0, vh", [(1000.0, 1.2, 0.4), (250.0, 0.8, 0.3)])
def test_tmr_halves_at_the_half_bias_voltage(r_p, tmr0, vh):
    assert transport.tmr_at_bias(tmr0, vh, vh) == pytest.approx(tmr0 / 2, rel=1e-15)
    assert transport.tmr_at_bias(tmr0, -vh, vh) == pytest.approx(tmr0 / 2, rel=1e-15)
    assert transport.tmr_at_bias(tmr0, 0.0, vh) == tmr0
    # an antiparallel junction forced with I = Vh / (R_P (1 + TMR0/2)) sits at V = Vh exactly
    current = vh / (r_p * (1 + tmr0 / 2))
    v_ap, _ = transport.read_voltage_v(-1.0, current, r_p, tmr0, vh)
    assert v_ap == pytest.approx(vh, rel=1e-9)
    # the parallel junction is bias-independent: V = I R_P
    v_p, _ = transport.read_voltage_v(1.0, current, r_p, tmr0, vh)
    assert v_p == pytest.approx(current * r_p, rel=1e-12)
    # measured TMR at that current, (R_AP - R_P) / R_P, is half the zero-bias one
    assert (v_ap - v_p) / v_p == pytest.approx(tmr0 / 2, rel=1e-9)


def test_read_voltage_is_self_consistent():
    r_p, tmr0, vh = 1000.0, 1.2, 0.4
    c = np.linspace(-1, 1, 41)[:, None]
    current = np.array([1e-6, 5e-5, 1e-4, 2e-4, 3e-4, -2e-4])[None, :]
    v, _ = transport.read_voltage_v(c, current, r_p, tmr0, vh)
    np.testing.assert_allclose(v * _conductance(c, r_p, _tmr(tmr0, v, vh)), current * np.ones_like(c), rtol=1e-10)
    # odd in the current (TMR depends on |V|)
    v_neg, _ = transport.read_voltage_v(c, -current, r_p, tmr0, vh)
    np.testing.assert_allclose(v_neg, -v, rtol=1e-12)
    # the library's conductance is the closed form
    np.testing.assert_allclose(transport.conductance_s(c, r_p, 0.7), _conductance(c, r_p, 0.7), rtol=1e-14)


def test_dvoltage_dcos_matches_a_central_difference():
    r_p, tmr0, vh = 1000.0, 1.2, 0.4
    c = np.linspace(-0.95, 0.95, 39)[:, None]
    current = np.array([1e-6, 1e-4, 2.5e-4, -1.5e-4])[None, :]
    _, dv_dc = transport.read_voltage_v(c, current, r_p, tmr0, vh)
    step = 1e-5
    v_plus, _ = transport.read_voltage_v(c + step, current, r_p, tmr0, vh)
    v_minus, _ = transport.read_voltage_v(c - step, current, r_p, tmr0, vh)
    np.testing.assert_allclose(dv_dc, (v_plus - v_minus) / (2 * step), rtol=1e-6)
    # at vanishing bias: dV/dc = -I R^2 dG/dc = -I R^2 G_P TMR0 / (2 (1 + TMR0))
    tiny = 1e-9
    v, dv = transport.read_voltage_v(c, tiny, r_p, tmr0, vh)
    np.testing.assert_allclose(dv, -tiny * (v / tiny) ** 2 * tmr0 / (2 * (1 + tmr0)) / r_p, rtol=1e-8)


def test_noise_densities_are_the_closed_forms():
    assert transport.johnson_psd_v2_per_hz(1000.0, 300.0) == pytest.approx(4 * K_B * 300.0 * 1000.0, rel=1e-12)
    assert transport.flicker_psd_v2_per_hz(0.2, 1e-9, 100.0) == pytest.approx(1e-9 * 0.04 / 100.0, rel=1e-12)
    t_int, f_low = 0.02, 0.01
    std = transport.dc_noise_std_v(0.2, 2000.0, 300.0, 1e-9, t_int, f_low)
    f_high = 1 / (2 * t_int)
    expected = np.sqrt(4 * K_B * 300.0 * 2000.0 * f_high + 1e-9 * 0.04 * np.log(f_high / f_low))
    assert std == pytest.approx(expected, rel=1e-12)
    # lock-in, 6 dB/oct: a single RC has ENBW = 1/(4 tau); peak units: sqrt(2 S ENBW)
    tau = 0.1
    li = transport.lockin_noise_std_v(0.2, 2000.0, 300.0, 0.0, 1000.0, tau, 6)
    assert li == pytest.approx(np.sqrt(2 * 4 * K_B * 300.0 * 2000.0 / (4 * tau)), rel=1e-12)


# ------------------------------------------------------------ first harmonic
@pytest.mark.parametrize("a", [1.0, -3.7, 250.0])
@pytest.mark.parametrize("x0", [-2.0, -0.3, 0.0, 0.5, 1.7])
@pytest.mark.parametrize("d", [1e-3, 0.1, 0.8, 2.5])
def test_first_harmonic_of_a_cubic_is_exact(a, x0, d):
    dc, x, y = harmonics.first_harmonic(lambda u: a * u**3, np.array(x0), np.array(d))
    expected_x = 3 * a * x0**2 * d + 0.75 * a * d**3
    expected_dc = a * x0**3 + 1.5 * a * x0 * d**2
    scale = abs(a) * (abs(x0) + d) ** 3
    assert x == pytest.approx(expected_x, rel=1e-9, abs=1e-12 * scale)
    assert dc == pytest.approx(expected_dc, rel=1e-9, abs=1e-12 * scale)
    assert abs(y) <= 1e-12 * scale


def test_first_harmonic_is_vectorised_and_sees_only_the_odd_part():
    x0 = np.linspace(-1, 1, 7)
    d = np.full_like(x0, 0.3)
    # f = x^2: X = 2 x0 d, DC = x0^2 + d^2 / 2, Y = 0
    dc, x, y = harmonics.first_harmonic(lambda u: u**2, x0, d)
    np.testing.assert_allclose(x, 2 * x0 * d, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dc, x0**2 + d**2 / 2, rtol=1e-12)
    np.testing.assert_allclose(y, 0.0, atol=1e-14)
    # a response in quadrature: f(x(t)) cannot produce it, but project_period of cos does: Y = 1
    phases = harmonics.modulation_phases()
    dc, x, y = harmonics.project_period(np.cos(phases))
    assert (dc, x, y) == pytest.approx((0.0, 0.0, 1.0), abs=1e-14)


# ------------------------------------------------ lock-in derivative on the chip
def test_chip_lockin_derivative_converges_as_d_squared():
    devices = uniform_devices(3, 1, stability_factor=2000.0, offset_field_oe=2.0).with_values(
        anisotropy_field_oe=[25.0, 30.0, 36.0], reference_angle_deg=[88.0, 90.0, 93.0])
    chip = MTJChip(devices, 3, 1)
    chip.set_bias_field(20.0, 0.0)
    inputs = np.tile([-2.0e-3, 0.7e-3, 2.5e-3], (3, 1))
    amplitudes = np.array([0.5, 1.0, 2.0, 4.0]) * 1e-4
    errors = []
    for d in amplitudes:
        r = chip.measure([0, 1, 2], inputs, 1e-4, d, exact=True)
        assert np.all(chip.branch == 1)  # bias along +x, no excursion out of the m_x > 0 branch
        assert np.all(np.abs(r.y_v) <= 1e-9 * np.abs(r.x_v))
        errors.append((r.lockin_derivative_v_per_a - r.exact_derivative_v_per_a) / r.exact_derivative_v_per_a)
    errors = np.abs(np.array(errors))
    assert np.all(errors[0] < 1e-4)  # converges to the exact derivative
    assert np.all(errors[0] > 1e-7)  # well above the quadrature floor: the fit below means something
    for i in range(3):
        for j in range(3):
            slope = np.polyfit(np.log(amplitudes), np.log(errors[:, i, j]), 1)[0]
            assert slope == pytest.approx(2.0, abs=0.15)


def test_chip_lockin_is_the_first_harmonic_of_its_own_static_response():
    # the lock-in X of the chip is the projection of its own static voltage over one period
    devices = uniform_devices(1, 1, stability_factor=2000.0)
    chip = MTJChip(devices, 1, 1)
    chip.set_bias_field(20.0, 0.0)
    x0, d, read = 1.3e-3, 8e-4, 1e-4

    def static(u):
        return chip.static_response(np.array([0]), np.atleast_2d(u), read)[1][0]

    dc, x, y = harmonics.first_harmonic(lambda u: static(u.reshape(1, -1)).reshape(u.shape), np.array([x0]), np.array([d]))
    r = chip.measure([0], np.array([[x0]]), read, d, exact=True)
    assert r.x_v[0, 0] == pytest.approx(x[0], rel=1e-12)
    assert r.dc_voltage_v[0, 0] == pytest.approx(dc[0], rel=1e-12)
    # without modulation: no lock-in reading, the DC is the static voltage
    r0 = chip.measure([0], np.array([[x0]]), read, 0.0, exact=True)
    assert np.isnan(r0.lockin_derivative_v_per_a[0, 0])
    assert r0.dc_voltage_v[0, 0] == pytest.approx(static(np.array([[x0]]))[0, 0], rel=1e-14)
