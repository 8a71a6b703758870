"""The SR860 emulator against its manual: the capture buffer ("Data Capture Commands") and SNAP?
(SR860 manual rev. 2.01, chapter 4), with triggers from the lab's trigger cable."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.instruments.srs import SR860

from mtjlab.instruments.sim.emulators.lockin import SR860Emulator
from mtjlab.instruments.sim.emulators.lockin_buffer import GPIB_TRANSFER_BYTES_PER_S
from mtjlab.instruments.sim.scpi import BUS_TRANSACTION_S, EmulatorAdapter
from lab_helpers import ask, route, unroute


def block(reply: str) -> bytes:
    """The payload of an IEEE 488.2 definite-length block ``#nccc...``."""
    assert reply[0] == "#"
    digits = int(reply[1])
    count = int(reply[2:2 + digits])
    payload = reply[2 + digits:].encode("latin-1")
    assert len(payload) == count
    return payload


def captured(lockin, kbytes: int = 2) -> np.ndarray:
    return np.frombuffer(block(ask(lockin, f"CAPTUREGET? 0, {kbytes}")), dtype="<f4")


# ----------------------------------------------------------------- capture
def test_one_sample_per_trigger_stores_x_and_y_of_that_instant(lab):
    """CAPTURECFG XY, CAPTURESTART ONE, SAMP: each TRIG IN edge stores (X, Y) (CAPTURESTART)."""
    route(lab)
    lockin = SR860Emulator(lab)
    for line in ("CAPTURECFG XY", "CAPTURELEN 2", "CAPTURESTART ONE, SAMP"):
        lockin.write(line)
    assert ask(lockin, "CAPTURESTAT?") == "3"  # running, started
    expected = []
    for sine_v in (0.14, 0.08, 0.11):
        lab.set_sine(sine_v)
        lab.clock.sleep(12 * lab.lockin.time_constant_s)
        expected.extend(lab.lockin_xy_v_rms(noise=False))
        lab.pulse_trigger_line(1)
    lab.pulse_trigger_line(3)  # not TRIG IN
    assert ask(lockin, "CAPTUREBYTES?") == "24"  # 3 samples x 2 floats x 4 bytes
    lockin.write("CAPTURESTOP")
    assert ask(lockin, "CAPTURESTAT?") == "2"
    values = captured(lockin)
    assert values[:6] == pytest.approx(expected, abs=2e-6)
    assert not values[6:].any()  # the rest of the buffer is zero
    assert [float(v) for v in ask(lockin, "CAPTUREVAL? 1").split(",")] == pytest.approx(values[2:4], rel=1e-6)
    assert int(ask(lockin, "*ESR?")) == 0
    unroute(lab)


def test_capture_configurations_store_their_quantities(lab):
    """CAPTURECFG X (0), XY (1), RT (2), XYRT (3): 1, 2, 2 or 4 floats per sample (CAPTURECFG)."""
    route(lab)
    x, y = lab.lockin_xy_v_rms(noise=False)
    r, theta = math.hypot(x, y), math.degrees(math.atan2(y, x))
    lockin = SR860Emulator(lab)
    for config, expected in (("X", [x]), ("1", [x, y]), ("RT", [r, theta]), ("XYRT", [x, y, r, theta])):
        lockin.write(f"CAPTURECFG {config}")
        lockin.write("CAPTURESTART ONE, SAMP")
        lab.pulse_trigger_line(1)
        lockin.write("CAPTURESTOP")
        assert ask(lockin, "CAPTUREBYTES?") == str(4 * len(expected))
        assert captured(lockin)[:len(expected)] == pytest.approx(expected, rel=1e-3, abs=2e-6)
    assert ask(lockin, "CAPTURECFG?") == "3"
    unroute(lab)


def test_capturelen_is_in_kbytes_of_whole_2_kbyte_blocks(lab):
    """CAPTURELEN n: n kbytes, 2 kbyte blocks, at most 4096 (Data Capture Commands, overview)."""
    lockin = SR860Emulator(lab)
    lockin.write("CAPTURELEN 256")
    assert ask(lockin, "CAPTURELEN?") == "256"
    lockin.write("CAPTURELEN 3")
    assert ask(lockin, "CAPTURELEN?") == "4"
    lockin.write("CAPTURELEN 4097")
    lockin.write("CAPTURELEN 0")
    assert ask(lockin, "CAPTURELEN?") == "4" and int(ask(lockin, "*ESR?")) & (1 << 4)


