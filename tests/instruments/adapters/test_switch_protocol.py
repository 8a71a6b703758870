"""MatrixSwitch: the TSP commands it sends through mtjlab's Keithley 707B driver."""

from __future__ import annotations

import pytest
from adapter_helpers import protocol_members, provides
from pymeasure.test import expected_protocol

from mtjlab.errors import InstrumentError
from mtjlab.instruments.adapters import MatrixSwitch
from mtjlab.instruments.drivers.keithley707b import Keithley707B
from mtjlab.instruments.interfaces import Switch

OPEN_ALL = (b'channel.open("allslots")', None)
NO_ERRORS = (b"print(errorqueue.count)", b"0")
SETTLE_S = 0.005


def test_implements_the_protocol():
    assert protocol_members(Switch) >= {"connect", "open_all", "connected"}
    assert provides(MatrixSwitch, Switch) == set()


def test_connect_is_open_all_then_close_then_error_check(clock):
    with expected_protocol(Keithley707B, [OPEN_ALL, (b'channel.close("1B03")', None), NO_ERRORS]) as driver:
        switch = MatrixSwitch(driver, clock, rows=4, cols=4, settle_s=SETTLE_S)
        switch.connect(1, 2)
        assert switch.connected == (1, 2)
    assert clock.sleeps == [SETTLE_S]  # the relays settle before the error queue is read


def test_reconnect_breaks_before_it_makes(clock):
    with expected_protocol(Keithley707B, [
        OPEN_ALL, (b'channel.close("1A01")', None), NO_ERRORS,
        OPEN_ALL, (b'channel.close("1D04")', None), NO_ERRORS,
    ]) as driver:
        switch = MatrixSwitch(driver, clock, rows=4, cols=4, settle_s=SETTLE_S)
        switch.connect(0, 0)
        switch.connect(3, 3)
        assert switch.connected == (3, 3)


def test_an_error_in_the_queue_fails_the_connect(clock):
    with expected_protocol(Keithley707B, [
        OPEN_ALL, (b'channel.close("1B03")', None),
        (b"print(errorqueue.count)", b"1"),
        (b"print(errorqueue.next())", b"-285\tProgram syntax error\t2\t0"),
    ]) as driver:
        switch = MatrixSwitch(driver, clock, rows=4, cols=4, settle_s=SETTLE_S)
        with pytest.raises(InstrumentError, match="-285"):
            switch.connect(1, 2)
        assert switch.connected is None


@pytest.mark.parametrize("row, col", [(4, 0), (0, 4), (-1, 0), (0, 1.0), (True, 0)])
def test_off_chip_positions_are_refused_before_sending(clock, row, col):
    with expected_protocol(Keithley707B, []) as driver:
        switch = MatrixSwitch(driver, clock, rows=4, cols=4, settle_s=SETTLE_S)
        with pytest.raises(ValueError, match="not on the chip"):
            switch.connect(row, col)
    assert clock.sleeps == []


def test_open_all_forgets_the_route(clock):
    with expected_protocol(Keithley707B, [OPEN_ALL, (b'channel.close("1A02")', None), NO_ERRORS, OPEN_ALL]) as driver:
        switch = MatrixSwitch(driver, clock, rows=4, cols=4, settle_s=SETTLE_S)
        switch.connect(0, 1)
        switch.open_all()
        assert switch.connected is None


@pytest.mark.parametrize("reply, ok", [(b"1A02", True), (b"1A02;1B01", False), (b"nil", False)])
def test_verify_reads_the_relays_back(clock, reply, ok):
    with expected_protocol(Keithley707B, [
        OPEN_ALL, (b'channel.close("1A02")', None), NO_ERRORS,
        (b'print(channel.getclose("allslots"))', reply),
    ]) as driver:
        switch = MatrixSwitch(driver, clock, rows=4, cols=4, settle_s=SETTLE_S)
        switch.connect(0, 1)
        if ok:
            assert switch.verify() == (0, 1)
        else:
            with pytest.raises(InstrumentError, match="closed channels"):
                switch.verify()


def test_a_chip_larger_than_the_card_is_refused(clock):
    with pytest.raises(ValueError):
        MatrixSwitch(None, clock, rows=9, cols=4, settle_s=SETTLE_S)
