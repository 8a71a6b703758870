"""The adapters over the real pymeasure drivers, end to end on the virtual lab's emulators.

What is checked is the lab's physics (levels, fields, routing, lock-in
outputs), read from the lab itself, not the adapters' own bookkeeping.
"""

from __future__ import annotations

import math

import pytest
from adapter_helpers import emulated_driver

from mtjlab.instruments.adapters import ClosedLoopField, KeithleySourceMeter, MatrixSwitch, SRSLockIn
from mtjlab.instruments.interfaces import FieldSource, LockIn, SourceMeter, Switch

STEP_TIME_S = 0.01  # the source-meter adapter's default ramp step


def record(lab, setter: str, value):
    """Record (lab time, value()) after every call the emulators make to ``lab.<setter>``."""
    changes = []
    original = getattr(lab, setter)

    def wrapper(*args, **kwargs):
        original(*args, **kwargs)
        changes.append((lab.clock.now_s(), value()))

    setattr(lab, setter, wrapper)
    return changes


def source_meter(lab, role="read_source", model="Keithley2400"):
    return KeithleySourceMeter(emulated_driver(lab, role, model), lab.clock, name=role)


def assert_rate_bounded(start, changes, t_start, rate, max_step):
    """Every step at most ``max_step``; between any two moments the level moved at most one step beyond rate x time."""
    points = [(t_start, start)] + changes
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        assert abs(v1 - v0) <= max_step * (1 + 1e-6)
    for i, (t0, v0) in enumerate(points):
        for t1, v1 in points[i + 1:]:
            assert abs(v1 - v0) <= rate * (t1 - t0) + max_step * (1 + 1e-6)


# --------------------------------------------------------------------------- source-meters
@pytest.mark.parametrize("role, model, target_a", [
    ("read_source", "Keithley2400", 3e-4), ("input_source", "Keithley2450", -2e-3), ("read_source", "Keithley2450", 2e-4),
])
@pytest.mark.unsafe_lab("adapter on the emulator: a 10 V compliance on the read source, beyond max_bias_v")
def test_ramp_moves_the_lab_no_faster_than_the_rate(lab, role, model, target_a):
    source = source_meter(lab, role, model)
    assert isinstance(source, SourceMeter)
    state = lab.read if role == "read_source" else lab.input
    source.source_current(compliance_v=10.0)
    source.set_output(True)
    changes = record(lab, "set_read_source" if role == "read_source" else "set_input_source", lambda: state.level_a)
    rate = 0.01
    t_start = lab.clock.now_s()
    source.ramp_to(target_a, rate)
    assert state.level_a == pytest.approx(target_a) and state.output_on
    assert lab.clock.now_s() - t_start >= abs(target_a) / rate
    assert_rate_bounded(0.0, changes, t_start, rate, rate * STEP_TIME_S)
    source.shutdown(rate)
    assert state.level_a == 0.0 and not state.output_on


@pytest.mark.unsafe_lab("adapter on the emulator: a relay closed under 100 uA to show compliance on an open circuit")
@pytest.mark.parametrize("model", ["Keithley2400", "Keithley2450"])
def test_compliance_on_an_open_circuit_and_not_on_a_junction(lab, model):
    source = source_meter(lab, "read_source", model)
    source.source_current(compliance_v=0.5)
    source.set_nplc(1)
    source.set_output(True)
    source.ramp_to(1e-4, 0.01)
    source.measure_voltage_v()
    assert source.in_compliance()  # nothing routed: the current source meets an open circuit
    lab.close_relay(0, 0)
    voltage_v = source.measure_voltage_v()
    expected_v, lab_compliance = lab.read_voltage_v(noisy=False)
    assert not lab_compliance and not source.in_compliance()
    assert voltage_v == pytest.approx(expected_v, rel=1e-2)
    assert source.measure_current_a() == pytest.approx(1e-4)
    assert source.measure_voltage_v() == pytest.approx(expected_v, rel=1e-2)  # the 2450 back on voltage


def test_identity_is_the_instruments(lab):
    assert "MODEL 2400" in source_meter(lab).identity


# --------------------------------------------------------------------------- lock-in
def biased_junction(lab, lockin_model="SR830", sine_v=0.2):
    """Device (0, 0) routed, 0.2 mA read current, the sine modulating its row; the lock-in settled."""
    lab.close_relay(0, 0)
    read = source_meter(lab)
    read.source_current(compliance_v=0.5)
    read.set_output(True)
    read.ramp_to(2e-4, 0.01)
    lockin = SRSLockIn(emulated_driver(lab, "lockin", lockin_model), lab.clock, name="lockin")
    lockin.time_constant_s = 0.03
    lockin.slope_db_per_oct = 24
    lockin.modulation_amplitude_v = sine_v
    lab.clock.sleep(lockin.settle_time_s() * 3)
    return lockin


@pytest.mark.parametrize("model", ["SR830", "SR860"])
@pytest.mark.parametrize("start_full_scale_v", [1.0, 2e-9, 1e-4])
def test_auto_range_gives_the_smallest_full_scale_that_holds_the_signal(lab, model, start_full_scale_v):
    lockin = biased_junction(lab, model)
    assert isinstance(lockin, LockIn)
    lockin.set_sensitivity_v(start_full_scale_v)
    lockin.auto_range()
    full_scale = lockin.sensitivity_v
    x_v, y_v = lockin.read_xy_v()
    true_x, true_y = lab.lockin_xy_v_rms(noise=False)
    r_v = math.hypot(true_x, true_y)
    assert r_v > 1e-4  # a real signal, far from both the start ranges
    assert max(abs(x_v), abs(y_v)) <= full_scale  # in range
    smaller = [s for s in lockin.sensitivities_v if s < full_scale]
    assert smaller and smaller[-1] < 1.25 * r_v  # the next smaller full scale would leave no margin
    assert x_v == pytest.approx(true_x, rel=0.02)


