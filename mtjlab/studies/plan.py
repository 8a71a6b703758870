"""A study file made into its runs: every run's full training config, checked before anything runs.

Everything a study file can get wrong is refused here in one line naming the
file and the place (an unknown axis, an empty grid, two runs that are the same
run, a run whose training config is invalid, a real bench, a missing dataset),
so a refused study leaves no directory behind.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import TrainingConfig, is_model_bench, load_bench, parse_training, read_yaml_mapping
from ..config.loading import _parse, show_value
from ..config.packaged import DEFAULT_BENCH, default_names, default_path
from ..config.study import StudyConfig
from ..config.training import OptimiserConfig
from ..errors import ConfigError, MtjlabError
from ..training.session import is_replay, resolved

#: Run identifiers longer than this are shortened with a hash (a file name holds 255 bytes).
MAX_RUN_ID = 150


@dataclass(frozen=True)
class PlannedRun:
    """One run of a study: its identifier, the label of its value on each axis, its training config."""

    run_id: str
    axes: dict[str, Any]
    config: dict[str, Any]  # TrainingConfig as JSON, paths absolute

    def training_config(self) -> TrainingConfig:
        return TrainingConfig.model_validate(self.config)


@dataclass(frozen=True)
class StudyPlan:
    """A checked study: its name, axes and runs, and the study file to keep beside them."""

    name: str
    axes: tuple[str, ...]
    runs: tuple[PlannedRun, ...]
    document: dict[str, Any]  # the study file with paths_relative_to made absolute


def packaged_study(ref: str) -> Path | None:
    """A packaged study named ``ref`` (``paper``, ``paper-study`` or ``paper-study.yaml``), if any."""
    names = default_names()
    for candidate in (ref, f"{ref}.yaml", f"{ref}-study.yaml"):
        if candidate in names and candidate.endswith("-study.yaml"):
            return default_path(candidate)
    return None


def load_study(ref: str | Path, working_dir: Path | None = None) -> StudyPlan:
    """Read and plan a study file; a packaged study's name resolves its paths against the working folder."""
    path = Path(ref)
    working_dir = Path.cwd() if working_dir is None else working_dir
    packaged = packaged_study(str(ref)) if not path.exists() else (
        path if path.resolve().parent == default_path(DEFAULT_BENCH).resolve().parent else None)
    if packaged is None and not path.exists():
        known = ", ".join(n[: -len("-study.yaml")] for n in default_names() if n.endswith("-study.yaml"))
        raise ConfigError(f"{ref}: file not found, and not a packaged study ({known or 'none'})")
    data = read_yaml_mapping(packaged or path)
    source = str(path)
    if "kind" in data and data["kind"] != "study":
        raise ConfigError(f"{source}: kind: must be study here (got {show_value(data['kind'])})")
    if packaged is None:
        return plan_study(data, source, path.resolve().parent)
    try:
        return plan_study(data, source, working_dir)
    except ConfigError as exc:
        if "no such file" not in str(exc):
            raise
        raise ConfigError(f"{exc.one_line()} (a packaged study's paths are relative to the working folder, "
                          f"{working_dir}: run it from the repository's root)") from None


def plan_study(data: dict[str, Any], source: str, default_dir: Path) -> StudyPlan:
    """Expand and check a study mapping (see the module docstring)."""
    study: StudyConfig = _parse(StudyConfig, data, source)
    relative_to = Path(study.paths_relative_to).expanduser() if study.paths_relative_to else default_dir
    if not relative_to.is_absolute():
        relative_to = default_dir / relative_to
    relative_to = relative_to.resolve()
    base = _base_keys(study.base, source, relative_to)
    if study.grid is not None:
        axes, choices = _grid(study.grid, source)
    else:
        axes, choices = _explicit(study.runs or [], source)
    runs, seen_configs, seen_ids = [], {}, {}
    for where, picks in choices:
        merged = copy.deepcopy(base)
        setters: dict[str, str] = {}
        for axis, _label_of, overrides in picks:
            for key in overrides:
                if key in setters and setters[key] != axis:
                    raise ConfigError(f"{source}: {where}: axes {setters[key]} and {axis} both set {key}; "
                                      "let one axis set each key")
                setters[key] = axis
            _deep_merge(merged, overrides)
        merged.pop("name", None)
        config = _check_run(merged, f"{source}: {where}", relative_to)
        identity = json.dumps(config.model_dump(mode="json"), sort_keys=True)
        if identity in seen_configs:
            raise ConfigError(f"{source}: {where} and {seen_configs[identity]} are the same run "
                              "(duplicate runs); remove one")
        seen_configs[identity] = where
        labels = {axis: label for axis, label in _labels(picks, config, axes)}
        run_id = _run_id(labels)
        if run_id in seen_ids:
            raise ConfigError(f"{source}: {where} and {seen_ids[run_id]} would share the run name {run_id!r}; "
                              "give their values distinct labels (a labelled axis)")
        seen_ids[run_id] = where
        named = config.model_copy(update={"name": run_id[:100]})
        runs.append(PlannedRun(run_id, labels, named.model_dump(mode="json")))
    document = {**data, "paths_relative_to": str(relative_to)}
    return StudyPlan(study.name, tuple(axes), tuple(runs), document)


