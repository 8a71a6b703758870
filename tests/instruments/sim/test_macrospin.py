"""Stoner–Wohlfarth macrospin against closed forms (zero temperature and thermal).

Energy in units of K V with h = H / Hk:  e(theta) = sin^2(theta) - 2 (h_x cos + h_y sin).

Closed forms used here:

* hard axis, no easy-axis field: m_y = h_y for |h_y| <= 1, m_y = sign(h_y) beyond;
* hard axis with an easy-axis field h_b on the branch m_x > 0: the equilibrium
  satisfies h_y = m (1 + h_b / sqrt(1 - m^2)), so d m_y / d h_y = 1 / (1 + h_b) at
  h_y = 0, i.e. d m_y / dH = 1 / (Hk + H_b); on the branch m_x < 0 (h_b < 1) it is
  1 / (1 - h_b);
* easy-axis loop: the metastable minimum disappears at |h_x| = 1 (switching at
  +/- Hk), a field H_N along the easy axis shifts the loop by -H_N;
* thermal switching (Sharrock): the barrier of the metastable basin is
  (1 - h)^2 K V, left within the dwell time once Delta (1 - h)^2 < ln(t_dwell/tau0),
  so H_sw = Hk (1 - sqrt(ln(t_dwell / tau0) / Delta));
* at saturation (h_x = 0, h_y = 1) the energy is quartic, e = delta^4 / 4 - 1, so
  1 - <sin theta> -> Gamma(3/4) / Gamma(1/4) / sqrt(Delta) for large Delta;
* at h_x = 0 the two basins are mirror images, so each branch's thermal <sin theta>
  and its response 2 Delta Var(sin theta) equal the full-circle Boltzmann averages
  (computed here by brute-force periodic quadrature).
"""

from __future__ import annotations

from math import gamma

import numpy as np
import pytest

from mtjlab.instruments.sim import macrospin, transport
from mtjlab.instruments.sim.mtj import ChipEnvironment, MTJChip
from mtjlab.instruments.sim.parameters import uniform_devices

ESCAPE = float(np.log(0.01 / 1e-9))  # ln(t_dwell / tau0) for the default environment


def _hard_axis_curve_field(m, h_b):
    """Closed-form inverse of the hard-axis curve on the m_x > 0 branch: h_y(m)."""
    return m * (1.0 + h_b / np.sqrt(1.0 - m**2))


def _boltzmann(h_x, h_y, delta, n=200_000):
    """Full-circle Boltzmann <sin theta> and 2 Delta Var(sin theta) (periodic trapezoid)."""
    theta = np.linspace(-np.pi, np.pi, n, endpoint=False)
    e = np.sin(theta) ** 2 - 2.0 * (h_x * np.cos(theta) + h_y * np.sin(theta))
    w = np.exp(-delta * (e - e.min()))
    s = np.sin(theta)
    mean = (w * s).sum() / w.sum()
    return mean, 2.0 * delta * (w * (s - mean) ** 2).sum() / w.sum()


# ------------------------------------------------------------ hard axis, T = 0
def test_hard_axis_without_bias_is_linear_up_to_hk_then_saturated():
    h_y = np.linspace(0.001, 0.999, 999)
    eq = macrospin.equilibrium(0.0, np.concatenate([h_y, -h_y]), np.inf, ESCAPE)
    expected = np.concatenate([h_y, -h_y])
    for branch in (0, 1):  # both minima have m_y = h_y
        np.testing.assert_allclose(eq.mean_sin_by_branch[branch], expected, rtol=0.01)
    beyond = np.linspace(1.001, 5.0, 200)
    eq = macrospin.equilibrium(0.0, np.concatenate([beyond, -beyond]), np.inf, ESCAPE)
    np.testing.assert_allclose(eq.mean_sin_by_branch, np.sign(np.concatenate([beyond, -beyond])) * np.ones((2, 1)),
                               atol=1e-6)


@pytest.mark.parametrize("h_b", [0.05, 0.3, 0.7, 1.0, 2.5])
def test_hard_axis_small_signal_slope_is_one_over_hk_plus_hb(h_b):
    step = 1e-4
    eq = macrospin.equilibrium(h_b, np.array([-step, 0.0, step]), np.inf, ESCAPE)
    m = eq.mean_sin_by_branch[0]
    finite_difference = (m[2] - m[0]) / (2 * step)
    assert finite_difference == pytest.approx(1.0 / (1.0 + h_b), rel=0.01)
    assert eq.dsin_dhy_by_branch[0, 1] == pytest.approx(1.0 / (1.0 + h_b), rel=0.01)
    if h_b < 1.0:  # the m_x < 0 minimum exists and is softer: 1 / (1 - h_b)
        m = eq.mean_sin_by_branch[1]
        assert (m[2] - m[0]) / (2 * step) == pytest.approx(1.0 / (1.0 - h_b), rel=0.01)
        assert eq.dsin_dhy_by_branch[1, 1] == pytest.approx(1.0 / (1.0 - h_b), rel=0.01)


