"""Keithley 2400 source list: the exact strings sent and replies parsed (expected_protocol)."""

from __future__ import annotations

import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.drivers.keithley2400_list import MAX_LIST_POINTS, Keithley2400

#: What pymeasure's Keithley 2400 sends when it is created (its reading format).
INIT = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]


@pytest.mark.parametrize("mode, sent", [("fixed", "FIX"), ("list", "LIST"), ("sweep", "SWE")])
def test_source_current_mode(mode, sent):
    with expected_protocol(Keithley2400, INIT + [(f":SOURce:CURRent:MODE {sent}", None),
                                          (":SOURce:CURRent:MODE?", sent)]) as inst:
        inst.source_current_mode = mode
        assert inst.source_current_mode == mode


def test_source_current_mode_refuses_anything_else():
    with expected_protocol(Keithley2400, INIT) as inst:
        with pytest.raises(ValueError):
            inst.source_current_mode = "ramp"


def test_current_list_is_written_as_the_driver_formats_levels_and_read_back():
    with expected_protocol(Keithley2400, INIT + [(":SOURce:LIST:CURRent -0.001,0,0.0025", None),
                                          (":SOURce:LIST:CURRent?", "-1.000000E-03,0.000000E+00,2.500000E-03"),
                                          (":SOURce:LIST:CURRent:POINts?", "3")]) as inst:
        inst.set_current_list([-1e-3, 0.0, 2.5e-3])
        assert inst.current_list() == [-1e-3, 0.0, 2.5e-3]
        assert inst.current_list_points == 3


@pytest.mark.parametrize("levels", [[], [0.0] * (MAX_LIST_POINTS + 1), [float("nan")], [2.0]])
def test_a_list_the_instrument_cannot_hold_is_refused_before_sending(levels):
    with expected_protocol(Keithley2400, INIT) as inst:
        with pytest.raises(ValueError):
            inst.set_current_list(levels)


@pytest.mark.parametrize("event, sent", [("source", "SOUR"), ("delay", "DEL"), ("sense", "SENS"), ("none", "NONE")])
def test_trigger_input_event(event, sent):
    with expected_protocol(Keithley2400, INIT + [(f":TRIGger:INPut {sent}", None), (":TRIGger:INPut?", sent)]) as inst:
        inst.trigger_input_event = event
        assert inst.trigger_input_event == event


def test_buffer_points_stored():
    with expected_protocol(Keithley2400, INIT + [(":TRACe:POINts:ACTual?", "17")]) as inst:
        assert inst.buffer_points_stored == 17
