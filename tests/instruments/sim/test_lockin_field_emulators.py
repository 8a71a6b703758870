"""Lock-in, coil supply and gaussmeter emulators, driven by pymeasure's own drivers."""

from __future__ import annotations

import math

import pytest
from pymeasure.instruments.kepco import KepcoBOP3612
from pymeasure.instruments.lakeshore import LakeShore425
from pymeasure.instruments.srs import SR830, SR860
from pymeasure.instruments.srs.sr830 import LIAStatus

from mtjlab.instruments.sim.emulators.field import KepcoBOPEmulator, LakeShore425Emulator
from mtjlab.instruments.sim.emulators.lockin import SR830Emulator, SR860Emulator
from mtjlab.instruments.sim.scpi import EmulatorAdapter


def sr830(lab):
    return SR830(EmulatorAdapter(SR830Emulator(lab)))


def routed(lab, sine_v_rms=0.14):
    lab.close_relay(0, 1)
    lab.set_read_source(level_a=1e-4, output_on=True)
    lab.set_sine(sine_v_rms)


# ----------------------------------------------------------------------- lock-ins
def test_identities(lab):
    assert sr830(lab).id == "Stanford_Research_Systems,SR830,s/n12345,ver1.07"
    # the SR860 and LakeShore425 drivers have no ``id`` property (not SCPI): ask directly
    assert SR860(EmulatorAdapter(SR860Emulator(lab))).ask("*IDN?") == "Stanford_Research_Systems,SR860,003021,v1.51"
    assert KepcoBOP3612(EmulatorAdapter(KepcoBOPEmulator(lab))).id == "KEPCO,BOP 36-6M,E1234,2.05"
    assert LakeShore425(EmulatorAdapter(LakeShore425Emulator(lab))).ask("*IDN?") == "LSCI,MODEL425,LSA1234,1.4"


def test_sr830_sine_amplitude_and_out_of_range(lab):
    lockin = sr830(lab)
    lockin.sine_voltage = 0.1
    assert lockin.sine_voltage == pytest.approx(0.1)
    assert lab.lockin.sine_v_rms == pytest.approx(0.1)
    assert int(lockin.ask("*ESR?")) == 0
    lockin.write("SLVL 7.5")  # beyond 5 V: refused (the driver itself would truncate)
    lockin.write("SLVL0.001")  # below 4 mV
    assert lockin.sine_voltage == pytest.approx(0.1)
    assert int(lockin.ask("*ESR?")) & (1 << 4)  # EXE: execution error (parameter out of range)
    assert int(lockin.ask("*ESR?")) == 0  # reading clears it
    lockin.write("BOGS 1")
    assert int(lockin.ask("*ESR? 5")) == 1  # CMD: command error


def test_sr830_time_constant_slope_frequency_phase(lab):
    lockin = sr830(lab)
    lockin.time_constant = 0.1
    lockin.filter_slope = 12
    lockin.frequency = 777.0
    lockin.phase = 370.0
    assert lockin.time_constant == pytest.approx(0.1)
    assert lockin.filter_slope == 12
    assert (lab.lockin.time_constant_s, lab.lockin.slope_db_per_oct) == (pytest.approx(0.1), 12)
    assert lockin.frequency == pytest.approx(777.0) and lab.lockin.frequency_hz == pytest.approx(777.0)
    assert lockin.phase == pytest.approx(10.0)
    lockin.sensitivity = 2e-3
    assert lockin.sensitivity == pytest.approx(2e-3)
    # the configuration the drivers send at start-up is accepted without complaint
    lockin.input_config, lockin.input_coupling, lockin.input_grounding = "A", "AC", "Ground"
    lockin.reference_source, lockin.harmonic, lockin.reserve = "Internal", 1, "Normal"
    assert lockin.input_coupling == "AC" and lockin.reference_source == "Internal"
    assert int(lockin.ask("*ESR?")) == 0


@pytest.mark.unsafe_lab("lab setters driven directly: the read source on at its 21 V power-on compliance")
def test_sr830_reads_the_lab_after_settling(lab):
    lockin = sr830(lab)
    routed(lab)
    lockin.sensitivity = 1.0
    lab.clock.sleep(12 * lab.lockin.time_constant_s)
    x_exact, y_exact = lab.lockin_xy_v_rms(noise=False)
    assert x_exact != 0.0
    tolerance = 1e-3 * abs(x_exact) + 1e-6
    assert lockin.x == pytest.approx(x_exact, abs=tolerance)
    assert lockin.y == pytest.approx(y_exact, abs=tolerance)
    x, y = lockin.snap()
    assert x == pytest.approx(x_exact, abs=tolerance) and y == pytest.approx(y_exact, abs=tolerance)
    r, theta = lockin.snap("R", "Theta")
    assert r == pytest.approx(math.hypot(x_exact, y_exact), abs=tolerance)
    assert lockin.magnitude == pytest.approx(r, abs=tolerance)
    theta_error = (lockin.theta - math.degrees(math.atan2(y_exact, x_exact)) + 180.0) % 360.0 - 180.0
    assert abs(theta_error) < 1.0
    assert lockin.lia_status == LIAStatus.NO_ERROR


