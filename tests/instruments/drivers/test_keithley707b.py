"""Keithley 707B driver: exact TSP strings sent and replies parsed (expected_protocol)."""

from __future__ import annotations

import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.drivers.keithley707b import (
    Keithley707B,
    channel_name,
    parse_channel,
)


def test_init_sends_nothing():
    with expected_protocol(Keithley707B, []) as inst:
        assert inst.name == "Keithley 707B switching matrix"
        assert inst.SCPI is False


def test_id():
    reply = "Keithley Instruments Inc., Model 707B, 1234567, 1.0.0"
    with expected_protocol(Keithley707B, [("*IDN?", reply)]) as inst:
        assert inst.id == reply


def test_close_one_channel():
    with expected_protocol(Keithley707B, [(b'channel.close("1A01")', None)]) as inst:
        inst.close("1A01")


def test_close_list_as_string_and_as_sequence():
    with expected_protocol(
        Keithley707B,
        [(b'channel.close("1A01,1B03")', None), (b'channel.close("1A01,1H12")', None)],
    ) as inst:
        inst.close("1A01, 1B03")
        inst.close(["1A01", "1H12"])


def test_open_and_open_all():
    with expected_protocol(
        Keithley707B,
        [(b'channel.open("1C06")', None), (b'channel.open("allslots")', None)],
    ) as inst:
        inst.open("1C06")
        inst.open_all()


@pytest.mark.parametrize("bad", ['1A01") reset() --', "", "1A01,,1B02", "1A 01"])
def test_channel_list_refuses_injection_and_garbage(bad):
    with expected_protocol(Keithley707B, []) as inst:
        with pytest.raises(ValueError):
            inst.close(bad)


@pytest.mark.parametrize(
    "reply, expected",
    [("nil", []), ("1A01", ["1A01"]), ("1A01;1B03", ["1A01", "1B03"])],
)
def test_closed_channels(reply, expected):
    with expected_protocol(
        Keithley707B, [(b'print(channel.getclose("allslots"))', reply)]
    ) as inst:
        assert inst.closed_channels == expected


def test_reset_and_clear_errors():
    with expected_protocol(
        Keithley707B, [(b"reset()", None), (b"errorqueue.clear()", None)]
    ) as inst:
        inst.reset()
        inst.clear_errors()


@pytest.mark.parametrize("reply, expected", [("0", 0), ("2", 2), ("2.00000e+00", 2)])
def test_error_count(reply, expected):
    with expected_protocol(Keithley707B, [(b"print(errorqueue.count)", reply)]) as inst:
        count = inst.error_count
        assert count == expected and isinstance(count, int)


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("-222\tParameter data out of range\t20\t1", (-222, "Parameter data out of range")),
        ("-2.22000e+02\tParameter data out of range\t2.00000e+01\t1.00000e+00",
         (-222, "Parameter data out of range")),
        ("0\tQueue Is Empty\t0\t0", (0, "Queue Is Empty")),
    ],
)
def test_next_error(reply, expected):
    with expected_protocol(Keithley707B, [(b"print(errorqueue.next())", reply)]) as inst:
        assert inst.next_error == expected


def test_check_errors_drains_the_queue():
    with expected_protocol(
        Keithley707B,
        [
            (b"print(errorqueue.count)", "2"),
            (b"print(errorqueue.next())", "-222\tParameter data out of range\t20\t1"),
            (b"print(errorqueue.next())", "-285\tProgram syntax error\t20\t1"),
        ],
    ) as inst:
        assert inst.check_errors() == [
            (-222, "Parameter data out of range"),
            (-285, "Program syntax error"),
        ]


def test_check_errors_empty_queue():
    with expected_protocol(Keithley707B, [(b"print(errorqueue.count)", "0")]) as inst:
        assert inst.check_errors() == []


@pytest.mark.parametrize(
    "row, col, slot, name",
    [(0, 0, 1, "1A01"), (7, 11, 1, "1H12"), (0, 11, 1, "1A12"), (7, 0, 1, "1H01"),
     (2, 5, 3, "3C06")],
)
def test_connect_crosspoint_corners(row, col, slot, name):
    assert channel_name(row, col, slot) == name
    with expected_protocol(
        Keithley707B,
        [(f'channel.close("{name}")'.encode(), None), (f'channel.open("{name}")'.encode(), None)],
    ) as inst:
        assert inst.connect_crosspoint(row, col, slot=slot) == name
        assert inst.disconnect_crosspoint(row, col, slot=slot) == name


@pytest.mark.parametrize(
    "row, col, slot, limit",
    [(8, 0, 1, "0..7"), (-1, 0, 1, "0..7"), (0, 12, 1, "0..11"), (0, -1, 1, "0..11"),
     (1.5, 0, 1, "0..7"), (0, 0, 0, "1..6"), (0, 0, 7, "1..6")],
)
def test_invalid_crosspoint_raises_before_sending(row, col, slot, limit):
    with expected_protocol(Keithley707B, []) as inst:
        with pytest.raises(ValueError, match=limit):
            inst.connect_crosspoint(row, col, slot=slot)
        with pytest.raises(ValueError, match=limit):
            inst.disconnect_crosspoint(row, col, slot=slot)


def test_parse_channel_round_trip():
    for slot in range(1, 7):
        for row in range(8):
            for col in range(12):
                assert parse_channel(channel_name(row, col, slot)) == (slot, row, col)
    assert parse_channel("1h12") == (1, 7, 11)


@pytest.mark.parametrize("bad", ["1I01", "1A00", "1A13", "0A01", "7A01", "A01", "1A1", "allslots"])
def test_parse_channel_rejects_invalid(bad):
    with pytest.raises(ValueError, match="invalid channel name"):
        parse_channel(bad)


# ---------------------------------------------------- exclusiveclose and getstate
def test_exclusive_close_sends_one_command():
    with expected_protocol(
        Keithley707B,
        [(b'channel.exclusiveclose("1A01")', None), (b'channel.exclusiveclose("1A01,1H12")', None)],
    ) as inst:
        inst.exclusive_close("1A01")
        inst.exclusive_close(["1A01", "1H12"])


def test_connect_crosspoint_exclusive():
    with expected_protocol(Keithley707B, [(b'channel.exclusiveclose("1C06")', None)]) as inst:
        assert inst.connect_crosspoint(2, 5, exclusive=True) == "1C06"


@pytest.mark.parametrize("bad", ["allslots", "slot1", "SLOT6", "1A01,slot2", ["1A01", "allslots"]])
def test_close_refuses_whole_slots_before_sending(bad):
    """707B reference manual, channel.close() and channel.exclusiveclose(): slotX/allslots are errors."""
    with expected_protocol(Keithley707B, []) as inst:
        with pytest.raises(ValueError, match="only channel.open"):
            inst.close(bad)
        with pytest.raises(ValueError, match="only channel.open"):
            inst.exclusive_close(bad)


@pytest.mark.parametrize(
    "reply, expected",
    [("1", [True]), ("0,1,0", [False, True, False]), ("1.00000e+00,0.00000e+00", [True, False])],
)
def test_channel_states(reply, expected):
    with expected_protocol(
        Keithley707B, [(b'print(channel.getstate("1A01:1A03"))', reply)]
    ) as inst:
        assert inst.channel_states("1A01:1A03") == expected


def test_channel_states_of_all_slots_is_allowed():
    with expected_protocol(
        Keithley707B, [(b'print(channel.getstate("allslots"))', "0,0")]
    ) as inst:
        assert inst.channel_states("allslots") == [False, False]
