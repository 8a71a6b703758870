"""Keithley 2400/2450 emulators driven by pymeasure's real drivers over the virtual lab."""

from __future__ import annotations

import pytest
from pymeasure.instruments.keithley import Keithley2400, Keithley2450

from mtjlab.instruments.sim.emulators.keithley import Keithley2400Emulator, Keithley2450Emulator
from mtjlab.instruments.sim.emulators.keithley_timing import TRIGGER_LATENCY_S, transfer_time_s
from mtjlab.instruments.sim.scpi import BUS_TRANSACTION_S, EmulatorAdapter

MODELS = [(Keithley2400, Keithley2400Emulator), (Keithley2450, Keithley2450Emulator)]


def connect(lab, model, role="read_source"):
    driver_class, emulator_class = model
    emulator = emulator_class(lab, role)
    return driver_class(EmulatorAdapter(emulator)), emulator


def source_current(smu, current_a, compliance_v=2.0):
    """Configure the way mtjlab's adapter does: current source, voltage sense, NPLC 1."""
    smu.source_mode = "current"
    smu.compliance_voltage = compliance_v
    smu.source_current = current_a
    smu.voltage_nplc = 1
    if isinstance(smu, Keithley2450):
        smu.measure_voltage(nplc=1, auto_range=True)
    smu.enable_source()


@pytest.mark.parametrize("model", MODELS, ids=["2400", "2450"])
def test_identity(lab, model):
    smu, _ = connect(lab, model)
    assert smu.id == model[1].identity
    assert smu.id.startswith("KEITHLEY INSTRUMENTS") and f"MODEL {model[1].model}" in smu.id


@pytest.mark.unsafe_lab("emulator protocol: the read source on with a 2 V compliance, beyond max_bias_v")
@pytest.mark.parametrize("model", MODELS, ids=["2400", "2450"])
def test_measures_the_routed_junction(lab, model):
    lab.close_relay(0, 0)
    smu, _ = connect(lab, model)
    source_current(smu, 1e-5)
    assert lab.read.output_on and lab.read.level_a == pytest.approx(1e-5) and lab.read.compliance_v == 2.0
    assert smu.source_enabled
    assert smu.source_current == pytest.approx(1e-5)
    expected_v, in_compliance = lab.read_voltage_v(noisy=False)
    assert not in_compliance and expected_v != 0.0
    assert smu.voltage == pytest.approx(expected_v, rel=1e-3)
    assert smu.check_errors() == []


@pytest.mark.unsafe_lab("emulator protocol: the read source on with a 2 V compliance, beyond max_bias_v")
def test_2400_reading_is_five_elements_with_status(lab):
    lab.close_relay(0, 0)
    smu, _ = connect(lab, MODELS[0])
    source_current(smu, 1e-5)
    voltage_v, current_a, resistance, time_s, status = smu.values(":READ?")
    assert current_a == pytest.approx(1e-5)
    assert resistance == 9.91e37  # not measured: the 2400's NAN
    assert time_s > 0 and not int(status) & 8
    smu.write(":SENS:FUNC 'RES'")
    _, _, resistance, _, _ = smu.values(":READ?")
    assert resistance == pytest.approx(voltage_v / 1e-5, rel=1e-2)


@pytest.mark.unsafe_lab("emulator protocol: the read source on with a 1.5 V compliance, beyond max_bias_v")
@pytest.mark.parametrize("model", MODELS, ids=["2400", "2450"])
def test_open_circuit_reads_the_compliance_value(lab, model):
    smu, emulator = connect(lab, model)  # no relay closed: nothing to drive the current into
    source_current(smu, 1e-5, compliance_v=1.5)
    assert smu.voltage == pytest.approx(1.5)
    if isinstance(smu, Keithley2400):
        assert int(smu.values(":READ?")[4]) & 8  # status bit 3: compliance
        assert smu.ask(":SENS:VOLT:PROT:TRIP?").strip() == "1"
    else:
        assert smu.ask(":SOUR:CURR:VLIM:TRIP?").strip() == "1"
    assert emulator.in_compliance


@pytest.mark.unsafe_lab("emulator protocol: the read source on with a 2 V compliance, beyond max_bias_v")
@pytest.mark.parametrize("model", MODELS, ids=["2400", "2450"])
def test_out_of_range_current_is_refused_and_changes_nothing(lab, model):
    smu, _ = connect(lab, model)
    source_current(smu, 1e-5)
    smu.write(":SOUR:CURR:LEV 2")  # beyond +-1.05 A (the 2400 driver refuses it itself)
    assert lab.read.level_a == pytest.approx(1e-5)
    code, message = smu.next_error
    assert int(code) == -222 and "Parameter data out of range" in message
    assert int(smu.next_error[0]) == 0


def test_fixed_source_range_refuses_a_larger_level(lab):
    smu, _ = connect(lab, MODELS[0])
    smu.source_current_range = 1e-4
    assert not smu.source_current_range_auto_enabled
    smu.write(":SOUR:CURR 1e-3")
    assert lab.read.level_a == 0.0 and int(smu.next_error[0]) == -222


@pytest.mark.parametrize("model", MODELS, ids=["2400", "2450"])
def test_unknown_command_queues_113_and_keeps_working(lab, model):
    smu, _ = connect(lab, model)
    smu.write(":BOGUS:COMMAND 1")
    assert int(smu.next_error[0]) == -113
    assert smu.id == model[1].identity


