"""The SR830's data buffer against its manual ("Data Storage", "Data Storage Commands",
"Data Transfer Commands", SR830 manual rev. 2.5), with triggers from the lab's trigger cable."""

from __future__ import annotations

import math
import re
import struct

import pytest
from pymeasure.instruments.srs import SR830

from mtjlab.instruments.sim.emulators.lockin import SR830Emulator
from mtjlab.instruments.sim.emulators.lockin_buffer import (
    BUFFER_POINTS, GPIB_TRANSFER_BYTES_PER_S, MAX_TRIGGER_RATE_HZ, from_internal, to_internal,
)
from mtjlab.instruments.sim.scpi import BUS_TRANSACTION_S, EmulatorAdapter
from lab_helpers import ask, route, unroute

#: "-1.234567e-009," (the manual's TRCA? example)
TRCA_POINT = re.compile(r"[+-]\d\.\d{6}e[+-]\d{3},")
TRIGGER_PERIOD_S = 1.0 / MAX_TRIGGER_RATE_HZ


class BinaryEmulatorAdapter(EmulatorAdapter):
    """An EmulatorAdapter that can also read binary replies (pymeasure's get_buffer reads bytes)."""

    def _read_bytes(self, count, break_on_termchar=False, **kwargs):
        return self.emulator.read_bytes()


def armed(lab, *extra: str) -> SR830Emulator:
    """An SR830 set up as the application sets it: trigger sampling, one shot, CH1 = X, CH2 = Y, storing."""
    lockin = SR830Emulator(lab)
    for line in ("SRAT 14", "SEND 0", "TSTR 0", "DDEF 1,0", "DDEF 2,0", *extra, "REST", "STRT"):
        lockin.write(line)
    return lockin


def trace(lockin, channel: int, count: int) -> list[float]:
    reply = ask(lockin, f"TRCA? {channel},0,{count}")
    return [float(v) for v in reply.rstrip(",").split(",")]


def pulses(lab, count: int, period_s: float = TRIGGER_PERIOD_S, line: int = 1) -> None:
    for _ in range(count):
        lab.pulse_trigger_line(line)
        lab.clock.sleep(period_s)


# --------------------------------------------------------------- sampling
def test_each_trigger_on_line_1_stores_x_and_y_of_that_instant(lab):
    """SRAT 14: one point per trigger at TRIG IN; CH1 = X, CH2 = Y as displayed (Sample Rate, DDEF)."""
    route(lab)
    lockin = armed(lab)
    expected = []
    for sine_v in (0.14, 0.10, 0.06, 0.12):
        lab.set_sine(sine_v)
        lab.clock.sleep(12 * lab.lockin.time_constant_s)
        expected.append(lab.lockin_xy_v_rms(noise=False))
        lab.pulse_trigger_line(1)
    assert ask(lockin, "SPTS?") == "4"
    for channel in (1, 2):
        stored = trace(lockin, channel, 4)
        assert stored == pytest.approx([xy[channel - 1] for xy in expected], abs=2e-6)
    assert len({round(v, 5) for v in trace(lockin, 1, 4)}) == 4  # the signal moved between triggers
    unroute(lab)


def test_stored_points_follow_the_reference_phase_and_the_displays(lab):
    """The buffer stores the displays: X, Y rotated by PHAS; R and theta with DDEF j = 1."""
    route(lab)
    x, y = lab.lockin_xy_v_rms(noise=False)
    lockin = armed(lab, "PHAS 90")
    lab.pulse_trigger_line(1)
    lab.clock.sleep(TRIGGER_PERIOD_S)
    lockin.write("PAUS")
    lockin.write("DDEF 1,1,0")
    lockin.write("DDEF 2,1,0")
    lockin.write("STRT")
    lab.pulse_trigger_line(1)
    ch1, ch2 = trace(lockin, 1, 2), trace(lockin, 2, 2)
    assert (ch1[0], ch2[0]) == (pytest.approx(y, abs=2e-6), pytest.approx(-x, abs=2e-6))  # 90 deg
    assert ch1[1] == pytest.approx(math.hypot(x, y), rel=1e-3)
    assert ch2[1] == pytest.approx(math.degrees(math.atan2(-x, y)), abs=0.1)
    unroute(lab)


