"""pymeasure's real-hardware Keithley 2400 and 2450 tests, run through pymeasure's drivers against
the emulators (an ``EmulatorAdapter`` where the instrument's VISA address would be).

The data are in ``protocol/keithley2400_pairs.py`` (test_keithley2400_with_device.py) and
``protocol/keithley2450_pairs.py``; a fresh emulator stands in for each test, after the
``clear(); reset()`` the device tests' fixtures send. Where pymeasure's test needs a load on the
terminals, a junction is routed.
"""

from __future__ import annotations

import pytest
from pymeasure.instruments.keithley import Keithley2400

from mtjlab.config import load_default_bench
from mtjlab.instruments.sim.emulators.keithley import Keithley2400Emulator
from mtjlab.instruments.sim.lab import VirtualLab
from mtjlab.instruments.sim.scpi import EmulatorAdapter
from protocol import keithley2400_pairs as data


@pytest.fixture
def keithley2400():
    lab = VirtualLab(load_default_bench())
    instrument = Keithley2400(EmulatorAdapter(Keithley2400Emulator(lab, "read_source")))
    instrument.clear()
    instrument.reset()
    instrument.lab = lab
    yield instrument
    assert instrument.check_errors() == []


def test_reset(keithley2400):
    read = {name: getattr(keithley2400, name) for name in data.RESET_STATE}
    assert read == pytest.approx(data.RESET_STATE)


@pytest.mark.unsafe_lab("pymeasure's device test sources 10 mA / 1 V into the routed junction")
@pytest.mark.parametrize("name", sorted(data.SOURCE_TESTS))
def test_source(keithley2400, name):
    mode, attribute, level = data.SOURCE_TESTS[name]
    keithley2400.lab.close_relay(0, 0)  # pymeasure's test has a resistor on the terminals
    keithley2400.source_mode = mode
    setattr(keithley2400, attribute, level)
    keithley2400.source_enabled = True
    measured = keithley2400.measure_all()
    assert keithley2400.source_mode == mode
    assert getattr(keithley2400, attribute) == level
    assert keithley2400.source_enabled is True
    assert measured["voltage"] == pytest.approx(measured["current"] * measured["resistance"])


def _setter_cases():
    cases = []
    for attribute, value in data.SETTERS_AND_GETTERS:
        reason = data.DEVICE_SKIP.get(attribute)
        if reason is None and not hasattr(Keithley2400, attribute):
            reason = "the attribute is not in pymeasure 0.16's Keithley2400 driver (setting it would reach no instrument)"
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        cases.append(pytest.param(attribute, value, id=f"{attribute}-{value}", marks=marks))
    return cases


@pytest.mark.parametrize("attribute, value", _setter_cases())
def test_setters_and_getters(keithley2400, attribute, value):
    keithley2400.reset()
    setattr(keithley2400, attribute, value)
    assert getattr(keithley2400, attribute) == value
    assert keithley2400.check_errors() == []
