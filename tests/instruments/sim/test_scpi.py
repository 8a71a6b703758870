"""The shared SCPI emulation: header spellings, error queue, replies, clock, adapter."""

from __future__ import annotations

import pytest

from mtjlab.errors import InstrumentError
from mtjlab.instruments.sim.lab import VirtualClock
from mtjlab.instruments.sim.scpi import BUS_TRANSACTION_S, EmulatorAdapter, ScpiEmulator, header_regex, number


@pytest.mark.parametrize("spelling", [":SOUR:CURR", "SOURCE:CURRENT", ":CURR", "sour:curr:lev", ":SOUR:CURR:LEV:IMM:AMPL"])
def test_every_spelling_the_manual_allows_matches(spelling):
    assert header_regex("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]").match(spelling)


@pytest.mark.parametrize("spelling", [":SOURC:CURR", ":VOLT", ":SOUR:CURR:LEVE", "CURRENTS"])
def test_misspellings_do_not_match(spelling):
    assert not header_regex("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]").match(spelling)


class Toy(ScpiEmulator):
    identity = "Toy Instruments,T1,42,1.0"

    def __init__(self, clock):
        super().__init__(clock)
        self.level = 0.0
        self.command(["[:SOURce]:CURRent[:LEVel]"], self._level)

    def _level(self, argument, query):
        if query:
            return f"{self.level:g}"
        self.level = number(argument, -1.05, 1.05)


def ask(adapter, command):
    adapter.write(command)
    return adapter.read()


def test_commands_queries_errors_and_time():
    clock = VirtualClock()
    toy = Toy(clock)
    adapter = EmulatorAdapter(toy)
    assert ask(adapter, "*IDN?") == "Toy Instruments,T1,42,1.0"
    adapter.write(":SOUR:CURR 0.5;:CURR?")
    assert adapter.read() == "0.5"
    adapter.write(":SOUR:CURR 2")  # beyond the range: refused, error queued, level unchanged
    adapter.write(":BOGUS:CMD 1")
    assert toy.level == 0.5
    assert ask(adapter, ":SYST:ERR?") == '-222,"Data out of range"'
    assert ask(adapter, ":SYST:ERR?").startswith("-113,")
    assert ask(adapter, ":SYST:ERR?") == '0,"No error"'
    assert clock.now_s() == pytest.approx(BUS_TRANSACTION_S * 12)  # 8 writes and 4 reads


def test_a_read_with_nothing_pending_times_out_clearly():
    with pytest.raises(InstrumentError, match="timed out"):
        EmulatorAdapter(Toy(VirtualClock())).read()
