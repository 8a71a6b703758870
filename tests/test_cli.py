"""The ``mtjlab`` command: exit codes, one-line errors, and the README's promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mtjlab
from mtjlab import cli
from mtjlab.errors import ConfigError, MtjlabError

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = Path(mtjlab.__file__).resolve().parent / "config" / "defaults"


def run_module(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """``python -m mtjlab ARGS`` in a child process."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "mtjlab", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def quick_start_commands() -> list[str]:
    """The non-empty lines of the first fenced block under ``## Quick start``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "README.md has no '## Quick start' section"
    block = re.search(r"^```[^\n]*\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "the Quick start section has no fenced block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


# --------------------------------------------------------------------------- basics
def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mtjlab {mtjlab.__version__}"
    assert mtjlab.__version__ == "0.1.0"


def test_help_lists_commands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("config check", "sim curves", "train"):
        assert command in out


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "usage: mtjlab" in capsys.readouterr().out


def test_usage_error_exits_2(capsys):
    assert cli.main(["no-such-command"]) == 2
    assert cli.main(["sim", "curves"]) == 2  # --out is required


def test_python_dash_m():
    proc = run_module("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"mtjlab {mtjlab.__version__}"
    help_proc = run_module("--help")
    assert help_proc.returncode == 0 and "usage: mtjlab" in help_proc.stdout


def test_mtjlab_error_is_one_line_exit_2(monkeypatch, capsys):
    def boom(args):
        raise ConfigError("bench.yaml: field 'chip.rows'\n  must be positive")

    monkeypatch.setattr(cli, "cmd_config_check", boom)
    assert cli.main(["config", "check", "bench.yaml"]) == 2
    err = capsys.readouterr().err
    assert err == "mtjlab: bench.yaml: field 'chip.rows' must be positive\n"


def test_keyboard_interrupt_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    from mtjlab import cli_train

    monkeypatch.setattr(cli_train, "cmd_train", interrupted)
    assert cli.main(["train"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_bugs_are_not_disguised_as_user_errors(monkeypatch, capsys, caplog):
    def bug(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "cmd_config_check", bug)
    assert cli.main(["config", "check", "x.yaml"]) == 1  # failed, not "bad input"
    err = capsys.readouterr().err
    assert err == "mtjlab: config check failed: ZeroDivisionError: division by zero (run with -vv for the traceback)\n"
    assert not issubclass(ZeroDivisionError, MtjlabError)
    assert not any(r.exc_info for r in caplog.records)
    assert cli.main(["-vv", "config", "check", "x.yaml"]) == 1  # the traceback is there at -vv
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


# --------------------------------------------------------------------------- config check
def test_config_check_packaged_defaults(capsys):
    # packaged studies name data beside the repository: tests/studies/test_study_files.py checks them
    files = sorted(f for f in DEFAULTS.glob("*.yaml") if not f.name.endswith("-study.yaml"))
    assert files, f"no packaged defaults in {DEFAULTS}"
    assert {"ideal.yaml", "typical.yaml", "harsh.yaml", "drifting.yaml"} <= {f.name for f in files}
    for path in files:
        assert cli.main(["config", "check", str(path)]) == 0, path
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        assert len(lines) == 1, captured.out
        assert lines[0].startswith(f"{path.name}: valid "), lines[0]
        assert re.match(r'.*: valid (bench|training) "[^"]+" \(.+\)$', lines[0]), lines[0]


@pytest.mark.parametrize(
    "content",
    [
        "instruments: [unclosed\n  - {model: \n",  # not YAML
        "just a string\n",  # YAML, not a mapping
        "backend: sim\nno_such_field: 3\n",  # a mapping, not a valid config
    ],
    ids=["not-yaml", "not-mapping", "invalid-schema"],
)
def test_config_check_malformed_file(tmp_path, content):
    path = tmp_path / "broken.yaml"
    path.write_text(content, encoding="utf-8")
    proc = run_module("config", "check", str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mtjlab: ")
    assert proc.stdout == ""


def test_config_check_missing_file(tmp_path, capsys):
    assert cli.main(["config", "check", str(tmp_path / "absent.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mtjlab: ") and err.count("\n") == 1


# --------------------------------------------------------------------------- sim curves
def test_sim_curves(tmp_path, capsys):
    out = tmp_path / "curves"
    assert cli.main(["sim", "curves", "--bias-field-oe", "0", "20", "--out", str(out)]) == 0
    assert (out / "curves.csv").is_file() and (out / "curves.png").is_file()
    assert capsys.readouterr().out.strip()


# --------------------------------------------------------------------------- README and CI
def test_readme_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    assert sum("mtjlab train" in c for c in commands) == 1
    assert sum("pytest" in c for c in commands) == 1
    assert "pip install . && mtjlab train" in commands
    assert "pip install '.[test]' && python -m pytest -q -n auto" in commands


def test_ci_runs_the_readme_test_command():
    script = REPO / ".ci" / "run"
    assert os.access(script, os.X_OK), ".ci/run is not executable"
    text = script.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text and "python3 -m venv" in text
    assert re.search(r'^eval "\$test_cmd"$', text, re.M)
    proc = subprocess.run([str(script), "--print-test-command"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    (readme_test_cmd,) = [c for c in quick_start_commands() if "pytest" in c]
    assert proc.stdout.strip() == readme_test_cmd