@pytest.mark.unsafe_lab("lab setters driven directly: the read source on at its 21 V power-on compliance")
def test_sr830_overload_saturates_and_sets_the_status_bit(lab):
    lockin = sr830(lab)
    routed(lab)
    lab.clock.sleep(12 * lab.lockin.time_constant_s)
    x_exact = lab.lockin_xy_v_rms(noise=False)[0]
    lockin.sensitivity = abs(x_exact) / 100  # far below the signal
    full_scale = lockin.sensitivity
    assert abs(lockin.x) == pytest.approx(1.09 * full_scale)
    assert LIAStatus.OUTPUT_OVERLOAD in lockin.lia_status
    lockin.sensitivity = 1.0
    lockin.write("*CLS")
    assert lockin.lia_status == LIAStatus.NO_ERROR


@pytest.mark.unsafe_lab("lab setters driven directly: a relay closed under a 0.14 V sine, 21 V read compliance")
def test_sr860_settings_and_readings(lab):
    lockin = SR860(EmulatorAdapter(SR860Emulator(lab)))
    lockin.sine_voltage = 0.14
    lockin.time_constant = 0.01
    lockin.filter_slope = 3  # the SR860 driver sends the index: 24 dB/oct
    assert lab.lockin.sine_v_rms == pytest.approx(0.14) and lab.lockin.time_constant_s == pytest.approx(0.01)
    assert lockin.filter_slope == 3 and lab.lockin.slope_db_per_oct == 24
    assert lockin.sensitivity == 1.0
    lockin.write("SLVL 3")  # above 2 V: refused
    assert lockin.sine_voltage == pytest.approx(0.14)
    assert int(lockin.ask("*ESR?")) & (1 << 4)
    routed(lab, sine_v_rms=0.14)
    lab.clock.sleep(12 * lab.lockin.time_constant_s)
    x_exact = lab.lockin_xy_v_rms(noise=False)[0]
    assert lockin.x == pytest.approx(x_exact, abs=1e-3 * abs(x_exact) + 1e-6)
    assert lockin.snap()[0] == pytest.approx(x_exact, abs=1e-3 * abs(x_exact) + 1e-6)


# ------------------------------------------------------------------------- field
def field_pair(lab):
    supply = KepcoBOP3612(EmulatorAdapter(KepcoBOPEmulator(lab)))
    meter = LakeShore425(EmulatorAdapter(LakeShore425Emulator(lab)))
    meter.unit = "Oe"
    return supply, meter


@pytest.mark.unsafe_lab("emulator protocol: the coil supply switched on at 1.5 A in one step")
def test_kepco_drives_the_coil_and_the_gaussmeter_reads_it(lab):
    supply, meter = field_pair(lab)
    k, rem, tau = lab.wiring.coil_oe_per_a, lab.wiring.coil_remanence_oe, lab.coil_tau_s
    supply.operating_mode = "CURR"
    supply.voltage_setpoint = 20
    supply.current_setpoint = 1.5
    supply.output_enabled = True
    assert supply.operating_mode == "CURR" and supply.output_enabled
    assert supply.current_setpoint == pytest.approx(1.5)
    lab.clock.sleep(10 * tau)
    assert supply.current == pytest.approx(1.5, abs=1e-3)
    assert supply.voltage == pytest.approx(1.5 * lab.wiring.coil_resistance_ohm, rel=1e-3)
    assert meter.field == pytest.approx(k * 1.5 + rem, abs=0.1)
    meter.unit = "T"
    assert meter.field == pytest.approx((k * 1.5 + rem) * 1e-4, abs=1e-5)
    assert supply.check_errors() == []


def test_kepco_refuses_an_out_of_range_current(lab):
    supply, _ = field_pair(lab)
    supply.operating_mode = "CURR"
    supply.current_setpoint = 1.0
    supply.current_setpoint = 8.0  # the driver allows its 12 A model; this 6 A supply refuses
    assert supply.current_setpoint == pytest.approx(1.0)
    errors = supply.check_errors()
    assert [int(e[0]) for e in errors] == [-222]


@pytest.mark.unsafe_lab("emulator protocol: the coil stepped to -2 A and its supply switched off under current")
def test_output_off_lets_the_field_decay_to_the_remanence(lab):
    supply, meter = field_pair(lab)
    supply.operating_mode = "CURR"
    supply.current_setpoint = -2.0
    supply.output_enabled = True
    lab.clock.sleep(10 * lab.coil_tau_s)
    assert meter.field == pytest.approx(-2.0 * lab.wiring.coil_oe_per_a - lab.wiring.coil_remanence_oe, abs=0.1)
    supply.output_enabled = False
    lab.clock.sleep(15 * lab.coil_tau_s)
    assert not supply.output_enabled
    assert meter.field == pytest.approx(-lab.wiring.coil_remanence_oe, abs=0.05)
    assert supply.current == pytest.approx(0.0, abs=1e-4)


def test_gaussmeter_modes_and_ranges(lab):
    _, meter = field_pair(lab)
    meter.dc_mode()
    assert meter.mode == (1, 0, 1)
    meter.range = 350
    assert meter.range == 350
    meter.auto_range()
    meter.zero_probe()
    assert meter.unit == "Oe"
    assert abs(meter.field) < 0.05
