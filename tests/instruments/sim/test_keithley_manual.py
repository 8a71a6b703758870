"""The Keithley 2400 emulator against the 2400 manual (Series 2400 SourceMeter User's Manual,
2400S-900-01): *RST state, output-off errors and states, voltage sourcing, compliance, reading
elements and the status word. One test per behaviour."""

from __future__ import annotations

import pytest

from mtjlab.instruments.sim.emulators import keithley_load
from mtjlab.instruments.sim.emulators.keithley import Keithley2400Emulator
from mtjlab.instruments.sim.emulators.keithley_status import (COMPLIANCE_BIT, I_MEAS_BIT, I_SOUR_BIT, R_MEAS_BIT,
                                                              RANGE_COMPLIANCE_BIT, V_MEAS_BIT, V_SOUR_BIT)
from mtjlab.instruments.sim.lab import FIELD_LINE_RESISTANCE_OHM
from lab_helpers import ask


def values(emulator, command: str) -> list[float]:
    return [float(v) for v in ask(emulator, command).split(",")]


def errors(emulator) -> list[int]:
    codes = [code for code, _ in emulator.errors]
    emulator.errors.clear()
    return codes


def test_reset_is_a_0v_voltage_source_with_1ms_delay_and_auto_ohms(lab):
    """Section 18, *RST defaults: :SOUR:FUNC VOLT at 0 V, :SOUR:DEL 0.001 (as a real 2400 reads it),
    auto delay on, :SENS:RES:MODE AUTO, ranges read back as their full scale."""
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write(":SOUR:FUNC CURR;:SOUR:DEL 0.5;:SENS:RES:MODE MAN")
    smu.write("*RST")
    assert ask(smu, ":SOUR:FUNC?") == "VOLT" and float(ask(smu, ":SOUR:VOLT?")) == 0.0
    assert float(ask(smu, ":SOUR:DEL?")) == 0.001 and ask(smu, ":SOUR:DEL:AUTO?") == "1"
    assert ask(smu, ":SENS:RES:MODE?") == "AUTO"
    assert float(ask(smu, ":SOUR:VOLT:RANG?")) == 21.0 and float(ask(smu, ":SENS:CURR:RANG?")) == 1.05e-4
    smu.write(":SOUR:CURR:RANG 0.0105")
    assert float(ask(smu, ":SOUR:CURR:RANG?")) == pytest.approx(0.0105)  # read back as set


def test_a_reading_with_the_output_off_is_error_803_and_no_data(lab):
    """Appendix B, +803 "Output disabled": no reading comes back with the output off."""
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write("*RST;:READ?")
    assert not smu.replies and errors(smu) == [803]
    smu.write(":INIT")
    assert errors(smu) == [803]
    smu.write(":SOUR:CLE:AUTO ON")  # auto output-off turns the output on for the reading
    assert len(values(smu, ":READ?")) == 5 and errors(smu) == [] and not lab.read.output_on


@pytest.mark.unsafe_lab("a 0.2 V source on the junction, 0.2 V compliance as the lab sees it")
def test_voltage_source_drives_the_current_the_junction_draws(lab):
    """A V-source at 0.2 V on the routed junction: the lab gets I = V / R(I) of that junction."""
    lab.close_relay(0, 0)
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write("*RST;:SOUR:VOLT 0.2;:SENS:CURR:PROT 1e-3;:OUTP ON")
    current_a = lab.read.level_a
    assert current_a > 0 and lab.read.output_on
    resistance = keithley_load.junction_resistance_ohm(lab, current_a)
    assert current_a == pytest.approx(0.2 / resistance, rel=1e-6)
    voltage_v, measured_a, *_ = values(smu, ":READ?")
    assert measured_a == pytest.approx(current_a) and voltage_v == pytest.approx(0.2, rel=1e-2)
    assert errors(smu) == []


@pytest.mark.unsafe_lab("the input source at 1 V on the field line, past the ramp rate")
def test_voltage_source_clamps_at_the_current_compliance(lab):
    """Section 6, compliance: a V-source whose load would draw more than the current compliance
    sources the compliance current, and the reading's status has the compliance bit."""
    lab.close_relay(0, 0)
    smu = Keithley2400Emulator(lab, "input_source")
    smu.write("*RST;:SOUR:VOLT 0.5;:SENS:CURR:PROT 0.1;:OUTP ON")  # the field line would draw 10 mA
    assert lab.input.level_a == pytest.approx(0.5 / FIELD_LINE_RESISTANCE_OHM)
    smu.write(":SENS:CURR:PROT 1e-3")
    assert lab.input.level_a == pytest.approx(1e-3)
    *_, status = values(smu, ":READ?")
    assert int(status) >> COMPLIANCE_BIT & 1 and int(status) >> V_SOUR_BIT & 1


