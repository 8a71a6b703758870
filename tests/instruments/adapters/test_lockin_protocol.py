"""SRSLockIn: the exact commands it sends through pymeasure's SR830/SR860 drivers."""

from __future__ import annotations

import pytest
from adapter_helpers import protocol_members, provides
from pymeasure.instruments.srs import SR830, SR860
from pymeasure.test import expected_protocol

from mtjlab.errors import InstrumentError
from mtjlab.instruments.adapters import SRSLockIn
from mtjlab.instruments.interfaces import LockIn
from mtjlab.instruments.timing import lockin_settle_time_s

# SR830 index tables (manual): SENS 20 = 10 mV, 21 = 20 mV, 26 = 1 V; OFLT 7 = 30 ms; OFSL 3 = 24 dB/oct
SENS_10MV, SENS_20MV, SENS_1V = b"20", b"21", b"26"
TAU_30MS, SLOPE_24 = b"7", b"3"
SETTLE_S = lockin_settle_time_s(0.03, 24)


def test_implements_the_protocol():
    assert protocol_members(LockIn) >= {"modulation_amplitude_v", "auto_range", "read_xy_v", "settle_time_s"}
    assert provides(SRSLockIn, LockIn) == set()


def test_in_range_snap_is_one_read_plus_status(clock):
    with expected_protocol(SR830, [
        (b"SNAP? 1,2", b"1.0e-3,-2.0e-4"),
        (b"SENS?", SENS_10MV),
        (b"LIAS?", b"0"),
    ]) as driver:
        assert SRSLockIn(driver, clock, name="lockin").read_xy_v() == pytest.approx((1e-3, -2e-4))
    assert clock.sleeps == []


def test_overload_raises_the_range_waits_and_rereads(clock):
    with expected_protocol(SR830, [
        (b"SNAP? 1,2", b"1.09e-2,1.0e-4"),  # saturated at 1.09 x 10 mV
        (b"SENS?", SENS_10MV),
        (b"LIAS?", b"4"),                    # output overload
        (b"SENS21", None),                   # up to 20 mV
        (b"OFLT?", TAU_30MS),
        (b"OFSL?", SLOPE_24),
        (b"LIAS?", b"4"),                    # clears what latched at the old range
        (b"SNAP? 1,2", b"1.25e-2,1.0e-4"),
        (b"LIAS?", b"0"),
    ]) as driver:
        lockin = SRSLockIn(driver, clock, name="lockin")
        x_v, y_v = lockin.read_xy_v()
    assert (x_v, y_v) == pytest.approx((1.25e-2, 1e-4))
    assert abs(x_v) <= 20e-3  # within the new full scale: the point is valid, not lost
    assert clock.sleeps == pytest.approx([SETTLE_S])


def test_status_overload_alone_also_raises_the_range(clock):
    with expected_protocol(SR830, [
        (b"SNAP? 1,2", b"5.0e-3,0.0"),
        (b"SENS?", SENS_10MV),
        (b"LIAS?", b"1"),  # input overload: X looks fine but cannot be trusted
        (b"SENS21", None),
        (b"OFLT?", TAU_30MS),
        (b"OFSL?", SLOPE_24),
        (b"LIAS?", b"0"),
        (b"SNAP? 1,2", b"5.1e-3,0.0"),
        (b"LIAS?", b"0"),
    ]) as driver:
        assert SRSLockIn(driver, clock, name="lockin").read_xy_v() == pytest.approx((5.1e-3, 0.0))


def test_overload_at_the_largest_full_scale_is_an_error(clock):
    with expected_protocol(SR830, [
        (b"SNAP? 1,2", b"1.09,0.0"), (b"SENS?", SENS_1V), (b"LIAS?", b"4"),
    ]) as driver:
        with pytest.raises(InstrumentError, match="largest full scale"):
            SRSLockIn(driver, clock, name="lockin").read_xy_v()


