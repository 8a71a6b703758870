"""Two 2400s on the Trigger Link run at the same time: Appendix A's cycle times, the handshake the
bench uses, and what a program without one gets on a real bench (readings that span a step)."""

from __future__ import annotations

import logging

import pytest

from mtjlab.config import load_default_bench
from mtjlab.instruments.sim.emulators.keithley import Keithley2400Emulator
from mtjlab.instruments.sim.lab import VirtualLab
from mtjlab.instruments.sim.scpi import BUS_TRANSACTION_S
from lab_helpers import ask

LEVELS_A = [1e-3, 4e-3, -2e-3, 3e-3, 1e-3]


def lab_at(line_frequency_hz: float) -> VirtualLab:
    config = load_default_bench()
    wiring = config.wiring.model_copy(update={"line_frequency_hz": line_frequency_hz})
    lab = VirtualLab(config.model_copy(update={"wiring": wiring}))
    lab.close_relay(0, 0)
    return lab


def readings(emulator) -> list[list[float]]:
    values = [float(v) for v in ask(emulator, ":TRAC:DATA?").split(",")]
    return [values[k:k + 5] for k in range(0, len(values), 5)]


@pytest.mark.unsafe_lab("the read source on with a 5 V compliance")
@pytest.mark.parametrize("auto_zero, nplc, source_on_s", [
    # 2400 manual, Appendix A, worked examples at 60 Hz with 0 source delay, sourcing current:
    ("ON", 0.01, 3.25e-3),   # Case I (auto-zero on): "Source On Time = 3.25 msec for Source I"
    ("OFF", 0.08, 2.2e-3),   # Case III (auto-zero off): "2.2 msec for Source I"
])
def test_a_source_measure_cycle_takes_appendix_a_s_source_on_time(auto_zero, nplc, source_on_s):
    lab = lab_at(60.0)
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write(":SOUR:FUNC CURR;:SOUR:CURR 1e-5;:SENS:VOLT:PROT 5;:OUTP ON;:SOUR:DEL:AUTO OFF;:SOUR:DEL 0")
    smu.write(f":SENS:VOLT:NPLC {nplc};:SYST:AZER {auto_zero};:TRIG:DEL 0;:TRIG:COUN 10")
    before = lab.clock.now_s()
    smu.write(":INIT")
    per_cycle = (lab.clock.now_s() - before - BUS_TRANSACTION_S) / 10
    trigger_latency_s = 100e-6  # section 6, Figure 6-1 (an immediate trigger each pass)
    assert per_cycle - trigger_latency_s == pytest.approx(source_on_s, abs=0.03e-3)  # the manual rounds to 0.05 ms


def sources(lab, input_waits: bool, source_delay_s: float = 1e-3, read_nplc: float = 0.1):
    """The input source stepping a list and the read source reading at each step, set up as the
    bench does (``input_waits``: the handshake) or without the wait for the reading."""
    reader = Keithley2400Emulator(lab, "read_source")
    reader.write(":SOUR:FUNC CURR;:SOUR:CURR 1e-5;:SENS:VOLT:PROT 5;:OUTP ON;:SOUR:DEL:AUTO OFF;:SOUR:DEL 0")
    reader.write(f":SENS:VOLT:NPLC {read_nplc};:SYST:AZER OFF;:TRIG:SOUR TLIN;:TRIG:ILIN 1;:TRIG:INP SOUR;"
                 f":TRIG:OLIN 2;:TRIG:OUTP SENS;:TRIG:COUN {len(LEVELS_A)};:TRAC:CLE;:TRAC:POIN {len(LEVELS_A)};"
                 ":TRAC:FEED SENS;:TRAC:FEED:CONT NEXT;:INIT")
    source = Keithley2400Emulator(lab, "input_source")
    source.write(f":SOUR:FUNC CURR;:SOUR:CURR {LEVELS_A[0]};:SENS:VOLT:PROT 5;:OUTP ON;:SOUR:DEL:AUTO OFF;"
                 f":SOUR:DEL {source_delay_s};:SENS:CURR:NPLC 0.01;:SYST:AZER OFF")
    source.write(":SOUR:CURR:MODE LIST;:SOUR:LIST:CURR " + ",".join(f"{v:g}" for v in LEVELS_A))
    waiting = ":TRIG:SOUR TLIN;:TRIG:ILIN 2;:TRIG:INP SOUR;:TRIG:DIR SOUR" if input_waits else ":TRIG:SOUR IMM"
    source.write(f"{waiting};:TRIG:OLIN 1;:TRIG:OUTP DEL;:TRIG:COUN {len(LEVELS_A)}")
    assert not reader.errors and not source.errors
    return reader, source


