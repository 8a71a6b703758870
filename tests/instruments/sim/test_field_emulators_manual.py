"""The Kepco BOP and Lake Shore 425 emulators against their manuals and pymeasure's protocol pairs.

Each behaviour test names the manual section it checks; the pymeasure pairs
(``protocol/kepco_pairs.py``, ``protocol/lakeshore425_pairs.py``) are sent one
by one to a fresh emulator and the reply compared character for character.
"""

from __future__ import annotations

import re

import pytest
from protocol import kepco_pairs, lakeshore425_pairs
from pymeasure.instruments.kepco import KepcoBOP3612
from pymeasure.instruments.lakeshore import LakeShore425

from mtjlab.instruments.sim.emulators.field import (
    BOP_MAX_CURRENT_A,
    BOP_MAX_VOLTAGE_V,
    KepcoBOPEmulator,
    LakeShore425Emulator,
    kepco_number,
    lakeshore_number,
)
from mtjlab.instruments.sim.scpi import EmulatorAdapter
from lab_helpers import ask

#: "digits with decimal point and Exponent, e.g., 2.71E1" (BIT 4886 manual, App. B, PAR. B.2).
KEPCO_NUMBER = re.compile(r"-?\d\.\d+E-?[1-9]?\d")
#: "±nnn.nnnE±nn" (Lake Shore 425 manual, section 6.3.1).
LAKESHORE_NUMBER = re.compile(r"[+-]\d{3}\.\d{3}E[+-]\d{2}")
#: Long enough for the coil to reach its set-point (the lab treats 20 L/R as settled).
SETTLE_TAU = 25


def kepco_errors(bop) -> list[str]:
    """Drain the BOP's SCPI error queue (``SYST:ERR?`` until ``0,"No error"``)."""
    errors = []
    while (entry := ask(bop, "SYST:ERR?")) != '0,"No error"':
        errors.append(entry)
    return errors


# ---------------------------------------------------------------- pymeasure pairs
def kepco_exchange(lab, pair) -> str | None:
    """Put a fresh BOP in the pair's state, send its command, return the reply (None: nothing)."""
    bop = KepcoBOPEmulator(lab)
    for line in pair.given:
        bop.write(line)
    assert kepco_errors(bop) == [], f"setting up {pair.given} failed"
    lab.clock.sleep(SETTLE_TAU * lab.coil_tau_s)
    bop.write(pair.command)
    reply = bop.replies.popleft() if bop.replies else None
    assert kepco_errors(bop) == [], f"{pair.command!r} queued an error"
    return reply


def lakeshore_exchange(lab, pair) -> str | None:
    """Put a fresh, noiseless 425 in the pair's state and field, send its command, return the reply."""
    meter = LakeShore425Emulator(lab)
    meter.probe_noise_oe = 0.0
    if pair.field_g is not None:
        meter.probe_offset_oe = pair.field_g - lab.field_oe()
    for line in pair.given:
        meter.write(line)
    assert ask(meter, "*ESR?") == "0", f"setting up {pair.given} failed"
    meter.write(pair.command)
    reply = meter.replies.popleft() if meter.replies else None
    assert ask(meter, "*ESR?") == "0", f"{pair.command!r} set an error bit"
    return reply


def _params(pairs):
    return [pytest.param(p, id=f"{p.test}-{i}", marks=[pytest.mark.skip(reason=p.skip)] if p.skip else [])
            for i, p in enumerate(pairs)]


@pytest.mark.parametrize("pair", _params(kepco_pairs.PAIRS))
def test_kepco_answers_pymeasures_pairs(lab, pair):
    assert kepco_exchange(lab, pair) == pair.reply


@pytest.mark.parametrize("pair", _params(lakeshore425_pairs.PAIRS))
def test_lakeshore425_answers_pymeasures_pairs(lab, pair):
    assert lakeshore_exchange(lab, pair) == pair.reply


