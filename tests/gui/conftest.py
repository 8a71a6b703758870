"""Shared GUI fixtures: a BenchWorker connected to the simulated bench or to the model (pytest-qt, offscreen)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PyQt5")

from PyQt5.QtCore import QSettings  # noqa: E402

from mtjlab.gui.bench_worker import BenchWorker  # noqa: E402

CONNECT_MS = 30_000


def _connected(qtbot, bench_file: str):
    worker = BenchWorker()
    with qtbot.waitSignal(worker.connected, timeout=CONNECT_MS):
        worker.request_connect(bench_file)
    return worker


@pytest.fixture
def sim_worker(qtbot):
    """A worker holding the packaged simulated bench; shut down (bench safe) at the end."""
    worker = _connected(qtbot, "")
    yield worker
    assert worker.shut_down(CONNECT_MS)


@pytest.fixture
def model_worker(qtbot):
    """A worker on the 'model' pseudo-bench (no instruments)."""
    worker = _connected(qtbot, "model")
    yield worker
    assert worker.shut_down(CONNECT_MS)


@pytest.fixture
def gui_settings(tmp_path):
    """QSettings in a temporary ini file, never the user's own."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
