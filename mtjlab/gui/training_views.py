"""RunView: the live and replay views of a training run (one plotting path for both).

A live run feeds it trainer events, the run's setup (neuron curves) and step
samples as they come; :meth:`RunView.load_run` reads a finished or stopped run
directory into the *same* calls (epoch events from metrics.csv, the setup from
calibration.npz, a sample from measurements/ and the newest checkpoint), so a
replay is a live run fed from files. Every call only stores data and marks what
changed; a single-shot timer redraws at most ten times a second, so a fast
trainer never stalls the event loop.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtWidgets import QGridLayout, QLabel, QWidget

from .. import foreground
from ..training.trainer import TrainingEvent
from .run_samples import RunSetup, StepSample, epoch_events, last_sample, newest_checkpoint, read_metrics, read_setup

log = logging.getLogger(__name__)

#: Shortest time between two redraws (ms): ten redraws a second is smooth to the eye and cheap.
REDRAW_INTERVAL_MS = 100


#: The parts of the view, in the order a redraw draws them (each a ``_draw_<part>`` method).
_PARTS = ("curves", "setup", "sample", "weights", "stats")

#: Fold and neuron colours, far apart so neighbouring folds are told apart at a glance.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")


def _colour(n: int) -> Any:
    return pg.mkColor(PALETTE[n % len(PALETTE)])


def _duration(seconds: float) -> str:
    from ..cli_train import format_duration  # the CLI's wording of a duration

    return format_duration(max(0.0, seconds))


class RunView(QWidget):
    """Learning curves, progress and costs, activation curves with operating points, derivative
    scatter and weight heatmaps of one training run (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(title="loss (dashed: software baseline)")
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.setLabel("left", "cross-entropy (nats)")
        self.accuracy_plot = pg.PlotWidget(title="validation accuracy (dashed: software baseline)")
        self.accuracy_plot.setLabel("bottom", "epoch")
        self.accuracy_plot.setLabel("left", "accuracy (%)")
        self.activation_plots = pg.GraphicsLayoutWidget()
        self.derivative_plot = pg.PlotWidget(title="measured vs exact da/dz")
        self.derivative_plot.setLabel("bottom", "exact da/dz")
        self.derivative_plot.setLabel("left", "measured da/dz")
        self.derivative_plot.addItem(pg.InfiniteLine(pos=(0, 0), angle=45, pen=pg.mkPen("#888", style=Qt.DashLine)))
        self._derivative_scatter = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(30, 120, 220, 160))
        self.derivative_plot.addItem(self._derivative_scatter)
        self.weight_plots = pg.GraphicsLayoutWidget()
        self.stats = QLabel()
        self.stats.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.stats.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.stats.setWordWrap(True)  # a long line must not push the plots out of the window
        grid = QGridLayout(self)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.accuracy_plot, 0, 1)
        grid.addWidget(self.stats, 0, 2)
        grid.addWidget(self.activation_plots, 1, 0)
        grid.addWidget(self.derivative_plot, 1, 1)
        grid.addWidget(self.weight_plots, 1, 2)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._redraw_in_steps)
        self.redraws = 0  # how many redraws happened (the coalescing is checked on it)
        self.clear()

    # --------------------------------------------------------------- feeding
    def clear(self) -> None:
        """Forget the run shown (the plots empty at the next redraw)."""
        self.rows: list[dict[str, Any]] = []
        self.setup: RunSetup | None = None
        self.sample: StepSample | None = None
        self.weights: list[np.ndarray] | None = None
        self.state = "no run"
        self.step = 0
        self.total_steps = 0
        self._rate_from: tuple[float, int] | None = None  # (wall time, step) the step rate counts from
        self._dirty = {"curves", "setup", "sample", "weights", "stats"}
        self._schedule()

    def on_event(self, event: TrainingEvent) -> None:
        """A trainer event (GUI thread): progress, state, and an epoch's metrics row."""
        if event.total_steps:
            self.step, self.total_steps = event.step, event.total_steps
        if event.kind in ("started", "resumed"):
            self._rate_from = (time.monotonic(), event.step)
        elif event.kind in ("paused", "stopped"):
            self._rate_from = None
        if event.kind == "epoch" and event.metrics is not None:
            self.rows.append(dict(event.metrics))
            self._dirty.add("curves")
        labels = {"started": "running", "resumed": "running", "paused": "paused", "stopped": "stopped (resumable)",
                  "finished": "finished"}
        if event.kind in labels:
            self.state = labels[event.kind]
        if event.kind in ("step", "epoch", "fold"):
            self.state = f"running: fold {event.fold + 1}, epoch {event.epoch + 1}"
        self._dirty.add("stats")
        self._schedule()

    def set_setup(self, setup: RunSetup) -> None:
        """The run's neuron curves (from its calibration)."""
        self.setup = setup
        self._dirty |= {"setup", "sample"}
        self._schedule()

    def on_sample(self, sample: StepSample) -> None:
        """One training step's operating points, derivatives and (if given) weights."""
        self.sample = sample
        self._dirty.add("sample")
        if sample.weights is not None:
            self.set_weights(sample.weights)
        self._schedule()

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """The network's parameters [W1, b1, W2, b2, ...]: a heatmap per weight matrix."""
        self.weights = weights
        self._dirty.add("weights")
        self._schedule()

    def load_run(self, run_dir: Path) -> None:
        """Show a finished or stopped run directory from its files, through the live path."""
        run_dir = Path(run_dir)
        self.clear()
        checkpoint = newest_checkpoint(run_dir)
        total = 0
        if checkpoint is not None:
            self.step = int(checkpoint[0]["step"])
        for event in epoch_events(read_metrics(run_dir), total):
            self.on_event(event)
        self.set_setup(read_setup(run_dir))
        sample = last_sample(run_dir, self.setup) if self.setup is not None else None
        if sample is not None:
            self.on_sample(sample)
        if checkpoint is not None:
            self.set_weights(checkpoint[1])
        self.state = "finished" if (run_dir / "summary.json").exists() else "stopped (resumable)"
        self.redraw()

    # -------------------------------------------------------------- drawing
    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start(REDRAW_INTERVAL_MS)

    def redraw(self) -> None:
        """Draw whatever changed since the last redraw, all of it now (a replay, the end of a run)."""
        self._timer.stop()
        while self._dirty:
            self._draw_next()

    def _redraw_in_steps(self) -> None:
        """The timer's redraw: what changed, but yielding to the event loop after a part that builds
        plots (about 20 ms each), so a click or a tick never waits for the whole of a first redraw."""
        while self._dirty:
            if self._draw_next() and self._dirty:
                self._timer.start(0)
                return

    def _draw_next(self) -> bool:
        """Draw the first part that changed, ahead of the worker (mtjlab.foreground); whether it built plots."""
        part = next(p for p in _PARTS if p in self._dirty)
        self._dirty.discard(part)
        with foreground.first():
            built = getattr(self, f"_draw_{part}")()
        if not self._dirty:
            self.redraws += 1
            self._timer.setInterval(REDRAW_INTERVAL_MS)
        return bool(built)

    def _draw_curves(self) -> bool:
        """Four curves per fold, made once and then given new data (a redraw adds no items)."""
        built = False
        folds = sorted({r["fold"] for r in self.rows})
        curves = getattr(self, "_fold_curves", {})
        if not folds or set(curves) - set(folds):  # a new run: start from empty plots
            self.loss_plot.clear()
            self.accuracy_plot.clear()
            curves = self._fold_curves = {}
        for n, fold in enumerate(folds):
            rows = [r for r in self.rows if r["fold"] == fold]
            epochs = np.array([r["epoch"] for r in rows], float)
            if fold not in curves:
                built = True
                if not curves:
                    self.loss_plot.addLegend(offset=(-10, 10))
                solid, dashed = pg.mkPen(_colour(n), width=2), pg.mkPen(_colour(n), width=1, style=Qt.DashLine)
                curves[fold] = (
                    self.loss_plot.plot(pen=solid, symbol="o", symbolSize=4, symbolBrush=_colour(n), name=f"fold {fold}"),
                    self.loss_plot.plot(pen=dashed),
                    self.accuracy_plot.plot(pen=solid, symbol="o", symbolSize=4, symbolBrush=_colour(n)),
                    self.accuracy_plot.plot(pen=dashed),
                )
            loss, baseline_loss, accuracy, baseline_accuracy = curves[fold]
            loss.setData(epochs, [r["loss"] for r in rows])
            baseline_loss.setData(epochs, [r["baseline_loss"] for r in rows])
            accuracy.setData(epochs, [100 * r["val_accuracy"] for r in rows])
            baseline_accuracy.setData(epochs, [100 * r["baseline_val_accuracy"] for r in rows])
        return built

    def _draw_setup(self) -> bool:
        self.activation_plots.clear()
        self._activation_points: list[list[pg.ScatterPlotItem]] = []
        if self.setup is None:
            return False
        for n, layer in enumerate(self.setup.curves):
            plot = self.activation_plots.addPlot(row=n, col=0, title=f"layer {n + 1}: a(z), this batch")
            plot.setLabel("bottom", "pre-activation z")
            plot.setLabel("left", "activation a")
            limit = self.setup.limit
            for edge in (-limit, limit):
                plot.addItem(pg.InfiniteLine(pos=edge, angle=90, pen=pg.mkPen("#aaa", style=Qt.DotLine)))
            points = []
            for curve in layer:
                plot.plot(curve.z, curve.activation, pen=pg.mkPen(_colour(curve.neuron), width=1))
                scatter = pg.ScatterPlotItem(size=6, pen=pg.mkPen("k", width=0.5), brush=_colour(curve.neuron))
                plot.addItem(scatter)
                points.append(scatter)
            self._activation_points.append(points)
        return True

    def _draw_sample(self) -> bool:
        sample = self.sample
        measured, exact = [], []
        for n, points in enumerate(getattr(self, "_activation_points", [])):
            for j, scatter in enumerate(points):
                if sample is None or n >= len(sample.layers):
                    scatter.setData([], [])
                    continue
                layer = sample.layers[n]
                scatter.setData(layer.z[:, j], layer.activation[:, j])
        for layer in sample.layers if sample is not None else []:
            if layer.derivative is not None and layer.exact_derivative is not None:
                measured.append(np.ravel(layer.derivative))
                exact.append(np.ravel(layer.exact_derivative))
        if measured:
            self._derivative_scatter.setData(np.concatenate(exact), np.concatenate(measured))
            self.derivative_plot.setTitle("measured vs exact da/dz (this batch)")
            self.derivative_plot.setToolTip("")
        else:
            self._derivative_scatter.setData([], [])
            self.derivative_plot.setTitle("no exact da/dz to compare")
            self.derivative_plot.setToolTip("Exact derivatives exist only on a simulated bench or the model; a "
                                            "real bench's run shows what it measured.")
        return False

    def _draw_weights(self) -> bool:
        matrices = [np.asarray(m, float) for m in self.weights[0::2]] if self.weights else []
        images = getattr(self, "_weight_images", [])
        if matrices and [i.image.shape for i in images] == [m.shape for m in matrices]:
            # the same layers again (every step): new values in the same items, no new plots
            for image, matrix in zip(images, matrices):
                bound = float(np.max(np.abs(matrix))) or 1.0
                image.setImage(matrix, levels=(-bound, bound))
            return False
        self.weight_plots.clear()
        self._weight_images = []
        for n, matrix in enumerate(matrices):
            name = "output layer" if n == len(matrices) - 1 else f"hidden layer {n + 1}"
            plot = self.weight_plots.addPlot(row=n, col=0, title=f"{name} weights")
            plot.setLabel("bottom", "input")
            plot.setLabel("left", "neuron")
            bound = float(np.max(np.abs(matrix))) or 1.0
            image = pg.ImageItem(np.asarray(matrix, float), levels=(-bound, bound))
            image.setColorMap(pg.colormap.get("CET-D1"))
            plot.addItem(image)
            self._weight_images.append(image)
            plot.setAspectLocked(False)
        return bool(matrices)

    def _draw_stats(self) -> bool:
        rows = self.rows
        cosines = [r["grad_cosine_median"] for r in rows if r.get("grad_cosine_median") is not None]
        latest = rows[-1] if rows else None
        lines = [f"<b>{self.state}</b>"]
        if self.total_steps:
            lines.append(f"step {self.step:,} of {self.total_steps:,}")
        if latest is not None:
            lines.append(f"fold {latest['fold']}, epoch {latest['epoch']}: validation "
                         f"{100 * latest['val_accuracy']:.1f} % (software {100 * latest['baseline_val_accuracy']:.1f} %)")
        lines.append("gradient cosine: " + (f"{cosines[-1]:.4f} (median of the last epoch; run median "
                                            f"{float(np.median(cosines)):.4f})" if cosines else "n/a"))
        lines.append(f"device measurements: {sum(int(r.get('measurements') or 0) for r in rows):,}")
        lines.append(f"lab time: {_duration(sum(float(r.get('lab_time_s') or 0) for r in rows))}")
        lines.append(f"time to the end: {self._eta()}")
        self.stats.setText("<br>".join(lines))
        return False

    def _eta(self) -> str:
        """Remaining wall time from the step rate since the run (re)started; n/a while paused or done."""
        if self._rate_from is None or not self.total_steps:
            return "n/a"
        since_s, from_step = self._rate_from
        done, elapsed_s = self.step - from_step, time.monotonic() - since_s
        if done <= 0 or elapsed_s <= 0:
            return "estimating..."
        return _duration((self.total_steps - self.step) * elapsed_s / done)