def test_the_pair_data_name_their_source_and_skips_say_why():
    for module in (kepco_pairs, lakeshore425_pairs):
        assert module.SOURCE.startswith("pymeasure tests/instruments/")
        assert module.PAIRS and all(p.test.startswith("test_") for p in module.PAIRS)
        assert all(p.skip is None or len(p.skip) > 20 for p in module.PAIRS)
        assert sum(p.skip is not None for p in module.PAIRS) <= 1  # a skip is the exception


def test_a_pair_that_does_not_match_fails(lab):
    """The runner can fail: a wrong reply or a command the emulator refuses is caught."""
    wrong = kepco_pairs.Pair("made_up", "VOLTage?", "1.0E-1", given=("VOLTage 0.1",))
    assert kepco_exchange(lab, wrong) != wrong.reply
    with pytest.raises(AssertionError, match="queued an error"):
        kepco_exchange(lab, kepco_pairs.Pair("made_up", "CURRent 9", None))


# ----------------------------------------------------------- Kepco BOP (BIT 4886)
@pytest.mark.parametrize("value, resolution_exp, text", [
    (13.9997, -4, "1.39997E1"),  # BIT 4886 manual, PAR. B.2: "VOLT 14;VOLT? may return 1.39997E1"
    (27.1, -1, "2.71E1"),  # PAR. B.2: "2.71E1 for 27.1"
    (0.1, -4, "1.000E-1"), (0.008, -4, "8.0E-3"),  # pymeasure test_kepcobop.py, voltage replies
    (0.09989, -5, "9.989E-2"), (0.00499, -5, "4.99E-3"),  # ... current replies
    (-1.5, -5, "-1.50000E0"), (0.0, -5, "0.0E0"),
])
def test_kepco_numbers_are_in_scientific_notation(value, resolution_exp, text):
    assert kepco_number(value, resolution_exp) == text


def test_kepco_setpoint_queries_reply_in_e_notation(lab):
    """BIT 4886 manual, App. B, PAR. B.2: all numerical data is returned in scientific notation."""
    bop = KepcoBOPEmulator(lab)
    bop.write("VOLT 14;CURR -2.5")
    assert ask(bop, "VOLT?") == "1.40000E1"
    assert ask(bop, "CURR?") == "-2.50000E0"
    # the long form's short spelling in the BOP manual: [SOUR:]VOLT[:LEV][:IMM][:AMP]?
    assert KEPCO_NUMBER.fullmatch(ask(bop, "SOUR:VOLT:LEV:IMM:AMP?"))


@pytest.mark.unsafe_lab("emulator protocol: the coil supply switched on at 1.2 A in one step")
def test_kepco_measurements_reply_in_e_notation(lab):
    """BIT 4886 manual, PAR. B.2, for MEAS:CURR? and MEAS:VOLT? as for the set-points."""
    bop = KepcoBOPEmulator(lab)
    bop.write("FUNC:MODE CURR;VOLT 36;CURR 1.2;OUTP 1")
    lab.clock.sleep(SETTLE_TAU * lab.coil_tau_s)
    assert ask(bop, "MEAS:CURR?") == "1.20000E0"
    volts = 1.2 * lab.wiring.coil_resistance_ohm
    assert ask(bop, "MEAS:VOLT?") == kepco_number(volts, -4)
    assert KEPCO_NUMBER.fullmatch(ask(bop, "MEAS:VOLT?"))


@pytest.mark.parametrize("query, value", [
    ("CURR? MAX", BOP_MAX_CURRENT_A), ("CURR? MIN", -BOP_MAX_CURRENT_A),
    ("SOUR:CURR? MAXIMUM", BOP_MAX_CURRENT_A),
    ("VOLT? MAX", BOP_MAX_VOLTAGE_V), ("VOLT? MIN", -BOP_MAX_VOLTAGE_V),
])
def test_kepco_min_max_queries_answer_the_models_limits(lab, query, value):
    """BOP manual, App. B, CURR? and VOLT? queries: MAX is the model's maximum, MIN its
    (always negative) minimum; the programmed value is untouched."""
    bop = KepcoBOPEmulator(lab)
    bop.write("CURR 0.5;VOLT 10")
    assert ask(bop, query) == kepco_number(value, -5 if "CURR" in query else -4)
    assert ask(bop, "CURR?") == "5.0000E-1" and ask(bop, "VOLT?") == "1.00000E1"
    assert kepco_errors(bop) == []


