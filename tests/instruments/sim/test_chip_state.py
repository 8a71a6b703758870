"""The simulated chip as a whole: memory, shared field lines, dead junctions, tables, noise."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.config import load_default_bench
from mtjlab.instruments.sim import transport
from mtjlab.instruments.sim.mtj import MTJChip, NoiseSettings
from mtjlab.instruments.sim.parameters import OPEN, SHORT, uniform_devices


def test_the_state_is_kept_between_calls():
    # phi_p = 0 and the coil along the easy axis: a bistable junction at zero field remembers
    chip = MTJChip(uniform_devices(1, 1, reference_angle_deg=0.0, offset_field_oe=0.0, stability_factor=np.inf), 1, 1)
    read = lambda: chip.measure([0], np.zeros((1, 1)), 1e-6, exact=True).dc_voltage_v[0, 0]  # noqa: E731
    chip.set_bias_field(-60.0)
    read()
    chip.set_bias_field(0.0)
    after_negative = read()
    chip.set_bias_field(+60.0)
    read()
    chip.set_bias_field(0.0)
    after_positive = read()
    # antiparallel (high R) after a negative field, parallel (low R) after a positive one
    assert after_negative / after_positive == pytest.approx(1.0 + 1.2, rel=1e-3)


def test_a_row_shares_its_field_line():
    # phi_p = 90, bias along the hard axis opposite to the input: inside the astroid, the
    # junction's branch (m_x sign) is set by a large input excursion and then remembered.
    devices = uniform_devices(2, 2, reference_angle_deg=0.0, offset_field_oe=0.0, stability_factor=np.inf,
                              field_line_oe_per_ma=5.0, anisotropy_field_oe=30.0)
    chip = MTJChip(devices, 2, 2, bias_field_angle_deg=180.0)
    chip.set_bias_field(60.0)  # along -x: every junction ends on the -x branch
    chip.measure([0, 2], np.zeros((2, 1)), 1e-6, exact=True)
    chip.set_bias_field(0.0)
    chip.measure([0, 2], np.zeros((2, 1)), 1e-6, exact=True)
    assert list(chip.branch) == [-1, -1, -1, -1]
    # now a 10 Oe bias along +x (below Hk) keeps the memory; an input along y of 1.2 Hk on
    # row 0 leaves the bistable region and brings row 0's junctions to +x, not row 1's
    chip.set_bias_field(10.0, 0.0)
    chip.measure([1], np.array([[0.0, 36.0 / 5.0 * 1e-3, 0.0]]), 1e-6, exact=True)
    assert list(chip.branch) == [1, 1, -1, -1]


def test_dead_junctions_read_their_resistance_with_no_derivative():
    devices = uniform_devices(1, 3).with_values(dead_kind=[0, SHORT, OPEN])
    chip = MTJChip(devices, 1, 3)
    r = chip.measure([0, 1, 2], np.zeros((3, 2)), 1e-4, 2e-4)
    assert list(r.dead) == [False, True, True]
    np.testing.assert_allclose(r.dc_voltage_v[1], 1e-4 * chip.environment.short_resistance_ohm)
    np.testing.assert_allclose(r.dc_voltage_v[2], 1e-4 * chip.environment.open_resistance_ohm)
    assert np.all(r.exact_derivative_v_per_a[1:] == 0)
    assert np.all(np.abs(r.x_v[1:]) < 1e-12 * r.dc_voltage_v[1:])  # no magnetoresistance: no first harmonic
    assert np.all(np.abs(r.x_v[0]) > 1e-6)


def test_tables_agree_with_the_exact_physics_on_the_packaged_chip():
    bench = load_default_bench()
    m = bench.measurement
    tabled, exact = MTJChip.from_bench(bench), MTJChip.from_bench(bench)
    for chip in (tabled, exact):
        chip.set_bias_field(m.bias_field_oe)
    live = [i for i, d in enumerate(tabled.device_ids) if d not in bench.chip.known_dead][:4]
    inputs = np.tile(np.linspace(-0.012, 0.012, 7), (len(live), 1))
    a = tabled.measure(live, inputs, m.read_current_a, m.modulation_amplitude_a)
    b = exact.measure(live, inputs, m.read_current_a, m.modulation_amplitude_a, exact=True)
    np.testing.assert_allclose(a.dc_voltage_v, b.dc_voltage_v, rtol=1e-4)
    np.testing.assert_allclose(a.lockin_derivative_v_per_a, b.lockin_derivative_v_per_a, rtol=1e-3)
    np.testing.assert_allclose(a.exact_derivative_v_per_a, b.exact_derivative_v_per_a, rtol=1e-3)


def test_noise_has_the_modelled_standard_deviation():
    chip = MTJChip(uniform_devices(1, 1), 1, 1, noise_seed=5)
    chip.set_bias_field(20.0)
    settings = NoiseSettings(integration_time_s=0.02)
    inputs = np.zeros((1, 4000))
    quiet = chip.measure([0], inputs, 1e-4).dc_voltage_v
    noisy = chip.measure([0], inputs, 1e-4, noise=settings).dc_voltage_v
    v = quiet[0, 0]
    expected = transport.dc_noise_std_v(v, v / 1e-4, 300.0, chip.environment.flicker_noise_hooge, 0.02)
    assert np.std(noisy - quiet) == pytest.approx(expected, rel=0.1)
