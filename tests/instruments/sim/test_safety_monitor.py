"""The virtual lab's safety monitor: each invariant caught, every legitimate Bench operation passing."""

from __future__ import annotations

import gc
import math
import textwrap

import pytest
from pymeasure.instruments.keithley import Keithley2400

from mtjlab.config import load_default_bench
from mtjlab.instruments.sim import safety_monitor
from mtjlab.instruments.sim.emulators import make_emulator
from mtjlab.instruments.sim.lab import VirtualLab
from mtjlab.instruments.sim.safety_monitor import (
    COIL_OFF_THRESHOLD_A, FIELD_TOLERANCE_OE, LARGEST_INPUT_STEP_A, LONGEST_STEP_TIME_S, RAMP_MARGIN, RateBand,
)
from mtjlab.instruments.sim.scpi import EmulatorAdapter

pytest_plugins = ["pytester"]

INPUT_STEP_A = 1e-3  # the Bench's input step: 0.01 A/s for 0.1 s
COIL_STEP_A = 0.01  # the field supply's step: 1 A/s for 0.01 s


@pytest.fixture
def lab() -> VirtualLab:
    return VirtualLab(load_default_bench())


def invariants(lab: VirtualLab) -> list[str]:
    return [v.invariant for v in lab.monitor.violations]


def read_on(lab: VirtualLab, level_a: float = 1e-4) -> None:
    """The read source on at ``level_a`` with the bench's compliance (within every rule)."""
    lab.set_read_source(compliance_v=lab.bench.limits.max_bias_v)
    lab.set_read_source(level_a=level_a, output_on=True)


def ramp_input(lab: VirtualLab, to_a: float) -> None:
    """The input source ramped as the Bench does: 1 mA steps, each followed by 0.1 s."""
    lab.set_input_source(output_on=True)
    level = lab.input.level_a
    n = max(1, math.ceil(abs(to_a - level) / INPUT_STEP_A - 1e-9))
    for k in range(1, n + 1):
        lab.set_input_source(level_a=level + (to_a - level) * k / n)
        lab.clock.sleep(abs(to_a - level) / n / 0.01)


def ramp_coil(lab: VirtualLab, to_a: float) -> None:
    """The coil supply ramped as the field loop does: 10 mA steps every 10 ms (1 A/s)."""
    start = lab.coil.setpoint_a if lab.coil.output_on else 0.0
    n = max(1, math.ceil(abs(to_a - start) / COIL_STEP_A - 1e-9))
    for k in range(1, n + 1):
        lab.set_coil(start + (to_a - start) * k / n, True)
        lab.clock.sleep(abs(to_a - start) / n / 1.0)


# ------------------------------------------------------------------ the rule
def test_the_rate_band_passes_a_stepped_ramp_and_refuses_a_jump():
    band = RateBand(rate_per_s=1.0, allowance=0.125)
    t = 0.0
    for k in range(1, 101):  # 0.1 steps, each followed by 0.1 s: exactly the rate
        assert band.move(0.1 * k, t) is None
        t += 0.1
    assert band.worst_use == pytest.approx(0.8)  # a fifth of the allowance to spare at every step
    assert band.move(10.0 + 0.5, t) == pytest.approx(0.5)  # a jump: 0.5 beyond the rate
    assert band.move(10.5, t + 10.0) is None  # held: nothing moves


def test_the_rate_band_lets_a_step_back_pass_but_not_two_steps_on():
    band = RateBand(rate_per_s=1.0, allowance=0.125)
    assert band.move(0.1, 1.0) is None
    assert band.move(0.0, 1.001) is None  # reversed at once: never more than one step from where it was
    assert band.move(0.1, 1.002) is None
    assert band.move(0.2, 1.003) == pytest.approx(0.2 - 0.001)  # two steps up within 1 ms of the last 0
    t, level = 2.0, 0.2
    caught = []
    for _ in range(4):  # steps of 0.1 every 0.05 s: twice the rate
        t, level = t + 0.05, level + 0.1
        caught.append(band.move(level, t) is not None)
    assert caught == [False, True, False, True]  # 0.2 in 0.05 s is 0.15 over the line; then afresh


