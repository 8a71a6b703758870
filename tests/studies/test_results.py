"""The results side of a study, on study directories written by hand with known numbers.

Each fake run holds what ``mtjlab train`` and the study runner leave behind
(config.yaml, summary.json, metrics.csv, study-run.json, failed/<id>.json); the
report must give back the summaries' numbers exactly, and the statistics over
seeds in closed form.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mtjlab.errors import DataFileError
from mtjlab.studies.figures import learning_curves
from mtjlab.studies.report import aggregate, duration, markdown_tables, render_markdown, roles, write_report
from mtjlab.studies.results import axis_columns, collect, readable_label

PNG = b"\x89PNG\r\n\x1a\n"
TASKS = {"iris-1": ("iris", [4], [4, 4, 3]), "digits-16": ("digits", [16], [64, 16, 10])}
BENCHES = {"typical": "model:/opt/chips/typical.yaml", "harsh": "model:/opt/chips/harsh.yaml"}
# accuracy of seed s: base + step * s (closed form: mean base + step, sample std = step)
ACCURACY = {("analog", "typical"): (0.90, 0.05), ("analog", "harsh"): (0.80, 0.02),
            ("offline", "typical"): (0.93, 0.01), ("offline", "harsh"): (0.70, 0.10)}
BASELINE = 0.96
COSINE = {"analog": [0.999, 0.997, 0.998], "offline": [None, None, None]}
LAB_TIME = {"analog": 7200.0, "offline": 150.0}
MEASUREMENTS = {"analog": 45462, "offline": 1062}


# --------------------------------------------------------------------------- writing fake runs
def config_of(dataset: str, hidden: list[int], method: str, bench: str, seed: int, **more) -> dict:
    config = {"kind": "training", "name": f"{dataset}-{method}-{seed}", "dataset": dataset, "hidden": hidden,
              "method": method, "optimiser": {"name": "adam", "learning_rate": 0.05}, "epochs": 3, "folds": 2,
              "seed": seed, "chip_seed": None, "bench": bench}
    config.update(more)
    return config


def summary_of(config: dict, architecture: list[int], accuracy: float, cosine: float | None,
               baseline: float = BASELINE) -> dict:
    return {"dataset": config["dataset"], "method": config["method"], "architecture": architecture,
            "folds": config["folds"], "epochs": config["epochs"], "accuracy_mean": accuracy, "accuracy_std": 0.0125,
            "fold_accuracies": [accuracy, accuracy], "baseline_accuracy_mean": baseline,
            "baseline_accuracy_std": 0.02, "baseline_fold_accuracies": [baseline, baseline],
            "grad_cosine_median": cosine, "measurements": MEASUREMENTS.get(config["method"], 1000),
            "lab_time_s": LAB_TIME.get(config["method"], 100.0) + 0.1 * config["seed"], "wall_time_s": 20.3 + config["seed"],
            "bench": config["bench"], "mapping": "one neuron per device", "seed": config["seed"],
            "run_dir": "/elsewhere/runs/x"}


def metrics_rows(config: dict, final: float) -> str:
    lines = ["fold,epoch,learning_rate,loss,train_accuracy,val_accuracy,baseline_loss,baseline_train_accuracy,"
             "baseline_val_accuracy,grad_cosine_median,measurements,lab_time_s,wall_time_s,evaluated_on"]
    for fold in range(1, config["folds"] + 1):
        for epoch in range(1, config["epochs"] + 1):
            val = final * epoch / config["epochs"]
            lines.append(f"{fold},{epoch},0.05,0.5,{val},{val},0.5,{BASELINE},{BASELINE},,600,11.3,0.01,devices")
    return "\n".join(lines) + "\n"


def write_run(study: Path, run_id: str, *, config: dict | None = None, summary: dict | None = None,
              axes: dict | None = None, metrics: str | None = None) -> Path:
    run = study / "runs" / run_id
    (run / "checkpoints").mkdir(parents=True)
    if config is not None:
        (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    if summary is not None:
        (run / "summary.json").write_text(json.dumps(summary, indent=2))
    if axes is not None:
        (run / "study-run.json").write_text(json.dumps({"run_id": run_id, "axes": axes}))
    if metrics is not None:
        (run / "metrics.csv").write_text(metrics)
    return run


def write_failed(study: Path, run_id: str, axes: dict, error: str) -> None:
    (study / "failed").mkdir(exist_ok=True)
    (study / "failed" / f"{run_id}.json").write_text(json.dumps({"run_id": run_id, "axes": axes, "error": error}))


def make_study(study: Path) -> None:
    """task x method x bench x seed (0..2): 24 finished runs, plus one failed and one unfinished run."""
    for task, (dataset, hidden, architecture) in TASKS.items():
        for method in ("analog", "offline"):
            for chip, bench in BENCHES.items():
                for seed in range(3):
                    base, step = ACCURACY[(method, chip)]
                    accuracy = base + step * seed - (0.1 if dataset == "digits" else 0.0)
                    config = config_of(dataset, hidden, method, bench, seed)
                    run_id = f"task={task}_method={method}_bench={chip}_seed={seed}"
                    axes = {"task": task, "method": method, "bench": bench, "seed": seed}
                    write_run(study, run_id, config=config, axes=axes, metrics=metrics_rows(config, accuracy),
                              summary=summary_of(config, architecture, accuracy, COSINE[method][seed]))
    failed_axes = {"task": "iris-1", "method": "analog", "bench": BENCHES["typical"], "seed": 3}
    write_failed(study, "task=iris-1_method=analog_bench=typical_seed=3", failed_axes,
                 "runs/x/bench.yaml: SafetyLimitError: 2.1 mA exceeds the 2 mA limit")
    config = config_of("iris", [4], "analog", BENCHES["harsh"], 3)
    write_run(study, "task=iris-1_method=analog_bench=harsh_seed=3", config=config,
              axes={"task": "iris-1", "method": "analog", "bench": BENCHES["harsh"], "seed": 3})


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("study") / "paper-grid"
    make_study(path)
    write_report(path)
    return path


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


# --------------------------------------------------------------------------- results.csv
def test_csv_rows_equal_the_summaries(study):
    rows = read_csv_rows(study / "results.csv")
    finished = [r for r in rows if r["status"] == "finished"]
    assert len(rows) == 26 and len(finished) == 24
    for row in finished:
        summary = json.loads((study / row["run_dir"] / "summary.json").read_text())
        for key in ("accuracy_mean", "accuracy_std", "baseline_accuracy_mean", "baseline_accuracy_std",
                    "lab_time_s", "wall_time_s"):
            assert float(row[key]) == summary[key], (row["run_id"], key)
        for key in ("measurements", "epochs", "folds"):
            assert row[key] == str(summary[key]), (row["run_id"], key)
        cosine = summary["grad_cosine_median"]
        assert row["grad_cosine_median"] == ("" if cosine is None else repr(cosine))
        assert row["architecture"] == "-".join(map(str, summary["architecture"]))
        assert row["run_dir"] == f"runs/{row['run_id']}"


def test_csv_columns_in_axis_order(study):
    with open(study / "results.csv", newline="") as stream:
        header = next(csv.reader(stream))
    assert header == ["run_id", "status", "task", "method", "bench", "seed", "accuracy_mean", "accuracy_std",
                      "baseline_accuracy_mean", "baseline_accuracy_std", "grad_cosine_median", "measurements",
                      "lab_time_s", "wall_time_s", "epochs", "folds", "architecture", "error", "run_dir"]
    rows = read_csv_rows(study / "results.csv")
    assert {r["bench"] for r in rows} == {"model:typical", "model:harsh"}  # paths by their stem
    assert {r["seed"] for r in rows} == {"0", "1", "2", "3"}


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("task, shift", [("iris-1", 0.0), ("digits-16", 10.0)])
@pytest.mark.parametrize("method, chip", list(ACCURACY))
def test_mean_and_std_over_seeds_in_closed_form(study, task, shift, method, chip):
    groups = aggregate(collect(study))
    row = groups[(groups.task == task) & (groups.method == method) & (groups.bench == f"model:{chip}")].iloc[0]
    base, step = ACCURACY[(method, chip)]
    # seeds 0, 1, 2: mean base + step; sample std sqrt(((-step)^2 + 0 + step^2) / 2) = step
    assert row["accuracy"] == pytest.approx(100 * (base + step) - shift, abs=1e-9)
    assert row["accuracy_sd"] == pytest.approx(100 * step, abs=1e-9)
    assert row["baseline"] == pytest.approx(100 * BASELINE) and row["baseline_sd"] == pytest.approx(0.0)
    assert row["difference"] == pytest.approx(100 * (base + step - BASELINE) - shift, abs=1e-9)
    assert row["measurements"] == MEASUREMENTS[method]
    assert row["lab_time_s"] == pytest.approx(LAB_TIME[method] + 0.1)  # mean of +0, +0.1, +0.2
    if method == "analog":
        assert row["cosine"] == pytest.approx(0.998)  # median of 0.999, 0.997, 0.998
    else:
        assert math.isnan(row["cosine"])


def test_markdown_tables_show_the_statistics(study):
    text = (study / "results.md").read_text()
    assert text.startswith("# Study paper-grid\n")
    assert "26 runs: 24 finished, 1 failed, 1 unfinished." in text
    assert "### task: iris-1" in text and "### task: digits-16" in text
    # iris-1, analog, typical: 90, 95, 100 % -> 95.0 ± 5.0; baseline 96.0 ± 0.0; 3 of its 4 runs finished
    assert "| analog | model:typical | 95.0 ± 5.0 | 96.0 ± 0.0 | -1.0 | 0.9980 | 45,462 | 2.0 h | 3 of 4 |" in text
    assert "| offline | model:harsh | 80.0 ± 10.0 | 96.0 ± 0.0 | -16.0 | – | 1,062 | 2.5 min | 3 |" in text
    assert "| analog | model:harsh | 82.0 ± 2.0 | 96.0 ± 0.0 | -14.0 | 0.9980 | 45,462 | 2.0 h | 3 of 4 |" in text


def test_markdown_tables_from_the_csv_read_back(study):
    """A docs script may rebuild the tables from results.csv alone."""
    assert markdown_tables(pd.read_csv(study / "results.csv")) == markdown_tables(collect(study))


def test_rows_follow_the_study_file_order(tmp_path):
    """Without study.yaml the labels sort alphabetically; with it, in the order the study lists them."""
    for task in ("iris-1", "digits-16"):
        for method in ("offline", "analog"):
            config = config_of(TASKS[task][0], TASKS[task][1], method, "model", 0)
            write_run(tmp_path, f"{task}-{method}", config=config, axes={"task": task, "method": method},
                      summary=summary_of(config, TASKS[task][2], 0.9, None))
    assert [tuple(r) for r in collect(tmp_path)[["task", "method"]].values][:2] == [("digits-16", "analog"),
                                                                                   ("digits-16", "offline")]
    (tmp_path / "study.yaml").write_text("kind: study\ngrid:\n  task:\n    iris-1: {dataset: iris}\n"
                                         "    digits-16: {dataset: digits}\n  method: [offline, analog]\n")
    df = collect(tmp_path)
    assert [tuple(r) for r in df[["task", "method"]].values] == [
        ("iris-1", "offline"), ("iris-1", "analog"), ("digits-16", "offline"), ("digits-16", "analog")]
    text = markdown_tables(df)
    assert text.index("### task: iris-1") < text.index("### task: digits-16")


def test_single_run_has_no_spread(tmp_path):
    config = config_of("iris", [4], "analog", "model", 0)
    write_run(tmp_path, "only", config=config, axes={"method": "analog", "seed": 0},
              summary=summary_of(config, [4, 4, 3], 0.9, 0.99))
    assert "| analog | 90.0 | 96.0 | -6.0 | 0.9900 |" in markdown_tables(collect(tmp_path))


@pytest.mark.parametrize("seconds, text", [(45.0, "45 s"), (750.0, "12.5 min"), (11520.0, "3.2 h"),
                                           (math.nan, "–")])
def test_duration_reads_well(seconds, text):
    assert duration(seconds) == text


# --------------------------------------------------------------------------- failed, unfinished
def test_failed_and_unfinished_runs_are_reported(study):
    df = collect(study)
    failed = df[df.status == "failed"].iloc[0]
    assert failed.run_id == "task=iris-1_method=analog_bench=typical_seed=3"
    assert failed.error.startswith("runs/x/bench.yaml: SafetyLimitError")
    assert failed.bench == "model:typical" and failed.seed == 3 and failed.run_dir == ""
    assert math.isnan(failed.accuracy_mean) and failed.measurements is pd.NA
    unfinished = df[df.status == "unfinished"].iloc[0]
    assert unfinished.run_id == "task=iris-1_method=analog_bench=harsh_seed=3"
    assert unfinished.run_dir == "runs/task=iris-1_method=analog_bench=harsh_seed=3"
    text = (study / "results.md").read_text()
    assert "## Failed runs" in text
    assert ("- `task=iris-1_method=analog_bench=typical_seed=3` (task=iris-1, method=analog, bench=model:typical, "
            "seed=3): runs/x/bench.yaml: SafetyLimitError: 2.1 mA exceeds the 2 mA limit") in text
    assert "## Unfinished runs" in text and "`task=iris-1_method=analog_bench=harsh_seed=3`" in text


def test_a_run_that_finished_after_failing_counts_as_finished(tmp_path):
    config = config_of("iris", [4], "analog", "model", 0)
    write_run(tmp_path, "r", config=config, axes={"seed": 0}, summary=summary_of(config, [4, 4, 3], 0.9, 0.99))
    write_failed(tmp_path, "r", {"seed": 0}, "killed")
    assert list(collect(tmp_path).status) == ["finished"]


# --------------------------------------------------------------------------- damaged files
def _good_run(study: Path, run_id: str, seed: int) -> Path:
    config = config_of("iris", [4], "analog", "model", seed)
    return write_run(study, run_id, config=config, axes={"method": "analog", "seed": seed},
                     summary=summary_of(config, [4, 4, 3], 0.9, 0.99), metrics=metrics_rows(config, 0.9))


DAMAGE = {
    "summary-not-json": ("summary.json", b'{"accuracy_mean": 0.9,', "runs/bad/summary.json: damaged (not JSON"),
    "summary-nan": ("summary.json", None, "runs/bad/summary.json: damaged ('accuracy_mean' must be a number"),
    "summary-list": ("summary.json", b"[1, 2]", "runs/bad/summary.json: damaged (not a JSON object)"),
    "summary-binary": ("summary.json", b"\xff\xfe\x00garbage", "runs/bad/summary.json: is UTF-16 text"),
    "summary-deep": ("summary.json", b"[" * 100_000 + b"]" * 100_000, "runs/bad/summary.json: damaged"),
    "config-python-tag": ("config.yaml", b"seed: !!python/object/apply:os.system ['true']\n",
                          "runs/bad/config.yaml"),
    "config-scalar": ("config.yaml", b"just text\n", "runs/bad/config.yaml: damaged (not a mapping"),
    "study-run-axes-list": ("study-run.json", b'{"axes": [1, 2]}', "runs/bad/study-run.json: damaged ('axes'"),
    "study-run-axis-nested": ("study-run.json", b'{"axes": {"seed": {"a": 1}}}',
                              "runs/bad/study-run.json: damaged (axis 'seed' is not a single value)"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_file_makes_its_run_damaged(tmp_path, case):
    name, content, error = DAMAGE[case]
    _good_run(tmp_path, "good", 0)
    bad = _good_run(tmp_path, "bad", 1)
    if content is None:  # JSON NaN: Python's json reads it, the report must not trust it
        summary = json.loads((bad / "summary.json").read_text())
        content = json.dumps({**summary, "accuracy_mean": float("nan")}).encode()
    (bad / name).write_bytes(content)
    df = collect(tmp_path)  # (write_report with damaged files: test_damaged_failed_file_and_fifo)
    damaged = df.set_index("run_id").loc["bad"]
    assert damaged.status == "damaged" and damaged.error.startswith(error), damaged.error
    assert "\n" not in damaged.error
    assert df.set_index("run_id").loc["good"].status == "finished"
    text = render_markdown(df, "damaged")
    assert "2 runs: 1 finished, 0 failed, 0 unfinished, 1 damaged." in text
    assert "## Damaged run records" in text and "- `bad`" in text
    assert "| analog | 90.0 |" in text  # the damaged run is left out of the statistics


def test_damaged_failed_file_and_fifo(tmp_path):
    _good_run(tmp_path, "good", 0)
    (tmp_path / "failed").mkdir()
    (tmp_path / "failed" / "lost.json").write_bytes(b"\x00\x01 not json")
    bad = _good_run(tmp_path, "piped", 1)
    (bad / "summary.json").unlink()
    os.mkfifo(bad / "summary.json")  # no writer: a plain open() would block for ever
    (bad / "metrics.csv").write_text("not,a,metrics\ntable")
    write_report(tmp_path)
    df = collect(tmp_path).set_index("run_id")
    assert df.loc["lost"].status == "damaged" and df.loc["lost"].error.startswith("failed/lost.json: ")
    assert df.loc["piped"].status == "damaged"
    assert df.loc["piped"].error == "runs/piped/summary.json: is a named pipe (FIFO), not a regular file"


def test_missing_study_directory_is_one_line(tmp_path):
    with pytest.raises(DataFileError, match="no such folder"):
        collect(tmp_path / "nowhere")


# --------------------------------------------------------------------------- axes without study-run.json
def test_axes_inferred_from_the_configs(tmp_path):
    """Copied-in runs: the axes are the config keys that differ, labelled readably."""
    for n, (hidden, method, rate, bench) in enumerate([([8, 4], "analog", 0.05, "model:/x/typical.yaml"),
                                                       ([4], "analog", 0.1, "/y/chips/harsh.yaml"),
                                                       ([8, 4], "numeric", 0.05, "model:/x/typical.yaml")]):
        config = config_of("iris", hidden, method, bench, 0)
        config["optimiser"]["learning_rate"] = rate
        write_run(tmp_path, f"old-{n}", config=config, summary=summary_of(config, [4, *hidden, 3], 0.9, 0.99))
    df = collect(tmp_path).set_index("run_id").loc[["old-0", "old-1", "old-2"]]
    assert axis_columns(df.reset_index()) == ["hidden", "method", "optimiser.learning_rate", "bench"]  # not name
    assert list(df["hidden"]) == ["8-4", "4", "8-4"]
    assert list(df["bench"]) == ["model:typical", "harsh", "model:typical"]
    assert list(df["optimiser.learning_rate"]) == [0.05, 0.1, 0.05]
    assert list(df["status"]) == ["finished"] * 3
    assert roles(axis_columns(df)).x == "method"


def test_labels_that_would_merge_two_benches_are_kept_whole(tmp_path):
    for n, bench in enumerate(["model:/a/typical.yaml", "model:/b/typical.yaml", "model:/a/harsh.yaml"]):
        config = config_of("iris", [4], "analog", bench, 0)
        write_run(tmp_path, f"r{n}", config=config, summary=summary_of(config, [4, 4, 3], 0.9, 0.99))
    df = collect(tmp_path).set_index("run_id")
    assert list(df.loc[["r0", "r1", "r2"], "bench"]) == ["model:/a/typical.yaml", "model:/b/typical.yaml",
                                                         "model:harsh"]


def test_copied_in_run_joins_the_runner_s_groups(tmp_path):
    """A run without study-run.json beside the runner's: its config's values fill the study's axes."""
    for seed in (0, 1):
        config = config_of("iris", [4], "analog", "model:/opt/chips/harsh.yaml", seed)
        write_run(tmp_path, f"runner-{seed}", config=config, axes={"bench": "model:harsh", "seed": seed},
                  summary=summary_of(config, [4, 4, 3], 0.9 + 0.02 * seed, 0.99))
    config = config_of("iris", [4], "analog", "model:/opt/chips/harsh.yaml", 2)
    write_run(tmp_path, "by-hand", config=config, summary=summary_of(config, [4, 4, 3], 0.94, 0.99))
    df = collect(tmp_path)
    assert list(df["bench"]) == ["model:harsh"] * 3 and sorted(df["seed"]) == [0, 1, 2]
    assert "| model:harsh | 92.0 ± 2.0 |" in markdown_tables(df)


