"""KeithleySourceMeter: the exact commands it sends through pymeasure's 2400/2450 drivers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.instruments.keithley import Keithley2400, Keithley2450
from pymeasure.test import expected_protocol

from mtjlab.errors import InstrumentError
from mtjlab.instruments.adapters import KeithleySourceMeter
from mtjlab.instruments.adapters.source_meter import ramp_steps
from mtjlab.instruments.interfaces import SourceMeter

from adapter_helpers import protocol_members, provides

FORMAT_2400 = (b":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)
NO_ERROR = (b"SYST:ERR?", b'0,"No error"')
READ_ALL_2400 = [(b":SENSE:RESISTANCE:MODE MAN", None), (b":SENSE:FUNCTION:ALL", None)]


def reading_2400(voltage_v: float, current_a: float, status: int) -> bytes:
    return f"{voltage_v:+.6E},{current_a:+.6E},+9.910000E+37,+1.000000E+00,{float(status):+.6E}".encode()


def test_implements_the_protocol():
    assert protocol_members(SourceMeter) >= {"source_current", "level", "ramp_to", "list_sweep_voltage_v"}
    assert provides(KeithleySourceMeter, SourceMeter) == set()


def test_2400_current_source_with_compliance(clock):
    with expected_protocol(Keithley2400, [
        FORMAT_2400,
        (b":SOURCE:FUNCTION CURR", None),
        (b":SOURCE:CURRENT:RANGE:AUTO 1", None),
        (b":SENSE:VOLTAGE:PROTECTION 0.5", None),
        (b":SENSE:VOLTAGE:RANGE:AUTO 1", None),
        NO_ERROR,
        (b":SENSE:VOLTAGE:NPLCYCLES 2", None),
    ]) as smu:
        source = KeithleySourceMeter(smu, clock, name="read_source")
        source.source_current(compliance_v=0.5)
        source.set_nplc(2)
    assert clock.sleeps == []


def test_2400_configuration_error_is_an_instrument_error(clock):
    with expected_protocol(Keithley2400, [
        FORMAT_2400,
        (b":SOURCE:FUNCTION CURR", None),
        (b":SOURCE:CURRENT:RANGE:AUTO 1", None),
        (b":SENSE:VOLTAGE:PROTECTION 0.5", None),
        (b":SENSE:VOLTAGE:RANGE:AUTO 1", None),
        (b"SYST:ERR?", b'-221,"Settings conflict"'),
        NO_ERROR,
    ]) as smu:
        with pytest.raises(InstrumentError, match="read_source.*-221"):
            KeithleySourceMeter(smu, clock, name="read_source").source_current(compliance_v=0.5)


def test_two_step_ramp_never_outpaces_the_rate(clock):
    with expected_protocol(Keithley2400, [
        FORMAT_2400,
        (b":SOURCE:FUNCTION?", b"CURR"),
        (b":SOURCE:CURRENT?", b"+0.000000E+00"),
        (b":SOURCE:CURRENT 0.0001", None),
        (b":SOURCE:CURRENT 0.0002", None),
    ]) as smu:
        KeithleySourceMeter(smu, clock, name="read_source").ramp_to(2e-4, rate_per_s=0.01)
    # each step waits step / rate after setting it: 1e-4 A at 0.01 A/s is 10 ms
    assert clock.sleeps == pytest.approx([0.01, 0.01])


def test_zero_length_ramp_sends_nothing(clock):
    with expected_protocol(Keithley2400, [
        FORMAT_2400,
        (b":SOURCE:FUNCTION?", b"CURR"),
        (b":SOURCE:CURRENT?", b"+1.000000E-04"),
    ]) as smu:
        KeithleySourceMeter(smu, clock, name="read_source").ramp_to(1e-4, rate_per_s=0.01)
    assert clock.sleeps == []


@pytest.mark.parametrize("status, expected", [(4 | 8, True), (4, False)])
def test_2400_compliance_comes_from_the_reading_status(clock, status, expected):
    with expected_protocol(Keithley2400, [
        FORMAT_2400, *READ_ALL_2400, (b":READ?", reading_2400(0.25, 1e-4, status)),
    ]) as smu:
        source = KeithleySourceMeter(smu, clock, name="read_source")
        assert source.measure_voltage_v() == pytest.approx(0.25)
        assert source.in_compliance() is expected


def test_2400_overflowed_reading_is_refused(clock):
    with expected_protocol(Keithley2400, [
        FORMAT_2400, *READ_ALL_2400, (b":READ?", reading_2400(9.9e37, 1e-4, 4 | 1)),
    ]) as smu:
        with pytest.raises(InstrumentError, match="read_source"):
            KeithleySourceMeter(smu, clock, name="read_source").measure_voltage_v()


def test_2450_current_source_selects_voltage_sense(clock):
    with expected_protocol(Keithley2450, [
        (b":SOUR:FUNC CURR", None),
        (b":SOUR:FUNC?", b"CURR"),  # the driver's auto_range_source asks first
        (b":SOUR:CURR:RANG:AUTO 1", None),
        (b":SOUR:CURR:VLIM 2", None),
        (b":SENS:FUNC 'VOLT';:SENS:VOLT:NPLC 1.000000;", None),
        (b":SENS:VOLT:RANG:AUTO 1;", None),
        NO_ERROR,
        NO_ERROR,
        (b":READ?", b"+1.999000E+00"),
        (b":READ?", b"+1.500000E+00"),
    ]) as smu:
        source = KeithleySourceMeter(smu, clock, name="input_source")
        source.source_current(compliance_v=2.0)
        # the 2450 driver reports no compliance flag: a reading at the compliance counts
        assert source.measure_voltage_v() == pytest.approx(1.999)
        assert source.in_compliance()
        source.measure_voltage_v()
        assert not source.in_compliance()


def test_2450_current_reading_switches_the_sense_function_and_back(clock):
    with expected_protocol(Keithley2450, [
        (b":SENS:FUNC 'CURR';:SENS:CURR:NPLC 1.000000;", None),
        (b":SENS:CURR:RANG:AUTO 1;", None),
        NO_ERROR,
        (b":READ?", b"+1.000000E-04"),
        (b":READ?", b"+1.000000E-04"),
        (b":SENS:FUNC 'VOLT';:SENS:VOLT:NPLC 1.000000;", None),
        (b":SENS:VOLT:RANG:AUTO 1;", None),
        NO_ERROR,
        (b":READ?", b"+2.000000E-01"),
    ]) as smu:
        source = KeithleySourceMeter(smu, clock, name="input_source")
        assert source.measure_current_a() == pytest.approx(1e-4)
        assert source.measure_current_a() == pytest.approx(1e-4)  # already selected: nothing resent
        assert source.measure_voltage_v() == pytest.approx(0.2)


def test_output_off_is_refused_away_from_zero(clock):
    with expected_protocol(Keithley2400, [
        FORMAT_2400, (b":SOURCE:FUNCTION?", b"CURR"), (b":SOURCE:CURRENT?", b"+1.000000E-04"),
    ]) as smu:
        with pytest.raises(ValueError, match="ramp to zero"):
            KeithleySourceMeter(smu, clock, name="read_source").set_output(False)


def test_shutdown_ramps_to_zero_then_turns_off(clock):
    with expected_protocol(Keithley2400, [
        FORMAT_2400,
        (b":SOURCE:FUNCTION?", b"CURR"),
        (b":SOURCE:CURRENT?", b"-1.500000E-04"),
        (b":SOURCE:CURRENT -7.5e-05", None),  # two equal steps of at most 1e-4 A
        (b":SOURCE:CURRENT 0", None),
        (b"OUTPUT 0", None),
    ]) as smu:
        KeithleySourceMeter(smu, clock, name="read_source").shutdown(rate_per_s=0.01)
    assert sum(clock.sleeps) == pytest.approx(1.5e-4 / 0.01)


def test_list_sweep_sets_each_level_and_reads(clock):
    with expected_protocol(Keithley2400, [
        FORMAT_2400,
        (b":SOURCE:FUNCTION?", b"CURR"),
        (b":SOURCE:CURRENT 1e-05", None), *READ_ALL_2400, (b":READ?", reading_2400(0.01, 1e-5, 4)),
        (b":SOURCE:CURRENT 2e-05", None), *READ_ALL_2400, (b":READ?", reading_2400(0.02, 2e-5, 4)),
    ]) as smu:
        readings = KeithleySourceMeter(smu, clock, name="read_source").list_sweep_voltage_v([1e-5, 2e-5])
    np.testing.assert_allclose(readings, [0.01, 0.02])


def test_identity_and_bad_arguments_send_nothing_wrong(clock):
    reply = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1,C30"
    with expected_protocol(Keithley2400, [FORMAT_2400, (b"*IDN?", reply.encode())]) as smu:
        source = KeithleySourceMeter(smu, clock, name="read_source")
        assert source.identity == reply
        for bad in (lambda: source.set_nplc(20), lambda: source.source_current(compliance_v=-1),
                    lambda: source.source_current(compliance_v=math.nan)):
            with pytest.raises(ValueError):
                bad()


@pytest.mark.parametrize("start, stop, rate, step_time", [
    (0.0, 3e-4, 0.01, 0.01), (2e-2, -2e-2, 0.01, 0.01), (0.0, 1.0, 3.0, 0.01), (5.0, 5.0 + 1e-9, 1.0, 0.01),
])
def test_ramp_steps_bound_step_and_average_rate(start, stop, rate, step_time):
    steps = ramp_steps(start, stop, rate, step_time)
    levels = [start] + [level for level, _ in steps]
    assert levels[-1] == stop
    assert max(abs(b - a) for a, b in zip(levels, levels[1:])) <= rate * step_time * (1 + 1e-9)
    assert sum(wait for _, wait in steps) == pytest.approx(abs(stop - start) / rate)
    assert np.all(np.diff(levels) * np.sign(stop - start) > 0)  # monotonic, no overshoot
