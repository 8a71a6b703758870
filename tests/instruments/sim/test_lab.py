"""The virtual lab: routing, coil dynamics, lock-in settling, exposure records."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtjlab.config import load_default_bench
from mtjlab.instruments.sim.lab import VirtualLab


@pytest.mark.unsafe_lab("lab setters driven directly: the read source on with a 2 V compliance")
def test_nothing_routed_means_nothing_flows(lab):
    lab.set_read_source(level_a=1e-4, output_on=True, compliance_v=2.0)
    voltage, in_compliance = lab.read_voltage_v()
    assert voltage == 2.0 and in_compliance  # an open circuit drives a current source to compliance
    assert lab.lockin_xy_v_rms(noise=False) == (0.0, 0.0)
    assert lab.maxima.device_current_a == {}
    assert lab.input_current_a() == 0.0


@pytest.mark.unsafe_lab("lab setters driven directly: a 2 V read compliance and a 3 mA input step")
def test_routed_device_reads_the_chip(lab):
    lab.close_relay(0, 0)
    lab.set_read_source(level_a=1e-4, output_on=True, compliance_v=2.0)
    lab.set_input_source(level_a=3e-3, output_on=True, compliance_v=5.0)
    voltage, in_compliance = lab.read_voltage_v(noisy=False)
    assert not in_compliance
    expected = lab.chip.measure([0], np.array([[3e-3]]), 1e-4, lab.modulation_peak_a()).dc_voltage_v[0, 0]
    assert voltage == pytest.approx(expected, rel=1e-6)  # exact physics or its tables
    assert lab.maxima.device_current_a["r0c0"] == pytest.approx(1e-4)
    assert lab.maxima.row_input_a[0] == pytest.approx(3e-3 + lab.modulation_peak_a())


@pytest.mark.unsafe_lab("lab setters driven directly: the read source on at its 21 V power-on compliance")
def test_lockin_reads_the_derivative_after_settling(lab):
    lab.close_relay(0, 1)
    lab.set_read_source(level_a=1e-4, output_on=True)
    lab.set_sine(2e-4 * lab.wiring.modulation_resistor_ohm / math.sqrt(2))  # 0.2 mA peak
    lab.set_input_source(level_a=-1e-3, output_on=True)
    lab.clock.sleep(12 * lab.lockin.time_constant_s)
    x_rms, y_rms = lab.lockin_xy_v_rms(noise=False)
    exact = lab.chip.measure([1], np.array([[-1e-3]]), 1e-4, 2e-4).exact_derivative_v_per_a[0, 0]
    assert x_rms * math.sqrt(2) / 2e-4 == pytest.approx(exact, rel=0.02)
    assert abs(y_rms) < 1e-3 * abs(x_rms)


@pytest.mark.unsafe_lab("lab setters driven directly: 21 V read compliance and a 4 mA input step")
def test_lockin_output_follows_the_filter_step_response(lab):
    lab.close_relay(0, 1)
    lab.set_read_source(level_a=1e-4, output_on=True)
    lab.set_sine(0.14)
    lab.clock.sleep(60 * lab.lockin.time_constant_s)  # fully settled, to double precision
    before = lab.lockin_xy_v_rms(noise=False)[0]
    lab.set_input_source(level_a=4e-3, output_on=True)
    assert lab.lockin_xy_v_rms(noise=False)[0] == pytest.approx(before)
    lab.clock.sleep(lab.lockin.time_constant_s)  # x = 1 on a 4-pole (24 dB/oct) filter
    one_tau = lab.lockin_xy_v_rms(noise=False)[0]
    lab.clock.sleep(30 * lab.lockin.time_constant_s)
    after = lab.lockin_xy_v_rms(noise=False)[0]
    fraction = 1 - math.exp(-1) * (1 + 1 + 1 / 2 + 1 / 6)
    assert (one_tau - before) / (after - before) == pytest.approx(fraction, rel=1e-6)


@pytest.mark.unsafe_lab("lab setters driven directly: the coil stepped to 0.2 A and switched off under current")
def test_coil_field_follows_l_over_r_with_remanence(lab):
    tau = lab.wiring.coil_inductance_h / lab.wiring.coil_resistance_ohm
    k, rem = lab.wiring.coil_oe_per_a, lab.wiring.coil_remanence_oe
    lab.set_coil(0.2, True)
    assert lab.field_oe() == pytest.approx(rem)  # no time has passed: the current has not moved
    lab.clock.sleep(tau)
    assert lab.field_oe() == pytest.approx(k * 0.2 * (1 - math.exp(-1)) + rem)
    lab.clock.sleep(20 * tau)
    lab.set_coil(0.0, False)
    lab.clock.sleep(30 * tau)
    assert lab.field_oe() == pytest.approx(rem, abs=1e-9)  # remanence along the last drive
    assert lab.maxima.coil_field_oe == pytest.approx(k * 0.2 + rem)


@pytest.mark.unsafe_lab("lab setters driven directly: the read source on at its 21 V power-on compliance")
def test_everything_safe_only_when_all_is_off_and_open(lab):
    assert lab.everything_safe()
    lab.close_relay(1, 1)
    assert not lab.everything_safe()
    lab.open_all_relays()
    lab.set_read_source(level_a=1e-5, output_on=True)
    assert not lab.everything_safe()
    lab.set_read_source(level_a=0.0, output_on=False)
    assert lab.everything_safe()


def _hysteretic_lab():
    """A lab whose device r0c0 is an easy-axis junction swept by its field line."""
    bench = load_default_bench()
    lab = VirtualLab(bench)
    lab.chip.replace_devices(lab.chip.devices.with_values(reference_angle_deg=0.0))
    return lab


@pytest.mark.unsafe_lab("lab setters driven directly: 1 mA input steps with no wait, 21 V read compliance")
def test_pending_changes_follow_the_whole_history_in_order():
    """Evaluated lazily or step by step, a junction's hysteresis sees every step."""
    finals = []
    for read_every_step in (False, True):
        lab = _hysteretic_lab()
        lab.chip.set_bias_field(0.0, 90.0)  # the coil along the hard axis: the input field switches
        lab.close_relay(0, 0)
        lab.set_read_source(level_a=1e-4, output_on=True)
        voltages = []
        for level in [*np.linspace(0, 0.02, 21), *np.linspace(0.02, 0, 21)]:
            lab.set_input_source(level_a=float(level), output_on=True)
            if read_every_step:
                voltages.append(lab.read_voltage_v(noisy=False)[0])
        finals.append(lab.read_voltage_v(noisy=False)[0])
    assert finals[0] == pytest.approx(finals[1], rel=1e-12)


