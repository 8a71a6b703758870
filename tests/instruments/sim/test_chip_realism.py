"""The mechanisms of docs/chip_realism.md against closed forms and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.config import ChipPhysics
from mtjlab.instruments.sim import transport
from mtjlab.instruments.sim.mtj import MTJChip
from mtjlab.instruments.sim.parameters import sample_devices, uniform_devices
from mtjlab.instruments.sim.thermal import ThermalModel

ZERO_T = 1e9  # a stability factor so large the moment sits at its energy minimum


def brute_force_angle(h_x: np.ndarray, h_y: np.ndarray, branch: int = 1) -> np.ndarray:
    """The minimum of e = sin^2 - 2 (h_x cos + h_y sin) on the branch's side (grid, then refined)."""
    theta = np.linspace(-np.pi, np.pi, 200_001)[:, None]
    energy = np.sin(theta) ** 2 - 2 * (h_x * np.cos(theta) + h_y * np.sin(theta))
    energy = np.where(np.sign(np.cos(theta)) == branch, energy, np.inf)
    return theta[np.argmin(energy, axis=0), 0]


def test_a_tilted_easy_axis_moves_the_transfer_curve_as_stoner_wohlfarth_predicts():
    tilt_deg, hk, kappa, bias = 8.0, 30.0, 5.0, 20.0
    devices = uniform_devices(1, 2, anisotropy_field_oe=hk, offset_field_oe=0.0, stability_factor=ZERO_T,
                              field_line_oe_per_ma=kappa).with_values(easy_axis_tilt_deg=[0.0, tilt_deg])
    chip = MTJChip(devices, 1, 2)
    chip.set_bias_field(bias)
    inputs = np.linspace(-0.012, 0.012, 97)
    read = 1e-6  # a tiny read current: TMR at zero bias
    _, voltage, slope = chip.static_response(np.array([1]), inputs[None, :], read)
    # brute force in the tilted frame: every field rotated by -epsilon, the reference at 90 - epsilon
    eps = np.deg2rad(tilt_deg)
    line = kappa * 1e3 * inputs
    h_x = (bias * np.cos(-eps) + line * np.sin(eps)) / hk
    h_y = (bias * np.sin(-eps) + line * np.cos(eps)) / hk
    theta = brute_force_angle(h_x, h_y)
    cos_ref = np.cos(theta - (np.pi / 2 - eps))
    expected = read / transport.conductance_s(cos_ref, 1000.0, 1.2)
    np.testing.assert_allclose(voltage[0, 0], expected, rtol=2e-5)
    # the slope is that curve's derivative (centred differences of the brute force)
    numeric = np.gradient(expected, inputs)
    inner = slice(2, -2)
    np.testing.assert_allclose(slope[0, 0][inner], numeric[inner], rtol=2e-3, atol=1e-3 * np.abs(numeric).max())
    # and the tilt moves the curve: its steepest point shifts, as the rotated bias's y part says
    _, _, untilted = chip.static_response(np.array([0]), inputs[None, :], read)
    moved = inputs[np.argmax(np.abs(slope[0, 0]))] - inputs[np.argmax(np.abs(untilted[0, 0]))]
    assert abs(moved) > 2 * (inputs[1] - inputs[0])


def test_a_field_line_per_device_spreads_the_calibrated_input_gains_by_the_configured_amount():
    from mtjlab.experiments.calibration import fit_device

    spread = 0.10
    physics = ChipPhysics(resistance_p_rel_spread=0, tmr0_rel_spread=0, anisotropy_field_rel_spread=0,
                          reference_angle_spread_deg=0, offset_field_spread_oe=0, field_line_rel_spread=0,
                          field_line_device_rel_spread=spread, seed=7)
    chip = MTJChip.from_physics(physics, 10, 10)
    chip.set_bias_field(20.0)
    inputs = np.linspace(-0.019, 0.019, 77)
    everyone = np.arange(100)
    response = chip.measure(everyone, np.broadcast_to(inputs, (100, inputs.size)), 1e-4, 2e-4)
    gains = np.array([fit_device(inputs, response.dc_voltage_v[j], response.lockin_derivative_v_per_a[j])
                      .input_per_unit_a for j in everyone])
    # identical junctions but kappa: the gain g = h / s scales as 1 / kappa, so ln g spreads as ln kappa
    measured = np.std(np.log(np.abs(gains)), ddof=1)
    assert measured == pytest.approx(spread, rel=0.25)  # 100 draws: the sample sigma is within ~15 %
    # device by device (the half-span h also grows a little with kappa, as more of the curve is swept)
    assert np.corrcoef(np.log(np.abs(gains)), -np.log(chip.devices.field_line_oe_per_ma))[0, 1] > 0.95


