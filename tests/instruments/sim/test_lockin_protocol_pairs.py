"""The SR830 and SR860 emulators against pymeasure's protocol pairs.

The pairs (``protocol/sr830_pairs.py``, ``protocol/sr860_pairs.py``) are sent
one by one to a fresh emulator, after the commands that set up the state the
reply presumes, and the reply is compared character for character.
"""

from __future__ import annotations

import pytest
from protocol import sr830_pairs, sr860_pairs

from mtjlab.instruments.sim.emulators.lockin import SR830Emulator, SR860Emulator
from lab_helpers import ask


def exchange(emulator, pair) -> str | None:
    """Set up the pair's state, send its command, return the reply (None: nothing)."""
    for line in pair.given:
        emulator.write(line)
    assert ask(emulator, "*ESR?") == "0", f"setting up {pair.given} failed"
    emulator.write(pair.command)
    reply = emulator.replies.popleft() if emulator.replies else None
    assert ask(emulator, "*ESR?") == "0", f"{pair.command!r} set an error bit"
    return reply


def _params(pairs):
    return [pytest.param(p, id=f"{i}-{p.test}", marks=[pytest.mark.skip(reason=p.skip)] if p.skip else [])
            for i, p in enumerate(pairs)]


@pytest.mark.parametrize("pair", _params(sr830_pairs.PAIRS))
def test_sr830_answers_pymeasures_pairs(lab, pair):
    assert exchange(SR830Emulator(lab), pair) == pair.reply


@pytest.mark.parametrize("pair", _params(sr860_pairs.PAIRS))
def test_sr860_answers_pymeasures_pairs(lab, pair):
    assert exchange(SR860Emulator(lab), pair) == pair.reply


def test_the_pair_data_name_their_source_and_skips_say_why():
    for module in (sr830_pairs, sr860_pairs):
        assert module.SOURCE.startswith("pymeasure tests/instruments/srs/")
        assert module.PAIRS and all(p.test.startswith("test_") for p in module.PAIRS)
        assert all(p.skip is None or len(p.skip) > 40 for p in module.PAIRS)
    assert sum(p.skip is not None for p in sr830_pairs.PAIRS) == 2


def test_a_pair_that_does_not_match_fails(lab):
    """The runner can fail: a wrong reply or a refused command is caught."""
    wrong = sr830_pairs.Pair("made_up", "OEXP? 1", "9.7,2", given=("OEXP 1,9.70,1",))
    assert exchange(SR830Emulator(lab), wrong) != wrong.reply
    with pytest.raises(AssertionError, match="set an error bit"):
        exchange(SR830Emulator(lab), sr830_pairs.Pair("made_up", "AUXV5,1;", None))
    with pytest.raises(AssertionError, match="set an error bit"):
        exchange(SR830Emulator(lab), sr830_pairs.Pair("made_up", "AUXV1,10.6;", None))


def test_the_skipped_pairs_reply_format_is_the_emulators(lab):
    """What the two skipped pairs show about the format holds: six significant digits, 3-digit exponents."""
    assert SR830Emulator.number(-4.17234e-07) == "-4.17234e-007"
    assert SR830Emulator.number(-5.9605e-07) == "-5.9605e-007"
    assert SR830Emulator.number(-0.000500266) == "-0.000500266"
    assert SR830Emulator.number(121.98) == "121.98"
