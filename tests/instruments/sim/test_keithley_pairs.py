"""pymeasure's Keithley 2400 / 2450 protocol pairs, run against the emulators.

Each (command, reply) pair is sent to an emulator fresh from *RST (a 0 V source: turning its
output on stays within the bench's limits) as it stands in pymeasure's test
(``protocol/keithley2400_pairs.py``, ``protocol/keithley2450_pairs.py``). A command with no reply
must queue no reply and no error. A query must answer in the reply's form; for a ``..._getter``
test, whose reply is the value the mock instrument held, the emulator is first given that value
through the same header (the instrument reads back what it was set to) and must answer it. The
reply of a reading is compared in form: as many numbers as the mock gave.
"""

from __future__ import annotations

import pytest

from mtjlab.instruments.sim.emulators.keithley import Keithley2400Emulator, Keithley2450Emulator
from protocol import keithley2400_pairs, keithley2450_pairs

#: What a real 2400 needs before a pair, that pymeasure's mock did not (test -> commands).
GIVEN_2400 = {
    "test_next_error": [":BOGUS:HEADER"],  # the mock's queue held a -113
    "test_measure_all": ["OUTPUT 1"],  # a reading with the output off is +803 on a 2400
}


def _number(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def same_reply(got: str, expected, exact: bool) -> bool:
    """Whether ``got`` answers like ``expected`` (exactly, for a value the emulator was given)."""
    expected = expected.decode() if isinstance(expected, bytes) else expected
    want = str(expected).strip()
    if _number(want) is not None:
        return _number(got) is not None and (not exact or _number(got) == pytest.approx(_number(want)))
    fields, got_fields = [f.strip() for f in want.split(",")], [f.strip() for f in got.split(",")]
    if len(fields) > 1 and all(_number(f) is not None for f in fields):  # a reading: its form
        return len(got_fields) == len(fields) and all(_number(f) is not None for f in got_fields)
    if len(fields) > 1 and _number(fields[0]) is not None:  # an error: its code, then its message
        return int(_number(got_fields[0]) or 0) == int(_number(fields[0])) and \
            got_fields[1].strip('"').startswith(fields[1].strip('"'))
    if len(fields) > 1:  # an identity: the maker's field and as many fields
        return len(got_fields) == len(fields) and got_fields[0] == fields[0]
    # a SCPI word: the instrument answers the short form of what it was given
    return len(got) >= 3 and want.upper().startswith(got.strip().upper())


def run_pairs(emulator, name: str, pairs, replies_are_state: bool = False, given=None) -> None:
    emulator.write("*RST")
    for command in (given or {}).get(name, []):
        emulator.write(command)
    for command, reply in pairs:
        queued = list(emulator.errors)
        if reply is None:
            emulator.write(command)
            assert not emulator.replies, f"{command!r} answered {list(emulator.replies)}"
            assert list(emulator.errors) == queued, f"{command!r} queued {list(emulator.errors)}"
            continue
        if name.endswith("_getter"):  # the mock held this value: give it to the instrument
            emulator.write(f"{command.rstrip('?')} {reply}")
            assert list(emulator.errors) == queued, f"setting {reply!r} queued {list(emulator.errors)}"
        emulator.write(command)
        assert emulator.replies, f"{command!r} gave no reply (errors {list(emulator.errors)})"
        got = emulator.read()
        exact = replies_are_state or name.endswith("_getter")
        assert same_reply(got, reply, exact=exact), f"{command!r}: {got!r}, pymeasure {reply!r}"


#: Pairs that drive the read source beyond the bench's limits (a ramp to 1 V or 1 mA).
UNSAFE = {"test_ramp_to_current", "test_ramp_to_voltage"}


def _cases(module):
    def marks(name):
        found = [pytest.mark.skip(reason=module.SKIP[name])] if name in module.SKIP else []
        if name in UNSAFE:
            found.append(pytest.mark.unsafe_lab("pymeasure's device test ramps the source to 1 V / 1 mA"))
        return found
    return [pytest.param(name, pairs, id=name, marks=marks(name)) for name, pairs in module.PAIRS.items()]


@pytest.mark.parametrize("name, pairs", _cases(keithley2400_pairs))
def test_keithley2400_pairs(lab, name, pairs):
    run_pairs(Keithley2400Emulator(lab, "read_source"), name, pairs, given=GIVEN_2400)


@pytest.mark.parametrize("name, pairs", _cases(keithley2450_pairs))
def test_keithley2450_pairs(lab, name, pairs):
    run_pairs(Keithley2450Emulator(lab, "read_source"), name, pairs, keithley2450_pairs.REPLIES_ARE_STATE)


def test_a_wrong_reply_is_caught():
    """The comparison can fail: a different number, word, count or code is not the same reply."""
    assert not same_reply("+2.000000E-01", 0.1, exact=True)
    assert not same_reply("VOLT", "current", exact=True)
    assert not same_reply("1,2,3", "0.1,0.2,9.91e37,1234,5678\n", exact=False)
    assert not same_reply('0,"No error"', '-113, "Undefined header"', exact=False)
    assert same_reply("CURR", "current", exact=True) and same_reply("+1.000000E-01", 0.1, exact=True)
