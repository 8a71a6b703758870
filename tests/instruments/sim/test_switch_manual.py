"""The 707B emulator against the Models 707B and 708B Switching Matrix Reference Manual.

Sections cited are of 707B-901-01 Rev. B: section 7 "TSP command reference"
for the functions, section 2 for channel lists and connection rules.
"""

from __future__ import annotations

import pytest

from mtjlab.errors import InstrumentError
from mtjlab.instruments.drivers.keithley707b import Keithley707B
from mtjlab.instruments.sim.emulators import make_emulator
from mtjlab.instruments.sim.scpi import BUS_TRANSACTION_S, EmulatorAdapter


@pytest.fixture
def emulator(lab):
    return make_emulator(lab, "switch", "Keithley707B")


@pytest.fixture
def matrix(emulator):
    return Keithley707B(EmulatorAdapter(emulator))


def ask(emulator, statement):
    emulator.write(statement)
    return emulator.read()


def error_codes(matrix):
    return [code for code, _ in matrix.check_errors()]


def spy_on_relays(lab):
    """Record the lab's closed relays after every relay change."""
    seen = []
    for name in ("open_relay", "close_relay", "open_all_relays"):
        original = getattr(lab, name)

        def spy(*args, _original=original):
            _original(*args)
            seen.append(frozenset(lab.closed))
        setattr(lab, name, spy)
    return seen


# ------------------------------------------------------------------ channel.close
@pytest.mark.parametrize("channels", ["allslots", "slot1", "SLOT2", "1A01,slot1", "1B02;allslots"])
def test_close_refuses_whole_slots_and_closes_nothing(lab, emulator, matrix, channels):
    """channel.close(): an error if the list contains slotX or allslots; then no channel closes."""
    emulator.write("channel.close('1C03')")
    start = lab.clock.now_s()
    emulator.write(f'channel.close("{channels}")')
    assert lab.clock.now_s() - start == pytest.approx(BUS_TRANSACTION_S)  # no relay moved
    assert lab.closed == {(2, 2)} and matrix.closed_channels == ["1C03"]
    errors = matrix.check_errors()
    assert [code for code, _ in errors] == [1115] and "channel.close" in errors[0][1]


def test_open_accepts_allslots_and_slots(lab, emulator, matrix):
    """channel.open("allslots") is the manual's own example under channel.close()."""
    emulator.write('channel.close("1A01,2B02")')
    emulator.write('channel.open("slot2")')
    assert matrix.closed_channels == ["1A01"]
    emulator.write('channel.open("allslots")')
    assert matrix.closed_channels == [] and lab.closed == set() and error_codes(matrix) == []


def test_close_never_opens_what_is_closed(lab, emulator, matrix):
    """channel.close(): closed channels are appended; none is opened."""
    emulator.write('channel.close("1A01")')
    emulator.write('channel.close("1B02")')
    assert lab.closed == {(0, 0), (1, 1)}


def test_channel_lists_take_commas_or_semicolons(lab, emulator, matrix):
    """Section 2, "Channel list parameter": items separated by a comma or a semicolon."""
    emulator.write('channel.close("1A01;1B02, 1C03")')
    assert lab.closed == {(0, 0), (1, 1), (2, 2)} and error_codes(matrix) == []


# --------------------------------------------------------- channel.exclusiveclose
def test_exclusiveclose_leaves_only_the_listed_channels_closed(lab, emulator, matrix):
    emulator.write('channel.close("1A01,1D04,3C04")')
    emulator.write('channel.exclusiveclose("1B02")')
    assert matrix.closed_channels == ["1B02"]
    assert lab.closed == {(1, 1)} and lab.routed_device == (1, 1) and error_codes(matrix) == []


def test_exclusiveclose_keeps_a_listed_channel_that_is_already_closed(lab, emulator, matrix):
    emulator.write('channel.close("1A01,1B02")')
    seen = spy_on_relays(lab)
    emulator.write('channel.exclusiveclose("1B02")')
    assert lab.closed == {(1, 1)}
    assert all((1, 1) in state for state in seen)  # 1B02 never opened on the way


def test_exclusiveclose_breaks_before_it_makes(lab, emulator):
    """Section 2, "Connection methods": break before make is the default; every channel
    opens before any closes, so no state has the old and the new route at once."""
    emulator.write('channel.close("1A01,1D04")')
    seen = spy_on_relays(lab)
    emulator.write('channel.exclusiveclose("1C03")')
    assert seen[-1] == {(2, 2)}
    first_new = next(i for i, state in enumerate(seen) if (2, 2) in state)
    assert all(not state for state in seen[first_new - 1:first_new])  # all open just before
    assert all(state <= {(2, 2)} for state in seen[first_new:])


