"""Closed-form limits of the macrospin model (Stoner–Wohlfarth, Sharrock)."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.instruments.sim import macrospin
from mtjlab.instruments.sim.mtj import ChipEnvironment, MTJChip
from mtjlab.instruments.sim.parameters import uniform_devices

ESCAPE = np.log(0.01 / 1e-9)
COLD = 1e12  # stability factor of a negligible temperature


def hard_axis_chip(**values) -> MTJChip:
    devices = uniform_devices(1, 1, reference_angle_deg=90.0, offset_field_oe=0.0, stability_factor=COLD, **values)
    return MTJChip(devices, 1, 1)


def magnetisation_y(chip: MTJChip, currents: np.ndarray) -> np.ndarray:
    """m_y on the chip's fields, through the chip's own field composition."""
    h_x, h_y = chip.reduced_fields(np.array([0]), currents[None, :])
    eq = macrospin.equilibrium(h_x, h_y, COLD, ESCAPE)
    return macrospin.select_branch(eq.mean_sin_by_branch, np.ones_like(h_y, np.int8))[0]


def test_hard_axis_without_bias_is_linear_up_to_saturation():
    hk, kappa = 30.0, 5.0
    chip = hard_axis_chip(anisotropy_field_oe=hk, field_line_oe_per_ma=kappa)
    field = np.linspace(0.0, 0.999 * hk, 200)
    m_y = magnetisation_y(chip, field / kappa * 1e-3)
    np.testing.assert_allclose(m_y[1:], field[1:] / hk, rtol=0.01)
    beyond = magnetisation_y(chip, np.linspace(1.001, 3.0, 20) * hk / kappa * 1e-3)
    np.testing.assert_allclose(beyond, 1.0, atol=1e-9)


@pytest.mark.parametrize("bias_oe", [5.0, 20.0, 60.0])
def test_easy_axis_bias_sets_the_small_signal_slope(bias_oe):
    hk, kappa = 30.0, 5.0
    chip = hard_axis_chip(anisotropy_field_oe=hk, field_line_oe_per_ma=kappa)
    chip.set_bias_field(bias_oe, 0.0)
    step_oe = 1e-3
    m_y = magnetisation_y(chip, np.array([-step_oe, step_oe]) / kappa * 1e-3)
    slope = (m_y[1] - m_y[0]) / (2 * step_oe)
    assert slope == pytest.approx(1.0 / (hk + bias_oe), rel=0.01)
    field = np.linspace(0.0, 40.0 * (hk + bias_oe), 400)
    curve = magnetisation_y(chip, field / kappa * 1e-3)
    assert np.all(np.diff(curve) > 0)
    assert curve[-1] > 0.99 and curve[-1] < 1.0


def easy_axis_loop(chip: MTJChip, fields_oe: np.ndarray) -> np.ndarray:
    """Sweep the coil field along the easy axis; return the read voltage at each field."""
    voltages = []
    for field in fields_oe:
        chip.set_bias_field(field, 0.0)
        voltages.append(chip.measure([0], np.zeros((1, 1)), 1e-6, exact=True).dc_voltage_v[0, 0])
    return np.array(voltages)


def jump_field(fields_oe: np.ndarray, voltages: np.ndarray) -> float:
    k = int(np.argmax(np.abs(np.diff(voltages))))
    return 0.5 * (fields_oe[k] + fields_oe[k + 1])


def switching_fields(chip: MTJChip, limit_oe: float, coarse_oe: float = 1.0, fine_oe: float = 0.05):
    """Up- and down-sweep switching fields of a full loop from -limit to +limit and back.

    A coarse loop finds the jumps; a second loop, coarse except for fine steps
    within +/- 2 coarse steps of each jump, locates them to ``fine_oe``.
    """
    sweep = np.arange(-limit_oe, limit_oe + coarse_oe / 2, coarse_oe)
    fields = np.concatenate([sweep, sweep[::-1]])
    voltages = easy_axis_loop(chip, fields)
    half = len(sweep)
    coarse_up, coarse_down = jump_field(fields[:half], voltages[:half]), jump_field(fields[half:], voltages[half:])

    def refined(centre):
        fine = np.arange(centre - 2 * coarse_oe, centre + 2 * coarse_oe, fine_oe)
        return np.union1d(sweep, fine)

    up_sweep, down_sweep = refined(coarse_up), refined(coarse_down)[::-1]
    fields = np.concatenate([up_sweep, down_sweep])
    voltages = easy_axis_loop(chip, fields)
    n = len(up_sweep)
    return jump_field(fields[:n], voltages[:n]), jump_field(fields[n:], voltages[n:])


@pytest.mark.parametrize("offset_oe", [0.0, 4.0, -3.0])
def test_easy_axis_loop_switches_at_hk_shifted_by_the_offset(offset_oe):
    hk = 30.0
    devices = uniform_devices(1, 1, reference_angle_deg=0.0, offset_field_oe=offset_oe,
                              stability_factor=np.inf, anisotropy_field_oe=hk)
    chip = MTJChip(devices, 1, 1)
    up, down = switching_fields(chip, 2 * hk)
    # Néel coupling along the reference (+x) helps the parallel state: the loop moves by -offset
    assert up == pytest.approx(hk - offset_oe, abs=0.02 * hk)
    assert down == pytest.approx(-hk - offset_oe, abs=0.02 * hk)
    assert (up + down) / 2 == pytest.approx(-offset_oe, abs=0.02 * hk)  # symmetric about the shift
    assert abs(offset_oe) < 1e-12 or abs((up + down) / 2) > 0.5 * abs(offset_oe)


@pytest.mark.parametrize("delta", [300.0, 2000.0, 20000.0])
def test_thermal_switching_follows_sharrock(delta):
    hk = 30.0
    devices = uniform_devices(1, 1, reference_angle_deg=0.0, offset_field_oe=0.0,
                              stability_factor=delta, anisotropy_field_oe=hk)
    environment = ChipEnvironment(dwell_time_s=0.01, attempt_time_s=1e-9)
    chip = MTJChip(devices, 1, 1, environment)
    up, down = switching_fields(chip, 1.5 * hk)
    sharrock = hk * (1.0 - np.sqrt(np.log(0.01 / 1e-9) / delta))
    assert up == pytest.approx(sharrock, rel=0.02)
    assert down == pytest.approx(-sharrock, rel=0.02)


def test_newton_minima_are_the_true_minima_of_the_energy():
    rng = np.random.default_rng(3)
    h = rng.uniform(-1.6, 1.6, (2, 150))
    eq = macrospin.equilibrium(h[0], h[1], np.inf, ESCAPE)
    theta = np.linspace(-np.pi, np.pi, 100_001)
    for i in range(h.shape[1]):
        e = macrospin.energy(theta, h[0, i], h[1, i])
        grid_minima = theta[(e < np.roll(e, 1)) & (e < np.roll(e, -1))]
        found = [np.arctan2(eq.mean_sin_by_branch[b, i], eq.mean_cos_by_branch[b, i]) for b in (0, 1)]
        distinct = 1 if abs(np.angle(np.exp(1j * (found[0] - found[1])))) < 1e-6 else 2
        assert distinct == len(grid_minima), (h[:, i], found, grid_minima)
        for f in found:
            distance = np.abs(np.angle(np.exp(1j * (grid_minima - f))))
            assert distance.min() < 2e-4


def test_thermal_response_is_the_derivative_of_the_thermal_mean():
    h_y = np.linspace(-0.8, 0.8, 9)
    step = 1e-5
    for delta in (50.0, 2000.0):
        eq = macrospin.equilibrium(0.3, h_y, delta, ESCAPE)
        up = macrospin.equilibrium(0.3, h_y + step, delta, ESCAPE)
        down = macrospin.equilibrium(0.3, h_y - step, delta, ESCAPE)
        numeric = (up.mean_sin_by_branch[0] - down.mean_sin_by_branch[0]) / (2 * step)
        np.testing.assert_allclose(eq.dsin_dhy_by_branch[0], numeric, rtol=1e-4)


def max_slope_step(delta: float, step: float) -> float:
    """Largest change of d m_y / dh_y between neighbouring fields across saturation."""
    h_y = np.arange(0.97, 1.03, step)
    slope = macrospin.equilibrium(0.0, h_y, delta, ESCAPE).dsin_dhy_by_branch[0]
    return float(np.abs(np.diff(slope)).max())


def test_thermal_rounding_is_continuous_and_vanishes_as_delta_grows():
    # At T = 0 the hard-axis slope jumps from 1 to 0 at saturation however fine the grid.
    assert max_slope_step(np.inf, 1e-4) > 0.3 and max_slope_step(np.inf, 2.5e-5) > 0.3
    h_y = np.linspace(0.5, 1.5, 801)
    cold = macrospin.equilibrium(0.0, h_y, np.inf, ESCAPE).mean_sin_by_branch[0]
    deviations = []
    for delta in (1e2, 1e3, 1e4, 1e5):
        # At finite temperature it is continuous: steps shrink in proportion to the grid step.
        coarse, fine = max_slope_step(delta, 1e-4), max_slope_step(delta, 2.5e-5)
        assert fine < 0.3 * coarse and fine < 0.2
        warm = macrospin.equilibrium(0.0, h_y, delta, ESCAPE).mean_sin_by_branch[0]
        deviations.append(np.abs(warm - cold).max())
    assert all(later < earlier for earlier, later in zip(deviations, deviations[1:]))
    assert deviations[-1] < 0.01


def test_follow_branches_is_a_forward_fill_with_memory():
    forced = np.array([[0, 0, -1, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0]], np.int8)
    out = macrospin.follow_branches(forced, np.array([1, -1], np.int8))
    np.testing.assert_array_equal(out, [[1, 1, -1, -1, -1, 1, 1], [-1] * 7])
