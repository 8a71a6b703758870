"""The sweep plot: one view for a sweep measured now and a sweep read from its file.

:class:`SweepView` draws a sweep's rows with pyqtgraph, X and Y chosen among
the numeric data columns, one curve per group (the R-H branch, the bias field
of an activation map, the device of a calibration, the state of an I-V), and
shows the sweep's summary under the plot. A live sweep feeds it rows as they
arrive (:meth:`start`, :meth:`add_rows`, :meth:`finish`); a recorded file is
the same thing fed at once (:meth:`load_file`): one plotting path, not two.

Rows only accumulate when they arrive; the curves are redrawn by a single-shot
timer at most every :data:`REDRAW_INTERVAL_MS`, so a fast sweep never stalls
the event loop with one redraw per point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from .. import foreground

#: Shortest time between two redraws (ms): ten a second is smooth to the eye.
REDRAW_INTERVAL_MS = 100

#: Per kind: the X and Y a physicist looks at first, and the column that splits the curves.
DEFAULT_AXES: dict[str, tuple[str, str, str | None]] = {
    "rh": ("Field reading (Oe)", "Resistance (ohm)", "Branch"),
    "iv": ("Read current (A)", "Voltage (V)", "State"),
    "activation": ("Input current (A)", "Output voltage (V)", "Bias field (Oe)"),
    "derivative": ("Input current (A)", "Derivative (V/A)", None),
    "survey": ("Resistance P (ohm)", "Slope (V/A)", None),
    "calibrate": ("Input current (A)", "Output voltage (V)", "Device"),
}


#: Curve colours that read on the white plot background (no yellow), one per group.
CURVE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")

class SweepView(QWidget):
    """A live or replayed sweep: plot, axis choice and summary (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = ""
        self._columns: list[str] = []
        self._frames: list[pd.DataFrame] = []  # rows not yet joined into self._data
        self._data = pd.DataFrame()
        self._curves: list[pg.PlotDataItem] = []
        self.x_box, self.y_box = QComboBox(), QComboBox()
        for box in (self.x_box, self.y_box):
            box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.x_box.setToolTip("the data column along X")
        self.y_box.setToolTip("the data column along Y")
        self.x_box.currentTextChanged.connect(self._schedule)
        self.y_box.currentTextChanged.connect(self._schedule)
        self.title = QLabel("no sweep")
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.addLegend(offset=(10, 10), labelTextColor="k")
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setMaximumHeight(110)
        self.summary.setPlaceholderText("the summary appears when the sweep ends")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)
        axes = QHBoxLayout()
        axes.addWidget(self.title, 1)
        axes.addWidget(QLabel("X"))
        axes.addWidget(self.x_box)
        axes.addWidget(QLabel("Y"))
        axes.addWidget(self.y_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(axes)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)

    # ------------------------------------------------------------ the API
    def load_file(self, path: str | Path) -> None:
        """Plot a recorded sweep file and show its summary.

        Raises the one-line :class:`~mtjlab.errors.DataFileError` of
        :func:`~mtjlab.experiments.replay.load_sweep` for anything that is not an
        mtjlab sweep file; the view is then left as it was.
        """
        from ..errors import DataFileError
        from ..experiments.catalog import SWEEPS
        from ..experiments.replay import load_sweep

        procedure, data = load_sweep(path)
        kind = next((k for k, e in SWEEPS.items() if type(procedure) is e.procedure), None)
        if kind is None:
            raise DataFileError(f"{path}: a {type(procedure).__name__} has no sweep view")
        try:
            lines = list(SWEEPS[kind].summarise(data, procedure))
        except Exception as exc:  # noqa: BLE001 - a summary never hides the data
            lines = [f"summary: not made ({type(exc).__name__}: {' '.join(str(exc).split())})"]
        self.start(kind, list(data.columns))
        self.title.setText(f"{kind}: {Path(path).name}")
        self.add_rows(data)
        self.finish(lines)

    def start(self, kind: str, columns: list[str]) -> None:
        """Begin an empty sweep of ``kind`` whose rows will carry ``columns``."""
        self.clear()
        self.kind = kind
        self._columns = list(columns)
        self.title.setText(f"{kind}: measuring")
        x, y, _ = DEFAULT_AXES.get(kind, ("", "", None))
        self._fill_boxes(self._columns, x, y)

    def add_rows(self, df: pd.DataFrame) -> None:
        """Append rows (any number) and redraw within REDRAW_INTERVAL_MS."""
        if df is None or len(df) == 0:
            return
        self._frames.append(df)
        if not self._columns:  # rows without start(): take the columns they bring
            self._columns = list(df.columns)
            self._fill_boxes(self._columns, *DEFAULT_AXES.get(self.kind, ("", "", None))[:2])
        self._schedule()

    def finish(self, summary_lines: list[str]) -> None:
        """The sweep ended: draw everything now and show its summary."""
        self.summary.setPlainText("\n".join(summary_lines))
        if self.title.text().endswith("measuring"):
            self.title.setText(f"{self.kind}: {self.rows} points")
        self.redraw()

    def clear(self) -> None:
        """Forget the sweep: no rows, no curves, no summary."""
        self._timer.stop()
        self.kind = ""
        self._columns, self._frames, self._data = [], [], pd.DataFrame()
        self.summary.clear()
        self.title.setText("no sweep")
        self._remove_curves()
        for box in (self.x_box, self.y_box):
            box.blockSignals(True)
            box.clear()
            box.blockSignals(False)

    # ---------------------------------------------------------- reading
    @property
    def data(self) -> pd.DataFrame:
        """Every row received so far (drawn or about to be)."""
        self._join()
        return self._data

    @property
    def rows(self) -> int:
        return len(self._data) + sum(len(f) for f in self._frames)

    # ---------------------------------------------------------- drawing
    def _fill_boxes(self, columns: list[str], x: str, y: str) -> None:
        numeric = [c for c in columns if c not in _TEXT_COLUMNS]
        for box, wanted, fallback in ((self.x_box, x, 0), (self.y_box, y, 1)):
            box.blockSignals(True)
            box.clear()
            box.addItems(numeric)
            if wanted in numeric:
                box.setCurrentText(wanted)
            elif numeric:
                box.setCurrentIndex(min(fallback, len(numeric) - 1))
            box.blockSignals(False)

    def _schedule(self, *_: object) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _join(self) -> None:
        if self._frames:
            self._data = pd.concat([self._data, *self._frames], ignore_index=True) if len(self._data) else \
                pd.concat(self._frames, ignore_index=True)
            self._frames = []

    def _remove_curves(self) -> None:
        for curve in self._curves:
            self.plot.removeItem(curve)
        self._curves = []
        legend = self.plot.getPlotItem().legend
        if legend is not None:
            legend.clear()

    def redraw(self) -> None:
        """Draw every row now (the timer calls this; finish() too), ahead of the worker (mtjlab.foreground)."""
        self._timer.stop()
        with foreground.first():
            self._draw()

    def _draw(self) -> None:
        self._join()
        x, y = self.x_box.currentText(), self.y_box.currentText()
        self._remove_curves()
        data = self._data
        if data.empty or x not in data.columns or y not in data.columns:
            return
        self.plot.setLabel("bottom", x)
        self.plot.setLabel("left", y)
        group = DEFAULT_AXES.get(self.kind, ("", "", None))[2]
        parts = list(data.groupby(group, sort=False)) if group in data.columns else [(None, data)]
        for n, (name, part) in enumerate(parts):
            xs = pd.to_numeric(part[x], errors="coerce").to_numpy(float)
            ys = pd.to_numeric(part[y], errors="coerce").to_numpy(float)
            keep = np.isfinite(xs) & np.isfinite(ys)
            colour = CURVE_COLOURS[n % len(CURVE_COLOURS)]
            label = f"{group}: {name}" if name is not None else None
            curve = self.plot.plot(xs[keep], ys[keep], pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=5,
                                   symbolBrush=colour, symbolPen=None, name=label)
            self._curves.append(curve)


#: Columns that hold text in some procedure (never offered as an axis).
_TEXT_COLUMNS = {"Branch", "State", "Device"}
