"""ClosedLoopField: the commands it sends to the Kepco BOP and the Lake Shore 425."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from adapter_helpers import protocol_members, provides
from pymeasure.instruments.kepco import KepcoBOP3612
from pymeasure.instruments.lakeshore import LakeShore425
from pymeasure.test import expected_protocol

from mtjlab.errors import InstrumentError
from mtjlab.instruments.adapters import ClosedLoopField
from mtjlab.instruments.interfaces import FieldSource

COIL_OE_PER_A, REMANENCE_OE, RATE_OE_PER_S = 100.0, 0.5, 100.0
SUPPLY_SETUP = [
    (b"FUNCtion:MODE?", b"1"),  # already in current mode
    (b"VOLTage 36", None),
    (b"OUTPut?", b"0"),
    (b"CURRent 0", None),
    (b"OUTPut 1", None),
    (b"SYST:ERR?", b'0,"No error"'),
]
GAUSSMETER_SETUP = [(b"UNIT 3", None), (b"RDGMODE 1,0,1", None), (b"AUTO", None)]


@contextmanager
def field_source(clock, supply_pairs, gaussmeter_pairs, **kwargs):
    options = dict(coil_oe_per_a=COIL_OE_PER_A, remanence_oe=REMANENCE_OE, ramp_rate_oe_per_s=RATE_OE_PER_S,
                   max_current_a=3.0)
    options.update(kwargs)
    with expected_protocol(KepcoBOP3612, supply_pairs) as supply:
        with expected_protocol(LakeShore425, gaussmeter_pairs) as gaussmeter:
            yield ClosedLoopField(supply, gaussmeter, clock, **options)


def reading(field_oe: float) -> tuple[bytes, bytes]:
    return (b"RDGFIELD?", f"{field_oe:+.6g}".encode())


def test_implements_the_protocol():
    assert protocol_members(FieldSource) >= {"ramp_rate_oe_per_s", "set_field_oe", "read_field_oe", "zero"}
    assert provides(ClosedLoopField, FieldSource) == set()


def test_set_field_with_one_correction(clock):
    # 1.5 Oe = 100 Oe/A x 0.01 A + 0.5 Oe remanence: one ramp step of 0.01 A (1 Oe at 100 Oe/s = 10 ms)
    supply = SUPPLY_SETUP + [
        (b"CURRent?", b"0"),
        (b"CURRent 0.01", None),
        # the steady reading is 0.29 Oe short: correct by 0.29 / 100 A
        (b"CURRent?", b"0.01"),
        (b"CURRent 0.0129", None),
    ]
    gaussmeter = GAUSSMETER_SETUP + [
        reading(1.20),  # first poll: the coil may still be moving
        reading(1.21),  # steady, 0.29 Oe off: correct
        reading(1.49),  # after the correction: wait for a steady reading again
        reading(1.50),  # steady and on target
    ]
    with field_source(clock, supply, gaussmeter) as field:
        field.set_field_oe(1.5)
    polls = [s for s in clock.sleeps if s == pytest.approx(0.05)]
    assert len(polls) == 4
    ramp_waits = [s for s in clock.sleeps if s != pytest.approx(0.05)]
    # the current ramps no faster than 100 Oe/s / 100 Oe/A = 1 A/s
    assert ramp_waits == pytest.approx([0.01, 0.0029])


def test_negative_field_uses_the_remanence_of_the_negative_direction(clock):
    # -20.5 Oe = 100 Oe/A x (-0.2 A) - 0.5 Oe
    supply = SUPPLY_SETUP + [(b"CURRent?", b"0")] + [
        (f"CURRent {-0.01 * (i + 1):g}".encode(), None) for i in range(20)
    ]
    gaussmeter = GAUSSMETER_SETUP + [reading(-20.48), reading(-20.49)]
    with field_source(clock, supply, gaussmeter) as field:
        field.set_field_oe(-20.5)
    assert sum(clock.sleeps[:20]) == pytest.approx(20.0 / RATE_OE_PER_S)


def test_a_current_beyond_the_limit_is_refused_before_sending(clock):
    with field_source(clock, [], [], max_current_a=1.0) as field:
        with pytest.raises(ValueError, match="1 A"):
            field.set_field_oe(150.0)  # needs 1.495 A
    assert clock.sleeps == []


def test_gives_up_naming_target_and_last_reading(clock):
    supply = SUPPLY_SETUP + [(b"CURRent?", b"0.01")]  # already at the calibrated current: no ramp
    gaussmeter = GAUSSMETER_SETUP + [reading(1.0), reading(2.0), reading(3.0)]  # never steady
    with field_source(clock, supply, gaussmeter, max_iterations=3) as field:
        with pytest.raises(InstrumentError, match=r"1\.5 Oe.*last reading 3 Oe"):
            field.set_field_oe(1.5)


def test_target_inside_the_remanence_band_is_held_at_zero_current(clock):
    # coming from a positive field, 0 Oe cannot be held: the coil stays at 0 A with +0.5 Oe remanence
    supply = SUPPLY_SETUP + [(b"CURRent?", b"0.01"), (b"CURRent 0", None)]
    gaussmeter = GAUSSMETER_SETUP + [reading(0.52), reading(0.50)]
    with field_source(clock, supply, gaussmeter) as field:
        field.set_field_oe(0.0)  # no correction, no error


def test_zero_ramps_down_waits_for_the_coil_then_turns_off(clock):
    supply = [(b"OUTPut?", b"1"), (b"CURRent?", b"0.02"), (b"CURRent 0.01", None), (b"CURRent 0", None),
              (b"MEASure:CURRent?", b"0.0034"),  # the coil lags its set-point (L/R)
              (b"MEASure:CURRent?", b"0.0004"),  # decayed below half a tolerance (0.05 Oe / 100 Oe/A)
              (b"OUTPut 0", None)]
    with field_source(clock, supply, []) as field:
        field.zero()
    assert clock.sleeps == pytest.approx([0.01, 0.01, 0.05, 0.05])


def test_zero_never_switches_the_coil_off_while_it_still_carries_current(clock):
    """An inductive load is not cut off under current: the output stays on (no OUTPut 0 sent)."""
    supply = [(b"OUTPut?", b"1"), (b"CURRent?", b"0"), (b"MEASure:CURRent?", b"0.5"), (b"MEASure:CURRent?", b"0.5")]
    with field_source(clock, supply, [], max_iterations=2) as field:
        with pytest.raises(InstrumentError, match="still carries 0.5 A.*stays on"):
            field.zero()


def test_zero_with_the_output_off_needs_no_ramp(clock):
    supply = [(b"OUTPut?", b"0"), (b"CURRent?", b"0")]
    with field_source(clock, supply, []) as field:
        field.zero()
    assert clock.sleeps == []


def test_read_field_and_identities(clock):
    supply = [(b"*IDN?", b"KEPCO,BOP 36-6M,E1234,2.05")]
    gaussmeter = [(b"*IDN?", b"LSCI,MODEL425,LSA1234,1.4")] + GAUSSMETER_SETUP + [reading(12.34)]
    with field_source(clock, supply, gaussmeter) as field:
        assert field.supply_identity.startswith("KEPCO")
        assert field.gaussmeter_identity.startswith("LSCI,MODEL425")
        assert field.read_field_oe() == pytest.approx(12.34)


def test_calibration_model():
    field = ClosedLoopField(None, None, None, coil_oe_per_a=COIL_OE_PER_A, remanence_oe=REMANENCE_OE,
                            ramp_rate_oe_per_s=RATE_OE_PER_S, max_current_a=3.0)
    for target in (50.0, -50.0, 0.6, -0.6):
        current_a = field.current_for_field_a(target)
        # the field model: k I + remanence along the sign of I
        assert COIL_OE_PER_A * current_a + REMANENCE_OE * (1 if current_a > 0 else -1) == pytest.approx(target)
    assert field.current_for_field_a(0.3) is None and field.current_for_field_a(0.0) is None
