"""The Bench's promises where they broke on main: interrupted exchanges, faults during
the ramp-down, values the instruments round, stale settings, a lying gaussmeter, and
public attributes that moved outputs past every check.

Each is judged in the virtual lab, which sees what the instruments really do.
"""

from __future__ import annotations

import pytest

from mtjlab.errors import InstrumentError, SafetyLimitError
from mtjlab.instruments.adapters.field import GaussmeterDisagreement
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.sim.faults import Faults


@pytest.fixture
def faulty(sim_config):
    bench = Bench(sim_config)
    faults = Faults.attach(bench.lab)
    bench.connect()
    yield bench, faults
    bench.shutdown(raise_errors=False)


def _busy(bench: Bench) -> None:
    bench.route("r0c1")
    bench.set_read_current(1e-4)
    bench.set_input_current(3e-3)
    bench.set_field(40.0)


# ------------------------------------------------------------ stale replies
@pytest.mark.parametrize("kind", ["interrupt_after", "sigterm_after"])
def test_a_query_cut_between_write_and_read_does_not_poison_the_shutdown(faulty, kind):
    """The read source's level query is interrupted after its write: its reply stays
    pending. Without a device clear, the shutdown would read it as the answer to the
    next question (e.g. the output state) and leave the source on."""
    bench, faults = faulty
    _busy(bench)
    level_query = faults.operations + 1  # the next operation: the write of the level query
    faults.at_operation(level_query - faults.operations, kind)
    with pytest.raises(BaseException):
        bench.unsafe_instruments().read_source.level  # noqa: B018 - a query, cut short
    assert bench.lab.read.output_on  # still driving
    bench.shutdown()
    assert bench.lab.everything_safe()


def test_a_reply_left_pending_is_discarded_before_the_next_request(faulty):
    bench, faults = faulty
    _busy(bench)
    faults.at_operation(1, "interrupt_after")
    with pytest.raises(KeyboardInterrupt):
        bench.read_field_oe()  # the gaussmeter's reply is left pending
    bench.set_field(-30.0)  # must not take that stale reading for its own
    assert bench.lab.field_oe() == pytest.approx(-30.0, abs=0.2)


# ------------------------------------------------ the coil is never cut off
@pytest.mark.parametrize("fault", ["timeout", "garble"])
def test_a_supply_fault_during_the_ramp_down_never_switches_the_coil_off_under_current(faulty, fault):
    bench, faults = faulty
    bench.set_field(150.0)
    getattr(faults, fault)("field_supply", after=4, count=100)  # it stops answering mid ramp-down
    with pytest.raises(InstrumentError, match="could not make safe: field"):
        bench.shutdown()
    lab = bench.lab
    # the supply still holds the coil (its output on), wherever the ramp had got to: no spike
    assert lab.coil.output_on
    faults._scheduled.clear()  # the supply answers again: a second shutdown finishes the job
    bench._safe = False
    bench.shutdown()
    assert lab.everything_safe()


def test_a_supply_fault_that_clears_within_the_retries_still_ends_safe(faulty):
    bench, faults = faulty
    bench.set_field(150.0)
    faults.timeout("field_supply", after=4, count=4)  # more than the driver's own retries
    bench.shutdown()
    assert bench.lab.everything_safe()


# ------------------------------------------------ what the instruments apply
def test_the_sr830s_rounded_sine_is_checked_not_the_requested_one(faulty):
    """19.99 mA on the row, then 9.9 uA peak (7.0 mV rms): within the limit as asked, but the
    SR830 puts out 8 mV rms (2 mV steps), 11.3 uA peak: 20.0013 mA on a 20 mA row."""
    bench, _ = faulty
    limits = bench.limits
    peak_a = 9.9e-6
    bench.route("r0c1")
    bench.set_modulation(limits.modulation_peak_a(0.004))
    bench.set_input_current(limits.max_input_current_a - 10e-6)
    assert bench.lab.input.level_a + peak_a <= limits.max_input_current_a  # the request is within
    with pytest.raises(SafetyLimitError, match="input current plus modulation peak"):
        bench.set_modulation(peak_a)
    lab = bench.lab
    assert abs(lab.input.level_a) + lab.modulation_peak_a() <= limits.max_input_current_a


