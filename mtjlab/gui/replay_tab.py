"""The Replay tab: recorded sweeps and finished runs, with no hardware.

A sweep data file (any of the six kinds) goes to the same
:class:`~.sweep_views.SweepView` the Sweeps tab draws live into, so an
activation map, a derivative check or a survey map looks the same recorded as
measured; a run directory goes to the Training tab's
:class:`~.training_views.RunView` (learning curves, metrics, activation
curves, weights). Live is replay fed point by point: one plotting path.

Nothing here touches the bench, so the tab works while a job runs and with no
bench connected. A file that cannot be opened is reported on one line in the
tab (the loaders refuse hostile files with an :class:`~mtjlab.errors.MtjlabError`);
opening never raises out of the tab, since an exception in a Qt slot would
end the session of a physicist who only picked the wrong file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt5.QtCore import QSettings, Qt, pyqtSignal
from PyQt5.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                             QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from ..errors import MtjlabError
from .sweep_views import SweepView
from .training_views import RunView

log = logging.getLogger(__name__)

#: How many recently opened files and run directories the list keeps.
MAX_RECENT = 12
#: Files a run directory always has once its first epoch is written (see docs/training.md);
#: any one of them is enough to tell a run directory from an arbitrary folder.
RUN_MARKERS = ("metrics.csv", "config.yaml", "summary.json")
#: Sweep data files are pymeasure Results CSV files.
SWEEP_SUFFIXES = (".csv",)

SETTINGS_FOLDER = "replay/last_folder"
SETTINGS_RECENT = "replay/recent"


def kind_of(path: Path) -> str:
    """What ``path`` looks like: "sweep", "run", or a short reason it is neither."""
    if path.is_dir():
        if any((path / marker).is_file() for marker in RUN_MARKERS):
            return "run"
        return f"{path}: not a run directory (none of {', '.join(RUN_MARKERS)})"
    if not path.exists():
        return f"{path}: no such file or folder"
    if path.suffix.lower() in SWEEP_SUFFIXES:
        return "sweep"
    return f"{path}: not a sweep data file (.csv) or a run directory"


def _one_line(exc: BaseException) -> str:
    """An exception as the one line the tab shows (unexpected ones named by their type)."""
    if isinstance(exc, MtjlabError):
        return exc.one_line()
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ReplayTab(QWidget):
    """Open buttons, the recent list, and the sweep and run views (see the module docstring)."""

    #: Emitted after a file or run directory was opened and drawn (its path).
    opened = pyqtSignal(str)
    #: Emitted with the one-line reason when something could not be opened.
    failed = pyqtSignal(str)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.last_folder = str(settings.value(SETTINGS_FOLDER, "", str) or "")
        self.current: Path | None = None

        self.open_file_button = QPushButton("Open sweep file…")
        self.open_file_button.setToolTip("A sweep data file (.csv) written by mtjlab: rh, iv, activation, "
                                         "derivative, survey or calibrate")
        self.open_file_button.clicked.connect(self.choose_file)
        self.open_run_button = QPushButton("Open run directory…")
        self.open_run_button.setToolTip("A run directory written by mtjlab train (runs/<date>-<name>)")
        self.open_run_button.clicked.connect(self.choose_run)
        # One line, selectable: the path opened or why it could not be.
        self.message = QLabel("Open a recorded sweep file or a run directory; no bench is needed.")
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.message.setWordWrap(False)

        buttons = QHBoxLayout()
        buttons.addWidget(self.open_file_button)
        buttons.addWidget(self.open_run_button)
        buttons.addWidget(self.message, 1)

        self.recent = QListWidget()
        self.recent.setToolTip("Recently opened; double-click (or Enter) to open again")
        self.recent.itemActivated.connect(self._open_recent)
        recent_box = QWidget()
        recent_layout = QVBoxLayout(recent_box)
        recent_layout.setContentsMargins(0, 0, 0, 0)
        recent_layout.addWidget(QLabel("Recent"))
        recent_layout.addWidget(self.recent)

        self.sweep_view = SweepView()
        self.run_view = RunView()
        self.views = QStackedWidget()
        self.views.addWidget(self.sweep_view)
        self.views.addWidget(self.run_view)

        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(recent_box)
        self.splitter.addWidget(self.views)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([280, 1000])

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.splitter, 1)

        recent = settings.value(SETTINGS_RECENT, [], list) or []
        # QSettings may hand back a lone string for a one-item list on some backends.
        if isinstance(recent, str):
            recent = [recent]
        self._set_recent([str(p) for p in recent if p][:MAX_RECENT])

    # ------------------------------------------------------------- opening
    def open_path(self, path: Path | str) -> bool:
        """Open a sweep file or a run directory in its view; whether it worked.

        Anything else, or a file the loaders refuse, leaves a one-line message
        in the tab and the previous view as it was.
        """
        path = Path(path)
        kind = kind_of(path)
        try:
            if kind == "sweep":
                self.sweep_view.load_file(path)
                self.views.setCurrentWidget(self.sweep_view)
            elif kind == "run":
                self.run_view.load_run(path)
                self.views.setCurrentWidget(self.run_view)
            else:
                return self._fail(kind)
        except Exception as exc:  # noqa: BLE001 - a bad file is a message, never the end of the session
            if not isinstance(exc, MtjlabError):
                log.info("replay of %s failed", path, exc_info=True)
            return self._fail(_one_line(exc))
        self.current = path
        # The folder holding it: the next dialog starts beside the sweep, or among the runs.
        self.last_folder = str(path.resolve().parent)
        self._remember(path)
        self.message.setText(f"{'run' if kind == 'run' else 'sweep'}: {path}")
        self.message.setToolTip(str(path))
        self.opened.emit(str(path))
        return True

    def _fail(self, reason: str) -> bool:
        self.message.setText(reason)
        self.message.setToolTip(reason)
        self.failed.emit(reason)
        return False

    def choose_file(self) -> None:
        """Ask for a sweep data file, then open it."""
        name, _ = QFileDialog.getOpenFileName(self, "Open a sweep data file", self.last_folder,
                                              "Sweep data (*.csv);;All files (*)")
        if name:
            self.open_path(Path(name))

    def choose_run(self) -> None:
        """Ask for a run directory, then open it."""
        name = QFileDialog.getExistingDirectory(self, "Open a run directory", self.last_folder)
        if name:
            self.open_path(Path(name))

    def _open_recent(self, item: QListWidgetItem) -> None:
        self.open_path(Path(item.data(Qt.UserRole)))

    # -------------------------------------------------------------- recent
    def recent_paths(self) -> list[str]:
        """The recent list, newest first."""
        return [self.recent.item(i).data(Qt.UserRole) for i in range(self.recent.count())]

    def _remember(self, path: Path) -> None:
        text = str(path.resolve())
        paths = [text] + [p for p in self.recent_paths() if p != text]
        self._set_recent(paths[:MAX_RECENT])

    def _set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for text in paths:
            path = Path(text)
            # The name is what one recognises; the full path is in the tooltip.
            label = f"{path.name}/" if path.is_dir() else path.name
            if path.parent.name:
                label = f"{label}   ({path.parent.name})"
            item = QListWidgetItem(label)
            item.setData(Qt.UserRole, text)
            item.setToolTip(text)
            self.recent.addItem(item)

    # ------------------------------------------------------------ settings
    def save_settings(self) -> None:
        """Remember the last folder and the recent list for the next session."""
        self.settings.setValue(SETTINGS_FOLDER, self.last_folder)
        self.settings.setValue(SETTINGS_RECENT, self.recent_paths())

    def clear(self) -> None:
        """Empty both views and the message (the recent list stays)."""
        self.sweep_view.clear()
        self.run_view.clear()
        self.current = None
        self.message.setText("")
