"""Hardware-timed lists on the simulated bench: same points as stepped, checked whole, safe on a fault."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.errors import MtjlabError, SafetyLimitError
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray, MeasurementInterrupted
from mtjlab.instruments.bench_lifetime import INPUT_RAMP_STEP_A
from mtjlab.instruments.drivers.keithley2400_list import MAX_LIST_POINTS
from mtjlab.instruments.hardware_timed import ListCosts, acquisition_mode
from mtjlab.instruments.list_paths import list_chunks, list_path, list_points

INPUTS_A = np.linspace(-6e-3, 6e-3, 9)


def with_acquisition(config, acquisition: str):
    measurement = config.measurement.model_copy(update={"acquisition": acquisition})
    return config.model_copy(update={"measurement": measurement})


def test_the_packaged_bench_runs_lists_and_other_instruments_fall_back_with_the_reason(sim_config):
    with Bench(sim_config) as bench:
        assert bench.acquisition().hardware_timed
        assert bench.snapshot()["acquisition"]["mode"] == "hardware-timed"
    models = {"input_source": "Keithley2450", "read_source": "Keithley2400", "lockin": "SR830"}
    mode = acquisition_mode(models, "auto")
    assert mode.mode == "stepped" and "input_source (Keithley2450)" in mode.reason
    assert acquisition_mode({**models, "input_source": "Keithley2400", "lockin": "SR860"}, "auto").mode == "stepped"
    assert acquisition_mode({**models, "input_source": "Keithley2400", "lockin": "SR860"}, "auto",
                            lockin=False).hardware_timed
    assert "stepped" in acquisition_mode({**models, "input_source": "Keithley2400"}, "stepped").reason


def test_a_list_path_never_steps_more_than_one_ramp_step_and_returns_within_one():
    path, wanted = list_path([-9e-3, -2e-3, 0.0, 11e-3], INPUT_RAMP_STEP_A)
    steps = np.abs(np.diff(np.append(path, path[0])))  # the instrument returns to the first level
    assert np.all(steps <= INPUT_RAMP_STEP_A * (1 + 1e-9))
    np.testing.assert_allclose(path[wanted], [-9e-3, -2e-3, 0.0, 11e-3])
    single, index = list_path([1e-3], INPUT_RAMP_STEP_A)
    assert len(single) == 2 and list(index) == [0]


def measure(config, device="r0c1"):
    with Bench(config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        result = array.measure([device], INPUTS_A[None, :])
        elapsed = bench.clock.now_s()
    assert bench.lab.everything_safe() and not bench.lab.monitor.violations
    assert bench.lab.cable.disturbed == 0  # no step landed in a reading or before a lock-in sample
    return result, elapsed


def test_lists_give_the_points_stepped_measurement_gives(sim_config):
    listed, _ = measure(sim_config)
    stepped, _ = measure(with_acquisition(sim_config, "stepped"))
    np.testing.assert_allclose(listed.output_v, stepped.output_v, rtol=2e-3)
    peak = np.max(np.abs(stepped.exact_derivative_v_per_a))
    for result in (listed, stepped):
        error = np.abs(result.derivative_v_per_a - result.exact_derivative_v_per_a) / peak
        assert np.max(error) < 0.02


def test_a_level_beyond_the_limits_refuses_the_whole_list_before_anything_moves(sim_config):
    with Bench(sim_config) as bench:
        bench.route("r0c1")
        before = bench.lab.input.level_a
        with pytest.raises(SafetyLimitError):
            bench.measure_list([1e-3, 2e-3, 10 * sim_config.limits.max_input_current_a])
        assert bench.lab.input.level_a == before


def test_a_list_needs_a_routed_device(sim_config):
    with Bench(sim_config) as bench:
        with pytest.raises(MtjlabError, match="route a device"):
            bench.measure_list([1e-3, 2e-3])


@pytest.mark.unsafe_lab("fault test: the trigger cable fails in the middle of a list")
def test_a_fault_in_the_middle_of_a_list_keeps_the_points_before_it_and_leaves_the_bench_safe(sim_config):
    with Bench(sim_config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        lab = bench.lab
        pulses = [0]
        original = lab.pulse_trigger_line

        def failing(line):
            pulses[0] += 1
            if pulses[0] > 4:
                raise OSError("trigger link cable unplugged")
            original(line)

        lab.pulse_trigger_line = failing
        with pytest.raises(MeasurementInterrupted) as caught:
            array.measure(["r0c1"], INPUTS_A[None, :])
        partial = caught.value.partial
        kept = np.isfinite(partial.output_v[0])
        assert 1 <= kept.sum() <= 4  # what was measured before the fault, and nothing after it
        assert np.all(np.isfinite(partial.derivative_v_per_a[0][kept]))
        lab.pulse_trigger_line = original
    assert bench.lab.everything_safe()


def test_the_points_counted_for_a_list_are_those_its_path_visits():
    rng = np.random.default_rng(5)
    for _ in range(300):
        levels = rng.uniform(-0.02, 0.02, rng.integers(1, 40))
        if rng.random() < 0.5:
            levels = np.sort(levels)
        assert list_points(levels, INPUT_RAMP_STEP_A) == len(list_path(levels, INPUT_RAMP_STEP_A)[0])


def test_a_batch_is_cut_into_the_lists_the_bench_array_cuts_it_into(sim_config):
    with Bench(sim_config) as bench:
        array = BenchNeuronArray(bench)
        for inputs in (np.linspace(-0.019, 0.019, 150), np.linspace(-0.019, 0.019, 9), np.array([-0.019, 0.019]),
                       np.sort(np.random.default_rng(2).uniform(-0.019, 0.019, 120))):
            order = np.arange(inputs.size)
            expected = [list(c) for c in array._list_chunks(inputs, order)]
            assert [list(order[c]) for c in list_chunks(inputs, INPUT_RAMP_STEP_A, MAX_LIST_POINTS)] == expected


def test_the_cost_of_a_list_is_what_the_simulated_bench_clock_charges(sim_config):
    """One list on a routed device, input already at its first level: ListCosts against the virtual clock,
    the first list after the set-up (everything sent) and the next of the same length (nothing sent)."""
    levels = np.linspace(-4e-3, 4e-3, 9)
    wiring = sim_config.wiring
    costs = ListCosts(wiring.source_nplc / wiring.line_frequency_hz, sim_config.limits.max_input_ramp_a_per_s,
                      INPUT_RAMP_STEP_A)
    with Bench(sim_config) as bench:
        bench.route("r0c1")
        bench.set_read_current(sim_config.measurement.read_current_a)
        bench.set_input_current(levels[0])
        bench.read_point()  # a stepped reading first (the lock-in's full scale known, as after any)
        for _ in range(2):
            started = bench.clock.now_s()
            bench.measure_list(levels, settle_s=1.5e-3)
            charged = bench.clock.now_s() - started - 2 * 0.001  # less the list's own ramp (a level query)
            assert costs.list_s(levels, True, 1.5e-3) == pytest.approx(charged, rel=0.01)
