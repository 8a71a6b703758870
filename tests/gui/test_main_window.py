"""The main window: opens on the simulated bench, keeps its settings, and leaves the bench safe
however it is closed (the question answered, a signal to the process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

pytest.importorskip("PyQt5")

from PyQt5.QtCore import QSettings  # noqa: E402
from PyQt5.QtWidgets import QMessageBox  # noqa: E402

from gui_jobs import EndlessMeasurement  # noqa: E402

from mtjlab.gui.bench_worker import Job  # noqa: E402
from mtjlab.gui.main_window import MainWindow  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    window = MainWindow("", settings)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.worker.connected, timeout=WAIT_MS):
        window.connect_bench()
    yield window
    window.worker.shut_down(WAIT_MS)


def test_the_window_opens_on_the_simulated_bench_and_its_readouts_update(qtbot, window):
    window.show()
    bar = window.bench_bar
    assert "KEITHLEY" in bar.instrument_labels["read_source"][1].text()
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Sweeps", "Training", "Replay"]
    first = bar.readout_labels["lab clock"].text()
    qtbot.waitUntil(lambda: bar.readout_labels["lab clock"].text() not in ("–", first), timeout=WAIT_MS)


def test_closing_mid_run_asks_then_leaves_the_bench_safe(qtbot, window, monkeypatch):
    job = EndlessMeasurement()
    assert window.worker.submit(job)
    assert job.running.wait(WAIT_MS / 1000)
    lab = window.worker.bench.lab
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.No)
    assert not window.close()  # "no": the run goes on
    assert asked and "endless measurement" in asked[0] and window.worker.busy
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    assert window.close()
    assert lab.everything_safe() and not window.worker.busy


def test_the_bench_file_layout_and_tab_persist_between_sessions(qtbot, settings, tmp_path):
    bench_file = tmp_path / "bench.yaml"
    first = MainWindow("", settings)
    qtbot.addWidget(first)
    first.bench_bar.file_edit.setText(str(bench_file))
    first.bench_bar.bench_file_chosen.emit(str(bench_file))
    first.tabs.setCurrentIndex(2)
    first.resize(1111, 777)
    first.close()
    second = MainWindow(None, settings)
    qtbot.addWidget(second)
    assert second.bench_bar.file_edit.text() == str(bench_file)
    assert second.tabs.currentIndex() == 2 and second.width() == 1111
    second.close()


def test_a_failed_job_opens_the_error_dialog_and_the_window_stays_usable(qtbot, window):
    class Failing(Job):
        name = "failing job"

        def run(self, bench):
            bench.route("r0c1")
            bench.set_input_current(2e-3)
            raise RuntimeError("analysis bug")

    with qtbot.waitSignal(window.worker.job_failed, timeout=WAIT_MS):
        window.worker.submit(Failing())
    qtbot.waitUntil(lambda: window.error_dialog is not None and window.error_dialog.isVisible(), timeout=WAIT_MS)
    assert "RuntimeError: analysis bug" in window.error_dialog.text()
    qtbot.waitUntil(lambda: window.worker.bench.lab.everything_safe(), timeout=WAIT_MS)
    assert not window.worker.busy


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_mtjlab_gui_leaves_the_bench_safe(tmp_path, signum, status):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-m", "mtjlab", "-v", "gui"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    connected = threading.Event()

    def follow() -> None:
        for line in process.stderr:
            lines.append(line)
            if "connected to bench" in line:
                connected.set()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        assert connected.wait(60), "".join(lines)[-2000:]
        process.send_signal(signum)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(10)
    err = "".join(lines)
    assert process.returncode == status, err[-2000:]
    assert "bench made safe" in err


def test_closing_mid_sweep_leaves_the_bench_safe_and_the_data_file_valid(qtbot, window, tmp_path, monkeypatch):
    from pymeasure.experiment import Results

    from mtjlab.gui.sweep_jobs import SweepJob

    data_file = tmp_path / "activation.csv"
    job = SweepJob("activation", {"device_id": "r0c1", "points": 400, "bias_fields_oe": "10, 20"}, data_file)
    rows = []
    job.signals.rows.connect(lambda frame: rows.append(len(frame)))
    assert window.worker.submit(job)
    qtbot.waitUntil(lambda: sum(rows) >= 3, timeout=WAIT_MS)
    lab = window.worker.bench.lab
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    assert window.close()
    assert lab.everything_safe()
    data = Results.load(str(data_file)).data
    assert 3 <= len(data) < 800 and data.notna().all().all()
