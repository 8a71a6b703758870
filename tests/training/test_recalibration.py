"""recalibrate_every: the calibration is measured again during training and tracks a drifting chip."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mtjlab.config import TrainingConfig
from mtjlab.errors import DataFileError
from mtjlab.training.neurons import CALIBRATION_POINTS
from mtjlab.training.records import RunRecord
from mtjlab.training.session import resume_training, run_training
from mtjlab.training.trainer import TrainingStopped

from fake_chip import MA, FakeArray, sigmoid

DRIFT_A = 0.03 * MA  # working point drift per measure() call
CONFIG = dict(bench="model", folds=2, epochs=4, hidden=[3], seed=4, recalibrate_every=2, log_measurements=False)


def drifting_chip() -> FakeArray:
    """Sigmoids whose centre moves by DRIFT_A at every measure() call (the count is part of the array's state)."""
    def device(offset_a):
        return lambda current_a, field_oe, calls: sigmoid(offset_a + DRIFT_A * calls, 2 * MA)(current_a)
    return FakeArray({f"r0c{j}": device((j - 2) * 0.4 * MA) for j in range(4)})


def rows_of(run_dir):
    with open(run_dir / "recalibrations.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def test_recalibrations_happen_at_the_right_epochs_and_track_the_drift(tmp_path, patched_array):
    array = patched_array(drifting_chip())
    events = []
    result = run_training(TrainingConfig(**CONFIG), out=tmp_path / "run", on_event=events.append)
    rows = rows_of(result.directory)
    # after epochs 2 and 4 of fold 1 and epoch 2 of fold 2; not after the run's last epoch
    assert sorted({(int(r["fold"]), int(r["epoch"])) for r in rows}) == [(1, 2), (1, 4), (2, 2)]
    assert result.summary["recalibrations"] == 3
    assert [(e.fold, e.epoch) for e in events if e.kind == "recalibrated"] == [(0, 1), (0, 3), (1, 1)]
    in_use = sorted(set(result.summary["neurons"][0]))
    assert sorted(r["device"] for r in rows if r["epoch"] == "2" and r["fold"] == "1") == in_use
    # each recalibration's working point is where the drift had moved the centre when it swept (closed form)
    sweeps = [n for n, columns in enumerate(array.columns) if columns == CALIBRATION_POINTS]
    assert len(sweeps) == 1 + 3
    for calls, key in zip(sweeps[1:], [("1", "2"), ("1", "4"), ("2", "2")]):
        for r in (r for r in rows if (r["fold"], r["epoch"]) == key):
            centre = (int(r["device"][-1]) - 2) * 0.4 * MA + DRIFT_A * calls
            assert float(r["input_offset_a"]) == pytest.approx(centre, abs=0.01 * MA)
            assert float(r["input_per_unit_a"]) == pytest.approx(2 * MA, rel=0.01) and r["shape"] == "sigmoid"
    assert (result.directory / "calibrations" / "fold1-epoch002.npz").exists()
    # the sweeps' measurements and lab time are in the tally and in their epochs' rows
    metrics = list(csv.DictReader((result.directory / "metrics.csv").open()))
    first_sweep = 4 * CALIBRATION_POINTS
    assert result.summary["measurements"] == first_sweep + sum(int(m["measurements"]) for m in metrics)
    assert int(metrics[1]["measurements"]) == int(metrics[0]["measurements"]) + 3 * CALIBRATION_POINTS


def stop_in_epoch_3(trainer):
    trainer.subscribe(lambda event: trainer.request_stop() if event.kind == "step" and event.epoch == 2 else None)


def test_a_resumed_run_uses_the_newest_calibration(tmp_path, patched_array):
    patched_array(drifting_chip())
    whole = run_training(TrainingConfig(**CONFIG), out=tmp_path / "whole")
    patched_array(drifting_chip())
    with pytest.raises(TrainingStopped):
        run_training(TrainingConfig(**CONFIG), out=tmp_path / "stopped", on_trainer=stop_in_epoch_3)
    run = tmp_path / "stopped"
    assert {(r["fold"], r["epoch"]) for r in rows_of(run)} == {("1", "2")}
    started = []
    patched_array(drifting_chip())
    resumed = resume_training(run, on_trainer=lambda t: started.append(
        [c.input_offset_a for c in t.method.neurons.calibrations[0]]))
    saved = {r["device"]: float(r["input_offset_a"]) for r in rows_of(whole.directory) if (r["fold"], r["epoch"]) == ("1", "2")}
    assert started[0] == [saved[d] for d in resumed.summary["neurons"][0]]  # not the first calibration's
    a, b = (RunRecord(r.directory).latest_checkpoint() for r in (whole, resumed))
    for key in (k for k in a if k.startswith(("network.", "baseline."))):
        np.testing.assert_array_equal(a[key], b[key])
    assert resumed.summary["recalibrations"] == 3 and resumed.summary["measurements"] == whole.summary["measurements"]


def test_a_damaged_recalibration_file_is_refused_naming_it(tmp_path, patched_array):
    patched_array(drifting_chip())
    with pytest.raises(TrainingStopped):
        run_training(TrainingConfig(**CONFIG), out=tmp_path / "run", on_trainer=stop_in_epoch_3)
    damaged = tmp_path / "run" / "calibrations" / "fold1-epoch002.npz"
    damaged.write_bytes(b"not an npz")
    patched_array(drifting_chip())
    with pytest.raises(DataFileError, match="fold1-epoch002.npz: not a readable npz"):
        resume_training(tmp_path / "run")
