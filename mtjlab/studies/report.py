"""A study's report, rebuilt from its run directories: results.csv, results.md and figures/.

The statistics over replicate runs (:func:`aggregate`) and the roles of the axes
(:func:`roles`) live here too; the figures use them.

results.md is plain GitHub-flavoured markdown: a header (the study, how many runs
finished, failed, are unfinished or damaged, what the numbers mean), one table per
task (or one table when the study has no task axis) whose rows are the groups of
replicate runs, the figures, and the failed and damaged runs with their one-line
cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..training.records import atomic_write_text
from .results import METHOD_AXIS, REPLICATE_AXES, TASK_AXES, axis_columns, collect, write_csv

_COLUMNS = ("MTJ accuracy %", "software baseline %", "difference (pp)", "grad cosine (median)",
            "measurements (mean)", "lab time (mean)", "runs")
_FIGURES = (("accuracy", "accuracy per method and chip"), ("gradient_cosine", "median gradient cosine"),
            ("cost", "lab time and measurements"), ("learning_curves", "learning curves"))


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_report` put the report."""

    csv: Path
    markdown: Path
    figures: dict[str, Path]  # accuracy, gradient_cosine, cost, learning_curves


# --------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class Roles:
    """What each axis of a study is for in the tables and figures."""

    task: str | None  # one table / panel per value
    x: str | None  # along the x axis of a figure (the method, when varied)
    series: tuple[str, ...]  # the other non-replicate axes: one bar colour per combination
    replicates: tuple[str, ...]  # averaged over


def roles(axes: list[str]) -> Roles:
    """Task: ``task`` (else ``dataset``); x: ``method`` (else the first other axis); the rest are series."""
    replicates = tuple(a for a in axes if a in REPLICATE_AXES)
    grouping = [a for a in axes if a not in REPLICATE_AXES]
    task = next((a for a in TASK_AXES if a in grouping), None)
    rest = [a for a in grouping if a != task]
    x = METHOD_AXIS if METHOD_AXIS in rest else (rest[0] if rest else None)
    return Roles(task, x, tuple(a for a in rest if a != x), replicates)


def group_axes(df: pd.DataFrame) -> list[str]:
    """The non-replicate axes: runs that agree on all of them are replicates of one another."""
    return [a for a in axis_columns(df) if a not in REPLICATE_AXES]


def _sample_std(values: pd.Series) -> float:
    """Standard deviation over replicates with n - 1 (NaN for a single run: no spread is known)."""
    return float(values.std(ddof=1)) if len(values) > 1 else math.nan


def _numbers(runs: pd.DataFrame, column: str, scale: float = 1.0) -> pd.Series:
    """A column as floats (a table read back from CSV may hold them as text or nullable ints)."""
    return scale * pd.to_numeric(runs[column]).astype(float)


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """One row per group of replicate runs (the non-replicate axes), in order of first appearance.

    Columns: the group's axes, ``runs`` (all of them), ``finished``, ``accuracy`` and
    ``baseline`` (mean over the finished runs of each run's fold-mean accuracy, in %),
    ``accuracy_sd`` and ``baseline_sd`` (sample std over those runs, in %),
    ``difference`` (accuracy - baseline, percentage points), ``cosine`` (median of the
    runs' median gradient cosines, NaN when none has one), ``measurements`` and
    ``lab_time_s`` (means).
    """
    keys = group_axes(df)
    rows = []
    groups = df.groupby(keys, sort=False, dropna=False) if keys else [((), df)]
    for values, group in groups:
        done = group[group["status"] == "finished"]
        accuracy, baseline = _numbers(done, "accuracy_mean", 100), _numbers(done, "baseline_accuracy_mean", 100)
        cosines = _numbers(done, "grad_cosine_median").dropna()
        row = dict(zip(keys, values if isinstance(values, tuple) else (values,)))
        row.update(runs=len(group), finished=len(done),
                   accuracy=_mean(accuracy), accuracy_sd=_sample_std(accuracy),
                   baseline=_mean(baseline), baseline_sd=_sample_std(baseline),
                   difference=_mean(accuracy) - _mean(baseline),
                   cosine=float(cosines.median()) if len(cosines) else math.nan,
                   measurements=_mean(_numbers(done, "measurements")), lab_time_s=_mean(_numbers(done, "lab_time_s")))
        rows.append(row)
    return pd.DataFrame(rows)


def show(value: Any) -> str:
    """An axis label as text: missing as ``–``, whole floats (from a CSV) without ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"
    return str(value)


# --------------------------------------------------------------------------- cells
def _cell(text: Any) -> str:
    """Text safe in a table cell: a ``|`` would split the cell, a newline the row."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("$", "\\$")  # $..$ is math on GitHub


def _mean_sd(mean: float, sd: float) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:.1f}" if math.isnan(sd) else f"{mean:.1f} ± {sd:.1f}"


def duration(seconds: float) -> str:
    """A time in the unit that reads best: ``45 s``, ``12.5 min``, ``3.2 h``."""
    if math.isnan(seconds):
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:,.1f} h"


def _runs(row: pd.Series) -> str:
    """How many runs the row averages; ``2 of 3`` when some did not finish."""
    done, total = int(row["finished"]), int(row["runs"])
    return str(total) if done == total else f"{done} of {total}"