@pytest.mark.unsafe_lab("lab setters driven directly: a 2 V read compliance across a junction that opens")
def test_a_junction_that_dies_mid_run_reads_open(lab):
    lab.close_relay(0, 0)
    lab.set_read_source(level_a=1e-4, output_on=True, compliance_v=2.0)
    alive, in_compliance = lab.read_voltage_v(noisy=False)
    assert 0 < alive < 1.0 and not in_compliance
    lab.set_device_parameters("r0c0", dead_kind=2)  # OPEN
    assert lab.read_voltage_v(noisy=False) == (2.0, True)
    assert lab.chip.devices.dead_kind[1] == 0  # its neighbours live on


@pytest.mark.unsafe_lab("lab setters driven directly: the coil stepped to 0.2 A")
def test_the_coil_field_is_exactly_constant_once_settled(lab):
    lab.set_coil(0.2, True)
    lab.clock.sleep(41 * lab.coil_tau_s)
    first = lab.field_oe()
    lab.clock.sleep(5.0)
    assert lab.field_oe() == first == lab.wiring.coil_oe_per_a * 0.2 + lab.wiring.coil_remanence_oe


@pytest.mark.unsafe_lab("lab setters driven directly: the read source on at its 21 V power-on compliance")
def test_a_long_coil_ramp_is_answered_by_its_turning_points_only(monkeypatch):
    """A ramp's many steps cost a few chip calls, and the junction ends as step by step."""
    finals = []
    for read_every_step in (False, True):
        lab = _hysteretic_lab()
        lab.close_relay(0, 0)
        lab.set_read_source(level_a=1e-4, output_on=True)
        calls = []
        measure = lab.chip.measure
        monkeypatch.setattr(lab.chip, "measure", lambda *a, **k: calls.append(1) or measure(*a, **k))
        steps = [*np.linspace(0, 0.6, 40), *np.linspace(0.6, -0.6, 80)]
        for current in steps[: 40 if read_every_step else None]:
            lab.set_coil(float(current), True)
            lab.clock.sleep(1.0)
            if read_every_step:
                lab.read_voltage_v(noisy=False)
        if read_every_step:
            for current in steps[40:]:
                lab.set_coil(float(current), True)
                lab.clock.sleep(1.0)
                lab.read_voltage_v(noisy=False)
        else:
            lab.read_voltage_v(noisy=False)
            assert len(calls) <= 5
        finals.append(lab.read_voltage_v(noisy=False)[0])
    assert finals[0] == pytest.approx(finals[1], rel=1e-9)
