"""Fault injection at the driver level: what pyvisa would raise, and the retry layer's answer."""

from __future__ import annotations

import pytest
from pymeasure.instruments.keithley import Keithley2400
from pyvisa import constants
from pyvisa.errors import VisaIOError

from mtjlab.config import load_default_bench
from mtjlab.errors import ConnectionLostError, InstrumentError
from mtjlab.instruments.resilience import resilient
from mtjlab.instruments.sim.emulators import make_emulator
from mtjlab.instruments.sim.faults import Faults
from mtjlab.instruments.sim.lab import VirtualLab
from mtjlab.instruments.sim.scpi import EmulatorAdapter


@pytest.fixture
def setup():
    lab = VirtualLab(load_default_bench())
    faults = Faults.attach(lab)
    emulator = make_emulator(lab, "read_source", "Keithley2400")
    return lab, faults, emulator


def test_a_timeout_raises_what_pyvisa_raises_and_costs_the_timeout(setup):
    lab, faults, emulator = setup
    plain = Keithley2400(EmulatorAdapter(emulator, role="read_source", timeout_s=2.0))
    faults.timeout("read_source")
    before = lab.clock.now_s()
    with pytest.raises(VisaIOError) as info:
        plain.id  # noqa: B018
    assert info.value.error_code == constants.StatusCode.error_timeout
    assert lab.clock.now_s() - before >= 2.0
    assert "KEITHLEY" in plain.id  # the next query is answered


def test_retries_are_bounded(setup):
    _, faults, emulator = setup
    driver = resilient(Keithley2400, role="read_source", retries=2)(EmulatorAdapter(emulator, role="read_source"))
    faults.timeout("read_source", count=2)
    assert "MODEL 2400" in driver.id  # two timeouts, third try answers
    faults.timeout("read_source", count=3)
    with pytest.raises(InstrumentError, match=r"read_source: no reply \(timeout 5 s\) to '\*IDN\?' after 3 tries"):
        driver.id  # noqa: B018


@pytest.mark.unsafe_lab("driver on the emulator: the read source on at its 21 V power-on compliance")
def test_a_dropped_connection_is_not_retried_and_a_new_connection_works(setup):
    lab, faults, emulator = setup
    driver_class = resilient(Keithley2400, role="read_source")
    driver = driver_class(EmulatorAdapter(emulator, role="read_source"))
    driver.source_current = 1e-5
    driver.enable_source()
    faults.drop_connection("read_source")
    with pytest.raises(ConnectionLostError, match="read_source: connection lost"):
        driver.source_current = 2e-5
    assert faults.writes["read_source"] >= 1 and lab.read.output_on and lab.read.level_a == 1e-5  # hardware kept its state
    with pytest.raises(ConnectionLostError):
        driver.id  # noqa: B018 - the old connection stays dead
    again = driver_class(EmulatorAdapter(emulator, role="read_source"))
    again.source_current = 0.0
    assert lab.read.level_a == 0.0