@pytest.mark.unsafe_lab("the read source on an open circuit with a 2 V compliance")
def test_a_fixed_measure_range_below_the_compliance_is_range_compliance(lab):
    """Section 6, "Compliance limit": with a manual measure range below the compliance, the output
    is held at the range (range compliance, status bit 16), not at the compliance (bit 3)."""
    smu = Keithley2400Emulator(lab, "read_source")  # nothing routed: the source rises to its limit
    smu.write(":SOUR:FUNC CURR;:SOUR:CURR 1e-5;:SENS:VOLT:PROT 2;:SENS:VOLT:RANG 0.2;:OUTP ON")
    assert lab.read.compliance_v == pytest.approx(0.21)  # the lab sees the range clamp
    voltage_v, _, _, _, status = values(smu, ":READ?")
    assert voltage_v == pytest.approx(0.21)
    assert int(status) >> RANGE_COMPLIANCE_BIT & 1 and not int(status) >> COMPLIANCE_BIT & 1


@pytest.mark.unsafe_lab("the read source on with a 21 V compliance")
def test_readings_hold_exactly_the_format_elements_in_the_manuals_order(lab):
    """Section 18, :FORMat:ELEMents: only the selected elements, always VOLT, CURR, RES, TIME, STAT."""
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write(":SOUR:FUNC CURR;:SOUR:CURR 1e-6;:OUTP ON;:FORM:ELEM CURR, VOLTAGE")
    assert ask(smu, ":FORM:ELEM?") == "VOLT,CURR"
    voltage_v, current_a = values(smu, ":READ?")
    assert current_a == pytest.approx(1e-6) and voltage_v == pytest.approx(21.0)
    smu.write(":FORM:ELEM STAT")
    assert len(values(smu, ":READ?")) == 1
    smu.write(":FORM:ELEM BOGUS")
    assert errors(smu) == [-104]


@pytest.mark.parametrize("state", ["NORM", "HIMP", "ZERO", "GUAR"])
def test_output_off_state_drives_nothing(lab, state):
    """:OUTPut:SMODe: NORMal and ZERO leave a 0 V source (for a current source with its current
    compliance) across the resistive load, HIMPedance opens the relay, GUARd a 0 A source: with the
    output off no current flows, whatever the programmed level."""
    lab.close_relay(0, 0)
    smu = Keithley2400Emulator(lab, "input_source")
    smu.write(f":OUTP:SMOD {state};:SOUR:FUNC CURR;:SOUR:CURR 1e-3;:SENS:VOLT:PROT 5")
    assert ask(smu, ":OUTP:SMOD?") == state
    assert lab.input_current_a() == 0.0 and not lab.input.output_on


@pytest.mark.unsafe_lab("the read source on with a 21 V compliance")
def test_status_word_bits_11_to_15_say_what_is_measured_and_sourced(lab):
    """:FORMat:ELEMents STATus: bits 11-13 V/I/ohms measurement, 14 V-source, 15 I-source."""
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write("*RST;:OUTP ON")
    status = int(values(smu, ":READ?")[4])
    assert status >> V_SOUR_BIT & 1 and not status >> I_SOUR_BIT & 1
    assert status >> V_MEAS_BIT & 1 and status >> I_MEAS_BIT & 1 and not status >> R_MEAS_BIT & 1
    smu.write(":OUTP OFF;:SOUR:FUNC CURR;:SENS:FUNC 'RES';:OUTP ON")
    status = int(values(smu, ":READ?")[4])
    assert status >> I_SOUR_BIT & 1 and not status >> V_SOUR_BIT & 1 and status >> R_MEAS_BIT & 1


def test_source_function_does_not_change_under_a_live_output(lab):
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write("*RST;:OUTP ON;:SOUR:FUNC CURR")
    assert errors(smu) == [-221] and ask(smu, ":SOUR:FUNC?") == "VOLT"


def test_power_on_is_the_benchs_saved_setup_and_rst_the_manuals(lab):
    """:SYSTem:POSetup: the simulated 2400s power up in their saved setup, a 0 A current source;
    *RST gives the manual's 0 V voltage source."""
    smu = Keithley2400Emulator(lab, "read_source")
    assert ask(smu, ":SYST:POS?") == "SAV0" and ask(smu, ":SOUR:FUNC?") == "CURR"
    assert float(ask(smu, ":SENS:VOLT:PROT?")) == 21.0 and lab.read.level_a == 0.0
    smu.write("*RST")
    assert ask(smu, ":SOUR:FUNC?") == "VOLT"
