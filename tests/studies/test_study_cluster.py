"""Studies on real Dask clusters on localhost: a LocalCluster, and a scheduler and workers started as
separate processes (as a lab would with ``dask scheduler`` and ``dask worker``); a worker killed in
the middle, a study stopped in the middle, and results that do not depend on where a run ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mtjlab.cli import main
from mtjlab.studies.plan import load_study
from mtjlab.studies.runner import execute_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")

STUDY = """kind: study
name: four
base: {dataset: iris, epochs: EPOCHS, folds: 2, bench: model:typical, log_measurements: false}
grid:
  method: [analog, numeric]
  chip_seed: [0, 1]
"""


def write_study(folder: Path, epochs: int = 2) -> Path:
    path = folder / "study.yaml"
    path.write_text(STUDY.replace("EPOCHS", str(epochs)))
    return path


def summaries(study_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (study_dir / "runs").glob("*/summary.json")}


def test_a_four_run_study_on_a_two_worker_local_cluster(tmp_path, capsys):
    out = tmp_path / "study"
    status = main(["study", str(write_study(tmp_path)), "--workers", "2", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "4 of 4 runs finished" in printed
    found = summaries(out)
    assert len(found) == 4
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 4 and set(table["status"]) == {"finished"}
    for row in table.itertuples():
        summary = found[row.run_id]
        for key in ("accuracy_mean", "accuracy_std", "baseline_accuracy_mean", "measurements", "lab_time_s"):
            assert getattr(row, key) == pytest.approx(summary[key], rel=1e-12, abs=0), (row.run_id, key)
        assert row.method == summary["method"] and row.chip_seed == summary["chip_seed"]
    assert (out / "results.md").is_file()
    assert any((out / "figures").glob("*.png"))

    # the same runs in this process, not on a worker: the same accuracies to the last bit
    plan = load_study(out / "study.yaml")
    here = tmp_path / "here"
    for run in plan.runs[:2]:
        assert execute_run({"run_id": run.run_id, "axes": run.axes, "config": run.config}, str(here)) == {
            "run_id": run.run_id, "status": "finished"}
        mine = json.loads((here / "runs" / run.run_id / "summary.json").read_text())
        theirs = found[run.run_id]
        assert mine["fold_accuracies"] == theirs["fold_accuracies"]
        assert mine["baseline_fold_accuracies"] == theirs["baseline_fold_accuracies"]
        assert mine["measurements"] == theirs["measurements"]


# --------------------------------------------------------------------------- separate processes
def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler (``dask scheduler --port 0``) and two single-threaded workers, each its own process."""
    scheduler_file = tmp_path / "scheduler.json"
    processes = [_start(["dask", "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file",
                         str(scheduler_file)], tmp_path / "scheduler.log")]
    try:
        _wait_for(scheduler_file.exists, 60, "the scheduler")
        address = json.loads(scheduler_file.read_text())["address"]
        for n in range(2):
            processes.append(_start(["dask", "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                     "--name", f"w{n}"], tmp_path / f"worker{n}.log"))
        yield address, processes[1:]
    finally:
        for process in reversed(processes):
            _stop(process)


def _study_process(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mtjlab", "study", *args, "--no-progress"],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def test_a_study_on_a_scheduler_and_workers_started_apart(cluster, tmp_path):
    address, _workers = cluster
    out = tmp_path / "study"
    assert main(["study", str(write_study(tmp_path)), "--scheduler", address, "--out", str(out),
                 "--no-progress"]) == 0
    assert len(summaries(out)) == 4
    assert len(pd.read_csv(out / "results.csv")) == 4


def test_a_worker_killed_mid_study_then_resume_finishes_without_redoing(cluster, tmp_path):
    address, workers = cluster
    out = tmp_path / "study"
    log = tmp_path / "study.log"
    study = _study_process([str(write_study(tmp_path, epochs=6)), "--scheduler", address, "--out", str(out)], log)
    try:
        # both workers busy: two runs have their directories
        _wait_for(lambda: len(list((out / "runs").glob("*/config.yaml"))) >= 2, 120, "two runs to start")
        os.killpg(workers[0].pid, signal.SIGKILL)
        status = study.wait(timeout=300)
    finally:
        if study.poll() is None:
            study.kill()
    text = log.read_text()
    assert status in (0, 1), text
    finished = summaries(out)
    if status == 1:  # the lost run was reported, in one line, rather than retried
        assert "failed:" in text and len(finished) < 4
    else:
        assert len(finished) == 4
    stamps = {run_id: (out / "runs" / run_id / "summary.json").stat().st_mtime_ns for run_id in finished}
    assert main(["study", "--resume", str(out), "--scheduler", address, "--no-progress"]) == 0
    assert len(summaries(out)) == 4
    for run_id, stamp in stamps.items():
        assert (out / "runs" / run_id / "summary.json").stat().st_mtime_ns == stamp, f"{run_id} was redone"


def test_a_study_stopped_by_ctrl_c_resumes_where_it_stopped(tmp_path):
    out = tmp_path / "study"
    log = tmp_path / "study.log"
    study = _study_process([str(write_study(tmp_path, epochs=6)), "--workers", "1", "--out", str(out)], log)
    try:
        _wait_for(lambda: len(summaries(out)) >= 1, 180, "a first finished run")
        study.send_signal(signal.SIGINT)
        status = study.wait(timeout=120)
    finally:
        if study.poll() is None:
            study.kill()
    text = log.read_text()
    assert status == 130, text
    assert f"mtjlab study --resume {out}" in text
    finished = summaries(out)
    assert 1 <= len(finished) < 4
    stamps = {run_id: (out / "runs" / run_id / "summary.json").stat().st_mtime_ns for run_id in finished}
    assert main(["study", "--resume", str(out), "--workers", "2", "--no-progress"]) == 0
    assert len(summaries(out)) == 4
    for run_id, stamp in stamps.items():
        assert (out / "runs" / run_id / "summary.json").stat().st_mtime_ns == stamp, f"{run_id} was redone"