def test_one_geometry_sets_resistance_anisotropy_and_stability_together():
    physics = ChipPhysics(resistance_p_rel_spread=0, anisotropy_field_rel_spread=0, size_rel_spread=0.1,
                          thickness_rel_spread=0.05)
    d = sample_devices(physics, 8, 8)
    nominal = ChipPhysics()
    # eliminate the two draws: R_P ~ 1/w^2, Hk ~ t/w, Delta ~ w t^2 => Delta / Delta0 = (Hk/Hk0)^2 (R_P/R_P0)^(-3/2)
    r, h, delta = (d.resistance_p_ohm / nominal.resistance_p_ohm, d.anisotropy_field_oe / nominal.anisotropy_field_oe,
                   d.stability_factor / nominal.stability_factor)
    np.testing.assert_allclose(delta, h**2 * r**-1.5, rtol=1e-12)
    size = r**-0.5
    assert np.std(np.log(size)) == pytest.approx(0.1, rel=0.3)
    assert np.corrcoef(np.log(r), np.log(delta))[0, 1] < -0.5  # bigger junctions: lower R, more stable


def test_a_chip_without_the_new_mechanisms_is_drawn_bit_for_bit_as_before():
    physics = ChipPhysics()
    d = sample_devices(physics, 4, 4)
    rng = np.random.default_rng(physics.seed)  # the original order of draws
    np.testing.assert_array_equal(d.resistance_p_ohm, physics.resistance_p_ohm * np.exp(
        physics.resistance_p_rel_spread * rng.standard_normal(16)))
    assert not d.easy_axis_tilt_deg.any() and not d.double.any()


# ------------------------------------------------------------------ temperature
def test_magnetisation_anisotropy_and_tmr_follow_their_laws():
    model = ThermalModel(ms_bloch_coefficient_per_k1p5=3e-5, anisotropy_ms_exponent=2.0,
                         polarisation_bloch_coefficient_per_k1p5=2e-5, reference_temperature_k=300.0)
    t = np.array([0.0, 100.0, 300.0, 350.0])
    ms = (1 - 3e-5 * t**1.5) / (1 - 3e-5 * 300**1.5)
    np.testing.assert_allclose(model.magnetisation_ratio(t), ms)
    np.testing.assert_allclose(model.anisotropy_ratio(t), ms**2)
    warm = t[1:]  # Delta = Ms Hk V / (2 k_B T): Ms^(1+n) T_ref / T
    np.testing.assert_allclose(model.stability_ratio(warm), ms[1:] ** 3 * 300.0 / warm, rtol=1e-12)
    # Julliere: TMR = 2P^2/(1-P^2); at T_ref the TMR given back, lower when warmer
    assert model.tmr(1.2, 300.0) == pytest.approx(1.2, rel=1e-12)
    p_ref = np.sqrt(1.2 / 3.2)
    p_warm = p_ref * (1 - 2e-5 * 350**1.5) / (1 - 2e-5 * 300**1.5)
    assert model.tmr(1.2, 350.0) == pytest.approx(2 * p_warm**2 / (1 - p_warm**2), rel=1e-12)
    assert model.tmr(1.2, 350.0) < 1.2 < model.tmr(1.2, 4.0)


def test_drift_follows_its_law_on_the_lab_clock():
    model = ThermalModel(temperature_drift_k=3.0, temperature_drift_time_s=1800.0, offset_drift_oe=1.5,
                         offset_drift_time_s=900.0)
    assert model.chip_temperature_k(0.0) == 300.0
    assert model.chip_temperature_k(1800.0) == pytest.approx(300.0 + 3.0 * (1 - np.exp(-1)))
    assert model.offset_shift_oe(900.0 * np.log(2)) == pytest.approx(0.75)
    assert model.chip_temperature_k(1e7) == pytest.approx(303.0)