@pytest.mark.parametrize("h_b", [0.0, 0.2, 0.9, 3.0])
def test_hard_axis_curve_rises_monotonically_to_saturation(h_b):
    h_y = np.linspace(0.0, 20.0 * (1.0 + h_b), 4001)
    eq = macrospin.equilibrium(h_b, h_y, np.inf, ESCAPE)
    m = eq.mean_sin_by_branch[0]
    assert np.all(np.diff(m) >= -1e-12)
    assert m[-1] > 0.99
    # the whole curve, not only its slope: h_y = m (1 + h_b / sqrt(1 - m^2))
    inside = m < 0.999
    np.testing.assert_allclose(_hard_axis_curve_field(m[inside], h_b), h_y[inside], rtol=1e-6, atol=1e-9)


def _hard_axis_chip(hk_oe, **extra):
    values = dict(reference_angle_deg=90.0, offset_field_oe=0.0, stability_factor=np.inf, field_line_oe_per_ma=5.0)
    values.update(extra)
    n = len(hk_oe)
    devices = uniform_devices(n, 1, **values).with_values(anisotropy_field_oe=hk_oe)
    return MTJChip(devices, n, 1)


def _magnetisation_from_voltage(voltage_v, read_current_a, r_p=1000.0, tmr0=1.2, vh=0.4):
    """Invert G = G_P [(1+c)/2 + (1-c)/(2(1+TMR(V)))] with TMR(V) = TMR0 / (1 + (V/Vh)^2)."""
    g_rel = read_current_a / voltage_v * r_p
    a = 1.0 / (1.0 + tmr0 / (1.0 + (voltage_v / vh) ** 2))
    return (2.0 * g_rel - 1.0 - a) / (1.0 - a)


def test_chip_hard_axis_without_bias_reads_m_equal_h_over_hk():
    # phi_p = 90 deg: the read voltage measures m_y; kappa I_in is the only field
    hk = np.array([20.0, 30.0, 45.0])
    chip = _hard_axis_chip(hk)
    kappa_oe_per_a = 5.0e3
    read = 1e-4
    current = np.linspace(0.0, 2.0 * 45.0 / kappa_oe_per_a, 401)
    response = chip.measure([0, 1, 2], np.tile(current, (3, 1)), read, exact=True)
    m = _magnetisation_from_voltage(response.dc_voltage_v, read)
    field = kappa_oe_per_a * current
    for j, hk_j in enumerate(hk):
        below = (field > 0) & (field <= 0.999 * hk_j)
        np.testing.assert_allclose(m[j, below], field[below] / hk_j, rtol=0.01)
        np.testing.assert_allclose(m[j, field > 1.001 * hk_j], 1.0, atol=1e-6)


@pytest.mark.parametrize("bias_oe", [5.0, 20.0, 60.0])
def test_chip_hard_axis_slope_is_one_over_hk_plus_bias(bias_oe):
    hk = np.array([20.0, 30.0, 45.0])
    chip = _hard_axis_chip(hk)
    chip.set_bias_field(bias_oe, 0.0)
    kappa_oe_per_a = 5.0e3
    read = 1e-4
    di = 1e-6  # 5 mOe
    currents = np.tile([-di, 0.0, di], (3, 1))
    response = chip.measure([0, 1, 2], currents, read, exact=True)
    m = _magnetisation_from_voltage(response.dc_voltage_v, read)
    slope_per_oe = (m[:, 2] - m[:, 0]) / (2 * di * kappa_oe_per_a)
    np.testing.assert_allclose(slope_per_oe, 1.0 / (hk + bias_oe), rtol=0.01)
    # the same through reduced fields and the equilibrium of the chip's own devices
    h_x, h_y = chip.reduced_fields(np.arange(3), currents)
    np.testing.assert_allclose(h_x[:, 0], bias_oe / hk, rtol=1e-12)
    eq = macrospin.equilibrium(h_x, h_y, np.inf, ESCAPE)
    np.testing.assert_allclose(eq.mean_sin_by_branch[0], m, atol=1e-9)
    # monotonic rise to saturation; > 0.99 at H = 20 (Hk + H_b)
    top = 20.0 * (hk.max() + bias_oe) / kappa_oe_per_a
    current = np.linspace(0.0, top, 301)
    response = chip.measure([0, 1, 2], np.tile(current, (3, 1)), read, exact=True)
    m = _magnetisation_from_voltage(response.dc_voltage_v, read)
    assert np.all(np.diff(m, axis=1) > -1e-9)
    at_20 = np.array([np.interp(20.0 * (hk_j + bias_oe), kappa_oe_per_a * current, m[j]) for j, hk_j in enumerate(hk)])
    assert np.all(at_20 > 0.99)
    # the whole curve: H = m (Hk + H_b / sqrt(1 - m^2))
    for j, hk_j in enumerate(hk):
        inside = m[j] < 0.99
        np.testing.assert_allclose(_hard_axis_curve_field(m[j, inside], bias_oe / hk_j) * hk_j,
                                   kappa_oe_per_a * current[inside], rtol=1e-5, atol=1e-6)