def _metric_cells(row: pd.Series) -> list[str]:
    return [_mean_sd(row["accuracy"], row["accuracy_sd"]),
            _mean_sd(row["baseline"], row["baseline_sd"]),
            "–" if math.isnan(row["difference"]) else f"{row['difference']:+.1f}",
            "–" if math.isnan(row["cosine"]) else f"{row['cosine']:.4f}",
            "–" if math.isnan(row["measurements"]) else f"{row['measurements']:,.0f}",
            duration(row["lab_time_s"]),
            _runs(row)]


# --------------------------------------------------------------------------- tables
def _table(groups: pd.DataFrame, axes: list[str]) -> list[str]:
    header = [*axes, *_COLUMNS]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for _, row in groups.iterrows():
        cells = [_cell(show(row[a])) for a in axes] + _metric_cells(row)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown_tables(df: pd.DataFrame) -> str:
    """One markdown table per task (one in all when the study has no task axis).

    ``df`` is what :func:`~mtjlab.studies.results.collect` gives, or results.csv read
    back with pandas. Rows are the groups of runs that differ only in their replicate
    axes (seed, chip_seed), in the order the runs come.
    """
    if df.empty:
        return "No runs yet.\n"
    groups = aggregate(df)
    role = roles(axis_columns(df))
    shown = ([role.x] if role.x else []) + list(role.series)
    if role.task is None:
        return "\n".join(_table(groups, shown)) + "\n"
    parts = []
    for task, block in groups.groupby(role.task, sort=False, dropna=False):
        parts += [f"### {role.task}: {_cell(show(task))}", "", *_table(block, shown), ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- the document
def _counts(df: pd.DataFrame) -> str:
    counts = df["status"].value_counts()
    parts = [f"{int(counts.get(s, 0))} {s}" for s in ("finished", "failed", "unfinished")]
    if counts.get("damaged", 0):
        parts.append(f"{int(counts['damaged'])} damaged")
    return f"{len(df)} run{'' if len(df) == 1 else 's'}: " + ", ".join(parts) + "."


def _legend(df: pd.DataFrame) -> list[str]:
    axes = axis_columns(df)
    grouping = [a for a in axes if a not in REPLICATE_AXES]
    replicates = [a for a in axes if a in REPLICATE_AXES]
    over = (f"averaged over: {' and '.join(replicates)}" if replicates
            else "no replicate axis (seed, chip_seed): a row averages only runs that repeat the same values")
    return [
        f"Axes: {', '.join(_cell(a) for a in grouping) or 'none'}; {over}.",
        "",
        "Each row gathers the runs that differ only in their replicate axes. **MTJ accuracy** is the mean ± "
        "sample standard deviation (n − 1) over those runs of each run's k-fold mean validation accuracy, in %; "
        "one run shows no ±. The **software baseline** is the same network trained in software with the "
        "chip's nominal activation; **difference** = MTJ − baseline, in percentage points. **grad cosine** is "
        "the median over the runs of each run's median cosine between the gradient used and the devices' exact "
        "gradient (– where the method records none). **Lab time** is the bench's time (the model's estimate on "
        "a simulated bench). **runs**: `2 of 3` when a run of the row failed or has not finished.",
    ]


def _describe_run(row: pd.Series, axes: list[str]) -> str:
    where = ", ".join(f"{a}={show(row[a])}" for a in axes)
    run_id = str(row["run_id"]).replace("`", "'")
    return f"- `{run_id}`" + (f" ({_cell(where)})" if where else "") + f": {_cell(show(row['error']))}"


def _failures(df: pd.DataFrame) -> list[str]:
    axes = axis_columns(df)
    lines: list[str] = []
    for status, heading in (("failed", "Failed runs"), ("damaged", "Damaged run records")):
        rows = df[df["status"] == status]
        if len(rows):
            lines += [f"## {heading}", ""] + [_describe_run(r, axes) for _, r in rows.iterrows()] + [""]
    unfinished = df[df["status"] == "unfinished"]
    if len(unfinished):
        ids = ", ".join(f"`{str(r).replace('`', chr(39))}`" for r in unfinished["run_id"])
        lines += ["## Unfinished runs", "", f"Not (yet) finished, left out of the tables: {ids}.", ""]
    return lines


def render_markdown(df: pd.DataFrame, title: str, figures: dict[str, Path] | None = None) -> str:
    """The whole results.md (figures linked relative to the study folder)."""
    lines = [f"# Study {_cell(title)}", "", _counts(df), "", *_legend(df), "", "## Results", "",
             markdown_tables(df).rstrip("\n"), ""]
    if figures:
        lines += ["## Figures", ""]
        for key, caption in _FIGURES:
            if key in figures:
                lines += [f"![{caption}](figures/{figures[key].name})", ""]
    lines += _failures(df)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_report(study_dir: Path, *, title: str | None = None) -> ReportPaths:
    """Collect the runs of ``study_dir``; write results.csv, figures/ and results.md into it."""
    study_dir = Path(study_dir)
    df = collect(study_dir)
    csv_path, md_path = study_dir / "results.csv", study_dir / "results.md"
    write_csv(df, csv_path)
    name = title if title is not None else study_dir.resolve().name
    atomic_write_text(md_path, render_markdown(df, name))  # the tables stand even if a figure fails
    from .figures import write_figures  # here: markdown_tables alone (a docs script) needs no matplotlib

    figures = write_figures(df, study_dir, study_dir / "figures")
    atomic_write_text(md_path, render_markdown(df, name, figures))
    return ReportPaths(csv_path, md_path, figures)


__all__ = ["ReportPaths", "Roles", "aggregate", "duration", "group_axes", "markdown_tables", "render_markdown",
           "roles", "show", "write_report"]