def test_auto_range_picks_the_smallest_full_scale_above_r(clock):
    # R = 5 mV: 5 mV itself leaves no margin, 10 mV is the smallest with one
    with expected_protocol(SR830, [
        (b"SNAP? 1,2", b"3.0e-3,4.0e-3"),
        (b"SENS?", SENS_1V),
        (b"LIAS?", b"0"),
        (b"SENS20", None),
        (b"OFLT?", TAU_30MS),
        (b"OFSL?", SLOPE_24),
    ]) as driver:
        SRSLockIn(driver, clock, name="lockin").auto_range()
    assert clock.sleeps == pytest.approx([SETTLE_S])


def test_auto_range_leaves_a_good_range_alone(clock):
    with expected_protocol(SR830, [(b"SNAP? 1,2", b"3.0e-3,4.0e-3"), (b"SENS?", SENS_10MV), (b"LIAS?", b"0")]) as driver:
        SRSLockIn(driver, clock, name="lockin").auto_range()
    assert clock.sleeps == []


def test_time_constant_is_snapped_to_the_nearest_step(clock):
    # the driver alone would round 0.05 s up to 0.1 s (OFLT8); the adapter sends the nearest, 30 ms
    with expected_protocol(SR830, [(b"OFLT7", None), (b"OFLT8", None)]) as driver:
        lockin = SRSLockIn(driver, clock, name="lockin")
        lockin.time_constant_s = 0.05
        lockin.time_constant_s = 0.09


def test_settings_round_trip_sr830(clock):
    with expected_protocol(SR830, [
        (b"FREQ1.01300e+03", None),
        (b"OFSL3", None),
        (b"OFLT7", None),
        (b"SLVL0.100", None),
        (b"SLVL?", b"0.100"),
        (b"FREQ?", b"1013.0"),
    ]) as driver:
        lockin = SRSLockIn(driver, clock, name="lockin")
        lockin.frequency_hz = 1013.0
        lockin.slope_db_per_oct = 24
        lockin.time_constant_s = 0.03
        lockin.modulation_amplitude_v = 0.1
        assert lockin.modulation_amplitude_v == pytest.approx(0.1)
        assert lockin.frequency_hz == pytest.approx(1013.0)
        assert lockin.settle_time_s() == pytest.approx(SETTLE_S)  # from the values set: nothing asked


def test_sr860_slope_goes_by_index(clock):
    with expected_protocol(SR860, [(b"OFSL 1", None), (b"OFSL?", b"2")]) as driver:
        lockin = SRSLockIn(driver, clock, name="lockin")
        lockin.slope_db_per_oct = 12
        assert lockin.slope_db_per_oct == 18


def test_sr860_overload_from_the_reading_alone(clock):
    # pymeasure gives the SR860 no status byte: |X| beyond full scale is the overload
    with expected_protocol(SR860, [
        (b"SNAP? X, Y", b"2.2e-3,0.0"),
        (b"SCAL?", b"9"),      # index 9 = 1 mV
        (b"SCAL 7", None),     # 5 mV: holds 1.5 x 2.2 mV
        (b"OFLT?", b"9"),      # 30 ms on the SR860 table
        (b"OFSL?", b"3"),
        (b"SNAP? X, Y", b"2.3e-3,0.0"),
    ]) as driver:
        assert SRSLockIn(driver, clock, name="lockin").read_xy_v() == pytest.approx((2.3e-3, 0.0))
    assert clock.sleeps == pytest.approx([SETTLE_S])


def test_out_of_range_settings_send_nothing(clock):
    with expected_protocol(SR830, []) as driver:
        lockin = SRSLockIn(driver, clock, name="lockin")
        for setting, value in (("modulation_amplitude_v", 0.001), ("modulation_amplitude_v", 6.0),
                               ("frequency_hz", 2e5), ("slope_db_per_oct", 9), ("time_constant_s", -1.0)):
            with pytest.raises(ValueError):
                setattr(lockin, setting, value)


def test_shutdown_sets_the_smallest_sine(clock):
    with expected_protocol(SR830, [(b"SLVL0.004", None)]) as driver:
        SRSLockIn(driver, clock, name="lockin").shutdown()


def test_sr860_identity_without_a_driver_id(clock):
    reply = "Stanford_Research_Systems,SR860,003021,v1.51"
    with expected_protocol(SR860, [(b"*IDN?", reply.encode())]) as driver:
        assert SRSLockIn(driver, clock, name="lockin").identity == reply
