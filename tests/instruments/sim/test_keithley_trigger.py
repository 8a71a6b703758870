"""The 2400 emulator's trigger model, source list and data store, as the application uses them
for hardware-timed acquisition (2400 manual sections 9 "Data store", 10 "Sweep operation", 11
"Triggering")."""

from __future__ import annotations

import pytest

from mtjlab.config import load_default_bench
from mtjlab.instruments.sim.emulators.keithley import Keithley2400Emulator
from mtjlab.instruments.sim.emulators.keithley_timing import MAX_LIST_POINTS, TRIGGER_LATENCY_S, transfer_time_s
from mtjlab.instruments.sim.lab import VirtualLab
from mtjlab.instruments.sim.scpi import BUS_TRANSACTION_S
from lab_helpers import ask

LIST_A = [1e-4, -2e-4, 3e-4, 0.0, 5e-4]
SOURCE_DELAY_S, TRIGGER_DELAY_S = 0.002, 0.0005


@pytest.fixture
def lab():
    lab = VirtualLab(load_default_bench())
    lab.close_relay(0, 0)
    return lab


def input_list_source(lab, points=LIST_A, bias_a=0.0):
    """An input-source 2400 set up as the application does for a source list."""
    smu = Keithley2400Emulator(lab, "input_source")
    smu.write(f":SOUR:FUNC CURR;:SOUR:CURR {bias_a};:SENS:VOLT:PROT 5;:OUTP ON")
    smu.write(":SOUR:CURR:MODE LIST;:SOUR:LIST:CURR " + ",".join(f"{v:g}" for v in points))
    smu.write(f":SOUR:DEL:AUTO OFF;:SOUR:DEL {SOURCE_DELAY_S};:TRIG:COUN {len(points)};:TRIG:SOUR IMM;"
              f":TRIG:DEL {TRIGGER_DELAY_S};:ARM:SOUR IMM;:ARM:COUN 1;:TRIG:OUTP DEL;:TRIG:OLIN 1")
    smu.write(f":TRAC:CLE;:TRAC:POIN {len(points)};:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT")
    assert not smu.errors, list(smu.errors)
    return smu


def record_input_levels(lab, seen):
    """Wrap the lab's input setter: every level the lab is given, in order."""
    original = lab.set_input_source

    def recording(level_a=None, output_on=None, compliance_v=None):
        if level_a is not None:
            seen.append(level_a)
        original(level_a, output_on, compliance_v)
    lab.set_input_source = recording


@pytest.mark.unsafe_lab("the input source steps through its list, past the ramp rate")
def test_source_list_reaches_the_lab_point_by_point_and_fills_the_buffer(lab):
    smu = input_list_source(lab)
    assert ask(smu, ":SOUR:LIST:CURR:POIN?") == str(len(LIST_A))
    seen: list[float] = []
    record_input_levels(lab, seen)
    smu.write(":INIT")
    assert seen[:len(LIST_A)] == pytest.approx(LIST_A)  # every step went to the physics, in order
    assert ask(smu, ":TRAC:POIN:ACT?") == str(len(LIST_A))
    data = [float(v) for v in ask(smu, ":TRAC:DATA?").split(",")]
    currents = data[1::5]
    assert currents == pytest.approx(LIST_A)
    assert [float(v) for v in ask(smu, ":FETC?").split(",")] == pytest.approx(data)


@pytest.mark.unsafe_lab("the input source steps through its list, past the ramp rate")
def test_after_the_list_the_source_returns_to_the_bias_level(lab):
    """Section 10: the sweep starts from the bias level (:SOUR:CURR:LEV) and returns to it."""
    smu = input_list_source(lab, bias_a=2e-4)
    smu.write(":INIT")
    assert lab.input.level_a == pytest.approx(2e-4) and float(ask(smu, ":SOUR:CURR?")) == pytest.approx(2e-4)


@pytest.mark.unsafe_lab("the input source steps through its list, past the ramp rate")
def test_a_list_run_takes_the_manuals_time_per_point(lab):
    smu = input_list_source(lab)
    before = lab.clock.now_s()
    smu.write(":INIT")
    # 2400 manual: trigger latency (Figure 6-1), trigger delay, source configuration (50 us, Appendix A),
    # source delay, and the measure action of Appendix A, Case I (auto-zero on: three conversions of
    # NPLC / f + 185 us, firmware 2.15 ms sourcing current)
    per_point = (TRIGGER_LATENCY_S + TRIGGER_DELAY_S + 50e-6 + SOURCE_DELAY_S
                 + 3 * (smu.nplc / lab.wiring.line_frequency_hz + 185e-6) + 2.15e-3)
    assert lab.clock.now_s() - before == pytest.approx(BUS_TRANSACTION_S + len(LIST_A) * per_point)
    before = lab.clock.now_s()
    reply = ask(smu, ":TRAC:DATA?")
    assert lab.clock.now_s() - before == pytest.approx(2 * BUS_TRANSACTION_S + transfer_time_s(reply))


@pytest.mark.unsafe_lab("the input source steps through its list, past the ramp rate")
def test_output_trigger_after_each_delay_action_at_the_sourced_level(lab):
    smu = input_list_source(lab)
    pulses = []
    lab.connect_trigger_input(lambda line: pulses.append((line, lab.clock.now_s(), lab.input.level_a)))
    smu.write(":INIT")
    assert [line for line, _, _ in pulses] == [1] * len(LIST_A)
    assert [level for _, _, level in pulses] == pytest.approx(LIST_A)
    times = [t for _, t, _ in pulses]
    assert all(b - a == pytest.approx(times[1] - times[0]) for a, b in zip(times, times[1:]))


