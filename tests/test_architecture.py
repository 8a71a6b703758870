"""The layering rules of DESIGN.md, checked on the source with ``ast``.

- Qt (PyQt5/6, PySide, pyqtgraph, qtpy) is imported only inside ``mtjlab/gui``.
- Dependencies point one way: ``instruments`` never imports training, experiments,
  gui or cli; ``instruments/sim`` knows nothing of training or experiments;
  ``config`` imports nothing from instruments, experiments, training, gui or cli;
  only the CLI (and gui itself) imports ``mtjlab.gui``.
- Loading never executes content: no ``yaml.load``, no pickle, no ``allow_pickle=True``.
- SCPI strings live only in the drivers and the instrument emulators.

Each checker is also run on a small bad snippet, so these tests can really fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import mtjlab

PACKAGE_DIR = Path(mtjlab.__file__).resolve().parent
ROOT = PACKAGE_DIR.parent

QT_MODULES = {"PyQt5", "PyQt6", "PySide", "PySide2", "PySide6", "pyqtgraph", "qtpy", "sip"}
PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "joblib"}
UNSAFE_YAML = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all",
               "Loader", "UnsafeLoader", "FullLoader"}
SCPI_EXEMPT = (
    "mtjlab/instruments/drivers/",
    "mtjlab/instruments/sim/scpi.py",
    "mtjlab/instruments/sim/lab.py",
    "mtjlab/instruments/sim/emulators/",
)

SCPI_PATTERNS = [
    re.compile(r"^[*:]?[A-Z]{3,}[a-z]*(:[A-Z]{2,})+"),  # SOUR:CURR, :SENSe:FUNCtion
    re.compile(r"^\*[A-Z]{3}\??(\s|$)"),  # IEEE 488.2 common commands: *IDN?, *RST
    re.compile(r"^:[A-Z]{3,}"),  # :SOUR ..., :OUTP ON
    re.compile(r"^(SOUR|SENS|OUTP|MEAS|TRIG|SYST|FETC|INIT|TRAC|ROUT|READ|CONF)[a-z]*(\?|:|\s+\S)"),
]


# --------------------------------------------------------------------------- helpers
def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Absolute names of everything ``source`` (the module ``module``) imports.

    ``from a import b`` counts as importing both ``a`` and ``a.b`` (b may be a
    submodule); relative imports are resolved; ``importlib.import_module("x")`` and
    ``__import__("x")`` with a literal name count too.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            found.add(base_name)
            found.update(f"{base_name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def touches(imports: set[str], prefix: str) -> set[str]:
    return {m for m in imports if m == prefix or m.startswith(prefix + ".")}


def unsafe_loading(source: str) -> list[str]:
    """Ways ``source`` could execute content while loading: yaml.load, pickle, allow_pickle=True."""
    problems = []
    if "yaml.load(" in source:
        problems.append("yaml.load(")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            problems += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in PICKLE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            if top in PICKLE_MODULES:
                problems.append(f"from {node.module} import")
            if top == "yaml":
                problems += [f"from yaml import {a.name}" for a in node.names if a.name in UNSAFE_YAML]
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "yaml" and node.attr in UNSAFE_YAML:
                problems.append(f"yaml.{node.attr}")
            if "pickle" in node.attr.lower():
                problems.append(f".{node.attr}")
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                problems.append("allow_pickle not False")
    return problems


def docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def scpi_literals(source: str) -> list[str]:
    """String literals (f-string pieces included, docstrings excluded) that look like SCPI."""
    tree = ast.parse(source)
    docs = docstring_nodes(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value.lstrip()
            if any(p.search(text) for p in SCPI_PATTERNS):
                hits.append(node.value)
    return hits


def package_files() -> list[tuple[str, str, str, bool]]:
    """(relative path, module name, source, is_package) for every mtjlab/**/*.py."""
    files = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        files.append((rel, module_name(path), path.read_text(encoding="utf-8"), path.name == "__init__.py"))
    return files


FILES = package_files()


def violations(rule) -> list[str]:
    bad = []
    for rel, mod, src, is_pkg in FILES:
        bad += [f"{rel}: {what}" for what in rule(rel, mod, src, is_pkg)]
    return bad


# --------------------------------------------------------------------------- the tree
def test_walk_sees_the_package():
    rels = {rel for rel, *_ in FILES}
    assert "mtjlab/__init__.py" in rels and "mtjlab/cli.py" in rels and "mtjlab/errors.py" in rels


def test_qt_only_in_gui():
    def rule(rel, mod, src, is_pkg):
        if rel.startswith("mtjlab/gui/"):
            return []
        return sorted(m for m in imported_modules(src, mod, is_pkg) if m.split(".")[0] in QT_MODULES)

    assert violations(rule) == []


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("mtjlab/instruments/", ["mtjlab.training", "mtjlab.experiments", "mtjlab.gui", "mtjlab.cli"]),
        ("mtjlab/instruments/sim/", ["mtjlab.training", "mtjlab.experiments"]),
        ("mtjlab/config/", ["mtjlab.instruments", "mtjlab.experiments", "mtjlab.training", "mtjlab.gui",
                            "mtjlab.cli"]),
        ("mtjlab/training/", ["mtjlab.gui", "mtjlab.cli"]),
        ("mtjlab/experiments/", ["mtjlab.gui", "mtjlab.cli"]),
    ],
)
def test_dependencies_point_one_way(layer, forbidden):
    def rule(rel, mod, src, is_pkg):
        if not rel.startswith(layer):
            return []
        imports = imported_modules(src, mod, is_pkg)
        return sorted(m for prefix in forbidden for m in touches(imports, prefix))

    assert violations(rule) == []


def test_only_cli_imports_gui():
    def rule(rel, mod, src, is_pkg):  # the CLI's gui subcommand lives in cli_gui.py
        if rel in ("mtjlab/cli.py", "mtjlab/cli_gui.py") or rel.startswith("mtjlab/gui/"):
            return []
        return sorted(touches(imported_modules(src, mod, is_pkg), "mtjlab.gui"))

    assert violations(rule) == []


def test_loading_never_executes_content():
    assert violations(lambda rel, mod, src, is_pkg: unsafe_loading(src)) == []


def test_scpi_only_in_drivers_and_emulators():
    def rule(rel, mod, src, is_pkg):
        return [] if rel.startswith(SCPI_EXEMPT) else [repr(s) for s in scpi_literals(src)]

    assert violations(rule) == []


# --------------------------------------------------------------------------- the checkers bite
def test_import_checker_catches_bad_imports():
    src = (
        "import PyQt5.QtWidgets\n"
        "from pyqtgraph import PlotWidget\n"
        "from ...training import trainer\n"
        "from mtjlab import experiments\n"
        "import importlib\n"
        "gui = importlib.import_module('mtjlab.gui.app')\n"
        "def f():\n"
        "    from .. import cli\n"
    )
    found = imported_modules(src, "mtjlab.instruments.sim.mtj")
    assert {"PyQt5.QtWidgets", "pyqtgraph"} <= found
    assert "mtjlab.training.trainer" in found
    assert "mtjlab.experiments" in found
    assert "mtjlab.gui.app" in found
    assert "mtjlab.instruments.cli" in found  # relative to mtjlab.instruments.sim.mtj
    pkg = imported_modules("from . import curves\nfrom .. import bench\n", "mtjlab.instruments.sim", True)
    assert {"mtjlab.instruments.sim.curves", "mtjlab.instruments.bench"} <= pkg
    assert touches({"mtjlab.training.x", "mtjlab.trainingwheels"}, "mtjlab.training") == {"mtjlab.training.x"}


@pytest.mark.parametrize(
    "src",
    [
        "import yaml\ndata = yaml.load(open('f'))\n",
        "import yaml\ndata = yaml.load(s, Loader=yaml.Loader)\n",
        "from yaml import unsafe_load\n",
        "import pickle\n",
        "from pickle import loads\n",
        "import numpy as np\nnp.load('f.npz', allow_pickle=True)\n",
        "import pandas as pd\npd.read_pickle('f')\n",
    ],
)
def test_unsafe_loading_checker_bites(src):
    assert unsafe_loading(src)


def test_safe_loading_passes():
    src = "import yaml, numpy as np\nyaml.safe_load(s)\nnp.load('f.npz', allow_pickle=False)\n"
    assert unsafe_loading(src) == []


@pytest.mark.parametrize(
    "literal",
    ["*IDN?", "*RST", ":SOUR:CURR 1e-3", "SOUR:CURR:LEV 0", "SOURce:CURRent:LEVel 0", ":OUTP ON", "OUTP 1",
     "OUTP?", ":SENS:FUNC 'VOLT'", "MEAS:VOLT?"],
)
def test_scpi_checker_bites(literal):
    assert scpi_literals(f"cmd = {literal!r}\n") == [literal]
    assert scpi_literals(f"cmd = f{literal + ' {x}'!r}\n")  # the constant piece of an f-string


@pytest.mark.parametrize("literal", ["OUTPUT", "READ", "SENSOR", "input", "mtjlab: bad file", "IDN", "A:B",
                                     "MTJ", "TMR(V)", "sim-bench.yaml"])
def test_scpi_checker_spares_ordinary_strings(literal):
    assert scpi_literals(f"x = {literal!r}\n") == []


def test_scpi_checker_ignores_docstrings():
    assert scpi_literals('"""*IDN? is answered by the emulator."""\n') == []
