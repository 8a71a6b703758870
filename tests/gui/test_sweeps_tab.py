"""The Sweeps tab on the simulated bench: queue, live plot, refusal, abort, fault (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("PyQt5")

from pymeasure.experiment import Results  # noqa: E402
from PyQt5.QtCore import QSettings  # noqa: E402

from mtjlab.gui.sweeps_tab import SweepsTab  # noqa: E402
from mtjlab.gui.sweep_views import SweepView  # noqa: E402

WAIT_MS = 20_000


@pytest.fixture
def worker(sim_worker):
    """The packaged simulated bench's worker (tests/gui/conftest.py)."""
    return sim_worker


@pytest.fixture
def tab(qtbot, worker, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default output folder is relative to the current directory
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    tab = SweepsTab(worker, settings)
    qtbot.addWidget(tab)
    tab.folder_edit.setText(str(tmp_path / "sweeps"))
    return tab


def set_form(tab: SweepsTab, kind: str, **values) -> None:
    """Fill the kind's pymeasure form as a user would (through its input widgets)."""
    tab.kind_box.setCurrentText(kind)
    for name, value in values.items():
        element = getattr(tab.panels[kind].inputs, name)
        parameter = element.parameter
        parameter.value = value
        element.set_parameter(parameter)


def short_activation(tab: SweepsTab, points: int = 6, fields: str = "20") -> None:
    set_form(tab, "activation", points=points, bias_fields_oe=fields, input_min_a=-0.004, input_max_a=0.004)


def test_activation_sweep_plots_its_points_and_its_file_loads(qtbot, tab, worker):
    short_activation(tab)
    with qtbot.waitSignal(worker.job_finished, timeout=WAIT_MS):
        tab.queue_button.click()
    qtbot.waitUntil(lambda: tab.current is None, timeout=WAIT_MS)
    [done] = tab.done
    assert done.item.text(2) == "finished"
    assert tab.view.rows == 6  # every point reached the plot, as it arrived
    tab.view.redraw()
    assert tab.view._curves and len(tab.view._curves[0].getData()[0]) == 6
    results = Results.load(str(done.data_file))
    assert len(results.data) == 6
    assert done.data_file.name.endswith("-activation-1.csv")
    assert "output span" in tab.view.summary.toPlainText()
    # the browser lists it; selecting it re-plots the file in the same view
    assert tab.files.count() == 1
    tab.view.clear()
    tab.files.setCurrentRow(0)
    assert tab.view.rows == 6 and tab.view.kind == "activation"
    # a second sweep gets a new file, never the first one's
    with qtbot.waitSignal(worker.job_finished, timeout=WAIT_MS):
        tab.queue_button.click()
    qtbot.waitUntil(lambda: tab.current is None, timeout=WAIT_MS)
    assert tab.done[1].data_file.name.endswith("-activation-2.csv")


def test_request_beyond_a_bench_limit_is_refused_before_it_is_queued(qtbot, tab, worker):
    limit = worker.bench.limits.max_input_current_a
    short_activation(tab)
    set_form(tab, "activation", input_max_a=2 * limit)
    tab.queue_button.click()
    assert "max_input_current_a" in tab.message.text()
    assert "refused" in tab.message.text()
    assert not tab.waiting and tab.current is None and tab.queue_list.topLevelItemCount() == 0
    assert not worker.busy
    assert not (tab.folder.exists() and any(tab.folder.iterdir()))  # no file made


def test_parameter_series_is_checked_whole_and_queued_as_several_sweeps(qtbot, tab, worker):
    short_activation(tab, points=3)
    sequencer = tab.panels["activation"].sequencer
    sequencer._add_tree_item(level=0, parameter="Read current")
    model = sequencer.tree.model()
    model.setData(model.index(0, 2, None), "[5e-5, 1e-4]")
    assert len(sequencer.get_sequence()) == 2
    assert tab.queue_sequence("activation")
    assert tab.queue_list.topLevelItemCount() == 2
    qtbot.waitUntil(lambda: len(tab.done) == 2, timeout=WAIT_MS)
    assert [d.item.text(2) for d in tab.done] == ["finished", "finished"]
    assert [float(d.parameters["read_current_a"]) for d in tab.done] == [5e-5, 1e-4]
    # a series with one value beyond the read-current limit queues nothing
    model.setData(model.index(0, 2, None), "[1e-4, 1.0]")
    assert not tab.queue_sequence("activation")
    assert "max_read_current_a" in tab.message.text() and "sweep 2 of 2" in tab.message.text()
    assert tab.queue_list.topLevelItemCount() == 2


def test_abort_leaves_the_lab_safe_the_file_valid_and_clears_the_queue(qtbot, tab, worker):
    short_activation(tab, points=400, fields="20, 40")
    tab.queue_button.click()
    tab.queue_button.click()  # a second one waits behind it
    assert tab.current is not None and len(tab.waiting) == 1
    qtbot.waitUntil(lambda: tab.view.rows >= 3, timeout=WAIT_MS)
    assert not tab.queue_button.isEnabled() or tab.current is not None
    assert tab.abort_button.isEnabled()
    running = tab.current
    with qtbot.waitSignal(worker.made_safe, timeout=WAIT_MS):
        tab.abort()
    qtbot.waitUntil(lambda: tab.current is None, timeout=WAIT_MS)
    assert running.item.text(2) == "stopped"
    assert not tab.waiting and tab.queue_list.topLevelItemCount() == 1  # the waiting sweep was removed
    assert worker.bench.lab.everything_safe()
    data = Results.load(str(running.data_file)).data
    assert 3 <= len(data) < 800


def test_instrument_fault_fails_the_sweep_safely_and_the_next_one_runs(qtbot, tab, worker):
    from mtjlab.instruments.sim.faults import Faults

    short_activation(tab, points=30)
    Faults.attach(worker.bench.lab).timeout("lockin", after=5, count=100)
    with qtbot.waitSignal(worker.job_failed, timeout=WAIT_MS) as failed:
        tab.queue_button.click()
    assert failed.args[0].startswith("sweep activation")
    qtbot.waitUntil(lambda: tab.current is None, timeout=WAIT_MS)
    assert tab.done[0].item.text(2) == "failed"
    assert worker.bench.lab.everything_safe()
    worker.bench.lab.faults = None
    short_activation(tab, points=4)
    with qtbot.waitSignal(worker.job_finished, timeout=WAIT_MS):
        tab.queue_button.click()
    qtbot.waitUntil(lambda: tab.current is None, timeout=WAIT_MS)
    assert tab.done[1].item.text(2) == "finished"
    assert len(Results.load(str(tab.done[1].data_file)).data) == 4


def test_model_bench_refuses_sweeps_with_a_clear_message(qtbot, tab, worker):
    with qtbot.waitSignal(worker.connected, timeout=WAIT_MS):
        worker.request_connect("model")
    short_activation(tab)
    tab.queue_button.click()  # disabled, with the reason in its tooltip; check() says it too
    assert not tab.queue_button.isEnabled() and "model" in tab.queue_button.toolTip()
    assert tab.queue_procedures("activation", [tab.panel.make_procedure()]) is False
    assert "simulated bench" in tab.message.text()


def test_settings_keep_the_kind_and_its_parameters(qtbot, worker, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    first = SweepsTab(worker, settings)
    qtbot.addWidget(first)
    set_form(first, "rh", points=17, max_field_oe=55.0)
    first.folder_edit.setText(str(tmp_path / "elsewhere"))
    first.save_settings()
    settings.sync()
    second = SweepsTab(worker, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(second)
    assert second.kind == "rh"
    assert second.panels["rh"].values()["points"] == 17
    assert second.panels["rh"].values()["max_field_oe"] == 55.0
    assert second.folder == tmp_path / "elsewhere"


def test_sweep_view_replays_a_file_and_coalesces_redraws(qtbot, tmp_path):
    view = SweepView()
    qtbot.addWidget(view)
    view.start("activation", ["Bias field (Oe)", "Input current (A)", "Output voltage (V)"])
    import pandas as pd

    for n in range(50):  # fifty rows in a burst: one redraw, not fifty
        view.add_rows(pd.DataFrame({"Bias field (Oe)": [20.0], "Input current (A)": [n * 1e-4],
                                    "Output voltage (V)": [n * 1e-3]}))
    assert view.rows == 50 and view._timer.isActive() and not view._curves
    qtbot.waitUntil(lambda: bool(view._curves), timeout=2000)
    assert len(view._curves[0].getData()[0]) == 50
    view.finish(["done"])
    assert view.summary.toPlainText() == "done"
    view.clear()
    assert view.rows == 0 and view.x_box.count() == 0