@pytest.mark.parametrize("before, settles", [
    ("1A01", 2),  # opens and closes: open settle + close settle (channel.connectrule)
    (None, 1),  # nothing to open: the close settle only
    ("1C03", 0),  # already exactly so: nothing moves, no settle
])
def test_exclusiveclose_takes_open_plus_close_settle_times(lab, emulator, before, settles):
    if before:
        emulator.write(f'channel.close("{before}")')
    start = lab.clock.now_s()
    emulator.write('channel.exclusiveclose("1C03")')
    elapsed = lab.clock.now_s() - start
    assert elapsed == pytest.approx(BUS_TRANSACTION_S + settles * lab.wiring.relay_settle_s)


@pytest.mark.parametrize("empty", ["", "   "])
def test_exclusiveclose_of_an_empty_list_opens_everything(lab, emulator, matrix, empty):
    """An empty string or a string of spaces opens all channels (and is no error when none is closed)."""
    emulator.write(f'channel.exclusiveclose("{empty}")')
    assert error_codes(matrix) == []
    emulator.write('channel.close("1A01,6H12")')
    emulator.write(f"channel.exclusiveclose('{empty}')")
    assert matrix.closed_channels == [] and lab.closed == set() and error_codes(matrix) == []


@pytest.mark.parametrize("channels", ["allslots", "slot1", "1A01,slot3", "1Z01", "1A01,1A13", "1A01:2B02"])
def test_exclusiveclose_errors_move_nothing(lab, emulator, matrix, channels):
    """An error for slotX/allslots or an invalid channel; channels move only if no error is found."""
    emulator.write('channel.close("1D04,2A01")')
    start = lab.clock.now_s()
    emulator.write(f'channel.exclusiveclose("{channels}")')
    assert lab.clock.now_s() - start == pytest.approx(BUS_TRANSACTION_S)
    assert matrix.closed_channels == ["1D04", "2A01"] and lab.closed == {(3, 3)}
    errors = matrix.check_errors()
    assert [code for code, _ in errors] == [1115] and "channel.exclusiveclose" in errors[0][1]


def test_driver_exclusive_close_routes_one_device(lab, matrix):
    matrix.close(["1A01", "1B01"])
    assert matrix.connect_crosspoint(2, 3, exclusive=True) == "1C04"
    assert lab.routed_device == (2, 3) and matrix.closed_channels == ["1C04"]
    assert matrix.check_errors() == []


# ---------------------------------------------------------------- channel.getstate
def test_getstate_lists_each_channel_lowest_first(emulator):
    """channel.getstate(): comma-delimited states; channel.IND_CLOSED (1) for a closed relay;
    lowest channel first (section 2, "Queries that return a list of channels")."""
    emulator.write('channel.close("1A02,2A01")')
    assert ask(emulator, 'print(channel.getstate("1A01:1A03"))') == "0,1,0"
    assert ask(emulator, 'print(channel.getstate("2A01,1A03,1A02"))') == "1,0,1"
    assert ask(emulator, "print(channel.getstate('1A02'))") == "1"


@pytest.mark.parametrize("mask, state", [("channel.IND_CLOSED", "1"), ("1", "1"), ("0", "0"), ("3", "1")])
def test_getstate_applies_the_indicator_mask(emulator, mask, state):
    emulator.write('channel.close("1B01")')
    assert ask(emulator, f'print(channel.getstate("1B01", {mask}))') == state


def test_getstate_of_slots_covers_every_crosspoint(emulator):
    emulator.write('channel.close("1H12,3A01")')
    slot1 = ask(emulator, 'print(channel.getstate("slot1"))').split(",")
    assert len(slot1) == 96 and slot1.count("1") == 1 and slot1[-1] == "1"
    every = ask(emulator, 'print(channel.getstate("allslots"))').split(",")
    assert len(every) == 6 * 96 and [i for i, s in enumerate(every) if s == "1"] == [95, 2 * 96]


def test_getstate_of_a_bad_list_prints_nothing_and_queues_the_error(emulator, matrix):
    emulator.write('print(channel.getstate("1J01"))')
    with pytest.raises(InstrumentError, match="timed out"):
        emulator.read()
    assert error_codes(matrix) == [1115]


def test_driver_reads_channel_states(lab, matrix):
    matrix.connect_crosspoint(0, 1)
    assert matrix.channel_states("1A01:1A03") == [False, True, False]
    assert matrix.channel_states(["1A02"]) == [True]
    lab.open_all_relays()  # what the lab says is what the instrument reports
    assert matrix.channel_states("1A02") == [False]


def test_reset_opens_channels_closed_exclusively(lab, emulator, matrix):
    emulator.write('channel.exclusiveclose("1A01,4C07")')
    matrix.reset()
    assert matrix.closed_channels == [] and lab.closed == set() and error_codes(matrix) == []
