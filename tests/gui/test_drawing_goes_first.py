"""The window draws ahead of a busy worker (mtjlab.foreground), and a first redraw yields to the event loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt5")
pg = pytest.importorskip("pyqtgraph")

from PyQt5.QtCore import QTimer  # noqa: E402

from mtjlab import foreground  # noqa: E402
from mtjlab.gui.main_window import MainWindow  # noqa: E402
from mtjlab.gui.run_samples import NeuronCurve, RunSetup  # noqa: E402
from mtjlab.gui.training_views import RunView  # noqa: E402

WAIT_MS = 30_000


def _setup(neurons: int = 4) -> RunSetup:
    z = np.linspace(-3, 3, 41)
    curves = [[NeuronCurve(0, j, f"d{j}", z, np.tanh(z + 0.1 * j)) for j in range(neurons)]]
    return RunSetup(curves=curves, calibrations=[[]], limit=3.0)


def _weights() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(size=(4, 4)), np.zeros(4), rng.normal(size=(3, 4)), np.zeros(3)]


def test_the_windows_paint_pass_holds_the_foreground(qtbot, gui_settings, monkeypatch):
    seen: list[bool] = []
    original = pg.GraphicsView.paintEvent

    def paint(self, event):
        seen.append(foreground.held())
        return original(self, event)

    monkeypatch.setattr(pg.GraphicsView, "paintEvent", paint)
    window = MainWindow("model", gui_settings)
    qtbot.addWidget(window)
    try:
        window.show()
        window.tabs.setCurrentWidget(window.training)
        qtbot.waitUntil(lambda: len(seen) > 0, timeout=WAIT_MS)
        seen.clear()
        window.training.view.loss_plot.plot([1, 2, 3], [3, 1, 2])
        qtbot.waitUntil(lambda: len(seen) > 0, timeout=WAIT_MS)
        assert all(seen), "a plot was painted while a worker could take the interpreter lock"
        assert not foreground.held()  # and let go afterwards
    finally:
        window.worker.shut_down(WAIT_MS)


def test_a_redraw_draws_while_holding_the_foreground(qtbot, monkeypatch):
    view = RunView()
    qtbot.addWidget(view)
    seen: list[bool] = []
    original = RunView._draw_weights
    monkeypatch.setattr(RunView, "_draw_weights", lambda self: seen.append(foreground.held()) or original(self))
    view.set_weights(_weights())
    view.redraw()
    assert seen == [True]
    assert not foreground.held()


def test_a_first_live_redraw_lets_the_event_loop_run_between_the_plots_it_builds(qtbot, monkeypatch):
    view = RunView()
    qtbot.addWidget(view)
    view.show()
    order: list[str] = []
    for part in ("setup", "weights"):
        original = getattr(RunView, f"_draw_{part}")
        monkeypatch.setattr(RunView, f"_draw_{part}",
                            lambda self, original=original, part=part: order.append(part) or original(self))
    ticker = QTimer()
    ticker.setInterval(0)  # fires at every pass of the event loop
    ticker.timeout.connect(lambda: order.append("tick") if order and order[-1] != "tick" else None)
    ticker.start()
    view.set_setup(_setup())
    view.set_weights(_weights())
    qtbot.waitUntil(lambda: "weights" in order, timeout=WAIT_MS)
    ticker.stop()
    built = [p for p in order if p != "tick"]
    assert built == ["setup", "weights"]
    assert order.index("tick", order.index("setup")) < order.index("weights"), order
    assert len(view._weight_images) == 2 and view.activation_plots.getItem(0, 0) is not None


def test_a_replay_draws_everything_at_once(tmp_path: Path, qtbot):
    view = RunView()
    qtbot.addWidget(view)
    view.set_setup(_setup())
    view.set_weights(_weights())
    view.redraw()  # what load_run does: no event-loop pass needed
    assert len(view._weight_images) == 2
    assert view.activation_plots.getItem(0, 0) is not None