@pytest.mark.unsafe_lab("both sources on: the list steps past the input ramp rate")
def test_with_the_handshake_each_reading_is_of_its_own_level_and_the_input_s_own_reading_costs_nothing():
    lab = lab_at(50.0)
    reader, source = sources(lab, input_waits=True)
    source.write(":INIT")
    assert lab.cable.disturbed == 0
    rows = readings(reader)
    assert len(rows) == len(LEVELS_A)
    # each step's period: the input's latency, configuration and source delay, then the read source's
    # latency (Trigger Link, 225 us max), configuration and its measure action with auto-zero off (one
    # conversion of NPLC / f + 185 us, 640 us of firmware); the input's own reading runs meanwhile
    read_s = 225e-6 + 50e-6 + (0.1 / 50.0 + 185e-6) + 640e-6
    period = 225e-6 + 50e-6 + 1e-3 + read_s
    times = [row[3] for row in rows]
    assert [b - a for a, b in zip(times, times[1:])] == pytest.approx([period] * (len(rows) - 1), rel=1e-6)


@pytest.mark.unsafe_lab("both sources on: the list steps past the input ramp rate")
def test_without_the_handshake_the_input_steps_inside_readings_and_the_cable_says_so(caplog):
    lab = lab_at(50.0)
    reader, source = sources(lab, input_waits=False, source_delay_s=0.2e-3, read_nplc=1.0)
    with caplog.at_level(logging.WARNING):
        source.write(":INIT")
    assert lab.cable.disturbed >= len(LEVELS_A) - 1  # every reading but perhaps the last spans a step
    assert "still integrating" in caplog.text


@pytest.mark.unsafe_lab("both sources on: the list steps past the input ramp rate")
def test_a_reading_spanning_steps_mixes_in_the_levels_stepped_to():
    """The first reading (the one the emulation can place in time: later pulses reach the read source
    when it is idle in lab time, on a real bench they would queue behind it) moves towards the level
    the input stepped to while it integrated."""
    clean_lab, mixed_lab = lab_at(50.0), lab_at(50.0)
    clean_reader, clean_source = sources(clean_lab, input_waits=True, read_nplc=1.0)
    clean_source.write(":INIT")
    mixed_reader, mixed_source = sources(mixed_lab, input_waits=False, source_delay_s=0.2e-3, read_nplc=1.0)
    mixed_source.write(":INIT")
    clean = [row[0] for row in readings(clean_reader)]
    mixed = [row[0] for row in readings(mixed_reader)]
    assert mixed_lab.cable.disturbed and not clean_lab.cable.disturbed
    spread = abs(clean[1] - clean[0])
    assert abs(mixed[0] - clean[0]) > 0.05 * spread


@pytest.mark.unsafe_lab("the read source on with a 5 V compliance")
def test_a_pulse_while_busy_is_latched_and_the_first_pass_bypasses_its_detector():
    """A 2400 that triggers itself: its own "done" pulse arrives while it is busy; latched, it releases
    the next pass. With :TRIG:DIR SOUR the first pass needs no pulse at all."""
    lab = lab_at(50.0)
    smu = Keithley2400Emulator(lab, "read_source")
    smu.write(":SOUR:FUNC CURR;:SOUR:CURR 1e-5;:SENS:VOLT:PROT 5;:OUTP ON;:SYST:AZER OFF")
    smu.write(":TRIG:SOUR TLIN;:TRIG:ILIN 2;:TRIG:INP SOUR;:TRIG:OLIN 2;:TRIG:OUTP SENS;:TRIG:COUN 3;"
              ":TRAC:CLE;:TRAC:POIN 3;:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT")
    smu.write(":INIT")  # acceptor: waits at the first detector
    assert ask(smu, ":TRAC:POIN:ACT?") == "0"
    smu.write(":ABOR;:TRIG:CLE;:TRAC:CLE;:TRAC:FEED:CONT NEXT;:TRIG:DIR SOUR;:INIT")
    assert ask(smu, ":TRAC:POIN:ACT?") == "3" and not smu.errors
