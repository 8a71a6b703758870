"""The 707B emulator: mtjlab's own driver routes the lab's crossbar through it."""

from __future__ import annotations

import re

import pytest

from mtjlab.errors import InstrumentError
from mtjlab.instruments.drivers.keithley707b import Keithley707B
from mtjlab.instruments.sim.emulators import make_emulator
from mtjlab.instruments.sim.emulators.switch import Keithley707BEmulator
from mtjlab.instruments.sim.scpi import BUS_TRANSACTION_S, EmulatorAdapter


@pytest.fixture
def emulator(lab):
    return make_emulator(lab, "switch", "Keithley707B")


@pytest.fixture
def matrix(emulator):
    return Keithley707B(EmulatorAdapter(emulator))


def ask(emulator, statement):
    """The raw line the instrument prints for ``statement``."""
    emulator.write(statement)
    return emulator.read()


def test_make_emulator_builds_a_707b_on_the_lab(lab, emulator):
    assert isinstance(emulator, Keithley707BEmulator) and emulator.lab is lab
    assert emulator.clock is lab.clock


def test_identity_is_a_707b_idn_string(matrix):
    assert re.fullmatch(r"Keithley Instruments Inc\., Model 707B, \d+, [\w.]+", matrix.id)


def test_a_crosspoint_routes_its_device_and_reads_back(lab, matrix):
    assert (lab.chip.rows, lab.chip.cols) == (4, 4)  # the default bench: the cases below depend on it
    assert matrix.connect_crosspoint(2, 3) == "1C04"
    assert lab.closed == {(2, 3)} and lab.routed_device == (2, 3)
    assert matrix.closed_channels == ["1C04"]
    assert matrix.disconnect_crosspoint(2, 3) == "1C04"
    assert lab.closed == set() and lab.routed_device is None and matrix.closed_channels == []
    assert matrix.check_errors() == []


def test_crosspoints_off_the_chip_are_remembered_but_connect_nothing(lab, matrix):
    matrix.connect_crosspoint(2, 5)  # "1C06": on the card, beyond the 4 x 4 chip
    matrix.connect_crosspoint(0, 0, slot=3)
    assert lab.closed == set()
    assert matrix.closed_channels == ["1C06", "3A01"]
    assert matrix.check_errors() == []


def test_closed_channels_round_trip_in_the_instruments_order(lab, matrix):
    matrix.close(["2H12", "1C04", "1A01", "1B02"])
    assert matrix.closed_channels == ["1A01", "1B02", "1C04", "2H12"]  # slot by slot, numeric order
    assert lab.closed == {(0, 0), (1, 1), (2, 3)} and lab.routed_device is None  # ambiguous route
    matrix.open(["1A01", "1C04"])
    assert matrix.closed_channels == ["1B02", "2H12"] and lab.routed_device == (1, 1)


def test_ranges_slots_and_lua_spellings(lab, emulator, matrix):
    matrix.close("1A01:1B02")
    assert lab.closed == {(0, 0), (0, 1), (1, 0), (1, 1)}
    matrix.write('channel.open("slot1")')
    assert lab.closed == set()
    emulator.write("channel.close( '1d04' );")  # single quotes, spaces, lower case, trailing ';'
    assert lab.closed == {(3, 3)} and matrix.check_errors() == []


def test_open_all_clears_every_slot_and_the_lab(lab, matrix):
    matrix.close(["1A01", "1D04", "1H12", "6H12"])
    matrix.open_all()
    assert lab.closed == set() and matrix.closed_channels == []


def test_opening_everything_never_routes_a_single_device_on_the_way(lab, matrix):
    matrix.close(["1A01", "1C04"])
    seen = []
    for name in ("open_relay", "close_relay", "open_all_relays"):
        original = getattr(lab, name)

        def spy(*args, _original=original):
            _original(*args)
            seen.append(lab.routed_device)
        setattr(lab, name, spy)
    matrix.open_all()
    assert seen and all(routed is None for routed in seen)


