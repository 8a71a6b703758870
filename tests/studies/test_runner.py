"""One study run as a worker executes it, in this process: failures recorded in one line, runs cut
short continued or started over, finished runs left alone."""

from __future__ import annotations

import dataclasses
import json
import os
import threading

import pytest

from mtjlab.studies.plan import plan_study
from mtjlab.training import session
from mtjlab.training.session import run_training
from mtjlab.training.trainer import TrainingStopped
from mtjlab.studies.runner import FAILED_DIR, RUN_AXES_FILE, create_study_dir, execute_run, run_path, run_study

BASE = {"dataset": "iris", "epochs": 2, "folds": 2, "bench": "model:typical", "log_measurements": False}


def plan_of(tmp_path, **grid):
    return plan_study({"kind": "study", "name": "t", "base": BASE, "grid": grid}, "t.yaml", tmp_path)


def test_a_failing_run_is_recorded_in_one_line_and_the_study_goes_on(tmp_path):
    plan = plan_of(tmp_path, pre_activation_limit=[9.0])
    study = create_study_dir(plan, tmp_path / "study")
    run = plan.runs[0]
    result = execute_run(dataclasses.asdict(run), str(study))
    assert result["status"] == "failed"
    assert "\n" not in result["error"] and "pre_activation_limit" in result["error"]
    recorded = json.loads((study / FAILED_DIR / f"{run.run_id}.json").read_text())
    assert recorded == {"run_id": run.run_id, "axes": run.axes, "error": result["error"]}
    assert not (run_path(study, run.run_id) / "summary.json").exists()


def test_a_run_cut_short_before_its_first_checkpoint_starts_over(tmp_path):
    plan = plan_of(tmp_path, method=["analog"])
    study = create_study_dir(plan, tmp_path / "study")
    run = plan.runs[0]
    folder = run_path(study, run.run_id)
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("half written")
    assert execute_run(dataclasses.asdict(run), str(study))["status"] == "finished"
    assert json.loads((folder / RUN_AXES_FILE).read_text()) == {"run_id": run.run_id, "axes": run.axes}


def test_a_run_cut_short_after_a_checkpoint_continues_from_it(tmp_path, monkeypatch):
    plan = plan_of(tmp_path, method=["numeric"])
    run = plan.runs[0]
    whole = create_study_dir(plan, tmp_path / "whole")
    assert execute_run(dataclasses.asdict(run), str(whole))["status"] == "finished"
    expected = json.loads((run_path(whole, run.run_id) / "summary.json").read_text())

    cut = create_study_dir(plan, tmp_path / "cut")
    folder = run_path(cut, run.run_id)
    stop = threading.Event()

    def stop_in_the_second_fold(event):
        if event.kind == "epoch" and event.fold == 1:
            stop.set()

    with pytest.raises(TrainingStopped):  # as if its worker died there
        run_training(run.training_config(), out=folder, on_event=stop_in_the_second_fold, stop=stop)
    assert any(folder.glob("checkpoints/*.npz")) and not (folder / "summary.json").exists()

    def no_fresh_start(*args, **kwargs):
        raise AssertionError("the run started over instead of continuing")

    monkeypatch.setattr(session, "run_training", no_fresh_start)
    assert execute_run(dataclasses.asdict(run), str(cut))["status"] == "finished"
    resumed = json.loads((folder / "summary.json").read_text())
    assert resumed["fold_accuracies"] == expected["fold_accuracies"]
    assert resumed["measurements"] == expected["measurements"]


def test_finished_runs_are_skipped_and_their_records_completed(tmp_path):
    plan = plan_of(tmp_path, method=["offline"])
    study = create_study_dir(plan, tmp_path / "study")
    run = plan.runs[0]
    assert execute_run(dataclasses.asdict(run), str(study))["status"] == "finished"
    folder = run_path(study, run.run_id)
    (folder / RUN_AXES_FILE).unlink()  # stopped between summary.json and this file
    stale = study / FAILED_DIR / f"{run.run_id}.json"
    stale.parent.mkdir()
    stale.write_text("{}")
    stamp = (folder / "summary.json").stat().st_mtime_ns
    outcome = run_study(plan, study)  # nothing to run: no cluster is started
    assert outcome.skipped == [run.run_id] and not outcome.finished and not outcome.failed
    assert (folder / RUN_AXES_FILE).is_file() and not stale.exists()
    assert (folder / "summary.json").stat().st_mtime_ns == stamp
    assert os.listdir(study / FAILED_DIR) == []