def test_other_trigger_lines_and_triggers_while_not_storing_are_ignored(lab):
    """TRIG IN is wired to line 1; storage takes points only between STRT and PAUS/REST."""
    lockin = armed(lab)
    pulses(lab, 3, line=2)
    assert ask(lockin, "SPTS?") == "0"
    lockin.write("PAUS")
    pulses(lab, 3)
    assert ask(lockin, "SPTS?") == "0"
    lockin.write("STRT")  # resumes
    pulses(lab, 3)
    lockin.write("STRT")  # ignored while storing
    pulses(lab, 2)
    assert ask(lockin, "SPTS?") == "5"
    lockin.write("REST")  # erases, storage stopped
    pulses(lab, 2)
    assert ask(lockin, "SPTS?") == "0"


def test_triggers_faster_than_512_hz_are_ignored(lab):
    """"Triggers which occur faster than 512 Hz are ignored" (Data Storage, Sample Rate)."""
    lockin = armed(lab)
    pulses(lab, 10, period_s=TRIGGER_PERIOD_S)
    assert ask(lockin, "SPTS?") == "10"
    pulses(lab, 10, period_s=0.001)  # 1 kHz: every other one is ignored
    assert ask(lockin, "SPTS?") == "15"


def test_software_trigger_stores_a_point_and_sets_lias_bit_6(lab):
    """TRIG has the effect of a TRIG IN edge; LIA status bit 6 records it (TRIG, LIAS?)."""
    lockin = armed(lab)
    assert ask(lockin, "LIAS? 6") == "0"
    lockin.write("TRIG")
    assert ask(lockin, "SPTS?") == "1"
    assert ask(lockin, "LIAS? 6") == "1"


def test_one_shot_stops_at_16383_points_and_loop_keeps_the_newest(lab):
    """The buffer holds 16383 points; 1 Shot stops at its end, Loop keeps the most recent (End of Scan)."""
    for send, newest in (("0", 0.0), ("1", -0.01)):
        lockin = SR830Emulator(lab)
        for line in ("SRAT 14", f"SEND {send}", "SENS 26", "REST", "STRT"):
            lockin.write(line)
        pulses(lab, BUFFER_POINTS)
        assert ask(lockin, "SPTS?") == str(BUFFER_POINTS)
        lockin.write("OEXP 1,1,0")  # X now reads -1 % of 1 V: the next points are told apart
        pulses(lab, 2)
        assert ask(lockin, "SPTS?") == str(BUFFER_POINTS)
        assert float(ask(lockin, f"TRCA? 1,{BUFFER_POINTS - 1},1").rstrip(",")) == pytest.approx(newest, abs=1e-6)


def test_internal_sample_rate_and_trigger_start(lab):
    """SRAT 0-13 sample at 62.5 mHz-512 Hz; TSTR 1 lets a trigger start the scan (SRAT, TSTR)."""
    lockin = SR830Emulator(lab)
    for line in ("SRAT 4", "REST", "STRT"):  # 1 Hz
        lockin.write(line)
    lab.clock.sleep(10.5)
    assert ask(lockin, "SPTS?") == "11"
    lockin.write("PAUS")
    lab.clock.sleep(5)
    assert ask(lockin, "SPTS?") == "11"
    lockin.write("TSTR 1")
    lockin.write("REST")
    lockin.write("STRT")
    lab.clock.sleep(5)
    assert ask(lockin, "SPTS?") == "0"  # waiting for the trigger
    lab.pulse_trigger_line(1)
    lab.clock.sleep(2.5)
    assert ask(lockin, "SPTS?") == "3"


