"""A study's results from its run directories alone: one row per run.

:func:`collect` reads ``<study>/runs/<run_id>/`` (``study-run.json``, ``config.yaml``,
``summary.json``) and ``<study>/failed/<run_id>.json`` and gives one row per run:
``run_id``, ``status`` (finished | failed | unfinished | damaged), one column per
axis in the study's order, the numbers of ``summary.json`` as written, the error
of a failed or damaged run, and the run directory relative to the study. The axis
columns are the ones between ``status`` and ``accuracy_mean``, so a table read
back from ``results.csv`` still says which they are.

Every file is read bounded and parsed safely (:mod:`mtjlab.safe_files`, YAML through
:func:`mtjlab.config.loading.read_yaml`); a damaged one makes its run ``damaged``
with one line naming the file, never an exception.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..config.loading import read_yaml
from ..errors import DataFileError, MtjlabError
from ..safe_files import CONFIG_MAX_BYTES, decode_text, read_bytes
from ..training.records import atomic_write_text

#: Monte Carlo axes (training seeds, chips of one process): tables average over them.
REPLICATE_AXES = ("seed", "chip_seed")
#: An axis of either name splits the report into one table (and one figure panel) per value.
TASK_AXES = ("task", "dataset")
#: The axis drawn along the x axis of the figures when the study varies it.
METHOD_AXIS = "method"
STATUSES = ("finished", "failed", "unfinished", "damaged")

SUMMARY_COLUMNS = ("accuracy_mean", "accuracy_std", "baseline_accuracy_mean", "baseline_accuracy_std",
                   "grad_cosine_median", "measurements", "lab_time_s", "wall_time_s", "epochs", "folds",
                   "architecture")
_FRACTIONS = ("accuracy_mean", "accuracy_std", "baseline_accuracy_mean", "baseline_accuracy_std")
_DURATIONS = ("lab_time_s", "wall_time_s")
_COUNTS = ("measurements", "epochs", "folds")
_FIXED = ("run_id", "status", *SUMMARY_COLUMNS, "error", "run_dir")
#: Config keys that never make an axis: the run name differs for every run by construction.
_NOT_AXES = {"name", "kind"}
_MAX_LABEL = 200
_MAX_ERROR = 300


@dataclass
class _Run:
    """What the files of one run say, before the study's axes are known."""

    run_id: str
    run_dir: str = ""
    axes: dict[str, Any] | None = None  # from study-run.json or the failed file
    config: dict[str, Any] | None = None  # config.yaml, flattened
    summary: dict[str, Any] | None = None
    failure: str | None = None
    damage: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.damage:
            return "damaged"
        if self.summary is not None:  # finished after all, even if an earlier attempt failed
            return "finished"
        return "failed" if self.failure is not None else "unfinished"


# --------------------------------------------------------------------------- labels
def readable_label(value: Any) -> Any:
    """An axis value as a table shows it: paths by their stem, lists joined by ``-``; scalars kept."""
    if isinstance(value, str):
        prefix = "model:" if value.startswith("model:") else ""
        body = value[len(prefix):]
        if "/" in body or body.endswith((".yaml", ".yml", ".csv")):  # recorded sweeps: comma-separated files
            body = "+".join(Path(part.strip().rstrip("/")).stem or part for part in body.split(","))
        return (prefix + body)[:_MAX_LABEL]
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (str, int, float, bool)) for v in value):
            return "-".join(str(readable_label(v)) for v in value)[:_MAX_LABEL]
        return json.dumps(value, sort_keys=True)[:_MAX_LABEL]
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)[:_MAX_LABEL]
    return value


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested keys joined by dots (``optimiser.learning_rate``), as a study names its axes."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


# --------------------------------------------------------------------------- reading files
def _read_json(path: Path, source: str) -> Any:
    text = decode_text(read_bytes(path, what="a run's JSON file", max_bytes=CONFIG_MAX_BYTES, source=source),
                       source)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DataFileError(f"{source}: damaged (not JSON: {str(exc)[:80]})") from None


