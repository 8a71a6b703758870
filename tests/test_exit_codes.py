"""Exit statuses a script can rely on, one-line usage errors, and output folders refused up front.

0 finished, 1 failed, 2 refused or bad input, 130 stopped by Ctrl-C, 143 stopped by
SIGTERM; every ending is one line on stderr. In-process (``cli.main``) throughout.
"""

from __future__ import annotations

import re

import pytest

from mtjlab import cli, cli_support
from mtjlab.errors import ConfigError, InstrumentError


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mtjlab: ") and "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("args, expected", [
    (["sweep", "rh"], "mtjlab: sweep rh: the following arguments are required: --out (see mtjlab sweep rh --help)"),
    (["sweep"], "mtjlab: sweep: the following arguments are required: KIND (see mtjlab sweep --help)"),
    (["no-such-command"], "mtjlab: argument COMMAND: invalid choice: 'no-such-command'"),
    (["config"], "mtjlab: config: the following arguments are required: SUBCOMMAND"),
    (["bench", "check", "a", "b"], "mtjlab: unrecognized arguments: b (see mtjlab --help)"),
    (["sim", "curves"], "mtjlab: sim curves: the following arguments are required: --out"),
    (["train", "--epochs", "x"], "mtjlab: train: argument --epochs: 'x' is not a whole number"),
    (["replay"], "mtjlab: replay: the following arguments are required: FILE"),
])
def test_every_usage_error_is_one_line_exit_2(capsys, args, expected):
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert _one_line(captured.err).startswith(expected) and captured.out == ""


@pytest.mark.parametrize("args, fragment", [
    (["train", "--seed", "-1"], "--seed: -1 is out of range (0 to 4294967295)"),
    (["train", "--seed", str(10**30)], "--seed: 10000000000000000000... is out of range"),
    (["train", "--folds", "1"], "--folds: 1 is out of range"),
    (["train", "--epochs", "0"], "--epochs: 0 is out of range"),
    (["sweep", "rh", "--points", "100000000000000000000", "--out", "x"], "--points: 1000000000"),
    (["sweep", "rh", "--read-current-a", "nan", "--out", "x"], "--read-current-a: 'nan' is not a finite number"),
    (["sweep", "rh", "--max-field-oe", "inf", "--out", "x"], "--max-field-oe: 'inf' is not a finite number"),
    (["sim", "curves", "--bias-field-oe", "1e999", "--out", "x"], "'1e999' is not a finite number"),
])
def test_numeric_options_are_range_checked(tmp_path, monkeypatch, capsys, args, fragment):
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 2
    assert fragment in _one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []  # nothing made


# --------------------------------------------------------------------------- --out refused before anything is made
def _out_cases(tmp_path):
    (tmp_path / "afile").write_text("kept")
    return {"a file": (tmp_path / "afile", "is a file, not a folder"),
            "under a file": (tmp_path / "afile" / "sub", "is a file, so no folder can be made under it")}


@pytest.mark.parametrize("command", [
    ["sweep", "iv", "--points", "3"],
    ["train", "--no-progress", "--bench", "model", "--folds", "2", "--epochs", "1"],
    ["sim", "curves", "--bias-field-oe", "20"],
])
def test_an_out_that_cannot_be_a_folder_is_refused_in_one_line(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    for out, message in _out_cases(tmp_path).values():
        assert cli.main([*command, "--out", str(out)]) == 2
        assert message in _one_line(capsys.readouterr().err)
    # not writable: permission bits say nothing to root, so the probe is made to fail
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli_support.tempfile, "mkdtemp", refused)
    assert cli.main([*command, "--out", str(tmp_path / "new")]) == 2
    assert "cannot create it under" in _one_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"] and (tmp_path / "afile").read_text() == "kept"


# --------------------------------------------------------------------------- statuses by kind of ending
def test_statuses_by_kind_of_ending(monkeypatch, capsys):
    endings = {
        ConfigError("x.yaml: not valid YAML"): (2, "mtjlab: x.yaml: not valid YAML"),
        InstrumentError("lockin: read timed out"): (1, "mtjlab: lockin: read timed out"),
        KeyboardInterrupt(): (130, "mtjlab: config check stopped by Ctrl-C"),
        cli_support.Terminated(): (143, "mtjlab: config check stopped by SIGTERM"),
        RuntimeError("bug"): (1, "mtjlab: config check failed: RuntimeError: bug"),
    }
    for error, (status, start) in endings.items():
        def end(args, error=error):
            raise error

        monkeypatch.setattr(cli, "cmd_config_check", end)
        assert cli.main(["config", "check", "x.yaml"]) == status, error
        line = _one_line(capsys.readouterr().err)
        assert line.startswith(start), line
        if status in (130, 143):
            assert "run it again" in line


def test_a_ctrl_c_caught_and_rethrown_as_an_error_is_still_a_stop(monkeypatch, capsys):
    def measurement_cut_short(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise InstrumentError("measurement stopped: interrupted") from exc

    monkeypatch.setattr(cli, "cmd_config_check", measurement_cut_short)
    assert cli.main(["config", "check", "x.yaml"]) == 130
    assert "stopped by Ctrl-C" in _one_line(capsys.readouterr().err)


def test_replay_of_a_missing_file_is_refused_with_2(tmp_path, capsys):
    assert cli.main(["replay", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in _one_line(capsys.readouterr().err)


def test_the_readme_documents_the_exit_statuses():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Exit status\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "README.md has no '## Exit status' section"
    for status in ("0", "1", "2", "130", "143"):
        assert re.search(rf"`{status}`", section.group(1)), status