def test_a_sine_limit_between_the_sr830s_steps_is_respected(sim_config):
    config = sim_config.model_copy(update={"limits": sim_config.limits.model_copy(
        update={"max_modulation_v_rms": 0.0995})})
    with Bench(config) as bench:
        bench.route("r0c1")
        with pytest.raises(SafetyLimitError, match="max_modulation_v_rms"):
            bench.set_modulation(bench.limits.modulation_peak_a(0.0995))  # sent as 0.100 V rms
        assert bench.lab.lockin.sine_v_rms <= 0.0995
        bench.set_modulation(bench.limits.modulation_peak_a(0.098))  # on the grid: goes through
        assert bench.lab.lockin.sine_v_rms == pytest.approx(0.098)
        assert bench.settings.modulation_peak_a == pytest.approx(bench.limits.modulation_peak_a(0.098))


def test_a_compliance_limit_is_never_rounded_up_by_the_number_format(sim_config):
    config = sim_config.model_copy(update={"limits": sim_config.limits.model_copy(
        update={"max_bias_v": 0.4999999})})
    with Bench(config) as bench:
        assert bench.lab.read.compliance_v <= 0.4999999
        assert bench.lab.read.compliance_v == pytest.approx(0.4999999, abs=2e-6)


def test_a_level_is_never_rounded_up_past_the_limit(faulty):
    bench, _ = faulty
    bench.route("r0c1")
    limit = bench.limits.max_read_current_a
    bench.set_read_current(limit - 1e-13)  # %g would send the limit itself, or above for some limits
    assert bench.lab.read.level_a <= limit


def test_a_level_is_checked_on_the_source_range_resolution(faulty):
    """20 mA sits on the 100 mA range, programmed in 5 uA steps: the level the Keithley
    would round to is what counts, and the Bench sends one it keeps exactly."""
    bench, _ = faulty
    bench.route("r0c1")
    bench.set_modulation(bench.limits.modulation_peak_a(0.004))
    room_a = bench.limits.max_input_current_a - bench.settings.modulation_peak_a
    bench.set_input_current(room_a - 1e-7)  # the instrument's nearest step would be above the room
    assert bench.lab.input.level_a <= room_a
    assert bench.lab.input.level_a == pytest.approx(room_a - 1e-7, abs=5e-6)
    assert bench.settings.input_current_a == bench.lab.input.level_a


@pytest.mark.parametrize("value", [10**400, float("nan"), float("inf"), True, "1e-3"])
def test_levels_that_are_not_finite_numbers_are_refused_in_one_line(faulty, value):
    bench, _ = faulty
    with pytest.raises(SafetyLimitError, match="not a finite number"):
        bench.set_input_current(value)
    with pytest.raises(SafetyLimitError, match="not a finite number"):
        bench.set_field(value)


# ------------------------------------------------------------ stale settings
def test_an_interrupted_ramp_leaves_no_stale_setting_behind(faulty):
    """A Ctrl-C caught mid-ramp: the next request is checked against what the line
    really carries, not against the setting from before the ramp."""
    bench, faults = faulty
    bench.route("r0c1")
    limits = bench.limits
    faults.at_operation(6, "interrupt_before")
    with pytest.raises(KeyboardInterrupt):
        bench.set_input_current(limits.max_input_current_a - limits.modulation_peak_a(0.004))
    carried = bench.lab.input.level_a
    assert carried > 5e-3  # the ramp got somewhere
    with pytest.raises(SafetyLimitError):
        bench.set_modulation(limits.max_input_current_a - carried + 1e-4)
    assert abs(bench.lab.input.level_a) + bench.lab.modulation_peak_a() <= limits.max_input_current_a
    assert bench.settings.input_current_a == pytest.approx(carried)


def test_an_interrupted_ramp_does_not_let_a_relay_move_under_current(faulty):
    bench, faults = faulty
    bench.route("r0c1")
    faults.at_operation(5, "interrupt_before")
    with pytest.raises(KeyboardInterrupt):
        bench.set_input_current(15e-3)
    assert bench.lab.input.level_a > 1e-3
    moves = []
    original = bench.lab.close_relay
    bench.lab.close_relay = lambda r, c: (moves.append(bench.lab.input.driving_a), original(r, c))
    bench.route("r1c2")
    assert moves == [0.0]


# --------------------------------------------------------- lying gaussmeter
def _gaussmeter(bench: Bench):
    return bench._connector._emulators["gaussmeter"]