def test_strd_starts_storage_after_half_a_second(lab):
    """STRD starts a scan after a delay of 0.5 s (STRD)."""
    lockin = SR830Emulator(lab)
    for line in ("SRAT 14", "REST", "STRD"):
        lockin.write(line)
    lab.clock.sleep(0.3)
    lab.pulse_trigger_line(1)
    lab.clock.sleep(0.3)
    lab.pulse_trigger_line(1)
    assert ask(lockin, "SPTS?") == "1"


# --------------------------------------------------------------- transfers
def test_trca_writes_every_point_with_a_trailing_comma_and_refuses_missing_bins(lab):
    """TRCA? i,j,k: k points from bin j, each followed by a comma; j+k beyond SPTS? is an error (TRCA?)."""
    lockin = armed(lab)
    pulses(lab, 3)
    reply = ask(lockin, "TRCA?1,0,3")
    assert re.fullmatch(f"(?:{TRCA_POINT.pattern}){{3}}", reply), reply
    assert reply.endswith(",")
    for bad in ("TRCA? 1,1,3", "TRCA? 3,0,1", "TRCA? 1,0,0", "TRCA? 1,-1,2", "TRCA? 1,0"):
        lockin.write(bad)
        assert not lockin.replies, bad
        assert int(ask(lockin, "*ESR?")) & (1 << 4), bad


def test_trcb_gives_ieee_floats_through_pymeasures_get_buffer(lab):
    """TRCB?: 4 bytes per point, IEEE float, little endian (TRCB?); pymeasure's get_buffer reads them."""
    route(lab)
    lockin = armed(lab)
    pulses(lab, 5)
    driver = SR830(BinaryEmulatorAdapter(lockin))
    assert driver.buffer_count == 5
    binary = driver.get_buffer(1, 0, 5)
    assert list(binary) == pytest.approx(trace(lockin, 1, 5), rel=1e-6)
    lockin.write("TRCB? 2,1,2")
    assert len(lockin.read_bytes()) == 8
    unroute(lab)


def test_trcl_gives_the_internal_format(lab):
    """TRCL?: 16-bit mantissa, exponent byte, zero byte; value = m * 2**(exp - 124) (TRCL?)."""
    route(lab)
    lockin = armed(lab)
    pulses(lab, 2)
    lockin.write("TRCL? 1,0,2")
    data = lockin.read_bytes()
    decoded = [m * 2.0 ** (e - 124) for m, e, zero in struct.iter_unpack("<hBB", data)]
    assert decoded == pytest.approx(trace(lockin, 1, 2), rel=1e-6)
    assert all(b == 0 for b in data[3::4])
    unroute(lab)


@pytest.mark.parametrize("value", [1.0, -1.0, 1.234567e-3, -9.87654e-9, 0.5, 1e-12])
def test_stored_points_keep_the_internal_16_bit_mantissa(value):
    """"The data within the SR830 is stored in this format" (TRCL?): 15 bits of magnitude."""
    mantissa, exponent = to_internal(value)
    assert -32768 <= mantissa <= 32767 and 0 <= exponent <= 248
    assert from_internal(mantissa, exponent) == pytest.approx(value, rel=2.0**-15)


def test_transfers_charge_the_bus_time_of_their_bytes(lab):
    """The virtual clock charges a transfer's bytes at the GPIB rate (one constant, cited in lockin_buffer)."""
    lockin = armed(lab)
    pulses(lab, 100)
    for query, size in (("TRCA? 1,0,100", None), ("TRCB? 1,0,100", 400), ("TRCL? 2,0,100", 400)):
        before = lab.clock.now_s()
        lockin.write(query)
        reply = lockin.read()
        size = len(reply) if size is None else size
        assert len(reply) == size
        assert lab.clock.now_s() - before == pytest.approx(2 * BUS_TRANSACTION_S + size / GPIB_TRANSFER_BYTES_PER_S)