def test_joule_heating_warms_each_junction_by_its_read_power():
    model = ThermalModel(joule_heating_k_per_mw=20.0)
    d = uniform_devices(1, 2).with_values(resistance_p_ohm=[1000.0, 2000.0])
    r_mid = d.resistance_p_ohm * 2.2 / 1.6
    warm = model.junction_temperature_k(d, 0.0, 3e-4)
    np.testing.assert_allclose(warm - 300.0, 20.0 * (3e-4) ** 2 * r_mid * 1e3)


def test_a_reading_at_the_same_input_and_field_changes_by_the_predicted_amount_after_the_drift_time():
    """Through the drivers and emulators: the drifting preset's chip, read now and 30 minutes later."""
    from mtjlab.config import load_bench
    from mtjlab.instruments.bench import Bench
    from mtjlab.instruments.bench_array import BenchNeuronArray
    from mtjlab.instruments.sim.junction import static_response
    from mtjlab.instruments.sim.macrospin import select_branch

    config = load_bench("drifting")
    physics = config.chip.physics
    with Bench.open(config) as bench:
        array = BenchNeuronArray(bench, modulation_amplitude_a=2e-4)
        array.prepare()
        before = array.measure_point("r0c1", 0.002, derivative=False).output_v
        bench.clock.sleep(physics.temperature_drift_time_s)
        after = array.measure_point("r0c1", 0.002, derivative=False).output_v
        chip = bench.lab.chip
        index = chip.devices.index_of(["r0c1"])
        truth = chip.devices
        elapsed = bench.clock.now_s()

        def predicted(t_s: float) -> float:  # the laws R4-R6 written out here, not the model's code
            temperature = 300.0 + 3.0 * (1 - np.exp(-t_s / 1800.0)) + 5.0 * 1e-4**2 * (
                truth.resistance_p_ohm * (1 + truth.tmr0) / (1 + truth.tmr0 / 2)) * 1e3
            ms = (1 - 3e-5 * temperature**1.5) / (1 - 3e-5 * 300.0**1.5)
            p = np.sqrt(truth.tmr0 / (2 + truth.tmr0)) * (1 - 2e-5 * temperature**1.5) / (1 - 2e-5 * 300.0**1.5)
            devices = truth.with_values(anisotropy_field_oe=truth.anisotropy_field_oe * ms,
                                        tmr0=2 * p**2 / (1 - p**2),
                                        stability_factor=truth.stability_factor * ms**2 * 300.0 / temperature,
                                        offset_field_oe=truth.offset_field_oe + 1.5 * (1 - np.exp(-t_s / 1800.0)))
            _, voltage, _ = static_response(devices, index, np.array([[0.002]]), 1e-4, chip.bias_field_oe,
                                            chip.bias_field_angle_deg, chip.environment.escape_log_ratio, 20.0, 1e9)
            return float(select_branch(voltage, chip.branch[index][:, None])[0, 0])

        change = predicted(elapsed) - predicted(elapsed - physics.temperature_drift_time_s)
    assert abs(change) > 5e-4  # half a millivolt: hundreds of times the reading's noise
    assert after - before == pytest.approx(change, rel=0.02, abs=2e-5)


# ------------------------------------------------------------- two reference layers
def test_a_junction_with_two_reference_layers_reads_both_barriers_in_series():
    share, hk, bias, kappa = 0.8, 30.0, 20.0, 5.0
    d = uniform_devices(1, 1, anisotropy_field_oe=hk, offset_field_oe=0.0, stability_factor=ZERO_T,
                        field_line_oe_per_ma=kappa, second_reference_angle_deg=0.0, second_barrier_share=share)
    chip = MTJChip(d, 1, 1)
    chip.set_bias_field(bias)
    inputs = np.linspace(-0.015, 0.015, 61)
    read = 1e-6
    _, voltage, _ = chip.static_response(np.array([0]), inputs[None, :], read)
    theta = brute_force_angle(np.full(inputs.size, bias / hk), kappa * 1e3 * inputs / hk)
    resistance = (1 / transport.conductance_s(np.sin(theta), 1000.0 * (1 - share), 1.2)
                  + 1 / transport.conductance_s(np.cos(theta), 1000.0 * share, 1.2))
    np.testing.assert_allclose(voltage[0, 0], read * resistance, rtol=2e-5)
    # bell-shaped: one interior extremum
    assert np.sum(np.diff(np.sign(np.diff(voltage[0, 0]))) != 0) == 1