@pytest.mark.parametrize("lie", [{"zero_offset_oe": 60.0}, {"probe_gain": 0.5}, {"probe_gain": -1.0}])
def test_a_lying_gaussmeter_is_caught_against_the_coil_constant(faulty, lie):
    bench, _ = faulty
    for name, value in lie.items():
        setattr(_gaussmeter(bench), name, value)
    with pytest.raises(GaussmeterDisagreement, match="coil constant predicts"):
        bench.set_field(150.0)
    lab = bench.lab
    assert lab.maxima.coil_field_oe <= bench.limits.max_field_oe
    assert abs(lab.coil_current_a()) < 1e-3  # made safe: the coil ramped back to zero


def test_a_stale_gaussmeter_reply_is_caught(faulty):
    bench, faults = faulty
    bench.set_field(20.0)
    faults.stale("gaussmeter", count=50)  # every reading is the last one again
    with pytest.raises(GaussmeterDisagreement):
        bench.set_field(150.0)
    assert bench.lab.maxima.coil_field_oe <= bench.limits.max_field_oe


def test_a_small_probe_offset_is_corrected_but_never_past_the_field_limit(faulty):
    bench, _ = faulty
    _gaussmeter(bench).zero_offset_oe = 1.0  # within the agreement: the loop trusts the probe...
    bench.set_field(150.0)
    assert bench.lab.field_oe() == pytest.approx(151.0, abs=0.2)
    with pytest.raises(InstrumentError, match="beyond the limit"):  # ...but not past the limit
        bench.set_field(bench.limits.max_field_oe)
    assert bench.lab.maxima.coil_field_oe <= bench.limits.max_field_oe


# ------------------------------------------------------- no public bypass
@pytest.mark.parametrize("name", ["input_source", "read_source", "lockin", "field", "switch"])
def test_no_public_attribute_reaches_an_instrument(faulty, name):
    bench, _ = faulty
    assert not hasattr(bench, name)


def test_the_settings_handed_out_are_a_copy(faulty):
    bench, _ = faulty
    bench.route("r0c1")
    bench.settings.modulation_peak_a = 0.0  # changes a copy, not what the checks use
    assert bench.settings.modulation_peak_a > 0
    limits = bench.limits
    bench.set_input_current(limits.max_input_current_a - limits.modulation_peak_a(0.004))
    with pytest.raises(SafetyLimitError):
        bench.set_modulation(1e-4)  # the sine is still counted


def test_the_escape_hatch_is_named_and_the_bench_believes_the_instruments_after_it(faulty):
    bench, _ = faulty
    bench.route("r0c1")
    raw = bench.unsafe_instruments()
    raw.input_source.set_output(True)
    raw.input_source.ramp_to(5e-3, 0.01)
    assert bench.settings.input_current_a == 0.0  # the Bench did not see it...
    bench.set_read_current(1e-4)  # ...until its next request, which reads the truth back
    assert bench.settings.input_current_a == pytest.approx(5e-3)
    bench.shutdown()
    assert bench.lab.everything_safe()


def test_the_gaussmeter_agreement_comes_from_the_bench_file(sim_config):
    """A looser agreement in the bench file lets a 10 Oe probe offset through (the loop then
    trusts the probe), where the default refuses it."""
    wiring = sim_config.wiring.model_copy(update={"gaussmeter_agreement_oe": 20.0})
    with Bench(sim_config.model_copy(update={"wiring": wiring})) as bench:
        _gaussmeter(bench).zero_offset_oe = 10.0
        bench.set_field(100.0)
        assert bench.lab.field_oe() == pytest.approx(110.0, abs=0.2)
    with Bench(sim_config) as bench:
        _gaussmeter(bench).zero_offset_oe = 10.0
        with pytest.raises(GaussmeterDisagreement):
            bench.set_field(100.0)


def test_connecting_to_instruments_left_on_ramps_them_down_before_the_relays_move(faulty):
    """Instruments left on by an earlier session (here through the raw escape hatch): connecting
    again reads that back and ramps the sources down before opening the relays."""
    bench, _ = faulty
    bench.route("r0c1")
    raw = bench.unsafe_instruments()
    raw.input_source.set_output(True)
    raw.input_source.ramp_to(5e-3, 0.01)
    raw.read_source.set_output(True)
    raw.read_source.ramp_to(1e-4, 0.01)
    bench.connect()
    lab = bench.lab
    assert not lab.closed and lab.input.level_a == 0.0 and lab.read.level_a == 0.0
    assert bench.settings.routed is None
    assert not lab.monitor.violations