def test_chip_adds_offset_and_hard_axis_bias_to_the_input_field():
    # phi_p = 90: H_N lies along y; a bias at 90 deg lies along y too: m_y = (H_b + H_N + kappa I) / Hk
    hk = np.array([30.0, 40.0])
    chip = _hard_axis_chip(hk, offset_field_oe=3.0)
    chip.set_bias_field(4.0, 90.0)
    read = 1e-4
    current = np.linspace(-4e-3, 2e-3, 13)
    response = chip.measure([0, 1], np.tile(current, (2, 1)), read, exact=True)
    m = _magnetisation_from_voltage(response.dc_voltage_v, read)
    field = 4.0 + 3.0 + 5.0e3 * current
    np.testing.assert_allclose(m, np.clip(field / hk[:, None], -1, 1), rtol=1e-6, atol=1e-9)


def test_transport_inversion_helper_is_consistent():
    # the helper used above against the library's own forward map (guards the helper)
    c = np.linspace(-1, 1, 21)
    v, _ = transport.read_voltage_v(c, 1e-4, 1000.0, 1.2, 0.4)
    np.testing.assert_allclose(_magnetisation_from_voltage(v, 1e-4), c, atol=1e-10)


# -------------------------------------------------------------- easy-axis loop
def _loop(chip, fields_oe, read=1e-6):
    """Measure every device at zero input after each bias step; returns high-R flags (n_steps, n)."""
    n = chip.devices.n_devices
    high = []
    branch = []
    for field in fields_oe:
        chip.set_bias_field(float(field), 0.0)
        v = chip.measure(np.arange(n), np.zeros((n, 1)), read, exact=True).dc_voltage_v[:, 0]
        r = v / read
        # R_P = 1000, R_AP = 2200: the midpoint separates the two states
        high.append(r > 1600.0)
        branch.append(chip.branch.copy())
    high, branch = np.array(high), np.array(branch)
    np.testing.assert_array_equal(high, branch < 0)  # phi_p = 0: branch -1 is antiparallel
    return high


def _sweep(lo, hi, windows, fine=0.1, coarse=2.0):
    """Fields from lo to hi (either direction), fine inside windows, coarse elsewhere."""
    up = np.arange(min(lo, hi), max(lo, hi) + 1e-9, coarse)
    extra = [np.arange(a, b + 1e-9, fine) for a, b in windows]
    points = np.unique(np.round(np.concatenate([up, *extra]), 9))
    points = points[(points >= min(lo, hi)) & (points <= max(lo, hi))]
    return points if hi > lo else points[::-1]


def _switching_fields(fields, high, start_high=False):
    """(down-switch, up-switch) field of each device: first field at which the state flipped."""
    previous = np.vstack([np.full(high.shape[1], start_high), high[:-1]])
    to_high = high & ~previous
    to_low = ~high & previous
    down = np.array([fields[np.argmax(to_high[:, j])] if to_high[:, j].any() else np.nan for j in range(high.shape[1])])
    up = np.array([fields[np.argmax(to_low[:, j])] if to_low[:, j].any() else np.nan for j in range(high.shape[1])])
    return down, up


