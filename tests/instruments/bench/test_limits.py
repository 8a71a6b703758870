"""The safety limits refuse, never clip, and say what and why on one line."""

from __future__ import annotations

import math

import pytest

from mtjlab.config import load_default_bench
from mtjlab.errors import SafetyLimitError
from mtjlab.instruments.limits import SafetyLimits


@pytest.fixture(scope="module")
def limits():
    return SafetyLimits.from_bench(load_default_bench())


def test_values_within_the_limits_pass_unchanged(limits):
    assert limits.check_read_current(1e-4) == 1e-4
    assert limits.check_input_current(-5e-3, 2e-4) == -5e-3
    assert limits.check_field(-150.0) == -150.0
    assert limits.check_bias(0.5) == 0.5


@pytest.mark.parametrize("call, named", [
    (lambda l: l.check_read_current(l.max_read_current_a * 1.001), "limits.max_read_current_a"),
    (lambda l: l.check_input_current(l.max_input_current_a, 1e-6), "limits.max_input_current_a"),
    (lambda l: l.check_field(-l.max_field_oe - 0.1), "limits.max_field_oe"),
    (lambda l: l.check_bias(0.51), "limits.max_bias_v"),
    (lambda l: l.check_field_rate(l.max_field_ramp_oe_per_s * 2), "limits.max_field_ramp_oe_per_s"),
    (lambda l: l.check_source_rate(0.0), "limits.max_source_ramp_a_per_s"),
    (lambda l: l.check_modulation(l.max_modulation_v_rms * math.sqrt(2) / l.modulation_resistor_ohm * 1.01, 0.0),
     "limits.max_modulation_v_rms"),
])
def test_beyond_a_limit_is_refused_naming_the_limit(limits, call, named):
    with pytest.raises(SafetyLimitError) as info:
        call(limits)
    message = info.value.one_line()
    assert named in message and "nothing was sent" in message and "\n" not in str(info.value)


def test_the_modulation_peak_counts_against_the_input_limit(limits):
    peak = 1e-3
    limits.check_input_current(limits.max_input_current_a - peak, peak)
    with pytest.raises(SafetyLimitError, match="plus modulation peak"):
        limits.check_input_current(limits.max_input_current_a - peak / 2, peak)
    with pytest.raises(SafetyLimitError, match="plus modulation peak"):
        limits.check_modulation(peak, limits.max_input_current_a - peak / 2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "1e-4", None])
def test_non_numbers_are_refused(limits, bad):
    with pytest.raises(SafetyLimitError, match="not a finite number"):
        limits.check_read_current(bad)
