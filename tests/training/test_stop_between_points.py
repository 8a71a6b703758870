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
    with Bench.open(load_default_bench()) as bench:
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
    with pytest.raises(TrainingStopped, match="calibration"):
        run_training(TrainingConfig(**TINY), runs_parent=tmp_path / "runs", stop=stop)
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
    with pytest.raises(TrainingStopped, match="resume with"):
        run_training(TrainingConfig(**TINY), out=tmp_path / "run", stop=stop, on_trainer=arm,
                     on_event=lambda e: events.append(e.kind))
    assert calibration[0] >= CALIBRATION_POINTS and points.count == calibration[0] + 3
    assert "step" not in events and events[-1] == "stopped"  # the first step never completed
    monkeypatch.undo()
    assert cli_main(["train", "--resume", str(tmp_path / "run"), "--no-progress"]) == 0
    assert (tmp_path / "run" / "summary.json").exists()