@pytest.mark.parametrize("model", ["SR830", "SR860"])
def test_overloaded_reading_is_re_read_in_range(lab, model):
    lockin = biased_junction(lab, model)
    true_x, true_y = lab.lockin_xy_v_rms(noise=False)
    lockin.set_sensitivity_v(abs(true_x) / 20)  # far too sensitive: the outputs saturate
    t_start = lab.clock.now_s()
    x_v, y_v = lockin.read_xy_v()
    assert x_v == pytest.approx(true_x, rel=0.02)  # the true value, not the saturated one
    assert max(abs(x_v), abs(y_v)) <= lockin.sensitivity_v
    assert lab.clock.now_s() - t_start >= lockin.settle_time_s()  # waited after changing the range
    r_v, theta_deg = lockin.read_r_theta()
    assert r_v == pytest.approx(math.hypot(true_x, true_y), rel=0.02)
    assert abs(abs(theta_deg) - 180.0 * (true_x < 0)) < 5.0


def test_lockin_shutdown_leaves_the_smallest_sine(lab):
    lockin = biased_junction(lab, "SR830", sine_v=0.5)
    assert lab.lockin.sine_v_rms == pytest.approx(0.5)
    lockin.shutdown()
    assert lab.lockin.sine_v_rms == pytest.approx(0.004)
    assert lockin.identity.startswith("Stanford_Research_Systems,SR830")


# --------------------------------------------------------------------------- field
def closed_loop(lab, **kwargs):
    wiring, limits = lab.bench.wiring, lab.bench.limits
    options = dict(coil_oe_per_a=wiring.coil_oe_per_a, remanence_oe=wiring.coil_remanence_oe,
                   ramp_rate_oe_per_s=limits.max_field_ramp_oe_per_s, max_current_a=limits.max_coil_current_a)
    options.update(kwargs)
    return ClosedLoopField(emulated_driver(lab, "field_supply", "KepcoBOP"),
                           emulated_driver(lab, "gaussmeter", "LakeShore425"), lab.clock, **options)


def test_closed_loop_reaches_the_field_despite_remanence_and_lag(lab):
    field = closed_loop(lab)
    assert isinstance(field, FieldSource)
    tolerance = field.tolerance_oe
    # what makes the loop necessary: remanence beyond the tolerance, and a coil lagging its set-point
    assert lab.wiring.coil_remanence_oe > tolerance
    assert field.ramp_rate_oe_per_s * lab.coil_tau_s > tolerance
    for target in (25.0, -40.0, 25.0, 150.0, 0.8, -0.6):
        field.set_field_oe(target)
        assert abs(lab.field_oe() - target) <= tolerance, f"{target} Oe right after set_field_oe"
        lab.clock.sleep(1.0)  # the coil fully settled: the loop did not stop on a passing value
        assert abs(lab.field_oe() - target) <= tolerance, f"{target} Oe once settled"
        assert abs(field.read_field_oe() - target) <= tolerance + 0.05


def test_field_ramps_no_faster_than_its_rate(lab):
    field = closed_loop(lab)
    k = lab.wiring.coil_oe_per_a
    field.set_field_oe(10.0)
    changes = record(lab, "set_coil", lambda: lab.coil.setpoint_a * k)
    start_oe, t_start = lab.coil.setpoint_a * k, lab.clock.now_s()
    field.set_field_oe(-30.0)
    rate = field.ramp_rate_oe_per_s
    assert lab.clock.now_s() - t_start >= 40.0 / rate
    assert_rate_bounded(start_oe, changes, t_start, rate, rate * STEP_TIME_S)
    assert lab.maxima.coil_current_a <= lab.bench.limits.max_coil_current_a


def test_field_inside_the_remanence_band_is_the_nearest_the_coil_holds(lab):
    field = closed_loop(lab)
    field.set_field_oe(20.0)
    field.set_field_oe(-0.2)  # not reachable: the coil holds -remanence at zero current
    assert lab.coil.setpoint_a == 0.0
    assert lab.field_oe() == pytest.approx(-lab.wiring.coil_remanence_oe, abs=0.01)


def test_beyond_the_current_limit_nothing_moves(lab):
    field = closed_loop(lab, max_current_a=0.5)
    with pytest.raises(ValueError):
        field.set_field_oe(100.0)
    assert not lab.coil.output_on and lab.coil.setpoint_a == 0.0


def test_zero_ramps_the_coil_down_and_turns_it_off(lab):
    field = closed_loop(lab)
    field.set_field_oe(60.0)
    t_start = lab.clock.now_s()
    field.zero()
    assert lab.clock.now_s() - t_start >= 60.0 / field.ramp_rate_oe_per_s
    assert not lab.coil.output_on
    assert abs(lab.coil.start_a) < 1e-3  # the coil had decayed with the supply in control before it went off
    assert field.supply_identity.startswith("KEPCO") and "MODEL425" in field.gaussmeter_identity


# --------------------------------------------------------------------------- switch
def test_switch_routes_the_lab(lab):
    switch = MatrixSwitch(emulated_driver(lab, "switch", "Keithley707B"), lab.clock,
                          rows=lab.chip.rows, cols=lab.chip.cols, settle_s=lab.wiring.relay_settle_s)
    assert isinstance(switch, Switch)
    switch.connect(2, 3)
    assert lab.routed_device == (2, 3) and switch.verify() == (2, 3)
    switch.connect(0, 1)
    assert lab.closed == {(0, 1)} and lab.routed_device == (0, 1)
    switch.open_all()
    assert lab.routed_device is None and not lab.closed and switch.verify() is None
