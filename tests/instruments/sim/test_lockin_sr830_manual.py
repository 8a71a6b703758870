"""The SR830 emulator against its manual: outputs, offsets, displays, *RST, overloads.

Each test names the manual section (SR830 manual rev. 2.5) it checks.
"""

from __future__ import annotations

import math

import pytest
from pymeasure.instruments.srs import SR830
from pymeasure.instruments.srs.sr830 import LIAStatus

from mtjlab.instruments.sim.emulators.lockin import SR830Emulator
from mtjlab.instruments.sim.emulators.lockin_overload import tolerable_input_v_rms
from mtjlab.instruments.sim.scpi import EmulatorAdapter
from lab_helpers import ask, route, unroute

READ_A, SINE_V = 1e-4, 0.14


# ------------------------------------------------------------------ outputs
def test_oexp_query_answers_offset_and_expand_and_checks_its_range(lab):
    """OEXP i,x,j / OEXP? i -> "x,j"; x within +-105 %, j 0-2 ("Display and Output Commands", OEXP)."""
    lockin = SR830Emulator(lab)
    lockin.write("OEXP 2,-12.5,2")
    assert ask(lockin, "OEXP? 2") == "-12.5,2"
    assert ask(lockin, "OEXP? 1") == "0,0"
    lockin.write("OEXP 1,106,0")
    lockin.write("OEXP 1,5,3")
    assert ask(lockin, "OEXP? 1") == "0,0"
    assert int(ask(lockin, "*ESR?")) & (1 << 4)
    assert SR830(EmulatorAdapter(lockin)).get_scaling("Y") == (pytest.approx(-12.5), 100)


def test_offset_is_subtracted_from_outp(lab):
    """Offsets shift X, Y and R as read (pymeasure's output_conversion adds offset x sensitivity back)."""
    lockin = SR830Emulator(lab)
    route(lab)
    x_exact = lab.lockin_xy_v_rms(noise=False)[0]
    lockin.write("SENS 23")  # 100 mV
    lockin.write("OEXP 1,10,0")
    driver = SR830(EmulatorAdapter(lockin))
    assert driver.output_conversion("X")(driver.x) == pytest.approx(x_exact, rel=1e-3)
    assert driver.x == pytest.approx(x_exact - 0.010, rel=1e-3)
    lockin.write("AOFF 1")  # auto offset brings X to zero, to the offset's 0.01 % of 100 mV
    assert abs(driver.x) < 1e-5 and abs(x_exact) > 1e-4
    unroute(lab)


def test_snap_reads_parameters_one_to_eleven(lab):
    """SNAP? takes 2-6 of X, Y, R, theta, Aux In 1-4, frequency, CH1, CH2 ("Data Transfer Commands", SNAP?)."""
    lockin = SR830Emulator(lab)
    route(lab)
    lockin.write("DDEF 1,1,0")  # CH1 = R
    lockin.write("DDEF 2,1,0")  # CH2 = theta
    x, y, r, theta, aux1, aux4 = (float(v) for v in ask(lockin, "SNAP?1,2,3,4,5,8").split(","))
    assert r == pytest.approx(math.hypot(x, y), rel=1e-5)
    assert theta == pytest.approx(math.degrees(math.atan2(y, x)), abs=1e-3)
    assert aux1 == aux4 == 0.0  # nothing is wired to the Aux inputs
    frequency, ch1, ch2 = (float(v) for v in ask(lockin, "SNAP?9,10,11").split(","))
    assert frequency == pytest.approx(lab.lockin.frequency_hz)
    x_exact, y_exact = lab.lockin_xy_v_rms(noise=False)
    assert ch1 == pytest.approx(math.hypot(x_exact, y_exact), rel=1e-3)
    assert abs(ch2) > 90  # theta of a negative X
    lockin.write("SNAP?1")  # one parameter is too few
    lockin.write("SNAP?1,2,3,4,5,6,7")  # seven too many
    lockin.write("SNAP?1,12")  # there is no parameter 12
    assert lockin.replies == type(lockin.replies)() and int(ask(lockin, "*ESR?")) & (1 << 4)
    unroute(lab)


def test_numbers_are_written_as_the_instrument_writes_them(lab):
    """Six significant digits, exponents with 3 digits (pymeasure test_sr830.py replies; manual's TRCA? example)."""
    lockin = SR830Emulator(lab)
    assert ask(lockin, "OUTP?1") == "0"
    lockin.write("FREQ 121.98")
    assert ask(lockin, "SNAP?9,1") == "121.98,0"


def test_ddef_selects_the_displays_and_refuses_ratios(lab):
    """DDEF i,j{,k}: CH1 X/R/Xn/Aux1/Aux2, CH2 Y/theta/Yn/Aux3/Aux4; DDEF? i -> "j,k" (DDEF)."""
    lockin = SR830Emulator(lab)
    lockin.write("DDEF1,1,0")
    lockin.write("DDEF 2,4")
    assert (ask(lockin, "DDEF?1"), ask(lockin, "DDEF? 2")) == ("1,0", "4,0")
    lockin.write("DDEF 1,5,0")
    lockin.write("DDEF 1,0,1")  # ratio by Aux In 1: not emulated, refused
    assert ask(lockin, "DDEF? 1") == "1,0" and int(ask(lockin, "*ESR?")) & (1 << 4)