def test_the_lock_in_derivative_of_a_two_reference_junction_matches_the_exact_one():
    physics = ChipPhysics()
    chip = MTJChip.from_physics(physics, 2, 2, double_rows=[1])
    chip.set_bias_field(20.0)
    inputs = np.linspace(-0.018, 0.018, 73)
    doubles = np.array([2, 3])
    response = chip.measure(doubles, np.broadcast_to(inputs, (2, inputs.size)), 1e-4, 2e-4)
    exact, lockin = response.exact_derivative_v_per_a, response.lockin_derivative_v_per_a
    big = np.abs(exact) > 0.05 * np.abs(exact).max()
    error = np.abs(lockin[big] - exact[big]) / np.abs(exact[big])
    assert np.median(error) < 0.05


# ------------------------------------------------------------------- tunable shapes
@pytest.mark.parametrize("angle_deg", [0.0, 10.0, 30.0])
def test_the_coil_angle_moves_the_curve_centre_as_the_closed_form_says(angle_deg):
    """R8: the moment crosses the hard axis where h_y = 0, at I_c = -H_b sin(psi) / kappa (no tilt, no offset)."""
    bias, kappa = 20.0, 5.0
    d = uniform_devices(1, 1, offset_field_oe=0.0, stability_factor=ZERO_T, field_line_oe_per_ma=kappa,
                        reference_angle_deg=90.0)
    chip = MTJChip(d, 1, 1, bias_field_angle_deg=angle_deg)
    chip.set_bias_field(bias)
    inputs = np.linspace(-0.015, 0.015, 3001)
    read = 1e-6
    _, voltage, _ = chip.static_response(np.array([0]), inputs[None, :], read)
    v = voltage[0, 0]
    middle = read / transport.conductance_s(0.0, 1000.0, 1.2)  # cos to the reference = 0
    crossing = inputs[np.argmin(np.abs(v - middle))]
    assert crossing == pytest.approx(-bias * np.sin(np.deg2rad(angle_deg)) / (kappa * 1e3), abs=2e-5)


def test_double_junctions_calibrate_as_bumps_or_are_refused_naming_the_device():
    """Through the drivers and emulators: typical's row 3 on the branch a negative field sets is a bump;
    at zero field (a switching inside the sweep) the calibration refuses in one line, naming the device."""
    from mtjlab.config import load_bench
    from mtjlab.experiments.calibration import CalibrationShapeError, fit_device
    from mtjlab.instruments.bench import Bench
    from mtjlab.instruments.bench_array import BenchNeuronArray
    from mtjlab.training.neurons import calibrate

    with Bench.open(load_bench("typical")) as bench:
        array = BenchNeuronArray(bench, bias_field_oe=-20.0)
        array.prepare()
        doubles = [d for d, kind in array.device_kinds.items() if kind == "double" and d not in array.dead_ids]
        sweep = calibrate(array, devices=doubles)
        shapes = {d: fit_device(sweep.input_a[j], sweep.output_v[j], sweep.derivative_v_per_a[j], d).shape
                  for j, d in enumerate(sweep.devices)}
        assert set(shapes.values()) == {"bump"}, shapes
        array.set_bias_field(0.0)
        sweep = calibrate(array, devices=doubles[:1])
        with pytest.raises(CalibrationShapeError, match=rf"^device {doubles[0]}: .*(turning|edge|half)"):
            fit_device(sweep.input_a[0], sweep.output_v[0], sweep.derivative_v_per_a[0], doubles[0])
