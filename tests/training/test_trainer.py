"""The trainer on the model backend: events, stop and pause, exact resume, the run record."""

from __future__ import annotations

import csv
import json
import threading

import numpy as np
import pytest
import yaml

from mtjlab.config import TrainingConfig
from mtjlab.errors import MtjlabError
from mtjlab.training.records import RunRecord, load_npz
from mtjlab.training.session import resume_training, run_training
from mtjlab.training.trainer import TrainingStopped

SMALL = dict(bench="model", folds=2, epochs=4, hidden=[3], seed=3)


def final_weights(run_dir):
    checkpoint = RunRecord(run_dir).latest_checkpoint()
    return [checkpoint[k] for k in sorted(checkpoint) if k.startswith(("network.", "baseline."))]


def test_run_record_holds_everything_the_issue_names(tmp_path):
    events = []
    result = run_training(TrainingConfig(**SMALL), out=tmp_path / "run", on_event=events.append)
    run = result.directory
    for name in ("config.yaml", "bench.yaml", "calibration.yaml", "calibration.npz", "metrics.csv",
                 "summary.json", "learning_curves.png"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    for key in ("dataset", "method", "architecture", "folds", "accuracy_mean", "accuracy_std", "fold_accuracies",
                "baseline_accuracy_mean", "grad_cosine_median", "measurements", "lab_time_s", "wall_time_s"):
        assert key in summary, key
    assert summary["architecture"] == [4, 3, 3] and summary["folds"] == 2
    assert summary["accuracy_mean"] == pytest.approx(np.mean(summary["fold_accuracies"]))
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [(int(r["fold"]), int(r["epoch"])) for r in rows] == [(f, e) for f in (1, 2) for e in (1, 2, 3, 4)]
    # measurements: calibration sweep + (train + validation samples) x neurons x epochs, all counted
    calibration = load_npz(run / "calibration.npz")["output_v"].size
    assert summary["measurements"] == calibration + 150 * 3 * 4 * 2
    assert summary["measurements"] == calibration + sum(int(r["measurements"]) for r in rows)
    assert summary["lab_time_s"] > sum(float(r["lab_time_s"]) for r in rows) > 0
    log = load_npz(run / "measurements" / "fold1-epoch001.npz")
    assert log["layer0.input_a"].shape == log["layer0.output_v"].shape == log["layer0.derivative_v_per_a"].shape
    assert log["layer0.input_a"].shape[0] == 3 and np.all(np.isfinite(log["layer0.output_v"]))
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["method"] == "analog" and config["epochs"] == 4
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("epoch") == 8 and kinds.count("fold") == 2
    steps = [e.step for e in events if e.kind == "step"]
    assert steps == list(range(1, events[0].total_steps + 1))


def stop_after(steps: int):
    def hook(trainer):
        def on_event(event):
            if event.kind == "step" and event.step == steps:
                trainer.request_stop()
        trainer.subscribe(on_event)
    return hook


def test_a_stopped_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    whole = run_training(TrainingConfig(**SMALL), out=tmp_path / "whole")
    stopped = tmp_path / "stopped"
    # stop in fold 1, epoch 3 (10 steps per epoch: 75 training samples at batch 8)
    with pytest.raises(TrainingStopped, match="resume with"):
        run_training(TrainingConfig(**SMALL), out=stopped, on_trainer=stop_after(25))
    assert not (stopped / "summary.json").exists()
    rows = list(csv.DictReader((stopped / "metrics.csv").open()))
    assert len(rows) == 2  # epochs 1 and 2 kept; the partial third is redone
    resumed = resume_training(stopped)
    for a, b in zip(final_weights(whole.directory), final_weights(resumed.directory), strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.summary["fold_accuracies"] == whole.summary["fold_accuracies"]
    assert resumed.summary["measurements"] == whole.summary["measurements"]
    rows = list(csv.DictReader((stopped / "metrics.csv").open()))
    assert len(rows) == 8
    with pytest.raises(MtjlabError, match="has finished"):
        resume_training(stopped)


def test_resume_from_a_fresh_process_state_differs_without_the_checkpoint(tmp_path):
    """The chip's noise generator is part of the checkpoint: dropping it changes the result
    (so the exact-resume test above can fail)."""
    whole = run_training(TrainingConfig(**SMALL), out=tmp_path / "whole")
    stopped = tmp_path / "stopped"
    with pytest.raises(TrainingStopped):
        run_training(TrainingConfig(**SMALL), out=stopped, on_trainer=stop_after(25))
    for path in RunRecord(stopped).checkpoints():
        arrays = load_npz(path)
        arrays["array/noise_rng"] = np.array(json.dumps(np.random.default_rng(99).bit_generator.state))
        np.savez(path, **arrays)
    resumed = resume_training(stopped)
    differs = any(not np.array_equal(a, b) for a, b in zip(final_weights(whole.directory),
                                                          final_weights(resumed.directory)))
    assert differs


def test_pause_holds_between_steps_and_stop_from_another_thread(tmp_path):
    seen, holder = [], {}

    def hook(trainer):
        holder["trainer"] = trainer

        def on_event(event):
            seen.append(event.kind)
            if event.kind == "step" and event.step == 3:
                trainer.pause()
                threading.Timer(0.2, trainer.request_stop).start()
        trainer.subscribe(on_event)

    with pytest.raises(TrainingStopped):
        run_training(TrainingConfig(**SMALL), out=tmp_path / "run", on_trainer=hook)
    assert seen.count("step") == 3 and "paused" in seen and seen[-1] == "stopped"
    assert holder["trainer"].progress.step == 3


# --------------------------------------------------------------------------- other arrays
def test_training_on_a_digital_twin_of_recorded_calibration_sweeps(tmp_path, monkeypatch):
    from mtjlab import cli

    monkeypatch.chdir(tmp_path)
    assert cli.main(["sweep", "calibrate", "--out", "cal", "--input-min-a", "-0.0195", "--input-max-a", "0.0195",
                     "--points", "25"]) == 0
    recording = tmp_path / "cal" / "calibrate.csv"
    assert recording.is_file()
    result = run_training(TrainingConfig(bench=str(recording), folds=2, epochs=2, hidden=[3]), out=tmp_path / "twin")
    summary = result.summary
    assert summary["grad_cosine_median"] is None  # a recording knows no exact derivative
    assert summary["accuracy_mean"] > 0.6
    assert "r1c2" not in summary["neurons"][0] and "r3c0" not in summary["neurons"][0]  # dead ones skipped


def test_stopping_on_the_simulated_bench_leaves_every_output_at_zero(tmp_path, monkeypatch):
    from mtjlab.instruments import bench as bench_module

    opened = []
    original = bench_module.Bench.open.__func__

    def spy(cls, config, **kwargs):
        opened.append(original(cls, config, **kwargs))
        return opened[-1]

    monkeypatch.setattr(bench_module.Bench, "open", classmethod(spy))
    with pytest.raises(TrainingStopped):
        run_training(TrainingConfig(folds=2, epochs=1, hidden=[2]), out=tmp_path / "run", on_trainer=stop_after(3))
    lab = opened[0].lab
    assert lab.read.level_a == 0 and not lab.read.output_on
    assert lab.input.level_a == 0 and not lab.input.output_on
    assert not lab.closed and lab.coil.setpoint_a == 0 and not lab.coil.output_on


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path):
    whole = run_training(TrainingConfig(**SMALL), out=tmp_path / "whole")
    stopped = tmp_path / "stopped"
    with pytest.raises(TrainingStopped):
        run_training(TrainingConfig(**SMALL), out=stopped, on_trainer=stop_after(25))
    newest = RunRecord(stopped).checkpoints()[-1]
    newest.write_bytes(newest.read_bytes()[:100])  # a disk that lost the end of a file
    resumed = resume_training(stopped)
    for a, b in zip(final_weights(whole.directory), final_weights(resumed.directory), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_junction_dying_mid_run_stops_it_in_one_line_with_the_bench_safe(tmp_path, monkeypatch):
    from mtjlab.errors import DeadDeviceError
    from mtjlab.instruments import bench as bench_module
    from mtjlab.instruments.sim.faults import Faults

    opened = []
    original = bench_module.Bench.open.__func__

    def open_with_a_fault(cls, config, **kwargs):
        bench = original(cls, config, **kwargs)
        Faults.attach(bench.lab).kill_device("r0c1", "short", after=2000)  # after the calibration
        opened.append(bench)
        return bench

    monkeypatch.setattr(bench_module.Bench, "open", classmethod(open_with_a_fault))
    with pytest.raises(DeadDeviceError, match="r0c1 stopped responding") as caught:
        run_training(TrainingConfig(folds=2, epochs=3, hidden=[2]), out=tmp_path / "run")
    assert "\n" not in str(caught.value)
    lab = opened[0].lab
    assert lab.read.level_a == 0 and lab.input.level_a == 0 and not lab.closed
    assert (tmp_path / "run" / "config.yaml").is_file()  # the run record of what was done stays
