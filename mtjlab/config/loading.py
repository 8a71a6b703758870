"""Reading config files: YAML (safe_load only) -> validated models, with one-line errors.

Every failure raises :class:`~mtjlab.errors.ConfigError` with a single-line message
``<file as given>: <dotted.field.path>: <reason> (got <value>)``, for example
``lab.yaml: limits.max_bias_v: must be > 0 (got -1)``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mtjlab.config.bench import BenchConfig
from mtjlab.config.training import TrainingConfig
from mtjlab.errors import ConfigError

PathLike = str | os.PathLike[str]
KINDS: dict[str, type[BaseModel]] = {"bench": BenchConfig, "training": TrainingConfig}

_SIMPLE_REASONS = {
    "missing": "field required",
    "extra_forbidden": "unknown field",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "path_type": "must be a file path",
}
_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
           "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}
_NO_GOT = {"missing", "extra_forbidden"}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def show_value(value: Any, limit: int = 60) -> str:
    """A short one-line rendering of a user value, YAML-flavoured (true, null, 'text')."""
    if value is None or isinstance(value, bool):
        text = {None: "null", True: "true", False: "false"}[value]
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _literal_choices(expected: str) -> str:
    parts = re.split(r", | or ", expected)
    return ", ".join(p.strip().strip("'\"") for p in parts)


def _reason(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _SIMPLE_REASONS:
        return _SIMPLE_REASONS[kind]
    if kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        bound = ctx.get(key)
        shown = f"{bound:g}" if isinstance(bound, (int, float)) else str(bound)
        return f"must be {op} {shown}"
    if kind == "literal_error":
        return f"must be one of: {_literal_choices(str(ctx.get('expected', '')))}"
    if kind == "too_short":
        n = ctx.get("min_length")
        return f"must have at least {n} item{'' if n == 1 else 's'}"
    if kind == "too_long":
        n = ctx.get("max_length")
        return f"must have at most {n} item{'' if n == 1 else 's'}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    msg = str(err.get("msg", "invalid value"))
    return msg[:1].lower() + msg[1:]


def format_validation_error(source: str, exc: ValidationError) -> str:
    """The first error of ``exc`` as one line ``<source>: <path>: <reason> (got <value>)``."""
    err = exc.errors()[0]
    ctx = err.get("ctx") or {}
    loc = tuple(err.get("loc", ()))
    if err["type"] == "mtjlab":
        loc += tuple(ctx.get("mtjlab_path", ()))
        reason = str(ctx.get("reason", "invalid"))
        got = f" (got {show_value(ctx['got'])})" if "got" in ctx else ""
    else:
        reason = _reason(err)
        got = "" if err["type"] in _NO_GOT else f" (got {show_value(err.get('input'))})"
    path = ".".join(str(part) for part in loc) or "top level"
    return _one_line(f"{source}: {path}: {reason}{got}")


def _check_duplicate_keys(node: yaml.Node | None, source: str, seen: set[int]) -> None:
    """Refuse a mapping that repeats a key (safe_load would silently keep the last one)."""
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in keys:
                    raise ConfigError(f"{source}: line {key_node.start_mark.line + 1}: "
                                      f"duplicate key {key_node.value!r}")
                keys.add(key_node.value)
            _check_duplicate_keys(value_node, source, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, source, seen)


def read_yaml_mapping(path: PathLike) -> dict[str, Any]:
    """Read ``path`` with ``yaml.safe_load`` and return its top-level mapping."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a file") from None
    except PermissionError:
        raise ConfigError(f"{source}: permission denied") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(_one_line(f"{source}: cannot read file ({exc.strerror})")) from None
    try:
        data = yaml.safe_load(text)
        _check_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), source, set())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        why = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
        raise ConfigError(_one_line(f"{source}: {where}not valid YAML ({why})")) from None
    if data is None:
        raise ConfigError(f"{source}: file is empty (expected a mapping of fields)")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping of fields "
                          f"(got a {type(data).__name__}: {show_value(data)})")
    return data


def _parse(model: type[BaseModel], data: Any, source: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None


def parse_bench(data: dict[str, Any], source: str = "<bench>") -> BenchConfig:
    """Validate an already-loaded mapping as a bench file; ``source`` prefixes errors."""
    return _parse(BenchConfig, data, source)


def parse_training(data: dict[str, Any], source: str = "<training>") -> TrainingConfig:
    """Validate an already-loaded mapping as a training file; ``source`` prefixes errors."""
    return _parse(TrainingConfig, data, source)


def _expect_kind(data: dict[str, Any], source: str, kind: str) -> None:
    if "kind" in data and data["kind"] != kind:
        raise ConfigError(f"{source}: kind: must be {kind} here "
                          f"(got {show_value(data['kind'])})")


def load_bench(path: PathLike) -> BenchConfig:
    """Load and validate a bench file (``kind: bench``, or no ``kind`` key)."""
    data = read_yaml_mapping(path)
    _expect_kind(data, os.fspath(path), "bench")
    return parse_bench(data, os.fspath(path))


def load_training(path: PathLike) -> TrainingConfig:
    """Load and validate a training file (``kind: training``, or no ``kind`` key)."""
    data = read_yaml_mapping(path)
    _expect_kind(data, os.fspath(path), "training")
    return parse_training(data, os.fspath(path))


def load_config(path: PathLike) -> BenchConfig | TrainingConfig:
    """Load a bench or training file, chosen by its required top-level ``kind`` key."""
    source = os.fspath(path)
    data = read_yaml_mapping(path)
    if "kind" not in data:
        raise ConfigError(f"{source}: kind: field required (bench or training)")
    kind = data["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(f"{source}: kind: must be one of: bench, training "
                          f"(got {show_value(kind)})")
    return _parse(KINDS[kind], data, source)


def default_names() -> list[str]:
    """File names of the packaged defaults (``sim-bench.yaml``, ...)."""
    folder = resources.files("mtjlab.config") / "defaults"
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")))


def default_path(name: str) -> Path:
    """Filesystem path of a packaged default file, e.g. ``default_path("iris.yaml")``."""
    candidate = resources.files("mtjlab.config") / "defaults" / name
    if "/" in name or "\\" in name or not candidate.is_file():
        raise ConfigError(f"{name}: no packaged default of that name "
                          f"(have: {', '.join(default_names())})")
    return Path(str(candidate))


def load_default_bench() -> BenchConfig:
    """The embedded simulated bench (``sim-bench.yaml``)."""
    return load_bench(default_path("sim-bench.yaml"))


def resolve_bench_path(ref: str, relative_to: PathLike | None = None,
                       source: str = "<training>") -> Path | None:
    """Where a training file's ``bench`` points: ``None`` for ``"model"``, else a file.

    An existing file (relative paths taken from ``relative_to``, usually the training
    file's folder) wins over a packaged default of the same name.
    """
    if ref == "model":
        return None
    candidate = Path(ref).expanduser()
    if not candidate.is_absolute() and relative_to is not None:
        candidate = Path(relative_to) / candidate
    if candidate.is_file():
        return candidate
    if ref in default_names():
        return default_path(ref)
    raise ConfigError(f"{source}: bench: file not found and not a packaged default "
                      f"({', '.join(default_names())}) (got {show_value(ref)})")


def to_yaml(config: BaseModel) -> str:
    """The config as YAML text that loads back to an equal model."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def write_config(config: BaseModel, path: PathLike) -> None:
    """Write ``config`` as YAML atomically (temporary file in the same folder, then rename)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(to_yaml(config))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
