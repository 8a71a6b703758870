"""Study files that cannot be run are refused in one line, exit 2, with no study directory made.

Each case is a whole study file as a user might write it; the check runs before
any Dask cluster starts, so these tests are quick.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mtjlab.cli import main
from mtjlab.studies.plan import load_study

GOOD_BASE = "base: {dataset: iris, epochs: 1, folds: 2, log_measurements: false}\n"

CASES = {
    "unknown axis": (GOOD_BASE + "grid:\n  methdo: [analog, numeric]\n", "grid.methdo: unknown axis"),
    "empty grid": (GOOD_BASE + "grid: {}\n", "grid: is empty"),
    "an axis with no values": (GOOD_BASE + "grid:\n  method: []\n", "grid.method: has no values"),
    "a real bench": (GOOD_BASE + "grid:\n  bench: [lab-bench-example.yaml]\n", "drives real instruments"),
    "duplicate values": (GOOD_BASE + "grid:\n  method: [analog, analog]\n", "appears twice"),
    "duplicate runs in a list": (GOOD_BASE + "runs:\n  - {method: analog}\n  - {method: numeric}\n"
                                 "  - {method: analog}\n", "runs[2] and runs[0] are the same run"),
    "labels that make the same run": (GOOD_BASE + "grid:\n  task:\n    a: {dataset: iris}\n    b: {dataset: iris}\n",
                                      "are the same run"),
    "a bad base config": ("base: {dataset: iris, epochs: 0}\ngrid:\n  method: [analog]\n", "base: epochs: must be"),
    "a missing base file": ("base: nowhere.yaml\ngrid:\n  method: [analog]\n", "base: "),
    "a bad value on an axis": (GOOD_BASE + "grid:\n  method: [analog, sideways]\n", "method: must be one of"),
    "a training key given labels": (GOOD_BASE + "grid:\n  method: {a: {epochs: 2}}\n", "takes a list of values"),
    "a labelled axis setting an unknown key": (GOOD_BASE + "grid:\n  task: {a: {epoch: 2}}\n", "unknown axis"),
    "two axes setting one key": (GOOD_BASE + "grid:\n  method: [analog]\n  task: {a: {method: numeric}}\n",
                                 "both set method"),
    "both grid and runs": (GOOD_BASE + "grid:\n  method: [analog]\nruns:\n  - {method: numeric}\n", "not both"),
    "neither grid nor runs": (GOOD_BASE, "not neither"),
    "a replay bench with a chip seed": (GOOD_BASE + "grid:\n  bench: [a.csv]\n  chip_seed: [1]\n", "chip_seed"),
    "a missing dataset file": ("base: {dataset: mnist, dataset_path: none.npz, train_samples: 10}\n"
                               "grid:\n  method: [analog]\n", "no such file"),
    "a list at the top": ("- method: analog\n", "top level must be a mapping"),
    "another kind": ("kind: training\n" + GOOD_BASE + "grid:\n  method: [analog]\n", "kind: must be study"),
    "an unknown top-level key": (GOOD_BASE + "grid:\n  method: [analog]\nsedes: [1]\n", "sedes"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_study_is_refused_in_one_line(case, tmp_path, capsys):
    text, expected = CASES[case]
    study = tmp_path / "study.yaml"
    study.write_text(text)
    out = tmp_path / "out"
    status = main(["study", str(study), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected in lines[0], lines[0]
    assert lines[0].startswith("mtjlab: ")
    assert not out.exists(), "a refused study must leave no directory"


def test_a_study_into_a_folder_that_holds_something_is_refused(tmp_path, capsys):
    study = tmp_path / "study.yaml"
    study.write_text(GOOD_BASE + "grid:\n  method: [analog]\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["study", str(study), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("argv, expected", [
    ([], "give a study FILE"),
    (["x.yaml", "--resume", "d"], "do not go together"),
    (["--report", "d", "--workers", "2"], "only rebuilds"),
    (["x.yaml", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "own workers"),
])
def test_options_that_do_not_go_together(argv, expected, capsys):
    assert main(["study", *argv]) == 2
    assert expected in capsys.readouterr().err


def test_resume_and_report_need_a_study_directory(tmp_path, capsys):
    assert main(["study", "--resume", str(tmp_path)]) == 2
    assert "no study.yaml" in capsys.readouterr().err
    assert main(["study", "--report", str(tmp_path)]) == 2
    assert "no runs/" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    from mtjlab.studies import runner

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT_S", 2.0)  # nothing listens there: no need to wait long
    study = tmp_path / "study.yaml"
    study.write_text(GOOD_BASE + "grid:\n  method: [analog]\n")
    status = main(["study", str(study), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9",
                   "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and "no Dask scheduler answered" in err[0]


def test_grid_expands_every_combination_with_readable_names(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text(GOOD_BASE + "grid:\n  task:\n    small: {hidden: [2]}\n    two-layer: {hidden: [4, 2]}\n"
                     "  method: [analog, numeric, offline]\n  bench: [model:typical, model:harsh]\n"
                     "  optimiser.learning_rate: [0.01, 0.1]\n")
    plan = load_study(study)
    assert plan.axes == ("task", "method", "bench", "optimiser.learning_rate")
    assert len(plan.runs) == 2 * 3 * 2 * 2
    assert len({r.run_id for r in plan.runs}) == len(plan.runs)
    run = plan.runs[-1]
    assert run.axes == {"task": "two-layer", "method": "offline", "bench": "model:harsh",
                        "optimiser.learning_rate": 0.1}
    assert run.run_id == "task=two-layer_method=offline_bench=model-harsh_learning_rate=0.1"
    config = run.training_config()
    assert config.hidden == [4, 2] and config.optimiser.learning_rate == 0.1 and config.epochs == 1
    assert config.bench.startswith("model:/") and config.bench.endswith("harsh.yaml")


def test_paths_are_relative_to_the_study_file(tmp_path, monkeypatch):
    folder = tmp_path / "studies"
    folder.mkdir()
    (folder / "base.yaml").write_text("kind: training\ndataset: iris\nepochs: 2\n")
    (folder / "study.yaml").write_text("base: base.yaml\nruns:\n  - {method: analog}\n  - {method: numeric, epochs: 3}\n")
    monkeypatch.chdir(tmp_path)
    plan = load_study(Path("studies/study.yaml"))
    assert [r.training_config().epochs for r in plan.runs] == [2, 3]
    assert plan.axes == ("method", "epochs")
    assert plan.runs[0].axes == {"method": "analog", "epochs": 2}
    assert plan.document["paths_relative_to"] == str(folder.resolve())


REPO = Path(__file__).resolve().parents[2]
SUBSET = REPO.parent / "shared" / "data" / "mnist-10k.npz"


@pytest.mark.skipif(not SUBSET.is_file(), reason="the MNIST subset is not beside the repository")
def test_the_packaged_paper_study_plans_from_the_repository_root(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    plan = load_study("paper")
    assert len(plan.runs) == 4 * 6 * 2 * 3
    assert {r.axes["task"] for r in plan.runs} == {"iris-1", "iris-2", "digits", "mnist"}
    assert {r.axes["bench"] for r in plan.runs} == {"model:typical", "model:harsh"}
    mnist = next(r.training_config() for r in plan.runs if r.axes["task"] == "mnist")
    assert Path(mnist.dataset_path) == SUBSET.resolve() and mnist.train_samples == 8000
    assert main(["config", "check", "paper"]) == 0
    assert "144 runs" in capsys.readouterr().out


def test_the_packaged_study_elsewhere_names_its_missing_data_and_why(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["study", "paper", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "mnist-10k.npz: no such file" in err and "relative to the working folder" in err
    assert not (tmp_path / "out").exists()
