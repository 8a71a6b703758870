"""Injected faults on the simulated bench: bounded retries, clear errors, data kept, safe exit."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mtjlab.errors import InstrumentError
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray, MeasurementInterrupted
from mtjlab.instruments.sim.faults import Faults

INPUTS = np.linspace(-3e-3, 3e-3, 4)


@pytest.fixture
def faulty(sim_config):
    """A connected bench with a fault schedule, made ready to measure, point by point (faults are
    scheduled by bus operation; test_hardware_timed.py has the faults in the middle of a list)."""
    measurement = sim_config.measurement.model_copy(update={"acquisition": "stepped"})
    bench = Bench(sim_config.model_copy(update={"measurement": measurement}))
    faults = Faults.attach(bench.lab)
    bench.connect()
    array = BenchNeuronArray(bench)
    array.prepare()
    yield bench, array, faults
    bench.shutdown(raise_errors=False)


def test_one_timeout_is_retried_and_the_point_still_comes_back(faulty, caplog):
    bench, array, faults = faulty
    clean = array.measure(["r0c1"], [INPUTS])
    faults.timeout("lockin", after=3)
    with caplog.at_level(logging.WARNING):
        again = array.measure(["r0c1"], [INPUTS])
    assert "lockin: no reply" in caplog.text and "retrying" in caplog.text
    np.testing.assert_allclose(again.derivative_v_per_a, clean.derivative_v_per_a, rtol=0.02)
    assert not faults._scheduled  # the fault fired


@pytest.mark.parametrize("fault, message", [("timeout", "lockin: no reply"), ("garble", "lockin: garbled reply")])
def test_persistent_faults_stop_the_run_clearly_and_safely(faulty, fault, message):
    bench, array, faults = faulty
    getattr(faults, fault)("lockin", after=2, count=10)
    with pytest.raises(MeasurementInterrupted) as info:
        with bench:
            array.measure(["r0c1", "r2c3"], [INPUTS, INPUTS])
    assert message in info.value.one_line() and "after 3 tries" in info.value.one_line()
    assert bench.lab.everything_safe()


def test_a_garbled_reply_is_detected_and_read_again(faulty, caplog):
    bench, array, faults = faulty
    faults.garble("read_source", after=1)
    with caplog.at_level(logging.WARNING):
        result = array.measure(["r0c1"], [INPUTS])
    assert "read_source: garbled reply" in caplog.text
    assert np.all(np.isfinite(result.output_v)) and np.all((0.05 < result.output_v) & (result.output_v < 0.5))


def test_a_dropped_connection_stops_the_run_keeping_the_data_and_leaves_it_safe(faulty):
    bench, array, faults = faulty
    faults.drop_connection("lockin", after=6)
    with pytest.raises(MeasurementInterrupted) as info:
        with bench:
            array.measure(["r0c1", "r2c3"], [INPUTS, INPUTS])
    assert "lockin: connection lost" in info.value.one_line()
    partial = info.value.partial
    measured = np.isfinite(partial.derivative_v_per_a)
    assert 0 < measured.sum() < measured.size  # what was measured is kept, the rest is NaN
    assert bench.lab.everything_safe()  # the lock-in was reconnected to bring its sine down
    assert bench.lab.lockin.sine_v_rms == pytest.approx(0.004)


def test_a_compliance_trip_reports_the_junction_dead_and_ends_safe(faulty):
    bench, array, faults = faulty
    faults.compliance_trip("read_source", after=0)
    with bench:
        result = array.measure(["r0c1"], [INPUTS])
    assert result.dead.tolist() == [True] and np.all(np.isnan(result.output_v))
    assert bench.lab.everything_safe()


def test_a_junction_that_dies_mid_run_is_reported_dead_and_the_rest_measured(faulty):
    bench, array, faults = faulty
    faults.kill_device("r0c1", "open", after=5)
    with bench:
        result = array.measure(["r0c1", "r2c3"], [INPUTS, INPUTS])
    assert result.dead.tolist() == [True, False]
    assert np.all(np.isfinite(result.output_v[1]))
    assert "r0c1" in array.dead_ids
    assert bench.lab.everything_safe()


def test_a_drifting_junction_drifts_with_lab_time(faulty):
    bench, array, faults = faulty
    start = bench.lab.chip.devices.offset_field_oe[1]
    faults.drift("r0c1", "offset_field_oe", per_s=0.5, step_s=1.0)
    t0 = bench.clock.now_s()
    first = array.measure(["r0c1"], [INPUTS])
    bench.clock.sleep(20.0)
    later = array.measure(["r0c1"], [INPUTS])
    elapsed_steps = int(bench.clock.now_s() - t0)
    assert bench.lab.chip.devices.offset_field_oe[1] == pytest.approx(start + 0.5 * elapsed_steps, abs=0.5)
    assert np.max(np.abs(later.output_v - first.output_v)) > 1e-3  # 10 Oe of drift shows


def test_shutdown_reports_what_it_could_not_make_safe(sim_config):
    bench = Bench(sim_config)
    faults = Faults.attach(bench.lab)
    bench.connect()
    bench.route("r0c1")
    bench.set_read_current(1e-4)
    faults.timeout("read_source", count=100)  # it will never answer again
    with pytest.raises(InstrumentError, match="could not make safe: read_source") as caught:
        bench.shutdown()
    assert not bench.lab.input.output_on and not bench.lab.coil.output_on  # the others were still made safe
    # the read source may still drive its junction: its relay is not opened under that current
    assert bench.lab.closed == {(0, 1)} and "relays left closed" in str(caught.value)