def _check_axes(axes: Any, source: str) -> dict[str, Any]:
    """The ``axes`` mapping of study-run.json or a failed file: names to JSON scalars."""
    if not isinstance(axes, dict):
        raise DataFileError(f"{source}: damaged ('axes' must map axis names to values)")
    for name, value in axes.items():
        if not name or len(name) > _MAX_LABEL:
            raise DataFileError(f"{source}: damaged (an axis name is empty or too long)")
        if not (value is None or isinstance(value, (str, int, float, bool))):
            raise DataFileError(f"{source}: damaged (axis {name[:40]!r} is not a single value)")
        if isinstance(value, float) and not math.isfinite(value):
            raise DataFileError(f"{source}: damaged (axis {name[:40]!r} is {value})")
        if isinstance(value, str) and len(value) > 4 * _MAX_LABEL:
            raise DataFileError(f"{source}: damaged (axis {name[:40]!r} is {len(value)} characters long)")
    return dict(axes)


def _number(summary: dict[str, Any], key: str, source: str, low: float, high: float) -> float | int:
    value = summary.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise DataFileError(f"{source}: damaged ({key!r} must be a number within {low:g}..{high:g}, "
                            f"got {str(value)[:40]})")
    return value


def _check_summary(summary: Any, source: str) -> dict[str, Any]:
    """The numbers of summary.json the report uses, as written; DataFileError naming the first bad one."""
    if not isinstance(summary, dict):
        raise DataFileError(f"{source}: damaged (not a JSON object)")
    row: dict[str, Any] = {}
    for key in _FRACTIONS:
        row[key] = _number(summary, key, source, 0, 1)
    for key in _DURATIONS:
        row[key] = _number(summary, key, source, 0, 1e12)
    for key in _COUNTS:
        if not isinstance(summary.get(key), int) or isinstance(summary[key], bool) or summary[key] < 0:
            raise DataFileError(f"{source}: damaged ({key!r} must be a whole number >= 0, "
                                f"got {str(summary.get(key))[:40]})")
        row[key] = summary[key]
    cosine = summary.get("grad_cosine_median")
    row["grad_cosine_median"] = None if cosine is None else _number(summary, "grad_cosine_median", source,
                                                                     -1 - 1e-6, 1 + 1e-6)
    sizes = summary.get("architecture")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes)):
        raise DataFileError(f"{source}: damaged ('architecture' must list the layer sizes)")
    row["architecture"] = "-".join(map(str, sizes))
    return row


def _read_run(study_dir: Path, run_id: str) -> _Run:
    """Every file of one run, each damage noted rather than raised."""
    run = _Run(run_id)
    directory = study_dir / "runs" / run_id
    if directory.is_dir():
        run.run_dir = f"runs/{run_id}"
    failed = study_dir / "failed" / f"{run_id}.json"
    steps = [(failed, _take_failure), (directory / "study-run.json", _take_axes),
             (directory / "config.yaml", _take_config), (directory / "summary.json", _take_summary)]
    for path, take in steps:
        if not (path.exists() or path.is_symlink()):
            continue
        try:
            take(run, path, path.relative_to(study_dir).as_posix())
        except MtjlabError as exc:
            run.damage.append(exc.one_line()[:_MAX_ERROR])
    return run


def _take_failure(run: _Run, path: Path, source: str) -> None:
    document = _read_json(path, source)
    if not isinstance(document, dict) or not isinstance(document.get("error", ""), str):
        raise DataFileError(f"{source}: damaged (not a JSON object with an 'error' text)")
    run.failure = " ".join(document.get("error", "").split())[:_MAX_ERROR] or "(no cause recorded)"
    if "axes" in document:
        run.axes = _check_axes(document["axes"], source)


def _take_axes(run: _Run, path: Path, source: str) -> None:
    document = _read_json(path, source)
    if not isinstance(document, dict) or "axes" not in document:
        raise DataFileError(f"{source}: damaged (not a JSON object with 'axes')")
    run.axes = _check_axes(document["axes"], source)


