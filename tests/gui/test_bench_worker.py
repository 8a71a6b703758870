"""The thread that owns the Bench, and the bench bar that shows it (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("PyQt5")

from PyQt5.QtCore import QSettings  # noqa: E402

from mtjlab.gui.bench_bar import BenchBar  # noqa: E402
from gui_jobs import EndlessMeasurement  # noqa: E402

from mtjlab.gui.bench_worker import BenchWorker, Job  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture
def worker(sim_worker):
    return sim_worker


class Failing(Job):
    name = "failing job"

    def run(self, bench):
        bench.route("r0c1")
        bench.set_input_current(3e-3)
        raise RuntimeError("analysis bug")


class Quick(Job):
    name = "quick job"

    def run(self, bench):
        bench.route("r0c1")
        bench.set_read_current(1e-4)
        return bench.read_point(lockin=False).voltage_v


def test_the_bench_bar_shows_the_instruments_and_live_readouts(qtbot, worker):
    bar = BenchBar(worker)
    qtbot.addWidget(bar)
    bar._on_connected(_connected_info(worker))
    assert "KEITHLEY" in bar.instrument_labels["read_source"][1].text()
    assert bar.instrument_labels["switch"][0].text() == "connected"
    assert "junction ≤ 500 mV" in bar.limits_label.text()
    first = bar.readout_labels["lab clock"].text()
    qtbot.waitUntil(lambda: bar.readout_labels["lab clock"].text() not in ("–", first), timeout=WAIT_MS)
    assert bar.readout_labels["relays"].text() == "open"


def _connected_info(worker):
    from mtjlab.gui.bench_worker import BenchInfo

    bench = worker.bench
    return BenchInfo(bench.config.name, "", dict(bench.identities), bench.config.limits.model_dump(), True)


def test_safe_stop_stops_a_running_job_and_leaves_everything_safe(qtbot, worker):
    job = EndlessMeasurement()
    assert worker.submit(job)
    assert job.running.wait(WAIT_MS / 1000)
    assert not worker.submit(Quick())  # one job drives the bench at a time
    with qtbot.waitSignal(worker.made_safe, timeout=WAIT_MS) as made_safe:
        worker.safe_stop()
    assert made_safe.args == [""]
    assert not worker.busy
    assert worker.bench.lab.everything_safe()


def test_a_failing_job_is_reported_in_one_line_the_bench_is_safe_and_the_next_job_runs(qtbot, worker):
    with qtbot.waitSignal(worker.job_failed, timeout=WAIT_MS) as failed:
        worker.submit(Failing())
    assert failed.args == ["failing job", "RuntimeError: analysis bug"]
    qtbot.waitUntil(lambda: worker.bench.lab.everything_safe(), timeout=WAIT_MS)
    with qtbot.waitSignal(worker.job_finished, timeout=WAIT_MS) as finished:
        worker.submit(Quick())
    assert finished.args[0] == "quick job" and 0.05 < abs(finished.args[1]) < 0.5


def test_the_safe_stop_shortcut_reaches_the_worker(qtbot, worker):
    bar = BenchBar(worker)
    qtbot.addWidget(bar)
    job = EndlessMeasurement()
    worker.submit(job)
    assert job.running.wait(WAIT_MS / 1000)
    with qtbot.waitSignal(worker.made_safe, timeout=WAIT_MS):
        bar.shortcut.activated.emit()
    assert worker.bench.lab.everything_safe() and not worker.busy


def test_shutting_down_the_worker_leaves_the_bench_safe(qtbot):
    worker = BenchWorker()
    with qtbot.waitSignal(worker.connected, timeout=WAIT_MS):
        worker.request_connect("")
    job = EndlessMeasurement()
    worker.submit(job)
    assert job.running.wait(WAIT_MS / 1000)
    lab = worker.bench.lab
    assert worker.shut_down(WAIT_MS)
    assert lab.everything_safe() and worker.bench is None


def test_a_bad_bench_file_is_reported_and_nothing_connects(qtbot, tmp_path):
    worker = BenchWorker()
    bad = tmp_path / "bench.yaml"
    bad.write_text("kind: bench\nname: [unclosed\n")
    with qtbot.waitSignal(worker.job_failed, timeout=WAIT_MS) as failed:
        worker.request_connect(str(bad))
    assert failed.args[0] == "connect" and "bench.yaml" in failed.args[1]
    assert worker.bench is None
    assert worker.shut_down(WAIT_MS)


def test_the_model_pseudo_bench_connects_without_instruments(qtbot, tmp_path):
    worker = BenchWorker()
    with qtbot.waitSignal(worker.connected, timeout=WAIT_MS) as connected:
        worker.request_connect("model")
    assert connected.args[0].file == "model" and worker.bench is None
    assert worker.shut_down(WAIT_MS)


def test_settings_in_a_temporary_file_do_not_touch_the_users(tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    settings.setValue("bench/file", "x.yaml")
    settings.sync()
    assert (tmp_path / "s.ini").read_text().count("x.yaml") == 1