# --------------------------------------------------------------------------- base and axes
def _base_keys(base: str | dict[str, Any], source: str, relative_to: Path) -> dict[str, Any]:
    """The training keys the base sets, paths made absolute (a base file's against its own folder)."""
    if isinstance(base, str):
        path = Path(base).expanduser()
        path = path if path.is_absolute() else relative_to / path
        try:
            data = read_yaml_mapping(path)
            if "kind" in data and data["kind"] != "training":
                raise ConfigError(f"{path}: kind: must be training (got {show_value(data['kind'])})")
            config = resolved(parse_training(data, str(path)), path.parent)
        except MtjlabError as exc:
            raise ConfigError(f"{source}: base: {exc.one_line()}") from None
    else:
        data = base
        config = resolved(parse_training(data, f"{source}: base"), relative_to)
    dumped = config.model_dump(mode="json")
    keep = set(data) | {"bench"} | ({"dataset_path"} if config.dataset_path is not None else set())
    return {key: value for key, value in dumped.items() if key in keep and key != "kind"}


def _training_key(axis: str) -> bool:
    """Whether ``axis`` names a training key (``optimiser.learning_rate`` for a nested one)."""
    top, _, sub = axis.partition(".")
    if not sub:
        return top in TrainingConfig.model_fields
    return top == "optimiser" and sub in OptimiserConfig.model_fields


def _nested(axis: str, value: Any) -> dict[str, Any]:
    top, _, sub = axis.partition(".")
    return {top: {sub: value}} if sub else {top: value}


