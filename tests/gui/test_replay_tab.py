"""The Replay tab: recorded sweeps and run directories, plotted with no hardware (pytest-qt, offscreen).

The files are made here by the real command line (a short activation sweep on
the simulated bench, a short training run on the physics model), so the tab is
tested on exactly what a physicist would open.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt5")
pg = pytest.importorskip("pyqtgraph")

from PyQt5.QtCore import QSettings  # noqa: E402

from mtjlab import cli  # noqa: E402
from mtjlab.gui import replay_tab as replay_module  # noqa: E402
from mtjlab.gui.replay_tab import ReplayTab  # noqa: E402


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, Path]:
    """A 5-point activation sweep at one bias field and a 2-fold, 2-epoch run (made once)."""
    root = tmp_path_factory.mktemp("recorded")
    assert cli.main(["sweep", "activation", "--out", str(root / "sweep"), "--points", "5",
                     "--bias-fields-oe", "20"]) == 0
    assert cli.main(["train", "--bench", "model", "--epochs", "2", "--folds", "2",
                     "--out", str(root / "run"), "--no-progress"]) == 0
    return {"sweep": root / "sweep" / "activation.csv", "run": root / "run"}


@pytest.fixture
def tab(qtbot, gui_settings) -> ReplayTab:
    widget = ReplayTab(gui_settings)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    return widget


def points_drawn(widget) -> int:
    """How many data points (or image pixels) the pyqtgraph items inside ``widget`` hold.

    Read from the scenes of every pyqtgraph view in the widget, so it holds
    whatever plots the views choose to draw, and is 0 when nothing is drawn.
    """
    total = 0
    for view in widget.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if not item.isVisible():
                continue
            if isinstance(item, pg.PlotDataItem):
                x, _ = item.getData()
                total += 0 if x is None else len(x)
            elif isinstance(item, pg.ScatterPlotItem) and not isinstance(item.parentItem(), pg.PlotDataItem):
                total += len(item.data)
            elif isinstance(item, pg.ImageItem) and item.image is not None:
                total += item.image.size
            elif isinstance(item, pg.BarGraphItem):
                total += len(item.opts.get("height") or [])
    return total


def test_opens_a_sweep_file_and_plots_it(tab, recorded):
    assert points_drawn(tab.sweep_view) == 0
    assert tab.open_path(recorded["sweep"])
    assert tab.views.currentWidget() is tab.sweep_view
    assert tab.isVisibleTo(tab) and tab.sweep_view.isVisible()
    assert points_drawn(tab.sweep_view) >= 5
    assert str(recorded["sweep"]) in tab.message.text()


def test_opens_a_run_directory_and_plots_it(tab, recorded):
    assert tab.open_path(recorded["run"])
    assert tab.views.currentWidget() is tab.run_view
    assert tab.run_view.isVisible()
    # Two epochs of two folds at least, for the MTJ network and its software baseline.
    assert points_drawn(tab.run_view) >= 4
    assert "run" in tab.message.text()


def test_switches_between_a_sweep_and_a_run(tab, recorded):
    assert tab.open_path(recorded["run"])
    assert tab.open_path(recorded["sweep"])
    assert tab.views.currentWidget() is tab.sweep_view
    assert tab.open_path(recorded["run"])
    assert tab.views.currentWidget() is tab.run_view


@pytest.mark.parametrize("make", [
    pytest.param(lambda d: d / "missing.csv", id="missing"),
    pytest.param(lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", id="not-csv"),
    pytest.param(lambda d: (d / "garbage.csv").write_text("a,b\n1,x\n") and d / "garbage.csv", id="not-a-sweep"),
    pytest.param(lambda d: (d / "empty.csv").write_bytes(b"") or d / "empty.csv", id="empty"),
    pytest.param(lambda d: (d / "folder").mkdir() or d / "folder", id="folder-not-a-run"),
])
def test_a_bad_path_is_a_message_not_an_exception(tab, recorded, tmp_path, make):
    """pytest-qt fails the test on any exception raised inside Qt; the tab must show one line instead."""
    assert tab.open_path(recorded["sweep"])
    before = points_drawn(tab.sweep_view)
    bad = make(tmp_path)
    assert tab.open_path(bad) is False
    text = tab.message.text()
    assert text and "\n" not in text
    assert bad.name in text
    # The last good view stays as it was, and the bad path is not remembered.
    assert tab.views.currentWidget() is tab.sweep_view
    assert points_drawn(tab.sweep_view) == before
    assert str(bad.resolve()) not in tab.recent_paths()


def test_a_damaged_sweep_header_is_refused_in_one_line(tab, recorded, tmp_path):
    """A sweep file whose header names no mtjlab procedure is refused by the loader, shown in the tab."""
    damaged = tmp_path / "damaged.csv"
    text = recorded["sweep"].read_text()
    damaged.write_text(text.replace("mtjlab.experiments", "os.system", 1))
    failures: list[str] = []
    tab.failed.connect(failures.append)
    assert tab.open_path(damaged) is False
    assert failures == [tab.message.text()]
    assert "damaged.csv" in failures[0]


def test_open_buttons_and_recent_list_persist(qtbot, tab, recorded, gui_settings, monkeypatch):
    monkeypatch.setattr(replay_module.QFileDialog, "getOpenFileName",
                        lambda *args, **kwargs: (str(recorded["sweep"]), ""))
    monkeypatch.setattr(replay_module.QFileDialog, "getExistingDirectory",
                        lambda *args, **kwargs: str(recorded["run"]))
    tab.open_file_button.click()
    assert tab.views.currentWidget() is tab.sweep_view
    tab.open_run_button.click()
    assert tab.views.currentWidget() is tab.run_view
    assert tab.recent_paths() == [str(recorded["run"].resolve()), str(recorded["sweep"].resolve())]
    tab.save_settings()
    gui_settings.sync()

    again = ReplayTab(QSettings(gui_settings.fileName(), QSettings.IniFormat))
    qtbot.addWidget(again)
    assert again.recent_paths() == tab.recent_paths()
    assert again.last_folder == str(recorded["run"].resolve().parent)
    # Activating a recent entry opens it again.
    again.recent.itemActivated.emit(again.recent.item(1))
    assert again.views.currentWidget() is again.sweep_view
    assert again.current == Path(str(recorded["sweep"].resolve()))


def test_a_replayed_run_shows_measured_against_exact_derivatives_from_its_record(tab, recorded):
    """The model (like a simulated bench) records the exact dV/dI beside the measured one, so the
    replay draws the same scatter as the live run did; the points lie near the diagonal."""
    from mtjlab.gui.run_samples import last_sample, read_setup

    sample = last_sample(recorded["run"], read_setup(recorded["run"]))
    layer = sample.layers[0]
    assert layer.exact_derivative is not None and layer.exact_derivative.shape == layer.derivative.shape
    inside = layer.exact_derivative != 0
    assert inside.any()
    # Measured and exact agree to the lock-in's d2 aperture error and noise: a few per cent of tanh'(0)=1.
    assert np.median(np.abs(layer.derivative[inside] - layer.exact_derivative[inside])) < 0.1
    assert tab.open_path(recorded["run"])
    x, y = tab.run_view._derivative_scatter.getData()
    assert len(x) == layer.derivative.size
    assert "no exact" not in tab.run_view.derivative_plot.plotItem.titleLabel.text


def test_a_run_without_exact_derivatives_says_so(tab, recorded, tmp_path):
    import shutil

    from mtjlab.training.records import atomic_savez, load_npz

    run = tmp_path / "real-bench-run"
    shutil.copytree(recorded["run"], run)
    for path in (run / "measurements").glob("*.npz"):
        arrays = {k: v for k, v in load_npz(path).items() if "exact" not in k}
        atomic_savez(path, arrays)
    assert tab.open_path(run)
    x, _ = tab.run_view._derivative_scatter.getData()
    assert x is None or len(x) == 0
    assert "no exact" in tab.run_view.derivative_plot.plotItem.titleLabel.text