def test_the_bench_never_steps_longer_than_the_bucket_allows():
    from mtjlab.instruments.adapters.source_meter import DEFAULT_STEP_TIME_S
    from mtjlab.instruments.bench_lifetime import INPUT_RAMP_STEP_A, input_ramp_step_time_s

    assert DEFAULT_STEP_TIME_S <= LONGEST_STEP_TIME_S
    assert INPUT_RAMP_STEP_A <= LARGEST_INPUT_STEP_A
    for rate in (1e-3, 0.01, 1.0, 100.0):  # the input's steps stay one step, whatever the rate
        assert input_ramp_step_time_s(rate) * rate == pytest.approx(INPUT_RAMP_STEP_A)


# -------------------------------------------------------------- each invariant
@pytest.mark.unsafe_lab("monitor test: a read current beyond max_read_current_a")
def test_read_current_beyond_the_limit(lab):
    read_on(lab, 3.5e-4)
    assert invariants(lab) == ["read current"]
    violation = lab.monitor.violations[0]
    assert violation.value == pytest.approx(3.5e-4) and violation.limit == 3e-4 and violation.unit == "A"
    assert violation.instrument == "read_source"


@pytest.mark.unsafe_lab("monitor test: the input plus the sine's peak beyond max_input_current_a")
def test_input_plus_the_sine_peak_beyond_the_limit_on_a_routed_row(lab):
    lab.close_relay(0, 0)
    ramp_input(lab, 0.0199)
    assert invariants(lab) == []  # 19.9 mA + the resting sine's 5.7 uA
    lab.set_sine(0.1 / math.sqrt(2))  # 0.1 mA peak: 20.0 mA
    assert invariants(lab) == []
    lab.set_sine(0.1013 / math.sqrt(2))
    assert invariants(lab) == ["input current"]
    assert lab.monitor.violations[0].value == pytest.approx(0.0199 + 1.013e-4)
    assert lab.monitor.violations[0].instrument == "lockin"


@pytest.mark.unsafe_lab("monitor test: the input source alone beyond max_input_current_a, nothing routed")
def test_the_input_source_alone_counts_when_nothing_is_routed(lab):
    lab.set_sine(0.5)  # nothing routed: the sine adds to no line
    ramp_input(lab, 0.02)
    assert invariants(lab) == []
    ramp_input(lab, 0.021)
    assert invariants(lab) == ["input current"]
    assert "nothing routed" in lab.monitor.violations[0].detail


@pytest.mark.unsafe_lab("monitor test: a sine beyond max_modulation_v_rms")
def test_a_sine_beyond_the_modulation_limit(lab):
    lab.set_sine(1.0)
    assert invariants(lab) == []
    lab.set_sine(1.002)
    assert invariants(lab) == ["modulation"]


@pytest.mark.unsafe_lab("monitor test: the coil beyond max_coil_current_a and the field beyond max_field_oe")
def test_coil_current_and_field_beyond_their_limits(lab):
    ramp_coil(lab, (200.0 + FIELD_TOLERANCE_OE / 2 - 0.5) / 100.0)  # within the field's tolerance
    assert invariants(lab) == []
    ramp_coil(lab, 2.2)  # 220.5 Oe
    assert invariants(lab) == ["field"]
    ramp_coil(lab, 3.05)
    assert invariants(lab) == ["field", "coil current"]
    field, coil = lab.monitor.violations
    assert field.value == pytest.approx(3.05 * 100 + 0.5)  # the worst while it lasted
    assert coil.value == pytest.approx(3.05) and coil.limit == 3.0


@pytest.mark.unsafe_lab("monitor test: the read compliance above max_bias_v, across an open junction")
def test_compliance_above_the_bias_limit_and_the_junction_voltage(lab):
    lab.set_read_source(compliance_v=2.0)  # output off: nothing is clamped yet, nothing to protect
    assert invariants(lab) == []
    lab.close_relay(3, 0)  # r3c0 is an open junction: the source rises to its compliance
    lab.set_read_source(level_a=1e-4, output_on=True)
    lab.read_voltage_v()
    assert invariants(lab) == ["read compliance", "junction voltage"]
    compliance, junction = lab.monitor.violations
    assert compliance.value == 2.0 and compliance.limit == 0.5
    assert junction.value == pytest.approx(2.0) and "r3c0" in junction.detail


