"""The files packaged with mtjlab (``mtjlab/config/defaults``): the chip presets, the example lab
bench and the training file, found by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mtjlab.errors import ConfigError


#: The chip presets, packaged bench files of simulated benches (docs/chip_realism.md, "Chip presets").
PRESETS = ("ideal", "typical", "harsh", "drifting")
#: The packaged default simulated bench.
DEFAULT_BENCH = "typical.yaml"
#: Names that earlier versions packaged, and the file they now mean.
_ALIASES = {"sim-bench.yaml": DEFAULT_BENCH}


def default_names() -> list[str]:
    """File names of the packaged defaults (``typical.yaml``, ``iris.yaml``, ...)."""
    folder = resources.files("mtjlab.config") / "defaults"
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")))


def default_path(name: str) -> Path:
    """Filesystem path of a packaged default file, e.g. ``default_path("iris.yaml")``; a preset may
    be named without its extension (``harsh``), and ``sim-bench.yaml`` means the default bench."""
    name = _ALIASES.get(name, f"{name}.yaml" if name in PRESETS else name)
    candidate = resources.files("mtjlab.config") / "defaults" / name
    if "/" in name or "\\" in name or not candidate.is_file():
        raise ConfigError(f"{name}: no packaged default of that name "
                          f"(have: {', '.join(default_names())})")
    return Path(str(candidate))