@pytest.mark.unsafe_lab("emulator protocol: the read source on with a 2 V compliance, beyond max_bias_v")
@pytest.mark.parametrize("model", MODELS, ids=["2400", "2450"])
def test_reset_turns_the_output_off_at_zero(lab, model):
    lab.close_relay(0, 0)
    smu, _ = connect(lab, model)
    source_current(smu, 1e-5)
    smu.voltage_nplc = 5
    smu.reset()
    assert not lab.read.output_on and lab.read.level_a == 0.0 and lab.nplc == 1.0
    assert not smu.source_enabled and smu.source_current == 0.0
    smu.disable_source()  # and the driver's own shutdown sequence is understood
    assert smu.check_errors() == []


@pytest.mark.unsafe_lab("emulator protocol: the read source on with a 2 V compliance, beyond max_bias_v")
def test_shutdown_sequence_is_understood(lab, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)  # the driver's ramp pauses in wall time
    # nothing routed: each of the ramp's 30 steps is then cheap for the lab's physics
    for model in MODELS:
        smu, _ = connect(lab, model)
        source_current(smu, 1e-5)
        smu.shutdown()
        assert not lab.read.output_on and lab.read.level_a == 0.0
        assert smu.check_errors() == []


@pytest.mark.unsafe_lab("emulator protocol: the read source on with a 2 V compliance, beyond max_bias_v")
@pytest.mark.parametrize("model", MODELS, ids=["2400", "2450"])
@pytest.mark.parametrize("nplc", [0.1, 1.0, 10.0])
def test_a_reading_takes_its_integration_time(lab, model, nplc):
    lab.close_relay(0, 0)
    smu, emulator = connect(lab, model)
    source_current(smu, 1e-5)
    smu.voltage_nplc = nplc
    assert lab.nplc == nplc
    before = lab.clock.now_s()
    reply = smu.ask(":READ?")
    # 2400 manual, Appendix A, Case I (auto-zero on, the *RST state; source I): three A/D conversions
    # of NPLC / line frequency + 185 us each, and 2.15 ms of firmware overhead
    measure_s = 3 * (nplc / lab.wiring.line_frequency_hz + 185e-6) + 2.15e-3
    expected = measure_s + 2 * BUS_TRANSACTION_S
    if isinstance(smu, Keithley2400):  # one source-delay-measure cycle: latency, 50 us configuration, delay
        expected += TRIGGER_LATENCY_S + 50e-6 + emulator.source_delay() + transfer_time_s(reply.strip())
        assert emulator.source_delay() == 0.002  # auto delay on the 10 uA range (Table 3-4)
    assert lab.clock.now_s() - before == pytest.approx(expected)


def test_nplc_out_of_range_is_refused(lab):
    smu, _ = connect(lab, MODELS[1])
    smu.write(":SENS:VOLT:NPLC 20")
    assert int(smu.next_error[0]) == -222 and lab.nplc == lab.wiring.source_nplc


@pytest.mark.unsafe_lab("emulator protocol: the input source switched on and off at 2 mA in one step, past the ramp rate")
@pytest.mark.parametrize("model", MODELS, ids=["2400", "2450"])
def test_input_source_role_drives_the_field_line(lab, model):
    lab.close_relay(0, 0)
    smu, _ = connect(lab, model, role="input_source")
    source_current(smu, 2e-3, compliance_v=5.0)
    assert lab.input.output_on and lab.input.level_a == pytest.approx(2e-3) and lab.input.compliance_v == 5.0
    assert not lab.read.output_on and lab.read.level_a == 0.0
    assert smu.voltage == pytest.approx(lab.input_voltage_v()[0])
    smu.disable_source()
    assert not lab.input.output_on


def test_voltage_mode_switches_on_into_an_open_circuit(lab):
    smu, _ = connect(lab, MODELS[0])  # nothing routed: a voltage source drives no current
    smu.source_mode = "voltage"
    smu.source_voltage = 0.5
    assert smu.source_mode == "voltage" and smu.source_voltage == pytest.approx(0.5)
    smu.enable_source()
    assert lab.read.output_on and lab.read.level_a == 0.0 and smu.check_errors() == []
    assert smu.measure_all()["voltage"] == pytest.approx(0.5)


def test_driver_housekeeping_is_accepted(lab):
    smu, _ = connect(lab, MODELS[0])
    smu.beep(440, 0.01)
    smu.display_enabled = False
    smu.source_delay_auto_enabled = True
    smu.auto_zero_enabled = True
    smu.write(":SYST:BEEP:STAT 0")
    smu.write(":STAT:PRES;*CLS")
    assert smu.line_frequency == lab.wiring.line_frequency_hz
    assert smu.check_errors() == []


def test_role_is_checked(lab):
    with pytest.raises(ValueError, match="role"):
        Keithley2400Emulator(lab, "gate_source")


@pytest.mark.unsafe_lab("emulator protocol: the read source on with a 2 V compliance, beyond max_bias_v")
def test_fixed_sense_range_holds_the_output_in_range_compliance(lab):
    smu, _ = connect(lab, MODELS[0])  # open circuit: the reading rises to the lowest limit
    source_current(smu, 1e-5, compliance_v=2.0)
    smu.voltage_range = 0.15  # the 200 mV range, read back as its full scale
    assert smu.voltage_range == pytest.approx(0.21)
    reading = smu.values(":READ?")
    assert reading[0] == pytest.approx(0.21) and int(reading[4]) >> 16 & 1 and not int(reading[4]) & 8
    smu.voltage_range_auto_enabled = True
    assert smu.voltage == pytest.approx(2.0)