def test_kepco_curr_max_reads_back_through_pymeasures_driver(lab):
    supply = KepcoBOP3612(EmulatorAdapter(KepcoBOPEmulator(lab)))
    assert float(supply.ask("CURRent? MAX")) == BOP_MAX_CURRENT_A
    supply.current_setpoint = 0.25
    assert supply.current_setpoint == 0.25 and supply.check_errors() == []


def test_kepco_min_max_are_accepted_as_values(lab):
    """SCPI numeric values: CURR MAX programs the maximum (BOP manual, App. B, CURR command)."""
    bop = KepcoBOPEmulator(lab)
    bop.write("CURR MIN")
    assert ask(bop, "CURR?") == "-6.00000E0" and kepco_errors(bop) == []


def test_kepco_an_unknown_query_argument_is_an_error(lab):
    bop = KepcoBOPEmulator(lab)
    bop.write("CURR 0.5")
    bop.write("CURR? LOUD")
    assert not bop.replies
    assert [e.split(",")[0] for e in kepco_errors(bop)] == ["-224"]


def test_kepco_out_of_range_is_error_222_and_changes_nothing(lab):
    """BIT 4886 manual, PAR. B.2: "-222" if the value exceeds the range of the parameter."""
    bop = KepcoBOPEmulator(lab)
    bop.write("VOLT 12")
    bop.write("VOLT 36.5")
    assert ask(bop, "VOLT?") == "1.20000E1"
    assert [e.split(",")[0] for e in kepco_errors(bop)] == ["-222"]


# ------------------------------------------------------------------- Lake Shore 425
@pytest.mark.parametrize("value, text", [
    (12.3456, "+123.456E-01"),  # the manual's example (pymeasure test_lakeshore425.py, test_field)
    (10.0, "+100.000E-01"), (-0.0123, "-123.000E-04"), (35000.0, "+350.000E+02"),
    (999.9996, "+100.000E+01"), (0.0, "+000.000E+00"),
])
def test_lakeshore_numbers_use_the_manuals_format(value, text):
    assert lakeshore_number(value) == text


@pytest.mark.parametrize("unit, per_gauss", [(1, 1.0), (2, 1e-4), (3, 1.0)])
def test_lakeshore_readings_use_nnn_nnn_e_nn_in_every_unit(lab, unit, per_gauss):
    """Lake Shore 425 manual, section 6.3.1: RDGFIELD? returns ±nnn.nnnE±nn in the UNIT chosen."""
    meter = LakeShore425Emulator(lab)
    meter.probe_noise_oe = 0.0
    meter.probe_offset_oe = -20.5 - lab.field_oe()
    meter.write(f"UNIT {unit}")
    reply = ask(meter, "RDGFIELD?")
    assert LAKESHORE_NUMBER.fullmatch(reply)
    assert float(reply) == pytest.approx(-20.5 * per_gauss, rel=1e-9)


def test_lakeshore_reading_keeps_the_ranges_resolution(lab):
    """35000 counts of full scale: on the 35 G range a reading steps by 0.001 G."""
    meter = LakeShore425Emulator(lab)
    meter.probe_noise_oe = 0.0
    meter.probe_offset_oe = 12.3456 - lab.field_oe()
    assert ask(meter, "RDGFIELD?") == "+123.460E-01"
    meter.write("RANGE 2")  # 350 G: steps of 0.01 G
    assert ask(meter, "RDGFIELD?") == "+123.500E-01"


def test_lakeshore_reading_through_pymeasures_driver(lab):
    meter = LakeShore425(EmulatorAdapter(LakeShore425Emulator(lab)))
    meter.unit = "Oe"
    assert LAKESHORE_NUMBER.fullmatch(meter.ask("RDGFIELD?"))
    assert abs(meter.field) < 0.05 + abs(lab.field_oe())