def _unknown_axis(source: str, where: str, axis: str) -> ConfigError:
    keys = list(TrainingConfig.model_fields) + [f"optimiser.{k}" for k in OptimiserConfig.model_fields]
    close = difflib.get_close_matches(axis, keys, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return ConfigError(f"{source}: {where}: unknown axis: {axis!r} is not a training key{hint}; an axis of another "
                       "name is labelled: give it label: {training keys} pairs")


def _grid(grid: dict[str, Any], source: str):
    """Axes and, per run, the (axis, overrides) picks of every combination."""
    per_axis: list[list[tuple[str, Any, dict[str, Any]]]] = []
    for axis, values in grid.items():
        where = f"grid.{axis}"
        if isinstance(values, dict):
            if _training_key(axis):
                raise ConfigError(f"{source}: {where}: a training key's axis takes a list of values "
                                  f"(got a mapping); a labelled axis needs a name that is not a training key")
            options = []
            for label, overrides in values.items():
                if not isinstance(overrides, dict) or not overrides:
                    raise ConfigError(f"{source}: {where}.{label}: must be a mapping of training keys "
                                      f"(got {show_value(overrides)})")
                for key in overrides:
                    if not _training_key(key):
                        raise _unknown_axis(source, f"{where}.{label}", key)
                options.append((axis, str(label), _expand_dotted(overrides)))
        else:
            if not _training_key(axis):
                raise _unknown_axis(source, where, axis)
            options, seen = [], set()
            for value in values:
                key = json.dumps(value, sort_keys=True)
                if key in seen:
                    raise ConfigError(f"{source}: {where}: {show_value(value)} appears twice (duplicate runs)")
                seen.add(key)
                options.append((axis, value, _nested(axis, value)))
        per_axis.append(options)
    choices = []
    for combination in itertools.product(*per_axis):
        where = "grid run " + ", ".join(f"{axis}={_label(label)}" for axis, label, _ in combination)
        choices.append((where, [(axis, label if not _training_key(axis) else None, overrides)
                                for axis, label, overrides in combination]))
    return list(grid), choices


def _explicit(runs: list[dict[str, Any]], source: str):
    """Axes (every key any run sets, in order of appearance) and each run's overrides."""
    axes: list[str] = []
    choices = []
    for n, run in enumerate(runs):
        for key in run:
            if not _training_key(key):
                raise _unknown_axis(source, f"runs[{n}]", key)
            if key not in axes:
                axes.append(key)
        choices.append((f"runs[{n}]", [(key, None, _nested(key, value)) for key, value in run.items()]))
    return axes, choices


def _expand_dotted(overrides: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        _deep_merge(out, _nested(key, value))
    return out


def _deep_merge(into: dict[str, Any], overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


# --------------------------------------------------------------------------- one run
def _check_run(merged: dict[str, Any], where: str, relative_to: Path) -> TrainingConfig:
    """The run's training config, validated, paths absolute, its bench one a study may use."""
    config = parse_training(merged, where)
    try:
        config = resolved(config, relative_to)
    except MtjlabError as exc:
        raise ConfigError(f"{where}: {exc.one_line()}") from None
    check_study_bench(config, where)
    if config.dataset_path is not None and not Path(config.dataset_path).is_file():
        raise ConfigError(f"{where}: dataset_path: {config.dataset_path}: no such file")
    return config


def check_study_bench(config: TrainingConfig, where: str) -> None:
    """Refuse a bench of real instruments: one bench is one machine, it cannot serve many runs at once."""
    if is_model_bench(config.bench):
        return
    if is_replay(config.bench):
        if config.chip_seed is not None:
            raise ConfigError(f"{where}: chip_seed: recorded sweeps cannot change their chip (remove chip_seed)")
        return
    bench = load_bench(config.bench)
    real = [i for i in bench.instruments if i.backend != "sim"]
    if real:
        raise ConfigError(f"{where}: bench: {Path(config.bench).name} drives real instruments ({real[0].role} at "
                          f"{real[0].address}); a study runs only on model, simulated or replay benches "
                          "(one bench is one machine)")


# --------------------------------------------------------------------------- names
def _label(value: Any) -> str:
    """A short, file-name-safe label of an axis value (``model:/x/typical.yaml`` -> ``model-typical``)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "none"
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, (list, tuple)):
        text = "-".join(_label(v) for v in value)
    elif isinstance(value, dict):
        text = "-".join(f"{k}-{_label(v)}" for k, v in value.items())
    else:
        text = str(value)
        prefix = "model-" if text.startswith("model:") else ""
        body = text[len("model:"):] if prefix else text
        if "/" in body or body.endswith((".yaml", ".yml", ".csv")):
            body = "+".join(Path(part.strip()).stem for part in body.split(","))
        text = prefix + body
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "x"


def _labels(picks: list[tuple[str, str | None, dict[str, Any]]], config: TrainingConfig, axes: list[str]):
    """Each axis's label for this run: a labelled axis's label, else the value the run has."""
    chosen = {axis: label for axis, label, _ in picks}
    dumped = config.model_dump(mode="json")
    for axis in axes:
        if chosen.get(axis) is not None:
            yield axis, chosen[axis]
            continue
        top, _, sub = axis.partition(".")
        value = dumped[top][sub] if sub else dumped[top]
        if top in ("bench", "dataset_path") and isinstance(value, str):
            value = _short_path(value)
        yield axis, value if isinstance(value, (int, float, str, bool)) or value is None else _label(value)


def _short_path(value: str) -> str:
    """``model:/x/typical.yaml`` -> ``model:typical``; ``/data/a.csv,/data/b.csv`` -> ``a+b``."""
    prefix = "model:" if value.startswith("model:") else ""
    body = value[len(prefix):]
    if "/" in body or body.endswith((".yaml", ".yml", ".csv", ".npz")):
        body = "+".join(Path(part.strip()).stem for part in body.split(","))
    return prefix + body


def _run_id(labels: dict[str, Any]) -> str:
    text = "_".join(f"{axis.rpartition('.')[2]}={_label(value)}" for axis, value in labels.items())
    if len(text) > MAX_RUN_ID:
        digest = hashlib.sha1(text.encode()).hexdigest()[:10]
        text = f"{text[:MAX_RUN_ID - 11]}-{digest}"
    return text


__all__ = ["PlannedRun", "StudyPlan", "check_study_bench", "load_study", "packaged_study",
           "plan_study"]
