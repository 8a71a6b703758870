"""``mtjlab gui`` refuses to start where it cannot, in one line naming the fix (no Qt needed here)."""

from __future__ import annotations

import importlib.util

import pytest

from mtjlab.cli import main


def test_without_pyqt5_it_names_the_extra_to_install(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "PyQt5" else real(name, *a))
    assert main(["gui"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "PyQt5 not installed" in err[0] and "pip install 'mtjlab[gui]'" in err[0]


def test_without_a_display_it_names_the_offscreen_platform(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["gui"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no display" in err[0] and "QT_QPA_PLATFORM=offscreen" in err[0]


@pytest.mark.parametrize("args, named", [(["--bench", "missing.yaml"], "missing.yaml"),
                                         (["--run", "no-such-run"], "no-such-run")])
def test_a_bad_bench_file_or_run_directory_is_refused_before_any_window(args, named, capsys):
    assert main(["gui", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0]
