"""The Training tab: runs started, paused, resumed and stopped from the tab; RunView replays run directories."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PyQt5")

from mtjlab.gui.bench_worker import Job  # noqa: E402
from mtjlab.cli import main as cli_main  # noqa: E402
from mtjlab.gui.training_tab import ON_BENCH, ON_MODEL, TrainingTab  # noqa: E402
from mtjlab.gui.training_views import RunView  # noqa: E402

WAIT_MS = 60_000


def kinds(events):
    return [e.kind for e in events]


def make_tab(qtbot, worker, settings, tmp_path, where):
    tab = TrainingTab(worker, settings)
    qtbot.addWidget(tab)
    tab.out_edit.setText(str(tmp_path / "runs"))
    tab.where.setCurrentText(where)
    events = []
    tab.signals.event.connect(events.append)
    return tab, events


def finished_job(qtbot, worker):
    """Wait until the worker has no job (its outcome has reached the tab by then)."""
    qtbot.waitUntil(lambda: not worker.busy, timeout=WAIT_MS)


def test_model_run_pauses_resumes_stops_and_resumes_from_the_cli(qtbot, model_worker, gui_settings, tmp_path):
    tab, events = make_tab(qtbot, model_worker, gui_settings, tmp_path, ON_MODEL)
    tab.dataset.setCurrentText("iris")
    tab.hidden.setText("3")
    tab.folds.setValue(2)
    tab.epochs.setValue(3)
    assert tab.start()
    tab.pause()  # asked before the trainer exists: it holds after its first step
    assert not tab.start_button.isEnabled() and "stop it first" in tab.start_button.toolTip()
    qtbot.waitUntil(lambda: "paused" in kinds(events), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.view.state == "paused")
    tab.unpause()
    qtbot.waitUntil(lambda: "resumed" in kinds(events), timeout=WAIT_MS)
    tab.pause()
    qtbot.waitUntil(lambda: kinds(events).count("paused") == 2, timeout=WAIT_MS)
    tab.stop()
    qtbot.waitUntil(lambda: "stopped" in kinds(events), timeout=WAIT_MS)
    finished_job(qtbot, model_worker)
    qtbot.waitUntil(lambda: tab.job is None)
    assert "finished" not in kinds(events) and "resumable" in tab.status.text()
    assert tab.start_button.isEnabled() and tab.resume_run_button.isEnabled()
    run_dir = tab.run_dir
    assert run_dir is not None and (run_dir / "calibration.npz").exists()
    assert not (run_dir / "summary.json").exists()
    assert cli_main(["train", "--resume", str(run_dir), "--no-progress"]) == 0
    assert (run_dir / "summary.json").exists()

    view = RunView()
    qtbot.addWidget(view)
    view.load_run(run_dir)
    assert len(view.loss_plot.getPlotItem().listDataItems()) == 4  # two folds: MTJ and baseline each
    assert len(view.rows) == 6 and view.state == "finished"
    assert view.weight_plots.ci.getItem(1, 0) is not None  # hidden and output layer heatmaps
    points = view._activation_points[0][0].getData()
    assert len(points[0]) > 0  # the last batch's operating points on neuron 1's curve
    view.resize(1400, 700)
    view.grab().save(str(tmp_path / "run_view.png"))


def test_sim_bench_run_safe_stop_leaves_lab_safe_and_run_resumable(qtbot, sim_worker, gui_settings, tmp_path):
    training_file = tmp_path / "tiny.yaml"
    training_file.write_text("kind: training\nname: tiny\nhidden: [2]\nepochs: 2\ntrain_samples: 40\n")
    tab, events = make_tab(qtbot, sim_worker, gui_settings, tmp_path, ON_BENCH)
    tab.load_file(str(training_file))
    assert tab.hidden.text() == "2" and tab.epochs.value() == 2
    samples = []
    tab.signals.sample.connect(samples.append)
    assert tab.start()
    qtbot.waitUntil(lambda: "step" in kinds(events), timeout=WAIT_MS)
    sim_worker.safe_stop()
    finished_job(qtbot, sim_worker)
    qtbot.waitUntil(lambda: tab.job is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: sim_worker.bench.lab.everything_safe(), timeout=WAIT_MS)
    assert "stopped" in kinds(events) and "finished" not in kinds(events)
    assert samples and samples[0].layers[0].exact_derivative is not None  # the simulated bench knows them
    run_dir = tab.run_dir
    assert not (run_dir / "summary.json").exists()
    assert cli_main(["train", "--resume", str(run_dir), "--no-progress"]) == 0


def test_safe_stop_during_the_calibration_acts_before_the_calibration_ends(qtbot, sim_worker, gui_settings, tmp_path):
    """The calibration sweeps every device (33 points each, minutes of lab time on a real bench):
    Safe stop ends it at the next point, not at its end."""
    tab, events = make_tab(qtbot, sim_worker, gui_settings, tmp_path, ON_BENCH)
    tab.hidden.setText("2")
    clock = sim_worker.bench.clock
    began_s = clock.now_s()
    assert tab.start()
    qtbot.waitUntil(lambda: clock.now_s() > began_s + 5.0, timeout=WAIT_MS)  # a few points measured
    assert tab.run_dir is None  # still calibrating: the run directory comes after
    sim_worker.safe_stop()
    finished_job(qtbot, sim_worker)
    qtbot.waitUntil(lambda: tab.job is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: sim_worker.bench.lab.everything_safe(), timeout=WAIT_MS)
    assert "started" not in kinds(events)  # the trainer never started
    assert "calibration" in tab.status.text() and "stopped" in tab.status.text()
    # a whole calibration costs ~260 s of lab time on the simulated bench; the stop came within a point of it
    assert clock.now_s() - began_s < 100.0
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_form_persists_and_busy_worker_disables_starting(qtbot, model_worker, gui_settings, tmp_path):
    tab, _ = make_tab(qtbot, model_worker, gui_settings, tmp_path, ON_MODEL)
    tab.method.setCurrentText("numeric")
    tab.hidden.setText("8,4")
    tab.epochs.setValue(7)
    tab.save_settings()
    again = TrainingTab(model_worker, gui_settings)
    qtbot.addWidget(again)
    assert (again.method.currentText(), again.hidden.text(), again.epochs.value()) == ("numeric", "8,4", 7)
    assert again.where.currentText() == ON_MODEL and again.out_edit.text() == str(tmp_path / "runs")
    tab.hidden.setText("4,x")
    assert not tab.start() and "--hidden" in tab.status.text()


class Waiting(Job):
    """Another engineer's job (a sweep, say) that holds the worker until released."""

    name = "sweep activation"

    def __init__(self) -> None:
        self.release = threading.Event()

    def run(self, bench):
        self.release.wait(30)

    def stop(self) -> None:
        self.release.set()


def test_controls_that_would_start_a_second_job_are_disabled_with_the_reason(qtbot, model_worker, gui_settings,
                                                                              tmp_path):
    tab, _ = make_tab(qtbot, model_worker, gui_settings, tmp_path, ON_MODEL)
    other = Waiting()
    assert model_worker.submit(other)
    qtbot.waitUntil(lambda: not tab.start_button.isEnabled())
    assert not tab.resume_run_button.isEnabled()
    assert "sweep activation" in tab.start_button.toolTip() and "one job" in tab.start_button.toolTip()
    other.release.set()
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=WAIT_MS)
