"""Property: no sequence of Bench calls, valid or not, takes the lab beyond a limit.

Random sequences of requests (many beyond the limits) run against a simulated
bench; the virtual lab records the largest current, voltage and field each
junction and the coil ever saw. A refused request must leave every instrument
exactly as it was.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtjlab.config import load_default_bench
from mtjlab.errors import InstrumentError, MtjlabError, SafetyLimitError
from mtjlab.instruments.bench import Bench

CONFIG = load_default_bench()
LIM = CONFIG.limits
IDS = CONFIG.chip.ids()


def _around(limit: float) -> st.SearchStrategy[float]:
    """Values from well inside to twice beyond +/- ``limit``, plus the edges."""
    return st.one_of(
        st.floats(-2 * limit, 2 * limit, allow_nan=False),
        st.sampled_from([limit, -limit, limit * (1 + 1e-9), 0.0]),
    )


CALLS = st.one_of(
    st.tuples(st.just("set_read_current"), _around(LIM.max_read_current_a)),
    st.tuples(st.just("set_input_current"), _around(LIM.max_input_current_a)),
    st.tuples(st.just("set_modulation"), st.floats(0.0, 2 * LIM.max_input_current_a)),
    st.tuples(st.just("set_field"), _around(LIM.max_field_oe)),
    st.tuples(st.just("route"), st.sampled_from(IDS)),
    st.tuples(st.just("set_input_current_fast"), _around(LIM.max_input_current_a)),
    st.tuples(st.just("set_field_fast"), st.sampled_from([0.0, -5.0]) | st.floats(1.0, 3 * LIM.max_field_ramp_oe_per_s)),
)


def lab_state(lab):
    return (lab.read.level_a, lab.read.output_on, lab.read.compliance_v, lab.input.level_a, lab.input.output_on,
            lab.lockin.sine_v_rms, lab.coil.setpoint_a, lab.coil.output_on, frozenset(lab.closed))


def apply(bench: Bench, name: str, value) -> None:
    if name == "set_input_current_fast":
        bench.set_input_current(value / 10, rate_a_per_s=5 * LIM.max_source_ramp_a_per_s)
    elif name == "set_field_fast":
        bench.set_field(10.0, rate_oe_per_s=value)
    else:
        getattr(bench, name)(value)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CALLS, min_size=1, max_size=8))
def test_no_sequence_of_calls_exceeds_a_limit(calls):
    with Bench(CONFIG) as bench:
        lab = bench.lab
        for name, value in calls:
            before = lab_state(lab)
            try:
                apply(bench, name, value)
            except SafetyLimitError:
                assert lab_state(lab) == before, f"{name}({value!r}) was refused but changed the instruments"
            except InstrumentError:
                raise  # the simulated instruments never fail on their own
            except MtjlabError:  # any other refusal (e.g. a sine below the lock-in's smallest) sends nothing
                assert lab_state(lab) == before, f"{name}({value!r}) was refused but changed the instruments"
    seen = lab.maxima
    assert lab.everything_safe()
    assert max(seen.device_current_a.values(), default=0) <= LIM.max_read_current_a * (1 + 1e-9)
    assert max(seen.device_voltage_v.values(), default=0) <= LIM.max_bias_v * (1 + 1e-9)
    assert max(seen.row_input_a.values(), default=0) <= LIM.max_input_current_a * (1 + 1e-9)
    assert seen.coil_current_a <= LIM.max_coil_current_a * (1 + 1e-9)
    assert seen.coil_field_oe <= LIM.max_field_oe + 0.5  # closed loop: within its tolerance
