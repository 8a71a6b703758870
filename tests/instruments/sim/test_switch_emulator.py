"""The 707B emulator: mtjlab's own driver routes the lab's crossbar through it."""

from __future__ import annotations

import pytest

from mtjlab.config import load_default_bench
from mtjlab.instruments.drivers.keithley707b import Keithley707B
from mtjlab.instruments.sim.emulators import make_emulator
from mtjlab.instruments.sim.lab import VirtualLab
from mtjlab.instruments.sim.scpi import EmulatorAdapter


@pytest.fixture
def rig():
    lab = VirtualLab(load_default_bench())
    return lab, Keithley707B(EmulatorAdapter(make_emulator(lab, "switch", "Keithley707B")))


def test_a_crosspoint_routes_its_device_and_reads_back(rig):
    lab, matrix = rig
    assert "Model 707B" in matrix.id
    before = lab.clock.now_s()
    assert matrix.connect_crosspoint(2, 3) == "1C04"
    assert lab.routed_device == (2, 3)
    assert lab.clock.now_s() - before >= lab.wiring.relay_settle_s  # relays take time to settle
    assert matrix.closed_channels == ["1C04"]
    matrix.close(["1A01", "2H12"])  # a second device (ambiguous route) and a crosspoint off the chip
    assert lab.routed_device is None and lab.closed == {(2, 3), (0, 0)}
    assert sorted(matrix.closed_channels) == ["1A01", "1C04", "2H12"]
    matrix.open_all()
    assert lab.closed == set() and matrix.closed_channels == []


@pytest.mark.parametrize("bad", ["7A01", "1J01", "1A13", "1A00"])
def test_an_invalid_channel_sets_the_error_and_changes_nothing(rig, bad):
    lab, matrix = rig
    matrix.connect_crosspoint(0, 1)
    matrix.write(f'channel.close("{bad}")')
    errors = matrix.check_errors()
    assert [code for code, _ in errors] == [1115] and bad in errors[0][1]
    assert lab.closed == {(0, 1)}


def test_an_unknown_statement_is_a_syntax_error_not_a_crash(rig):
    _, matrix = rig
    matrix.write("channel.explode()")
    assert matrix.check_errors()[0][0] == -285
    assert matrix.check_errors() == []


def test_reset_opens_relays_it_did_not_close_itself(rig):
    lab, matrix = rig
    lab.close_relay(1, 1)  # closed before this connection (e.g. by a previous session)
    matrix.reset()
    assert lab.closed == set()
