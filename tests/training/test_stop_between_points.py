"""A stop ends a measurement before its next point: in the calibration, in a step, in a validation pass.

On a real bench a point takes about a second and a layer's batch minutes, so a
stop that waited for the step (or the whole calibration sweep, 33 points per
device) would keep a physicist waiting with the outputs on.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mtjlab.cli import main as cli_main
from mtjlab.config import TrainingConfig, load_default_bench
from mtjlab.errors import StopRequested
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray
from mtjlab.training.neurons import CALIBRATION_POINTS
from mtjlab.training.session import run_training
from mtjlab.training.trainer import TrainingStopped

TINY = dict(folds=2, epochs=2, hidden=[2], train_samples=40, seed=1)


def point_by_point():
    """The packaged bench measured point by point with the wiring's lock-in settings: a stop acts
    between points (hardware-timed, between lists: see the last test)."""
    config = load_default_bench()
    measurement = config.measurement.model_copy(update={"acquisition": "stepped", "lockin_settings": "bench"})
    return config.model_copy(update={"measurement": measurement})


class Points:
    """Counts the points every BenchNeuronArray measures; sets ``stop`` as point number ``stop_at`` is measured."""

    def __init__(self, monkeypatch, stop: threading.Event, stop_at: int | None = None) -> None:
        self.count, self.stop_at = 0, stop_at
        original = BenchNeuronArray.measure_point

        def measure_point(array, *args, **kwargs):
            self.count += 1
            if self.count == self.stop_at:
                stop.set()
            return original(array, *args, **kwargs)

        monkeypatch.setattr(BenchNeuronArray, "measure_point", measure_point)


def test_an_array_stops_before_its_next_point_and_not_as_a_fault(monkeypatch):
    stop = threading.Event()
    points = Points(monkeypatch, stop, 3)
    with Bench.open(point_by_point()) as bench:
        array = BenchNeuronArray(bench)
        array.stop = stop
        device = array.device_ids[0]
        with pytest.raises(StopRequested, match=device):
            array.measure([device], np.linspace(-1e-3, 1e-3, 20)[None, :])
        assert points.count == 3  # the point in flight finished; no further point was started
    assert bench.lab.everything_safe()


def test_a_stop_during_the_calibration_ends_it_and_makes_no_run_directory(tmp_path, monkeypatch):
    stop = threading.Event()
    points = Points(monkeypatch, stop, 5)
    with Bench.open(point_by_point()) as bench, pytest.raises(TrainingStopped, match="calibration"):
        run_training(TrainingConfig(**TINY), runs_parent=tmp_path / "runs", stop=stop, bench=bench)
    assert points.count == 5 < CALIBRATION_POINTS
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_stop_in_the_middle_of_a_step_stops_the_run_resumably(tmp_path, monkeypatch):
    stop = threading.Event()
    points = Points(monkeypatch, stop)
    calibration = []

    def arm(_trainer) -> None:  # the calibration is over: stop 3 points into the first training step
        calibration.append(points.count)
        points.stop_at = points.count + 3

    events = []
    with Bench.open(point_by_point()) as bench, pytest.raises(TrainingStopped, match="resume with"):
        run_training(TrainingConfig(**TINY), out=tmp_path / "run", stop=stop, on_trainer=arm,
                     on_event=lambda e: events.append(e.kind), bench=bench)
    assert calibration[0] >= CALIBRATION_POINTS and points.count == calibration[0] + 3
    assert "step" not in events and events[-1] == "stopped"  # the first step never completed
    monkeypatch.undo()
    assert cli_main(["train", "--resume", str(tmp_path / "run"), "--no-progress"]) == 0
    assert (tmp_path / "run" / "summary.json").exists()


def test_hardware_timed_a_stop_acts_before_the_next_list(monkeypatch):
    """A list runs in the instruments on its own (a batch, under a second); the stop comes before the next."""
    stop = threading.Event()
    lists = []
    original = Bench.measure_list

    def measure_list(bench, *args, **kwargs):
        lists.append(len(args[0]))
        if len(lists) == 1:
            stop.set()  # asked while the first list runs
        return original(bench, *args, **kwargs)

    monkeypatch.setattr(Bench, "measure_list", measure_list)
    with Bench.open(load_default_bench()) as bench:
        assert bench.acquisition().hardware_timed
        array = BenchNeuronArray(bench)
        array.stop = stop
        devices = array.device_ids[:2]
        with pytest.raises(StopRequested, match=devices[1]):
            array.measure(list(devices), np.tile(np.linspace(-1e-3, 1e-3, 8), (2, 1)))
        assert lists == [8]  # the first device's list finished; the second never started
    assert bench.lab.everything_safe()
