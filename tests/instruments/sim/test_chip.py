"""The simulated chip as a whole: memory, shared field lines, dead junctions,
response tables against the exact physics, and noise statistics."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.config import load_default_bench
from mtjlab.instruments.sim import transport
from mtjlab.instruments.sim.mtj import ChipEnvironment, MTJChip, NoiseSettings
from mtjlab.instruments.sim.parameters import OPEN, SHORT, uniform_devices

HK = 30.0
KAPPA_OE_PER_MA = 5.0
TINY_READ_A = 1e-7  # bias ~0.1 mV: TMR at its zero-bias value to 1e-7


def _easy_axis_chip(rows, cols, **extra):
    """phi_p = 0: parallel (R_P) on branch +1, antiparallel (R_P (1 + TMR0)) on branch -1."""
    values = dict(reference_angle_deg=0.0, offset_field_oe=0.0, stability_factor=np.inf,
                  anisotropy_field_oe=HK, field_line_oe_per_ma=KAPPA_OE_PER_MA)
    values.update(extra)
    return MTJChip(uniform_devices(rows, cols, **values), rows, cols)


def _read_resistance(chip, index):
    index = np.atleast_1d(index)
    v = chip.measure(index, np.zeros((index.size, 1)), TINY_READ_A, exact=True).dc_voltage_v[:, 0]
    return v / TINY_READ_A


def _every_row(chip):
    return np.arange(chip.rows) * chip.cols


def test_state_is_kept_between_calls():
    chip = _easy_axis_chip(1, 1)
    chip.set_bias_field(2 * HK, 0.0)
    _read_resistance(chip, 0)
    chip.set_bias_field(0.0)
    after_positive = _read_resistance(chip, 0)
    assert after_positive == pytest.approx(1000.0, rel=1e-6)
    for _ in range(3):  # remembered over repeated readings
        assert _read_resistance(chip, 0) == pytest.approx(after_positive, rel=1e-12)
    chip.set_bias_field(-2 * HK, 0.0)
    _read_resistance(chip, 0)
    chip.set_bias_field(0.0)
    after_negative = _read_resistance(chip, 0)
    assert after_negative / after_positive == pytest.approx(1.0 + 1.2, rel=1e-6)
    assert chip.branch[0] == -1
    # a sub-coercive excursion (|H| < Hk) does not switch it back
    chip.set_bias_field(0.9 * HK, 0.0)
    _read_resistance(chip, 0)
    chip.set_bias_field(0.0)
    assert _read_resistance(chip, 0) == pytest.approx(after_negative, rel=1e-12)


def test_table_path_keeps_the_state_too():
    chip = _easy_axis_chip(1, 1)
    zero = np.zeros((1, 1))
    chip.set_bias_field(-2 * HK, 0.0)
    chip.measure([0], zero, TINY_READ_A)
    chip.set_bias_field(0.0)
    high = chip.measure([0], zero, TINY_READ_A).dc_voltage_v[0, 0]
    chip.set_bias_field(2 * HK, 0.0)
    chip.measure([0], zero, TINY_READ_A)
    chip.set_bias_field(0.0)
    low = chip.measure([0], zero, TINY_READ_A).dc_voltage_v[0, 0]
    assert high / low == pytest.approx(2.2, rel=1e-6)


def _prepare_all_on_plus_branch_at_negative_bias(chip):
    """Saturate along +x, then hold -Hk/2 along x: every junction bistable, all on branch +1."""
    chip.set_bias_field(2 * HK, 0.0)
    _read_resistance(chip, _every_row(chip))
    chip.set_bias_field(-0.5 * HK, 0.0)
    _read_resistance(chip, _every_row(chip))
    assert np.all(chip.branch == 1)


def test_a_row_shares_its_field_line_and_other_rows_do_not_see_it():
    chip = _easy_axis_chip(2, 2)
    _prepare_all_on_plus_branch_at_negative_bias(chip)
    # an input of 2 Hk along y on row 0 leaves the astroid (h = (-0.5, 2)): the single
    # minimum has m_x < 0, so the row's junctions come back on branch -1
    excursion_a = 2 * HK / KAPPA_OE_PER_MA * 1e-3
    chip.measure([0], np.array([[0.0, excursion_a, 0.0]]), TINY_READ_A, exact=True)
    np.testing.assert_array_equal(chip.branch, [-1, -1, 1, 1])
    # read back: the co-row device (never addressed) is antiparallel, row 1 still parallel
    r = _read_resistance(chip, [1, 2, 3])
    np.testing.assert_allclose(r / 1000.0, [2.2, 1.0, 1.0], rtol=1e-6)
    # the same excursion on row 1 through device 3 flips device 2, not row 0
    chip.measure([3], np.array([[excursion_a, 0.0]]), TINY_READ_A, exact=True)
    np.testing.assert_array_equal(chip.branch, [-1, -1, -1, -1])


@pytest.mark.parametrize("fraction, flips", [(0.97, False), (1.03, True)])
def test_the_row_switches_at_the_astroid(fraction, flips):
    # at h_x = -1/2 the astroid |h_x|^(2/3) + |h_y|^(2/3) = 1 sits at h_y = (1 - 2^(-2/3))^(3/2)
    chip = _easy_axis_chip(2, 2)
    _prepare_all_on_plus_branch_at_negative_bias(chip)
    h_y = fraction * (1.0 - 0.5 ** (2.0 / 3.0)) ** 1.5
    chip.measure([0], np.array([[h_y * HK / KAPPA_OE_PER_MA * 1e-3, 0.0]]), TINY_READ_A, exact=True)
    np.testing.assert_array_equal(chip.branch, [-1, -1, 1, 1] if flips else [1, 1, 1, 1])


def test_requests_on_one_row_are_applied_in_order():
    chip = _easy_axis_chip(1, 2)
    _prepare_all_on_plus_branch_at_negative_bias(chip)
    excursion_a = 2 * HK / KAPPA_OE_PER_MA * 1e-3
    # device 0's excursion comes first; device 1 is then read at zero input, already switched
    r = chip.measure([0, 1], np.array([[excursion_a, 0.0], [0.0, 0.0]]), TINY_READ_A, exact=True)
    assert r.dc_voltage_v[1, 0] / TINY_READ_A == pytest.approx(2200.0, rel=1e-6)
    assert r.dc_voltage_v[0, 1] / TINY_READ_A == pytest.approx(2200.0, rel=1e-6)


def test_the_bias_field_acts_on_every_row_even_unmeasured():
    chip = _easy_axis_chip(2, 1)
    chip.set_bias_field(-2 * HK, 0.0)  # saturates every junction along -x
    _read_resistance(chip, 0)          # only row 0 is read while the field is on
    chip.set_bias_field(0.0)
    r = _read_resistance(chip, [0, 1])
    np.testing.assert_allclose(r / 1000.0, [2.2, 2.2], rtol=1e-6)


@pytest.mark.parametrize("exact", [True, False])
def test_dead_junctions_read_their_resistance_with_zero_derivative(exact):
    environment = ChipEnvironment(short_resistance_ohm=15.0, open_resistance_ohm=3e8)
    devices = uniform_devices(1, 3).with_values(dead_kind=[0, SHORT, OPEN])
    chip = MTJChip(devices, 1, 3, environment)
    chip.set_bias_field(20.0, 0.0)
    read, d = 1e-4, 2e-4
    inputs = np.tile(np.linspace(-5e-3, 5e-3, 5), (3, 1))
    for amplitude in (0.0, d):
        r = chip.measure([0, 1, 2], inputs, read, amplitude, exact=exact)
        np.testing.assert_array_equal(r.dead, [False, True, True])
        np.testing.assert_allclose(r.dc_voltage_v[1], read * 15.0, rtol=1e-12)
        np.testing.assert_allclose(r.dc_voltage_v[2], read * 3e8, rtol=1e-12)
        np.testing.assert_array_equal(r.exact_derivative_v_per_a[1:], 0.0)
        assert np.all(np.abs(r.exact_derivative_v_per_a[0]) > 0)
        if amplitude:
            # the modulation sees a constant: X, Y at round-off of the DC level only
            assert np.all(np.abs(r.x_v[1:]) <= 1e-12 * r.dc_voltage_v[1:])
            assert np.all(np.abs(r.y_v[1:]) <= 1e-12 * r.dc_voltage_v[1:])
            assert np.all(np.abs(r.lockin_derivative_v_per_a[1:]) <= 1e-12 * r.dc_voltage_v[1:] / d)


@pytest.fixture(scope="module")
def bench():
    return load_default_bench()


def test_tables_agree_with_the_exact_physics_on_the_packaged_bench(bench):
    m = bench.measurement
    limit = bench.limits.max_input_current_a
    sweep = np.linspace(-limit, limit, 17)
    sweep = np.concatenate([sweep, sweep[::-1]])  # both directions: history matters
    results = {}
    for exact in (False, True):
        chip = MTJChip.from_bench(bench)
        chip.set_bias_field(m.bias_field_oe)
        everyone = np.arange(chip.devices.n_devices)
        inputs = np.tile(sweep, (everyone.size, 1))
        modulated = chip.measure(everyone, inputs, m.read_current_a, m.modulation_amplitude_a, exact=exact)
        static = chip.measure(everyone, inputs, m.read_current_a, 0.0, exact=exact)
        results[exact] = (modulated, static, chip.branch.copy())
    (t_mod, t_static, t_branch), (e_mod, e_static, e_branch) = results[False], results[True]
    np.testing.assert_array_equal(t_branch, e_branch)
    alive = ~e_mod.dead
    assert alive.sum() == 14 and e_mod.dead.sum() == 2  # r1c2 short, r3c0 open in the bench file
    for table, exact in ((t_mod, e_mod), (t_static, e_static)):
        np.testing.assert_allclose(table.dc_voltage_v, exact.dc_voltage_v, rtol=1e-4)
        np.testing.assert_allclose(table.exact_derivative_v_per_a[alive], exact.exact_derivative_v_per_a[alive], rtol=1e-3)
    np.testing.assert_allclose(t_mod.x_v[alive], e_mod.x_v[alive], rtol=1e-4)
    np.testing.assert_allclose(t_mod.lockin_derivative_v_per_a[alive], e_mod.lockin_derivative_v_per_a[alive], rtol=1e-3)
    # the quadrature output of a memoryless response is zero on both paths
    scale = np.abs(e_mod.x_v[alive]).max()
    assert np.abs(t_mod.y_v).max() < 1e-6 * scale and np.abs(e_mod.y_v).max() < 1e-6 * scale
    # and the lock-in reading is a derivative worth the name at the default modulation
    np.testing.assert_allclose(e_mod.lockin_derivative_v_per_a[alive], e_mod.exact_derivative_v_per_a[alive], rtol=0.02)


def test_dc_noise_matches_the_noise_model():
    devices = uniform_devices(1, 1, stability_factor=2000.0)
    environment = ChipEnvironment(temperature_k=300.0, flicker_noise_hooge=1e-9)
    chip = MTJChip(devices, 1, 1, environment, noise_seed=4)
    chip.set_bias_field(20.0, 0.0)
    read, settings = 1e-4, NoiseSettings()
    repeats = 4000
    inputs = np.full((1, repeats), 1.5e-3)
    clean = chip.measure([0], inputs[:, :1], read, 2e-4)
    noisy = chip.measure([0], inputs, read, 2e-4, noise=settings)
    v0 = clean.dc_voltage_v[0, 0]
    expected_dc = transport.dc_noise_std_v(v0, v0 / read, 300.0, 1e-9, settings.integration_time_s)
    expected_li = transport.lockin_noise_std_v(v0, v0 / read, 300.0, 1e-9, settings.lockin_frequency_hz,
                                               settings.lockin_time_constant_s, settings.lockin_slope_db_per_oct)
    # 4000 draws: the std estimate is good to 1/sqrt(2 * 4000) = 1.1 %; 10 % is ~9 standard errors
    assert np.std(noisy.dc_voltage_v) == pytest.approx(expected_dc, rel=0.10)
    assert np.mean(noisy.dc_voltage_v) == pytest.approx(v0, abs=5 * expected_dc / np.sqrt(repeats))
    assert np.std(noisy.x_v) == pytest.approx(expected_li, rel=0.10)
    assert np.std(noisy.y_v) == pytest.approx(expected_li, rel=0.10)
    assert np.mean(noisy.x_v) == pytest.approx(clean.x_v[0, 0], abs=5 * expected_li / np.sqrt(repeats))
    # DC, X and Y noise are independent
    assert abs(np.corrcoef(noisy.dc_voltage_v[0], noisy.x_v[0])[0, 1]) < 5 / np.sqrt(repeats)
    # without noise settings the reading is deterministic
    again = chip.measure([0], inputs[:, :3], read, 2e-4)
    np.testing.assert_array_equal(again.dc_voltage_v, np.full((1, 3), v0))


def test_measure_rejects_mismatched_inputs():
    chip = _easy_axis_chip(1, 2)
    with pytest.raises(ValueError):
        chip.measure([0, 1], np.zeros((1, 3)), TINY_READ_A)
    with pytest.raises(ValueError):
        MTJChip(uniform_devices(2, 2), 1, 3)