def test_one_shot_stops_when_full_and_continuous_wraps(lab):
    """ONE stops at the end of the buffer; CONT overwrites; bit 2 marks the wrap (CAPTURESTAT?)."""
    lockin = SR860Emulator(lab)
    samples = 2048 // 8  # 2 kbytes of (X, Y)
    for mode, running in (("ONE", 0), ("CONT", 1)):
        lockin.write("CAPTURELEN 2")  # resets the capture system: bits 1 and 2 clear
        lockin.write(f"CAPTURESTART {mode}, SAMP")
        for _ in range(samples + 3):
            lab.pulse_trigger_line(1)
            lab.clock.sleep(1e-3)
        assert int(ask(lockin, "CAPTURESTAT?")) == 4 | 2 | running
        assert ask(lockin, "CAPTUREBYTES?") == "2048"
        assert ask(lockin, "CAPTUREPROG?") == "2"
        lockin.write("CAPTURESTOP")


def test_captureget_needs_a_stopped_capture_and_at_most_64_kbytes(lab):
    """CAPTUREGET? i, j: range error while capturing or with j > 64; past the end it wraps (CAPTUREGET?)."""
    lockin = SR860Emulator(lab)
    lockin.write("CAPTURELEN 4")
    lockin.write("CAPTURESTART ONE, SAMP")
    lockin.write("CAPTUREGET? 0, 1")
    assert not lockin.replies and int(ask(lockin, "*ESR?")) & (1 << 4)
    lockin.write("CAPTURESTOP")
    lockin.write("CAPTUREGET? 0, 65")
    assert not lockin.replies and int(ask(lockin, "*ESR?")) & (1 << 4)
    assert len(block(ask(lockin, "CAPTUREGET? 3, 2"))) == 2048  # kbytes 3 and 0: wrapped


def test_time_paced_capture_is_refused_as_not_emulated(lab):
    """IMM and TRIG trigger modes are not emulated: an execution error, nothing starts."""
    lockin = SR860Emulator(lab)
    lockin.write("CAPTURESTART ONE, IMM")
    assert int(ask(lockin, "*ESR?")) & (1 << 4) and ask(lockin, "CAPTURESTAT?") == "0"


def test_capture_transfer_charges_the_bus_time(lab):
    """The block's bytes are charged at the GPIB rate (lockin_buffer.GPIB_TRANSFER_BYTES_PER_S)."""
    lockin = SR860Emulator(lab)
    before = lab.clock.now_s()
    reply = ask(lockin, "CAPTUREGET? 0, 2")
    assert len(reply) == 2 + 4 + 2048
    assert lab.clock.now_s() - before == pytest.approx(2 * BUS_TRANSACTION_S + len(reply) / GPIB_TRANSFER_BYTES_PER_S)


# -------------------------------------------------------------------- SNAP?
def test_snap_takes_two_or_three_named_or_numbered_parameters(lab):
    """SNAP? j,k{,l}: parameters 0-16 by number or name, from one instant (SNAP?)."""
    route(lab)
    lockin = SR860Emulator(lab)
    lockin.write("PHAS 0")
    x, y, frequency = (float(v) for v in ask(lockin, "SNAP? X, Y, FInt").split(","))
    assert frequency == pytest.approx(lab.lockin.frequency_hz)
    r, theta = (float(v) for v in ask(lockin, "SNAP? 2,3").split(","))
    x_exact, y_exact = lab.lockin_xy_v_rms(noise=False)
    assert r == pytest.approx(math.hypot(x_exact, y_exact), rel=1e-3)
    sine, phase = (float(v) for v in ask(lockin, "SNAP? SAMp, PHAse").split(","))
    assert (sine, phase) == (pytest.approx(0.14), 0.0)
    assert SR860(EmulatorAdapter(lockin)).snap("X", "Y", "IN1")[2] == 0.0
    lockin.write("SNAP? X")
    lockin.write("SNAP? X, Y, R, THeta")
    lockin.write("SNAP? X, 17")
    assert not lockin.replies and int(ask(lockin, "*ESR?")) & (1 << 4)
    unroute(lab)