def test_easy_axis_loop_switches_at_plus_minus_hk_and_offset_shifts_it():
    hk = 30.0
    offsets = np.array([0.0, 4.0, -4.0])
    devices = uniform_devices(3, 1, reference_angle_deg=0.0, anisotropy_field_oe=hk, stability_factor=np.inf)
    chip = MTJChip(devices.with_values(offset_field_oe=offsets), 3, 1)
    down_windows, up_windows = [(-34.5, -25.5)], [(25.5, 34.5)]
    fields = np.concatenate([_sweep(0.0, 50.0, []), _sweep(50.0, -50.0, down_windows), _sweep(-50.0, 50.0, up_windows)])
    high = _loop(chip, fields)
    # each device visits both states and flips exactly twice after the first saturation
    n_first = np.flatnonzero(fields == 50.0)[0] + 1
    down, up = _switching_fields(fields[n_first:], high[n_first:])
    flips = np.abs(np.diff(high[n_first:].astype(int), axis=0)).sum(axis=0)
    np.testing.assert_array_equal(flips, [2, 2, 2])
    # T = 0: the minimum disappears at H_b + H_N = -/+ Hk
    np.testing.assert_allclose(down, -hk - offsets, rtol=0.02)
    np.testing.assert_allclose(up, hk - offsets, rtol=0.02)
    # symmetric loop without offset; shift -H_N with one (both fields move alike)
    assert down[0] == pytest.approx(-up[0], abs=0.15)
    centre = 0.5 * (down + up)
    np.testing.assert_allclose(centre - centre[0], -offsets, atol=0.15)
    np.testing.assert_allclose(up - down, 2 * hk, rtol=0.01)
    # hysteresis: at zero field on the way down (came from +50) low R, on the way up high R
    idx_down = n_first + np.flatnonzero(fields[n_first:] == 0.0)[0]
    idx_up = n_first + np.flatnonzero(fields[n_first:] == 0.0)[1]
    assert not high[idx_down].any() and high[idx_up].all()


def test_thermal_switching_follows_sharrock():
    hk = 30.0
    deltas = np.array([100.0, 400.0, 2000.0])
    environment = ChipEnvironment(dwell_time_s=0.01, attempt_time_s=1e-9)
    escape = np.log(0.01 / 1e-9)
    expected = hk * (1.0 - np.sqrt(escape / deltas))
    devices = uniform_devices(3, 1, reference_angle_deg=0.0, anisotropy_field_oe=hk, offset_field_oe=0.0)
    chip = MTJChip(devices.with_values(stability_factor=deltas), 3, 1, environment)
    down_windows = [(-e - 1.0, -e + 1.0) for e in expected]
    up_windows = [(e - 1.0, e + 1.0) for e in expected]
    fields = np.concatenate([_sweep(0.0, 40.0, []), _sweep(40.0, -40.0, down_windows), _sweep(-40.0, 40.0, up_windows)])
    high = _loop(chip, fields)
    n_first = np.flatnonzero(fields == 40.0)[0] + 1
    down, up = _switching_fields(fields[n_first:], high[n_first:])
    np.testing.assert_allclose(-down, expected, rtol=0.02)
    np.testing.assert_allclose(up, expected, rtol=0.02)
    # thermally activated switching is well below Hk for the smallest Delta
    assert up[0] < 0.85 * hk


# ------------------------------------------------------------- thermal rounding
def test_thermal_response_is_continuous_across_saturation():
    h_y = np.linspace(0.95, 1.05, 1001)
    cold = macrospin.equilibrium(0.0, h_y, np.inf, ESCAPE).dsin_dhy_by_branch[0]
    # T = 0: slope 1 below saturation, 0 above: a jump of 1
    np.testing.assert_allclose(cold[h_y < 0.9995], 1.0, rtol=1e-6)
    np.testing.assert_allclose(cold[h_y > 1.0005], 0.0, atol=1e-6)
    assert np.abs(np.diff(cold)).max() > 0.3
    for delta in (2000.0, 1e4):
        warm = macrospin.equilibrium(0.0, h_y, delta, ESCAPE).dsin_dhy_by_branch
        # no step between neighbours (spacing 1e-4, rounding width ~ Delta^-1/2)
        assert np.abs(np.diff(warm, axis=-1)).max() < 0.02
        np.testing.assert_allclose(warm[0], warm[1], rtol=1e-9, atol=1e-12)  # mirror basins


def test_thermal_curve_approaches_zero_temperature_curve():
    h_y = np.linspace(0.0, 2.0, 2001)
    cold = np.minimum(h_y, 1.0)
    deviation = []
    for delta in (1e2, 1e3, 1e4, 1e5):
        warm = macrospin.equilibrium(0.0, h_y, delta, ESCAPE).mean_sin_by_branch[0]
        deviation.append(np.abs(warm - cold).max())
    assert np.all(np.diff(deviation) < 0), deviation
    # the largest deviation sits at saturation, ~ Delta^-1/2: three decades -> factor ~30
    assert deviation[-1] < deviation[0] / 20


@pytest.mark.parametrize("delta", [1e4, 1e5])
def test_quartic_saturation_closed_form(delta):
    eq = macrospin.equilibrium(0.0, 1.0, delta, ESCAPE)
    expected = gamma(0.75) / gamma(0.25) / np.sqrt(delta)
    assert 1.0 - eq.mean_sin_by_branch[0] == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("delta", [100.0, 2000.0])