@pytest.mark.unsafe_lab("monitor test: the input source jumps 0 -> 50 mA in one command")
def test_a_jump_of_the_input_source_breaks_its_ramp(lab):
    smu = Keithley2400(EmulatorAdapter(make_emulator(lab, "input_source", "Keithley2400")))
    smu.source_mode = "current"
    smu.compliance_voltage = 10.0
    smu.enable_source()
    smu.source_current = 0.05
    assert "input ramp" in invariants(lab)
    ramp = lab.monitor.violations[invariants(lab).index("input ramp")]
    assert ramp.value == pytest.approx(0.05) and ramp.limit == pytest.approx(LARGEST_INPUT_STEP_A * (1 + RAMP_MARGIN))
    assert "0 -> 0.05 A" in ramp.detail
    assert ramp.instrument == "input_source" and "SOUR" in ramp.command.upper()


@pytest.mark.unsafe_lab("monitor test: the coil set-point stepped by 0.99 A from 0 A")
def test_a_coil_step_breaks_its_ramp(lab):
    lab.set_coil(0.99, True)
    assert invariants(lab) == ["coil ramp"]
    assert lab.monitor.violations[0].value == pytest.approx(0.99)


@pytest.mark.unsafe_lab("monitor test: two ramp steps at once, and a ramp faster than the rate")
def test_steps_too_close_together_break_the_ramp(lab):
    step = LARGEST_INPUT_STEP_A
    lab.set_input_source(output_on=True)
    lab.set_input_source(level_a=step)
    lab.set_input_source(level_a=0.0)  # stepped back at once: never beyond one step
    assert invariants(lab) == []
    lab.set_input_source(level_a=step)
    lab.set_input_source(level_a=2 * step)  # no wait: two steps within one step's time
    assert invariants(lab) == ["input ramp"]
    lab.clock.sleep(1.0)
    rate = lab.bench.limits.max_input_ramp_a_per_s
    for k in range(1, 20):  # 1 mA steps down at twice the input line's rate: caught once the band is used up
        lab.set_input_source(level_a=2 * step - k * 1e-3)
        lab.clock.sleep(0.5e-3 / rate)
    assert invariants(lab).count("input ramp") > 1


@pytest.mark.unsafe_lab("monitor test: relays moved with each line carrying current")
@pytest.mark.parametrize("line", ["read", "input", "sine"])
def test_a_relay_moved_under_current(lab, line):
    if line == "read":
        read_on(lab)
    elif line == "input":
        ramp_input(lab, 1e-3)
    else:
        lab.set_sine(0.14)
    lab.close_relay(1, 1)
    lab.open_relay(1, 1)
    lab.close_relay(1, 1)
    lab.open_all_relays()
    assert invariants(lab) == ["relay moved under current"] * 4
    assert all(f"{line}" in v.detail and "r1c1" in v.detail for v in lab.monitor.violations)
    assert {v.instrument for v in lab.monitor.violations} == {"switch"}


def test_relays_move_freely_at_zero_with_the_sine_at_its_minimum(lab):
    read_on(lab, 0.0)  # on, at zero: nothing flows
    lab.set_sine(0.004)
    lab.close_relay(0, 0)
    lab.open_relay(0, 0)
    lab.close_relay(2, 3)
    lab.open_all_relays()
    lab.open_all_relays()  # nothing moves
    lab.monitor.assert_clean()


@pytest.mark.unsafe_lab("monitor test: the coil supply switched off at 0.5 A")
def test_the_coil_switched_off_under_current(lab):
    ramp_coil(lab, 0.5)
    lab.clock.sleep(1.0)
    lab.set_coil(0.5, False)
    assert invariants(lab) == ["coil switched off under current", "coil ramp"]
    off = lab.monitor.violations[0]
    assert off.value == pytest.approx(0.5) and off.limit == COIL_OFF_THRESHOLD_A


def test_the_coil_switched_off_once_decayed(lab):
    ramp_coil(lab, 0.5)
    ramp_coil(lab, 0.0)
    lab.clock.sleep(10 * lab.coil_tau_s)
    lab.set_coil(0.0, False)
    lab.monitor.assert_clean()


@pytest.mark.unsafe_lab("monitor test: the coil switched off 25 ms after its ramp down, 13 mA still flowing")
def test_the_coil_switched_off_before_it_decayed(lab):
    ramp_coil(lab, 0.5)
    ramp_coil(lab, 0.0)
    lab.clock.sleep(lab.coil_tau_s)
    lab.set_coil(0.0, False)
    assert invariants(lab) == ["coil switched off under current"]


