"""The main window: the bench bar above the Sweeps, Training and Replay tabs.

It owns the :class:`~.bench_worker.BenchWorker` (the thread that owns the
Bench), shows a worker's failure in an error dialog with its one-line cause
(the bench is made safe by then and the window stays usable), persists the
last bench file, the window layout and each tab's last parameters
(``QSettings``), and leaves safely: closing while a job runs asks first, then
stops the job at its next point, ramps everything to zero and closes only
once the bench is safe and every file complete.
"""

from __future__ import annotations

import logging

from PyQt5.QtCore import QEvent, QSettings, Qt
from PyQt5.QtWidgets import QMainWindow, QMessageBox, QSplitter, QTabWidget, QWidget

from .. import foreground
from .bench_bar import BenchBar
from .bench_worker import BenchWorker
from .replay_tab import ReplayTab
from .sweeps_tab import SweepsTab
from .training_tab import TrainingTab

log = logging.getLogger(__name__)

#: Where QSettings keeps the window's memory (organisation, application).
SETTINGS_SCOPE = ("mtjlab", "mtjlab")


#: Modules a sweep or a training run imports on first use, besides mtjlab's own (all
#: of which are imported too). Imported while the window opens, not in the middle of
#: the first run: an import compiles and executes module code under the interpreter
#: lock, which froze the window for up to 0.14 s at a time.
WARM_UP_MODULES = ("sklearn.datasets", "sklearn.model_selection", "scipy.interpolate", "matplotlib.pyplot")


def warm_up() -> None:
    """Import what the jobs will need (see :data:`WARM_UP_MODULES`), and draw one figure."""
    import importlib
    import pkgutil

    import mtjlab

    for module in pkgutil.walk_packages(mtjlab.__path__, "mtjlab."):
        if not module.name.startswith(("mtjlab.gui", "mtjlab.__main__")):
            importlib.import_module(module.name)
    for name in WARM_UP_MODULES:
        importlib.import_module(name)
    # the first figure loads fonts and builds caches in C, also under the lock
    import io

    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([0, 1], [0, 1], label="warm-up")
    figure.legend()
    figure.savefig(io.BytesIO(), format="png")


def default_settings() -> QSettings:
    return QSettings(*SETTINGS_SCOPE)


class MainWindow(QMainWindow):
    """Bench bar + tabs (see the module docstring)."""

    def __init__(self, bench_file: str | None = None, settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        warm_up()
        self.setWindowTitle("mtjlab")
        self.settings = settings if settings is not None else default_settings()
        self.worker = BenchWorker()
        if bench_file is None:
            bench_file = str(self.settings.value("bench/file", "", str))
        self.bench_bar = BenchBar(self.worker, bench_file)
        self.bench_bar.bench_file_chosen.connect(lambda path: self.settings.setValue("bench/file", path))
        self.tabs = QTabWidget()
        self.sweeps = SweepsTab(self.worker, self.settings)
        self.training = TrainingTab(self.worker, self.settings)
        self.replay = ReplayTab(self.settings)
        self.tabs.addTab(self.sweeps, "Sweeps")
        self.tabs.addTab(self.training, "Training")
        self.tabs.addTab(self.replay, "Replay")
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(self.bench_bar)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)
        self.error_dialog: QMessageBox | None = None
        self.worker.job_failed.connect(self.show_error)
        self.worker.made_safe.connect(self._on_made_safe)
        self._closing_without_asking = False
        self._restore_layout()

    # --------------------------------------------------------------- start
    def connect_bench(self) -> None:
        """Connect the bench named in the bench bar."""
        self.bench_bar.connect_bench()

    # -------------------------------------------------------------- errors
    def show_error(self, name: str, cause: str) -> None:
        """The one-line cause of a failed job, in a dialog that does not block the window."""
        self.error_dialog = QMessageBox(QMessageBox.Critical, f"{name} failed",
                                        f"{cause}\n\nThe bench was made safe.", QMessageBox.Ok, self)
        self.error_dialog.setWindowModality(Qt.NonModal)
        self.error_dialog.open()

    def _on_made_safe(self, problem: str) -> None:
        if problem:
            self.show_error("making the bench safe", problem)

    def event(self, event) -> bool:  # noqa: D401 - Qt's name
        # The window's paint pass (every dirty widget, pyqtgraph's included) runs inside
        # the UpdateRequest of the top-level window: it goes ahead of the worker.
        if event.type() == QEvent.UpdateRequest:
            with foreground.first():
                return super().event(event)
        return super().event(event)

    # ------------------------------------------------------------- leaving
    def close_without_asking(self) -> None:
        """Close as a signal asks (SIGINT, SIGTERM): no question, still safely."""
        self._closing_without_asking = True
        self.close()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.worker.busy and not self._closing_without_asking:
            answer = QMessageBox.question(
                self, "Stop and quit?",
                f"{self.worker.running_job} is running. Stop it at its next point, ramp the bench to zero "
                f"and quit?", QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer != QMessageBox.Yes:
                event.ignore()
                return
        self.bench_bar.status.setText("stopping: ramping every output to zero before closing")
        self._save_layout()
        for tab in (self.sweeps, self.training, self.replay):
            tab.save_settings()
        self.worker.shut_down()
        self.settings.sync()
        event.accept()

    # ------------------------------------------------------------ settings
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        splitter = self.settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self.tabs.setCurrentIndex(int(self.settings.value("window/tab", 0, int)))

    def _save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("window/tab", self.tabs.currentIndex())