def _take_config(run: _Run, path: Path, source: str) -> None:
    document = read_yaml(path, what="a run's YAML file", source=source, error_class=DataFileError)
    if not isinstance(document, dict):
        raise DataFileError(f"{source}: damaged (not a mapping of training keys)")
    run.config = flatten(document)


def _take_summary(run: _Run, path: Path, source: str) -> None:
    run.summary = _check_summary(_read_json(path, source), source)


# --------------------------------------------------------------------------- axes
def infer_axes(configs: list[dict[str, Any]]) -> list[str]:
    """The (flattened) config keys whose values differ among ``configs``, in the order they appear."""
    keys: list[str] = []
    for config in configs:
        keys += [k for k in config if k not in keys and k not in _NOT_AXES]
    differ = []
    for key in keys:
        seen = {json.dumps(c.get(key), sort_keys=True, default=str) for c in configs}
        if len(seen) > 1:
            differ.append(key)
    return differ


def _study_axes(runs: list[_Run]) -> list[str]:
    """The runner's axes (study-run.json / failed files) in their order; inferred when no run has them."""
    axes: list[str] = []
    for run in runs:
        axes += [a for a in (run.axes or {}) if a not in axes]
    return axes or infer_axes([r.config for r in runs if r.config is not None])


def _axis_values(run: _Run, axes: list[str]) -> dict[str, Any]:
    """This run's value on each axis, as written: the runner's label, else its config's value under that key."""
    given, config = run.axes or {}, run.config or {}
    return {a: given[a] if a in given else config.get(a) for a in axes}


def _readable(raw: list[Any]) -> list[Any]:
    """One axis's values labelled readably, except paths whose labels would merge (two benches
    ``/a/typical.yaml`` and ``/b/typical.yaml``): those are kept as written. A preset's name
    (``model:typical``) does merge with a path of that stem: the same chip, written two ways."""
    labels = [readable_label(v) for v in raw]
    paths: dict[str, set[str]] = {}
    for value, label in zip(raw, labels):
        if isinstance(value, str) and "/" in value:
            paths.setdefault(str(label), set()).add(value)
    return [value if isinstance(value, str) and len(paths.get(str(label), ())) > 1 else label
            for value, label in zip(raw, labels)]


def _column_names(axes: list[str]) -> dict[str, str]:
    """An axis named like a fixed column (a study over ``epochs``) gets ``epochs (axis)``."""
    return {a: f"{a} (axis)" if a in _FIXED else a for a in axes}


def axis_columns(df: pd.DataFrame) -> list[str]:
    """The axis columns of a results table (those between ``status`` and ``accuracy_mean``)."""
    columns = list(df.columns)
    if "status" not in columns or "accuracy_mean" not in columns:
        return []
    return columns[columns.index("status") + 1:columns.index("accuracy_mean")]


# --------------------------------------------------------------------------- row order
def study_value_order(study_dir: Path) -> dict[str, list[Any]]:
    """Each axis's labels in the order the study file gives them (``iris`` before ``digits``).

    Only an aid to ordering rows: a study folder without a readable study.yaml (or
    a value it does not list) falls back to numbers ascending, then text
    alphabetically.
    """
    path = study_dir / "study.yaml"
    if not path.is_file():
        return {}
    try:
        document = read_yaml(path, what="a study file", source="study.yaml", error_class=DataFileError)
    except MtjlabError:
        return {}
    order: dict[str, list[Any]] = {}
    grid = document.get("grid") if isinstance(document, dict) else None
    runs = document.get("runs") if isinstance(document, dict) else None
    if isinstance(grid, dict):
        for axis, values in grid.items():
            if isinstance(values, dict):  # a labelled axis: its labels
                order[str(axis)] = [str(label) for label in values]
            elif isinstance(values, list):
                order[str(axis)] = [readable_label(v) for v in values]
    elif isinstance(runs, list):
        for run in (r for r in runs if isinstance(r, dict)):
            for axis, value in run.items():
                order.setdefault(str(axis), []).append(readable_label(value))
    return order