def test_srat_reads_back_the_index_pymeasure_sent(lab):
    """pymeasure sends SRAT%f; SRAT? answers the index ("Data Storage Commands", SRAT)."""
    driver = SR830(EmulatorAdapter(SR830Emulator(lab)))
    driver.sample_frequency = None  # trigger
    assert driver.ask("SRAT?") == "14" and driver.sample_frequency is None
    driver.sample_frequency = 64
    assert driver.sample_frequency == 64


@pytest.mark.unsafe_lab("*RST puts the sine at the manual's 1.000 V standard setting")
def test_rst_restores_the_standard_settings(lab):
    """*RST: the "Standard Settings" table (Operation, ch. 4)."""
    lockin = SR830Emulator(lab)
    for line in ("PHAS 30", "SENS 5", "RMOD 0", "ICPL 1", "OFLT 4", "OFSL 3", "FREQ 77", "SLVL 0.5",
                 "DDEF 1,1", "OEXP 1,10,1", "AUXV 2,1.5", "SRAT 14", "SEND 0", "TSTR 1", "REST", "STRT"):
        lockin.write(line)
    lockin.write("*RST")
    answers = {q: ask(lockin, q) for q in ("PHAS?", "SENS?", "RMOD?", "ICPL?", "OFLT?", "OFSL?", "FREQ?", "SLVL?",
                                           "DDEF? 1", "OEXP? 1", "AUXV? 2", "SRAT?", "SEND?", "TSTR?", "SPTS?",
                                           "FMOD?", "HARM?", "ISRC?", "IGND?")}
    assert answers == {"PHAS?": "0.0000", "SENS?": "26", "RMOD?": "2", "ICPL?": "0", "OFLT?": "8", "OFSL?": "1",
                       "FREQ?": "1000", "SLVL?": "1", "DDEF? 1": "0,0", "OEXP? 1": "0,0", "AUXV? 2": "0.000",
                       "SRAT?": "4", "SEND?": "1", "TSTR?": "0", "SPTS?": "0", "FMOD?": "1", "HARM?": "1",
                       "ISRC?": "0", "IGND?": "0"}


def test_sine_amplitude_is_rounded_to_2_mv(lab):
    """SLVL is rounded to 0.002 V (SLVL)."""
    lockin = SR830Emulator(lab)
    lockin.write("SLVL0.0131")
    assert lab.lockin.sine_v_rms == pytest.approx(0.014)


# ----------------------------------------------------------------- overloads
def test_dc_coupled_input_overloads_on_the_junctions_dc_voltage(lab):
    """Input overload (LIAS bit 0) when the input's peak exceeds the reserve's range ("Dynamic Reserve");
    AC coupling blocks the junction's DC voltage ("Signal Input Amplifier and Filters")."""
    lockin = SR830Emulator(lab)
    route(lab, sine_v=0.02)  # a small harmonic (~0.16 mV) on ~0.14 V DC
    dc_v = lab.read_voltage_v(noisy=False)[0]
    r_v = math.hypot(*lab.lockin_xy_v_rms(noise=False))
    lockin.write("RMOD 2")  # low noise: the least reserve
    sens = next(i for i, s in enumerate(SR830Emulator.sensitivities_v)
                if s > 2 * r_v and math.sqrt(2) * tolerable_input_v_rms(s, 2) < dc_v)
    lockin.write(f"SENS {sens}")
    lockin.write("ICPL 0")
    assert ask(lockin, "LIAS?") == "0"  # AC coupled: the DC is blocked, the harmonic is in range
    lockin.write("ICPL 1")
    status = LIAStatus(int(ask(lockin, "LIAS?")))
    assert LIAStatus.INPUT_OVERLOAD in status and LIAStatus.OUTPUT_OVERLOAD not in status
    lockin.write("RMOD 0")  # high reserve: the front end takes the DC
    ask(lockin, "LIAS?")
    assert ask(lockin, "LIAS?") == "0"
    unroute(lab)


def test_filter_overload_when_the_signal_exceeds_the_reserve(lab):
    """Filter overload (LIAS bit 1): in-band signal beyond full scale x reserve ("Dynamic Reserve",
    "Time Constants": the filters' gain is reserve plus expand)."""
    lockin = SR830Emulator(lab)
    route(lab)
    r_v = math.hypot(*lab.lockin_xy_v_rms(noise=False))
    lockin.write("RMOD 2")  # low noise: 40 dB, a factor 100
    sens = next(i for i, s in enumerate(SR830Emulator.sensitivities_v) if 100 * s > r_v) - 1
    lockin.write(f"SENS {sens}")
    status = LIAStatus(int(ask(lockin, "LIAS?")))
    assert {LIAStatus.FILTER_OVERLOAD, LIAStatus.OUTPUT_OVERLOAD} <= set(status)
    lockin.write(f"SENS {sens + 2}")
    ask(lockin, "LIAS?")
    assert LIAStatus.FILTER_OVERLOAD not in LIAStatus(int(ask(lockin, "LIAS?")))
    unroute(lab)


def test_overload_bits_latch_until_read(lab):
    """LIA status bits stay set until LIAS? reads them or *CLS ("Status Byte Definitions")."""
    lockin = SR830Emulator(lab)
    route(lab)
    lockin.write("SENS 0")
    lockin.write("OUTP?1")
    lockin.replies.clear()
    lockin.write("SENS 26")
    assert ask(lockin, "LIAS? 2") == "1"  # latched at 2 nV, though fine at 1 V now
    assert ask(lockin, "LIAS? 2") == "0"
    unroute(lab)