def test_an_axis_named_like_a_column_keeps_both(tmp_path):
    for epochs in (3, 5):
        config = config_of("iris", [4], "analog", "model", 0, epochs=epochs)
        write_run(tmp_path, f"e{epochs}", config=config, axes={"epochs": epochs},
                  summary=summary_of(config, [4, 4, 3], 0.9, 0.99))
    df = collect(tmp_path)
    assert axis_columns(df) == ["epochs (axis)"] and list(df["epochs"]) == [3, 5]


@pytest.mark.parametrize("value, label", [("model:/x/typical.yaml", "model:typical"), ("typical.yaml", "typical"),
                                          ("model", "model"), ([8, 4], "8-4"), (0, 0), (None, None),
                                          ("/rec/a.csv,/rec/b.csv", "a+b")])
def test_readable_label(value, label):
    assert readable_label(value) == label


# --------------------------------------------------------------------------- figures
def test_figures_written_and_pyplot_untouched(study):
    import matplotlib.pyplot as plt

    for name in ("accuracy", "gradient_cosine", "cost", "learning_curves"):
        data = (study / "figures" / f"{name}.png").read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
    assert plt.get_fignums() == []
    assert "![accuracy per method and chip](figures/accuracy.png)" in (study / "results.md").read_text()


def test_figures_of_a_study_with_nothing_finished(tmp_path):
    write_failed(tmp_path, "a", {"method": "analog", "seed": 0}, "refused")
    paths = write_report(tmp_path)
    assert all(p.read_bytes().startswith(PNG) for p in paths.figures.values())
    assert "1 run: 0 finished, 1 failed, 0 unfinished." in paths.markdown.read_text()


def test_labels_that_are_markdown_or_mathtext(tmp_path):
    """``|`` would split a table cell, ``$`` start math on GitHub and mathtext in matplotlib."""
    for n, method in enumerate(["a|b", "$x$", r"\$\frac{"]):
        config = config_of("iris", [4], "analog", "model", 0)
        write_run(tmp_path, f"r{n}", config=config, axes={"method": method},
                  summary=summary_of(config, [4, 4, 3], 0.9, 0.99), metrics=metrics_rows(config, 0.9))
    paths = write_report(tmp_path)
    text = paths.markdown.read_text()
    assert "| a\\|b | 90.0 |" in text and "| \\$x\\$ | 90.0 |" in text
    assert all(p.read_bytes().startswith(PNG) for p in paths.figures.values())


def test_learning_curves_skip_a_damaged_metrics_table(tmp_path, caplog):
    _good_run(tmp_path, "good", 0)
    (_good_run(tmp_path, "bad", 1) / "metrics.csv").write_bytes(b"\xff\xfe")
    out = learning_curves(collect(tmp_path), tmp_path, tmp_path / "curves.png")
    assert out.read_bytes().startswith(PNG)
    assert "runs/bad/metrics.csv: left out of the learning curves" in caplog.text
