"""``mtjlab train`` end to end: the newcomer's run, gradient agreement, bad input, SIGKILL and resume."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from mtjlab import cli
from mtjlab.training.records import RunRecord, load_npz


def run_dir_of(tmp_path: Path, name: str = "iris") -> Path:
    return tmp_path / "runs" / f"{dt.date.today():%Y-%m-%d}-{name}"


@pytest.mark.slow
def test_plain_train_reaches_95_percent_on_iris_beside_the_baseline(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--no-progress"]) == 0
    out = capsys.readouterr().out
    summary = json.loads((run_dir_of(tmp_path) / "summary.json").read_text())
    assert summary["bench"].endswith("typical.yaml") and summary["method"] == "analog"
    assert summary["folds"] == 5 and summary["architecture"] == [4, 4, 3]
    assert summary["accuracy_mean"] >= 0.95, summary
    assert abs(summary["accuracy_mean"] - summary["baseline_accuracy_mean"]) <= 0.02, summary
    assert summary["grad_cosine_median"] >= 0.99, summary
    # minutes of bench time, not hours: hardware-timed lists with the noise-budget lock-in settings
    assert summary["acquisition"]["mode"] == "hardware-timed", summary
    assert summary["lab_time_s"] <= 15 * 60, summary
    baseline = "software " + summary["nominal_activation"].split(" (")[0].replace("datasheet ", "")
    for text in (baseline, "mean", "gradient agreement", "device measurements", "estimated lab time",
                 "run directory"):
        assert text in out, text
    assert len(out.splitlines()) <= 24  # one screen
    assert f"{100 * summary['accuracy_mean']:.1f}" in out


@pytest.mark.slow
def test_two_hidden_layers_on_the_simulated_bench_reach_95_percent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # ten epochs suffice for the deeper network (and keep the suite short)
    assert cli.main(["train", "--no-progress", "--hidden", "4,4", "--epochs", "10", "--out", "two"]) == 0
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["architecture"] == [4, 4, 4, 3]
    assert summary["accuracy_mean"] >= 0.95, summary


def test_analog_gradient_agrees_with_the_simulated_devices_and_nominal_does_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cosines = {}
    for method in ("analog", "nominal"):
        assert cli.main(["train", "--no-progress", "--method", method, "--folds", "2", "--epochs", "1",
                         "--out", method]) == 0
        cosines[method] = json.loads((tmp_path / method / "summary.json").read_text())["grad_cosine_median"]
    assert cosines["analog"] >= 0.99
    # the nominal derivative is the average device's (datasheet) curve: it misses each device's own
    # variability, so it is far further off than the measured one
    assert 1 - cosines["nominal"] > max(1e-4, 10 * (1 - cosines["analog"])), cosines


def test_offline_has_no_gradient_cosine_and_evaluates_on_devices(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--no-progress", "--bench", "model", "--method", "offline", "--folds", "2",
                     "--epochs", "3", "--out", "off"]) == 0
    summary = json.loads((tmp_path / "off" / "summary.json").read_text())
    rows = list(csv.DictReader((tmp_path / "off" / "metrics.csv").open()))
    assert summary["grad_cosine_median"] is None
    assert [r["evaluated_on"] for r in rows] == ["software", "software", "devices"] * 2
    calibration = load_npz(tmp_path / "off" / "calibration.npz")["output_v"].size
    assert summary["measurements"] == calibration + 2 * 75 * 4  # the deployed evaluation only


def test_runs_are_numbered_instead_of_overwritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert cli.main(["train", "--no-progress", "--bench", "model", "--folds", "2", "--epochs", "1"]) == 0
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == [run_dir_of(tmp_path).name, run_dir_of(tmp_path).name + "-2"]
    assert cli.main(["train", "--no-progress", "--bench", "model", "--out", f"runs/{folders[0]}"]) == 2


def test_ctrl_c_says_how_to_resume_and_the_resume_finishes(tmp_path, monkeypatch, capsys):
    from mtjlab.training import trainer as trainer_module

    monkeypatch.chdir(tmp_path)
    original = trainer_module.Trainer._between_steps

    def interrupt_at_step_13(self, fold, epoch):
        if self.progress.step == 13:
            raise KeyboardInterrupt
        original(self, fold, epoch)

    monkeypatch.setattr(trainer_module.Trainer, "_between_steps", interrupt_at_step_13)
    args = ["train", "--no-progress", "--bench", "model", "--folds", "2", "--epochs", "3", "--out", "r"]
    assert cli.main(args) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith("mtjlab train --resume r"), err
    monkeypatch.setattr(trainer_module.Trainer, "_between_steps", original)
    assert cli.main(["train", "--no-progress", "--resume", "r"]) == 0
    assert len(list(csv.DictReader((tmp_path / "r" / "metrics.csv").open()))) == 6


def test_any_csv_with_a_label_column(tmp_path, monkeypatch):
    from sklearn.datasets import load_wine

    monkeypatch.chdir(tmp_path)
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine.insert(0, "cultivar", wine.pop("cultivar").map({0: "barolo", 1: "grignolino", 2: "barbera"}))
    wine.to_csv(tmp_path / "wine.csv", index=False)
    assert cli.main(["train", "--no-progress", "--bench", "model", "--csv-file", "wine.csv", "--label-column",
                     "cultivar", "--folds", "3", "--epochs", "8", "--out", "wine"]) == 0
    summary = json.loads((tmp_path / "wine" / "summary.json").read_text())
    assert summary["dataset"] == "csv" and summary["architecture"] == [13, 4, 3]
    assert summary["accuracy_mean"] > 0.85


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args, message", [
    (["--dataset", "irises"], r"dataset.*irises"),
    (["--method", "magic"], r"method.*magic"),
    (["--mnist-file", "missing.npz"], r"missing.npz: not found"),
    (["--mnist-file", "broken.npz"], r"broken.npz: not a readable npz"),
    (["--mnist-file", "nolabels.npz"], r"nolabels.npz: npz has no 'labels'"),
    (["--config", "wide.yaml"], r"pre_activation_limit.*or less"),
    (["--config", "crowded.yaml"], r"need at least \d+ live devices"),
    (["--hidden", "4,x"], r"--hidden"),
])
def test_bad_input_is_one_line_exit_2_and_leaves_no_run(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((3, 28, 28), np.uint8))
    base = {"kind": "training", "bench": "model", "folds": 2, "epochs": 1}
    (tmp_path / "wide.yaml").write_text(yaml.safe_dump({**base, "pre_activation_limit": 4.0}))
    (tmp_path / "crowded.yaml").write_text(yaml.safe_dump({**base, "hidden": [40], "max_neurons_per_device": 2}))
    assert cli.main(["train", "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mtjlab: "), err
    import re

    assert re.search(message, err), err
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------- SIGKILL
def test_a_run_killed_mid_epoch_resumes_losing_at_most_one_epoch(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "mtjlab", "train", "--no-progress", "--bench", "model", "--dataset", "digits",
               "--hidden", "8", "--folds", "2", "--epochs", "6", "--out", str(run)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    record = RunRecord(run)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (run / "checkpoints").is_dir() and len(record.checkpoints()) >= 2:
            break
        time.sleep(0.02)
    time.sleep(0.3)  # into the next epoch
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # nothing is corrupt: every file there loads
    rows_before = list(csv.DictReader((run / "metrics.csv").open()))
    for path in run.rglob("*.npz"):
        load_npz(path)
    yaml.safe_load((run / "config.yaml").read_text())
    assert not list(run.rglob("*.part")) or all(p.name.startswith(".") for p in run.rglob("*.part"))
    latest = json.loads(str(record.latest_checkpoint()["meta"]))
    checkpointed = (latest["fold"]) * 6 + latest["epochs_done"]
    # every finished epoch is in the checkpoint (which is written just before metrics.csv,
    # so a kill between the two leaves the checkpoint one epoch ahead of the table)
    assert len(rows_before) <= checkpointed <= len(rows_before) + 1
    resumed = subprocess.run([sys.executable, "-m", "mtjlab", "train", "--no-progress", "--resume", str(run)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [(r["fold"], r["epoch"]) for r in rows] == [(str(f), str(e)) for f in (1, 2) for e in range(1, 7)]
    assert rows[:len(rows_before)] == rows_before  # finished epochs are kept as they were
    assert json.loads((run / "summary.json").read_text())["folds"] == 2


# --------------------------------------------------------------------------- stops during a measurement
@pytest.mark.parametrize("stop, status, name", [("ctrl-c", 130, "Ctrl-C"), ("sigterm", 143, "SIGTERM")])
def test_a_stop_during_a_measurement_names_the_resume_command(tmp_path, monkeypatch, capsys, stop, status, name):
    """The Bench's measurement turns a Ctrl-C into an error that keeps what it measured; SIGTERM arrives as the
    Bench's SystemExit(143). Either way the run stops with the resume command and the signal's status."""
    from mtjlab.cli_support import Terminated
    from mtjlab.instruments import bench as bench_module
    from mtjlab.training import trainer as trainer_module

    monkeypatch.chdir(tmp_path)
    training, reads = {"on": False}, {"n": 0}
    run, run_list = trainer_module.Trainer.run, bench_module.run_list

    def running(self, *args, **kwargs):
        training["on"] = True
        return run(self, *args, **kwargs)

    def list_until_stopped(*args, **kwargs):  # the packaged bench measures in hardware-timed lists
        if training["on"]:
            reads["n"] += 1
            if reads["n"] == 10:  # well inside a training step's measurement
                raise KeyboardInterrupt if stop == "ctrl-c" else Terminated()
        return run_list(*args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "run", running)
    monkeypatch.setattr(bench_module, "run_list", list_until_stopped)
    args = ["train", "--no-progress", "--folds", "2", "--epochs", "1", "--out", "r"]
    assert cli.main(args) == status
    err = capsys.readouterr().err
    assert err == f"mtjlab: train stopped by {name}; the finished epochs are kept: mtjlab train --resume r\n", err
    assert (tmp_path / "r" / "config.yaml").is_file()