def _rank(value: Any, known: list[Any]) -> tuple[int, float, str]:
    """Sort key of one axis label: the study's order, then numbers, then text, then missing."""
    hashable = value if isinstance(value, (str, int, float, bool)) else None
    if hashable is not None and any(type(k) is type(hashable) and k == hashable for k in known):
        return 0, float(next(n for n, k in enumerate(known) if type(k) is type(hashable) and k == hashable)), ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return 1, float(value), ""
    if value is None or (isinstance(value, float) and value != value):
        return 3, 0.0, ""
    return 2, 0.0, str(value)


def _in_study_order(df: pd.DataFrame, names: dict[str, str], order: dict[str, list[Any]]) -> pd.DataFrame:
    def key(n: int) -> tuple:
        row = df.iloc[n]
        return (*(_rank(row[column], order.get(axis, [])) for axis, column in names.items()), row["run_id"])

    return df.iloc[sorted(range(len(df)), key=key)].reset_index(drop=True)


# --------------------------------------------------------------------------- the table
def _run_ids(study_dir: Path) -> list[str]:
    ids = set()
    runs, failed = study_dir / "runs", study_dir / "failed"
    try:
        if runs.is_dir():
            ids |= {p.name for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")}
        if failed.is_dir():  # hidden names are the temporary files of atomic writes
            ids |= {p.stem for p in failed.glob("*.json") if not p.name.startswith(".")}
    except OSError as exc:
        raise DataFileError(f"{study_dir}: cannot list its runs ({exc.strerror or type(exc).__name__})") from None
    return sorted(ids)


def _row(run: _Run, labels: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run.run_id, "status": run.status, **labels}
    row.update(run.summary or dict.fromkeys(SUMMARY_COLUMNS))
    row["error"] = "; ".join(run.damage) if run.damage else run.failure
    row["run_dir"] = run.run_dir
    return row


def collect(study_dir: Path) -> pd.DataFrame:
    """One row per run of ``study_dir`` (finished, failed, unfinished or damaged); see the module doc."""
    study_dir = Path(study_dir)
    if not study_dir.is_dir():
        raise DataFileError(f"{study_dir}: not a study directory (no such folder)")
    runs = [_read_run(study_dir, run_id) for run_id in _run_ids(study_dir)]
    axes = _study_axes(runs)
    names = _column_names(axes)
    columns = ["run_id", "status", *names.values(), *SUMMARY_COLUMNS, "error", "run_dir"]
    raw = [_axis_values(run, axes) for run in runs]
    readable = {a: _readable([values[a] for values in raw]) for a in axes}
    rows = [_row(run, {names[a]: readable[a][n] for a in axes}) for n, run in enumerate(runs)]
    df = pd.DataFrame(rows, columns=columns)
    for column in names.values():  # labels as written: 0 stays 0 (not 0.0), a missing one stays empty
        df[column] = df[column].astype(object)
    for column in (*_FRACTIONS, *_DURATIONS, "grad_cosine_median"):
        df[column] = pd.to_numeric(df[column]).astype(float)
    for column in _COUNTS:
        df[column] = df[column].astype("Int64")  # whole numbers, empty for a run without a summary
    for column in ("run_id", "status", "architecture", "error", "run_dir"):
        df[column] = df[column].astype(object)
    return _in_study_order(df, names, study_value_order(study_dir))


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """The table as CSV (floats in full precision, missing values empty), written atomically."""
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, na_rep="", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    atomic_write_text(Path(path), buffer.getvalue())


__all__ = ["METHOD_AXIS", "REPLICATE_AXES", "STATUSES", "SUMMARY_COLUMNS", "TASK_AXES", "axis_columns", "collect",
           "flatten", "infer_axes", "readable_label", "study_value_order", "write_csv"]