def test_relays_take_their_settle_time_only_when_they_move(lab, matrix):
    settle_s = lab.wiring.relay_settle_s
    assert settle_s > 0
    start = lab.clock.now_s()
    matrix.connect_crosspoint(1, 1)
    assert lab.clock.now_s() - start == pytest.approx(BUS_TRANSACTION_S + settle_s)
    start = lab.clock.now_s()
    matrix.connect_crosspoint(1, 1)  # already closed: nothing moves
    assert lab.clock.now_s() - start == pytest.approx(BUS_TRANSACTION_S)
    start = lab.clock.now_s()
    matrix.close("1A01:1B02")  # three more relays move together: one settle
    assert lab.clock.now_s() - start == pytest.approx(BUS_TRANSACTION_S + settle_s)


@pytest.mark.parametrize("bad", ["7A01", "0A01", "1J01", "1I01", "1A13", "1A00", "1A01:2B02", "1B03,1J01"])
def test_an_invalid_channel_sets_the_error_and_changes_nothing(lab, matrix, bad):
    matrix.connect_crosspoint(0, 1)
    start = lab.clock.now_s()
    matrix.write(f'channel.close("{bad}")')  # the driver's close() checks only the characters
    assert lab.clock.now_s() - start == pytest.approx(BUS_TRANSACTION_S)  # no relay moved
    assert lab.closed == {(0, 1)} and matrix.closed_channels == ["1A02"]
    errors = matrix.check_errors()
    assert [code for code, _ in errors] == [1115]
    assert "Parameter error" in errors[0][1] and bad.split(",")[-1].split(":")[-1] in errors[0][1]
    assert matrix.check_errors() == []


def test_error_queue_prints_like_the_instrument(emulator, matrix):
    assert ask(emulator, "print(errorqueue.count)") == "0.00000e+00"
    assert ask(emulator, "print(errorqueue.next())") == "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00"
    assert matrix.next_error == (0, "Queue Is Empty")
    matrix.write('channel.open("9Z99")')
    matrix.write('channel.open("1A14")')
    assert ask(emulator, "print(errorqueue.count)") == "2.00000e+00" and matrix.error_count == 2
    code, message, severity, node = ask(emulator, "print(errorqueue.next())").split("\t")
    assert (code, severity, node) == ("1.11500e+03", "2.00000e+01", "1.00000e+00") and "9Z99" in message
    matrix.clear_errors()
    assert matrix.error_count == 0


@pytest.mark.parametrize("statement", ["channel.explode()", "channel.close(1A01)", "print(channel.getclose())",
                                       "channel.close(\"1A01\"", "garbage here", ":ROUTe:CLOSe (@1A01)"])
def test_an_unknown_statement_is_a_syntax_error_not_a_crash(lab, emulator, matrix, statement):
    emulator.write(statement)
    assert not emulator.replies and lab.closed == set()
    errors = matrix.check_errors()
    assert [code for code, _ in errors] == [-285] and "Syntax error" in errors[0][1]
    matrix.connect_crosspoint(0, 0)  # the instrument still works
    assert lab.routed_device == (0, 0) and matrix.check_errors() == []


def test_getclose_of_a_bad_list_prints_nothing_and_queues_the_error(emulator, matrix):
    emulator.write('print(channel.getclose("slot7"))')
    with pytest.raises(InstrumentError, match="timed out"):
        emulator.read()
    assert [code for code, _ in matrix.check_errors()] == [1115]
    matrix.close("1B03")
    assert ask(emulator, 'print(channel.getclose("slot1"))') == "1B03"
    assert ask(emulator, 'print(channel.getclose("1A01,1B01:1B04"))') == "1B03"


@pytest.mark.parametrize("statement", ["reset()", "*RST"])
def test_reset_opens_every_relay_even_those_it_did_not_close(lab, matrix, statement):
    matrix.close(["1A01", "4C07"])
    lab.close_relay(1, 1)  # closed before this connection (e.g. by a previous session)
    matrix.write(statement)
    assert lab.closed == set() and matrix.closed_channels == []