def test_thermal_average_matches_full_circle_boltzmann(delta):
    for h_y in (0.0, 0.3, 0.6, 0.9, 0.97, 1.0, 1.02, 1.1, 1.5):
        eq = macrospin.equilibrium(0.0, h_y, delta, ESCAPE)
        mean, response = _boltzmann(0.0, h_y, delta)
        np.testing.assert_allclose(eq.mean_sin_by_branch, mean, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(eq.dsin_dhy_by_branch, response, rtol=1e-3)


@pytest.mark.parametrize("delta", [100.0, 2000.0])
@pytest.mark.parametrize("h_x", [0.0, 0.3, -0.3, 0.8])
def test_thermal_response_is_the_derivative_of_the_mean(delta, h_x):
    h_y = np.linspace(-0.6, 0.6, 13)
    step = 1e-4
    eq = macrospin.equilibrium(h_x, h_y, delta, ESCAPE)
    plus = macrospin.equilibrium(h_x, h_y + step, delta, ESCAPE)
    minus = macrospin.equilibrium(h_x, h_y - step, delta, ESCAPE)
    # only the branches the moment can be on: forced +1 -> branch 0, -1 -> branch 1, 0 -> both
    usable = np.stack([eq.forced >= 0, eq.forced <= 0])
    usable &= (plus.forced == eq.forced) & (minus.forced == eq.forced)  # no switching inside the stencil
    assert usable.sum() >= h_y.size
    fd_sin = (plus.mean_sin_by_branch - minus.mean_sin_by_branch) / (2 * step)
    fd_cos = (plus.mean_cos_by_branch - minus.mean_cos_by_branch) / (2 * step)
    scale = np.abs(eq.dsin_dhy_by_branch)
    np.testing.assert_allclose(fd_sin[usable], eq.dsin_dhy_by_branch[usable], rtol=1e-4)
    assert np.all(np.abs(fd_cos - eq.dcos_dhy_by_branch)[usable] <= 1e-4 * scale[usable])
    plus_x = macrospin.equilibrium(h_x + step, h_y, delta, ESCAPE)
    minus_x = macrospin.equilibrium(h_x - step, h_y, delta, ESCAPE)
    usable &= (plus_x.forced == eq.forced) & (minus_x.forced == eq.forced)
    fd = (plus_x.mean_sin_by_branch - minus_x.mean_sin_by_branch) / (2 * step)
    assert np.all(np.abs(fd - eq.dsin_dhx_by_branch)[usable] <= 1e-4 * scale[usable])


# --------------------------------------------------------------- branch logic
def test_follow_branches_is_a_forward_fill_of_forced_branches():
    forced = np.array([[0, 0, -1, 0, 0, 1, 0], [1, 0, 0, 0, -1, 0, 0]], np.int8)
    np.testing.assert_array_equal(macrospin.follow_branches(forced, np.array([1, -1])),
                                  [[1, 1, -1, -1, -1, 1, 1], [1, 1, 1, 1, -1, -1, -1]])
    np.testing.assert_array_equal(macrospin.follow_branches(np.zeros((1, 3), np.int8), -1), [[-1, -1, -1]])
    by_branch = np.array([[10.0, 11.0], [20.0, 21.0]])
    np.testing.assert_array_equal(macrospin.select_branch(by_branch, np.array([1, -1])), [10.0, 21.0])


def test_zero_temperature_forced_branches_follow_the_astroid():
    # inside the astroid |h_x|^(2/3) + |h_y|^(2/3) < 1 both minima exist: history decides
    angle = np.linspace(0.05, 2 * np.pi - 0.05, 60)
    r_in, r_out = 0.9, 1.1
    inside = (r_in * np.abs(np.cos(angle)) ** 3, r_in * np.abs(np.sin(angle)) ** 3)
    eq = macrospin.equilibrium(np.sign(np.cos(angle)) * inside[0], np.sign(np.sin(angle)) * inside[1], np.inf, ESCAPE)
    np.testing.assert_array_equal(eq.forced, 0)
    h_x = r_out * np.sign(np.cos(angle)) * np.abs(np.cos(angle)) ** 3
    h_y = r_out * np.sign(np.sin(angle)) * np.abs(np.sin(angle)) ** 3
    eq = macrospin.equilibrium(h_x, h_y, np.inf, ESCAPE)
    off_axis = np.abs(np.cos(angle)) > 1e-3
    np.testing.assert_array_equal(eq.forced[off_axis], np.sign(h_x[off_axis]).astype(int))
