"""Reading config files: YAML (safe_load only) -> validated models, with one-line errors.

Every failure raises :class:`~mtjlab.errors.ConfigError` with a single-line message
``<file as given>: <dotted.field.path>: <reason> (got <value>)``, for example
``lab.yaml: limits.max_bias_v: must be > 0 (got -1)``.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mtjlab.config.bench import BenchConfig
from mtjlab.config.packaged import _ALIASES, DEFAULT_BENCH, PRESETS, default_names, default_path  # noqa: F401
from mtjlab.config.training import TrainingConfig
from mtjlab.errors import ConfigError, MtjlabError
from mtjlab.safe_files import CONFIG_MAX_BYTES, check_regular_file, decode_text, read_bytes

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
_INT_TAG = "tag:yaml.org,2002:int"

#: Deepest nesting of a YAML document (every mapping, list and value counts one level).
#: Bench and training files are five levels deep; PyYAML composes recursively, so
#: a bound far below Python's recursion limit turns a 20 000-level file into a message.
MAX_YAML_DEPTH = 64
#: Largest size of a document once its aliases are followed, in characters of its
#: values plus one per node. A file without aliases is at most CONFIG_MAX_BYTES, so
#: twice that admits any harmless reuse of an anchor, while a 400-byte "billion
#: laughs" (which expands to billions) is refused at once.
MAX_YAML_EXPANDED = 2 * CONFIG_MAX_BYTES
#: Longest integer a config file may write: Python refuses to convert integers of
#: more than 4300 digits at all. Shorter ones reach the schema, which names the
#: field and its bound (a float field reads 10**400 as inf and refuses it).
MAX_INT_DIGITS = 4000


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _render(value: Any, budget: int) -> str:
    """YAML-flavoured text of ``value``, stopping soon after ``budget`` characters.

    A config value may be a huge string or a structure with thousands of items;
    only its beginning is ever shown, so only its beginning is rendered.
    """
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return repr(value[: budget + 1])
    if isinstance(value, int):
        # str() of an int of more than 4300 digits raises; its length says enough
        return str(value) if value.bit_length() < 1000 else f"about 10**{int(value.bit_length() * 0.30103)}"
    if isinstance(value, (dict, list, tuple)):
        items = value.items() if isinstance(value, dict) else value
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        parts, used = [], 0
        for item in items:
            if used > budget:
                parts.append("...")
                break
            if isinstance(value, dict):
                key, inner = item
                text = f"{_render(key, budget - used)}: {_render(inner, budget - used)}"
            else:
                text = _render(item, budget - used)
            parts.append(text)
            used += len(text) + 2
        return opening + ", ".join(parts) + closing
    return str(value)[: budget + 1]


def show_value(value: Any, limit: int = 60) -> str:
    """A short one-line rendering of a user value, YAML-flavoured (true, null, 'text')."""
    text = _one_line(_render(value, limit))
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


class _Refused(Exception):
    """A YAML document refused before construction (message without the file name)."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents nested deeper than :data:`MAX_YAML_DEPTH`.

    PyYAML composes nodes recursively: without this bound a file of 20 000 ``[``
    ends in a RecursionError instead of a message.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self._depth >= MAX_YAML_DEPTH:
            mark = self.peek_event().start_mark
            raise _Refused(f"line {mark.line + 1}: nested more than {MAX_YAML_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_nodes(root: yaml.Node) -> None:
    """Refuse alias bombs, recursive aliases, duplicate keys and integers too long to convert.

    The size of a node is one plus its scalar text plus the sizes of its children,
    counted through aliases; memoised per node, so the check is linear in the file
    even when the expansion is exponential (a "billion laughs" document).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, path: tuple[str, ...]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _Refused(f"line {node.start_mark.line + 1}: an alias refers to the node that "
                           "contains it (a recursive structure)")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.ScalarNode):
            total += len(node.value)
            if node.tag == _INT_TAG and len(node.value.lstrip("+-").replace("_", "")) > MAX_INT_DIGITS:
                where = ".".join(path) or "top level"
                raise _Refused(f"line {node.start_mark.line + 1}: {where}: an integer of {len(node.value)} "
                               f"characters (more than {MAX_INT_DIGITS} digits)")
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item, (*path, str(i))) for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    # safe_load would silently keep the last of two equal keys
                    if key_node.value in keys:
                        raise _Refused(f"line {key_node.start_mark.line + 1}: "
                                       f"duplicate key {show_value(key_node.value)}")
                    keys.add(key_node.value)
                name = key_node.value[:40] if isinstance(key_node, yaml.ScalarNode) else "?"
                total += size(key_node, path) + size(value_node, (*path, name))
        open_nodes.discard(key)
        if total > MAX_YAML_EXPANDED:
            raise _Refused(f"line {node.start_mark.line + 1}: anchors and aliases expand to more than "
                           f"{MAX_YAML_EXPANDED:,} characters (an alias bomb?); write the values out")
        sizes[key] = total
        return total

    size(root, ())


def parse_yaml_text(text: str, source: str) -> Any:
    """The document of YAML ``text`` (safe tags only, bounded depth and alias expansion).

    Any problem raises :class:`~mtjlab.errors.ConfigError` ``<source>: <where>: <why>``.
    """
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node)
        return loader.construct_document(node)
    except _Refused as exc:
        raise ConfigError(_one_line(f"{source}: {exc}")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        why = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
        raise ConfigError(_one_line(f"{source}: {where}not valid YAML ({str(why)[:200]})")) from None
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. a timestamp like 2024-13-45
        raise ConfigError(_one_line(f"{source}: not valid YAML ({str(exc)[:200]})")) from None
    except RecursionError:  # not expected past the depth bound; never a traceback
        raise ConfigError(f"{source}: nested too deeply") from None
    finally:
        loader.dispose()


def read_yaml(path: PathLike, *, what: str = "a bench or training file", max_bytes: int = CONFIG_MAX_BYTES,
              source: str | None = None, error_class: type[MtjlabError] = ConfigError) -> Any:
    """The YAML document of ``path``: a regular UTF-8 file below ``max_bytes``, parsed safely."""
    source = os.fspath(path) if source is None else source
    data = read_bytes(path, what=what, max_bytes=max_bytes, source=source, error_class=error_class)
    text = decode_text(data, source, error_class)
    try:
        return parse_yaml_text(text, source)
    except ConfigError as exc:
        if error_class is ConfigError:
            raise
        raise error_class(exc.one_line()) from None


def read_yaml_mapping(path: PathLike) -> dict[str, Any]:
    """Read ``path`` (a bench or training file) and return its top-level mapping."""
    source = os.fspath(path)
    data = read_yaml(path)
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
    """Load and validate a bench file (``kind: bench``, or no ``kind`` key); a chip preset's
    name (``harsh``) that is not a file here loads the packaged preset."""
    name = os.fspath(path)
    if not Path(name).exists() and (name in PRESETS or name in _ALIASES):
        path = default_path(name)
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
        raise ConfigError(f"{source}: kind: must be one of: bench, training, study "
                          f"(got {show_value(kind)})")
    return _parse(KINDS[kind], data, source)


def load_default_bench() -> BenchConfig:
    """The default simulated bench (the ``typical`` chip preset)."""
    return load_bench(default_path(DEFAULT_BENCH))


#: ``model:<bench>``: the physics model of that bench file's (or preset's) chip, no instruments.
MODEL_PREFIX = "model:"


def is_model_bench(ref: str) -> bool:
    """Whether a training file's ``bench`` names the physics model (``model`` or ``model:<bench>``)."""
    return ref == "model" or ref.startswith(MODEL_PREFIX)


def resolve_bench_path(ref: str, relative_to: PathLike | None = None,
                       source: str = "<training>") -> Path | None:
    """Where a training file's ``bench`` points: ``None`` for ``"model"``, else a file (for
    ``model:<bench>``, the file whose chip the model simulates).

    An existing file (relative paths taken from ``relative_to``, usually the training
    file's folder) wins over a packaged default of the same name.
    """
    if ref == "model":
        return None
    if ref.startswith(MODEL_PREFIX):
        ref = ref[len(MODEL_PREFIX):]
        if not ref.strip():
            raise ConfigError(f"{source}: bench: {MODEL_PREFIX!r} names no chip: write 'model', or "
                              f"'model:<preset or bench file>' such as 'model:harsh'")
    candidate = Path(ref).expanduser()
    if not candidate.is_absolute() and relative_to is not None:
        candidate = Path(relative_to) / candidate
    if candidate.is_file():
        return candidate
    if candidate.exists():  # a folder, a pipe or a device: say so rather than "not found"
        check_regular_file(candidate, what="a bench file", max_bytes=CONFIG_MAX_BYTES, source=ref,
                           error_class=ConfigError)
    if ref in default_names() or ref in PRESETS or ref in _ALIASES:
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