@pytest.mark.unsafe_lab("both sources on: the list past the ramp rate, the read source at 21 V compliance")
def test_read_source_measures_once_per_input_trigger(lab):
    """A read source armed on Trigger Link line 1 (measure event waits for the input trigger)
    measures once per pulse of the input source's list, each while that point is sourced."""
    reader = Keithley2400Emulator(lab, "read_source")
    reader.write(":SOUR:FUNC CURR;:SOUR:CURR 1e-5;:SENS:VOLT:PROT 0.5;:OUTP ON;:SOUR:DEL:AUTO OFF;:SOUR:DEL 0")
    reader.write(f":TRIG:SOUR TLIN;:TRIG:ILIN 1;:TRIG:INP SENS;:TRIG:COUN {len(LIST_A)};:ARM:SOUR IMM;:ARM:COUN 1")
    reader.write(f":TRAC:CLE;:TRAC:POIN {len(LIST_A)};:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT")
    before = lab.clock.now_s()
    reader.write(":INIT")
    # armed: its source action (50 us of configuration, Appendix A) done, waiting at the measure detector
    assert lab.clock.now_s() - before == pytest.approx(BUS_TRANSACTION_S + 50e-6)
    assert ask(reader, ":TRAC:POIN:ACT?") == "0"
    source = input_list_source(lab)
    source.write(":INIT")
    assert ask(reader, ":TRAC:POIN:ACT?") == str(len(LIST_A))
    voltages = [float(v) for v in ask(reader, ":TRAC:DATA?").split(",")][0::5]
    assert len(set(voltages)) == len(LIST_A)  # each taken at its own input point
    source.write(":INIT")  # the reader is idle again: these pulses are lost
    assert ask(reader, ":TRAC:POIN:ACT?") == str(len(LIST_A)) and not reader.errors


@pytest.mark.unsafe_lab("the read source on with a 0.5 V compliance")
def test_a_pulse_on_another_line_or_while_idle_is_ignored(lab):
    reader = Keithley2400Emulator(lab, "read_source")
    reader.write(":SOUR:FUNC CURR;:SOUR:CURR 1e-5;:SENS:VOLT:PROT 0.5;:OUTP ON")
    reader.write(":TRIG:SOUR TLIN;:TRIG:ILIN 2;:TRIG:INP SENS;:TRIG:COUN 2;:TRAC:CLE;:TRAC:POIN 2;:TRAC:FEED:CONT NEXT")
    lab.pulse_trigger_line(2)  # idle: lost
    reader.write(":INIT")
    lab.pulse_trigger_line(1)  # another line
    assert ask(reader, ":TRAC:POIN:ACT?") == "0"
    lab.pulse_trigger_line(2)
    assert ask(reader, ":TRAC:POIN:ACT?") == "1"
    reader.write(":ABOR")
    lab.pulse_trigger_line(2)
    assert ask(reader, ":TRAC:POIN:ACT?") == "1"


def test_read_query_is_init_then_fetch_and_fetch_needs_readings(lab):
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write(":FETC?")
    assert [code for code, _ in smu.errors] == [-230]
    smu.errors.clear()
    smu.write("*RST;:OUTP ON;:TRIG:COUN 3")
    assert len(ask(smu, ":READ?").split(",")) == 15  # three readings of five elements
    assert len(ask(smu, ":FETC?").split(",")) == 15


def test_list_and_count_limits(lab):
    smu = Keithley2400Emulator(lab, "input_source")
    smu.write(":SOUR:LIST:CURR " + ",".join(["1e-4"] * MAX_LIST_POINTS))
    smu.write(":SOUR:LIST:CURR:APP 1e-4")  # one beyond the manual's 100 points
    smu.write(":TRIG:COUN 2500;:ARM:COUN 2")  # the product may not exceed 2500
    assert [code for code, _ in smu.errors] == [-223, -221]
    assert ask(smu, ":SOUR:LIST:CURR:POIN?") == str(MAX_LIST_POINTS) and ask(smu, ":ARM:COUN?") == "1"


@pytest.mark.unsafe_lab("the input source steps to its list's first point, past the ramp rate")
def test_abort_returns_to_the_bias_level(lab):
    source = input_list_source(lab, bias_a=0.0)
    source.write(":TRIG:SOUR TLIN;:TRIG:INP SENS;:TRIG:OUTP NONE")
    source.write(":INIT")
    assert lab.input.level_a == pytest.approx(LIST_A[0])  # waiting to measure the first point
    source.write(":ABOR")
    assert lab.input.level_a == 0.0


@pytest.mark.unsafe_lab("the read source on with a 0.5 V compliance")
def test_turning_the_output_off_returns_an_armed_instrument_to_idle(lab):
    """Section 11: the SourceMeter returns to idle when its output is turned off."""
    reader = Keithley2400Emulator(lab, "read_source")
    reader.write(":SOUR:FUNC CURR;:SOUR:CURR 1e-5;:SENS:VOLT:PROT 0.5;:OUTP ON")
    reader.write(":TRIG:SOUR TLIN;:TRIG:INP SENS;:TRIG:COUN 2;:TRAC:CLE;:TRAC:POIN 2;:TRAC:FEED:CONT NEXT;:INIT")
    reader.write(":OUTP OFF")
    lab.pulse_trigger_line(1)
    assert ask(reader, ":TRAC:POIN:ACT?") == "0" and not reader.errors