# ------------------------------------------------------------------- records
@pytest.mark.unsafe_lab("monitor test: a violation at a known lab time")
def test_a_violation_carries_the_lab_time_and_the_command(lab):
    lab.clock.sleep(12.5)
    smu = Keithley2400(EmulatorAdapter(make_emulator(lab, "read_source", "Keithley2400")))
    smu.source_mode = "current"
    smu.compliance_voltage = 0.5
    t_before = lab.clock.now_s()
    smu.source_current = 5e-4
    smu.enable_source()
    (violation,) = lab.monitor.violations
    assert violation.invariant == "read current"
    assert 12.5 < t_before < violation.time_s <= lab.clock.now_s()
    assert violation.command is not None and "Keithley2400Emulator" in violation.command
    assert "lab time" in str(violation) and "read current" in str(violation)
    with pytest.raises(AssertionError, match="read current"):
        safety_monitor.assert_no_violations(lab)


@pytest.mark.unsafe_lab("monitor test: a lab's violations outlive the lab")
def test_the_registry_keeps_what_a_collected_lab_recorded():
    safety_monitor.take_new_violations()
    lab = VirtualLab(load_default_bench())
    assert lab in safety_monitor.registered_labs()
    lab.set_sine(2.0)
    del lab
    gc.collect()
    taken = safety_monitor.take_new_violations()
    assert [v.invariant for v in taken] == ["modulation"]
    assert safety_monitor.take_new_violations() == []  # each violation is taken once


# ------------------------------------------------------------ the Bench passes
@pytest.fixture
def bench():
    from mtjlab.instruments.bench import Bench

    with Bench(load_default_bench()) as bench:
        yield bench


def test_legitimate_bench_operations_pass_with_margin(bench):
    lab, limits = bench.lab, bench.limits
    bench.route("r0c0")  # routing at zero
    bench.set_read_current(limits.max_read_current_a)
    bench.set_input_current(limits.max_input_current_a - bench.settings.modulation_peak_a)
    bench.set_input_current(-0.01)
    bench.set_input_current(0.0)
    bench.set_read_current(1e-4)
    bench.set_modulation(2e-4)
    bench.set_input_current(0.015)
    bench.read_point()
    bench.set_input_current(0.0)
    bench.set_modulation(lab.monitor.sine_minimum_v_rms * math.sqrt(2) / limits.modulation_resistor_ohm)
    bench.route("r2c3")
    for field_oe in (limits.max_field_oe, -limits.max_field_oe, 20.0, 0.0):
        bench.set_field(field_oe)
    bench.set_field(limits.max_field_oe / 2)
    bench.set_input_current(0.005)
    bench.shutdown()  # from everything on
    assert lab.everything_safe()
    lab.monitor.assert_clean()
    # A step on schedule uses 1 / (1 + RAMP_MARGIN) = 0.8 of the allowance; steps landing a
    # little early (bus time) may take a little more, but every one leaves a tenth to spare.
    assert 1.0 / (1.0 + RAMP_MARGIN) == pytest.approx(0.8)
    for band in (lab.monitor.read_ramp, lab.monitor.input_ramp, lab.monitor.coil_ramp):
        assert 0 < band.worst_use <= 0.9


def test_the_fixture_fails_a_test_that_leaves_a_violation(pytester):
    """The autouse fixture of tests/conftest.py, run on a lab that breaks a limit."""
    from pathlib import Path

    pytester.makeconftest((Path(__file__).parents[2] / "conftest.py").read_text())
    pytester.makeini(textwrap.dedent("""
        [pytest]
        markers =
            unsafe_lab(reason): on purpose
    """))
    pytester.makepyfile(textwrap.dedent("""
        import pytest
        from mtjlab.config import load_default_bench
        from mtjlab.instruments.sim.lab import VirtualLab

        def test_breaks():
            VirtualLab(load_default_bench()).set_coil(0.99, True)

        @pytest.mark.unsafe_lab("on purpose")
        def test_breaks_on_purpose():
            VirtualLab(load_default_bench()).set_coil(0.99, True)

        def test_safe():
            VirtualLab(load_default_bench()).set_sine(0.004)
    """))
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*coil ramp: 0.99 A beyond 0.125 A*"])
