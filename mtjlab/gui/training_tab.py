"""The Training tab: a training file or a form, Start / Pause / Resume / Stop, live views, the summary.

The form builds the config the way ``mtjlab train`` does (the same
:func:`mtjlab.cli_train.build_config` on the same options), a
:class:`~.training_jobs.TrainingJob` runs it in the bench worker's thread, and
the :class:`~.training_views.RunView` draws what the job reports. At the end the
tab shows the summary table the CLI prints (:func:`mtjlab.cli_train.print_summary`).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QSettings
from PyQt5.QtGui import QFontDatabase
from PyQt5.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                             QPushButton, QSpinBox, QSplitter, QVBoxLayout, QWidget)

from ..errors import MtjlabError
from .bench_worker import MODEL_BENCH, BenchWorker
from .run_samples import read_setup
from .training_jobs import TrainingJob, TrainingOutcome, TrainingSignals
from .training_views import RunView

DATASETS = ("iris", "digits")
METHODS = ("analog", "numeric", "model", "nominal", "perturbation", "offline")
#: "runs on" choices: the worker's bench, or the physics model.
ON_BENCH, ON_MODEL = "the connected bench", "model (physics model)"
WHERE_TIP = ("The connected bench: the bench the bench bar holds (the simulated bench by default); the run "
             "measures on it and ramps it to zero at the end.\n'model': the physics model of the packaged chip, "
             "computed directly with no instruments, even when a (simulated) bench is connected: the fastest "
             "way to try a configuration; the bench stays idle and untouched.")
BUSY_TIP = "the bench runs {job}: one job drives the bench at a time; stop it (or wait) first"


class TrainingTab(QWidget):
    """See the module docstring; ``save_settings()`` keeps the form for the next session."""

    def __init__(self, worker: BenchWorker, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.settings = settings
        self.job: TrainingJob | None = None
        self.run_dir: Path | None = None
        self.signals = TrainingSignals(self)
        self.view = RunView()
        self.signals.event.connect(self.view.on_event)
        self.signals.sample.connect(self.view.on_sample)
        self.signals.run_dir.connect(self._on_run_dir)
        self._build_form()
        worker.busy_changed.connect(self._update_controls)
        worker.job_finished.connect(self._on_finished)
        worker.job_failed.connect(self._on_failed)
        self._restore_settings()
        self._update_controls()

    # ---------------------------------------------------------------- form
    def _build_form(self) -> None:
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("none: the form below says everything")
        self.file_edit.setToolTip("A training YAML file (kind: training); the form shows its values and "
                                  "overrides them as mtjlab train's options do.")
        browse, clear = QPushButton("Open…"), QPushButton("Clear")
        browse.clicked.connect(self._choose_file)
        clear.clicked.connect(lambda: self.file_edit.setText(""))
        self.dataset = QComboBox()
        self.dataset.addItems(DATASETS)
        self.method = QComboBox()
        self.method.addItems(METHODS)
        self.method.setToolTip("How each neuron's derivative is obtained: analog is the lock-in first harmonic "
                               "(docs/training.md)")
        self.hidden = QLineEdit("4")
        self.hidden.setToolTip("hidden MTJ layer sizes: 4, or 8,4 for two layers")
        self.folds, self.epochs, self.seed = QSpinBox(), QSpinBox(), QSpinBox()
        self.folds.setRange(2, 1000)
        self.epochs.setRange(1, 100_000)
        self.seed.setRange(0, 2**31 - 1)
        self.where = QComboBox()
        self.where.addItems([ON_BENCH, ON_MODEL])
        self.where.setToolTip(WHERE_TIP)
        self.out_edit = QLineEdit("runs")
        self.out_edit.setToolTip("Folder of the run directories: each run writes <folder>/<date>-<name>/")
        out_browse = QPushButton("…")
        out_browse.clicked.connect(self._choose_out)
        form = QFormLayout()
        form.addRow("training file", self._row(self.file_edit, browse, clear))
        form.addRow("dataset", self.dataset)
        form.addRow("method", self.method)
        form.addRow("hidden sizes", self.hidden)
        form.addRow("folds", self.folds)
        form.addRow("epochs", self.epochs)
        form.addRow("seed", self.seed)
        form.addRow("runs on", self.where)
        form.addRow("runs folder", self._row(self.out_edit, out_browse))
        self.start_button, self.pause_button = QPushButton("Start"), QPushButton("Pause")
        self.resume_button, self.stop_button = QPushButton("Resume"), QPushButton("Stop")
        self.resume_run_button = QPushButton("Resume run…")
        self.stop_button.setToolTip("Stop after the current step; the finished epochs are kept and the run "
                                    "directory resumes (Resume run…, or mtjlab train --resume DIR)")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.unpause)
        self.stop_button.clicked.connect(self.stop)
        self.resume_run_button.clicked.connect(self._choose_resume)
        self.status = QLabel("ready")
        self.status.setWordWrap(True)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.summary.setPlaceholderText("the summary table appears here when a run ends")
        left = QWidget()
        column = QVBoxLayout(left)
        column.addLayout(form)
        column.addWidget(self._row(self.start_button, self.pause_button, self.resume_button, self.stop_button))
        column.addWidget(self.resume_run_button)
        column.addWidget(self.status)
        column.addWidget(self.summary, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(1, 1)
        QHBoxLayout(self).addWidget(splitter)
        self.file_edit.editingFinished.connect(lambda: self.load_file(self.file_edit.text()))

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)
        return row

    def load_file(self, path: str) -> None:
        """Show a training file's values in the form (an unreadable file is named in the status line)."""
        self.file_edit.setText(path)
        if not path:
            return
        from ..config import load_training

        try:
            config = load_training(Path(path))
        except MtjlabError as exc:
            self.status.setText(exc.one_line())
            return
        if self.dataset.findText(config.dataset) < 0:
            self.dataset.addItem(config.dataset)
        self.dataset.setCurrentText(config.dataset)
        self.method.setCurrentText(config.method)
        self.hidden.setText(",".join(map(str, config.hidden)))
        self.folds.setValue(config.folds)
        self.epochs.setValue(config.epochs)
        self.seed.setValue(config.seed)
        self.where.setCurrentText(ON_MODEL if config.bench == MODEL_BENCH else ON_BENCH)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Training file", self.file_edit.text(), "YAML (*.yaml *.yml)")
        if path:
            self.load_file(path)

    def _choose_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Runs folder", self.out_edit.text())
        if path:
            self.out_edit.setText(path)

    def _choose_resume(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Run directory to resume", self.out_edit.text())
        if path:
            self.resume(Path(path))

    def build_config(self) -> tuple[Any, Path]:
        """The config as ``mtjlab train`` would build it from the same file and options."""
        from ..cli_train import build_config

        on_model = self.where.currentText() == ON_MODEL or self.worker.bench_file == MODEL_BENCH
        bench = MODEL_BENCH if on_model else (self.worker.bench_file or "typical.yaml")
        args = argparse.Namespace(
            config=Path(self.file_edit.text()) if self.file_edit.text() else None, bench=bench,
            dataset=self.dataset.currentText(), method=self.method.currentText(), hidden=self.hidden.text(),
            folds=self.folds.value(), epochs=self.epochs.value(), seed=self.seed.value(),
            mnist_file=None, csv_file=None, label_column=None)
        return build_config(args)

    # ------------------------------------------------------------ controls
    def start(self) -> bool:
        """Start a run from the form; whether it was queued (a bad form is named in the status line)."""
        try:
            config, config_dir = self.build_config()
        except MtjlabError as exc:
            self.status.setText(exc.one_line())
            return False
        return self._submit(TrainingJob(self.signals, config=config, config_dir=config_dir,
                                        runs_parent=Path(self.out_edit.text() or "runs")))

    def resume(self, run_dir: Path) -> bool:
        """Continue a stopped run directory (its own config decides bench or model)."""
        return self._submit(TrainingJob(self.signals, resume_dir=Path(run_dir)))

    def _submit(self, job: TrainingJob) -> bool:
        self.view.clear()
        self.summary.clear()
        self.run_dir = job.resume_dir
        if not self.worker.submit(job):
            self.status.setText(BUSY_TIP.format(job=self.worker.running_job or "a job"))
            return False
        self.job = job
        self.status.setText(f"{job.name}: calibrating the devices, then training")
        self._update_controls()
        return True

    def pause(self) -> None:
        if self.job is not None:
            self.job.pause()
            self.status.setText("pausing after the current step")

    def unpause(self) -> None:
        if self.job is not None:
            self.job.unpause()
            self.status.setText("running")

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()
            self.status.setText("stopping after the current step; the run stays resumable")

    def _update_controls(self, *_: Any) -> None:
        ours, busy = self.job is not None, self.worker.busy
        tip = ("a training run is going: pause or stop it first" if ours
               else BUSY_TIP.format(job=self.worker.running_job or "a job") if busy else "")
        for button, idle_tip in ((self.start_button, "Train as the form says"),
                                 (self.resume_run_button, "Continue a stopped run directory")):
            button.setEnabled(not busy and not ours)
            button.setToolTip(tip or idle_tip)
        for button in (self.pause_button, self.resume_button, self.stop_button):
            button.setEnabled(ours)
        if not ours:
            self.pause_button.setToolTip("no training run is going")

    # ------------------------------------------------------------- results
    def _on_run_dir(self, path: str) -> None:
        self.run_dir = Path(path)
        try:
            self.view.set_setup(read_setup(self.run_dir))
        except MtjlabError as exc:  # the curves are a view; the run goes on without them
            self.status.setText(f"neuron curves not shown: {exc.one_line()}")

    def _on_finished(self, name: str, result: object) -> None:
        if self.job is None or name != self.job.name or not isinstance(result, TrainingOutcome):
            return
        self.job = None
        self.run_dir = result.run_dir
        if result.state == "finished" and result.summary is not None:
            from ..cli_train import print_summary

            text = io.StringIO()
            print_summary(result.summary, text)
            self.summary.setPlainText(text.getvalue())
            self.status.setText(f"finished: {result.run_dir}")
        elif result.run_dir is None:  # stopped in the calibration: no run directory was made
            self.status.setText(f"stopped: {result.message}")
        else:
            self.status.setText(f"stopped; resumable with Resume run… or mtjlab train --resume {result.run_dir}")
        self.view.redraw()
        self._update_controls()

    def _on_failed(self, name: str, cause: str) -> None:
        if self.job is None or name != self.job.name:
            return
        self.job = None
        where = f" (resume: mtjlab train --resume {self.run_dir})" if self.run_dir is not None else ""
        self.status.setText(f"failed: {cause}{where}")
        self._update_controls()

    # ------------------------------------------------------------ settings
    def save_settings(self) -> None:
        """Keep the form (and the training file) for the next session."""
        s = self.settings
        for key, value in (("file", self.file_edit.text()), ("dataset", self.dataset.currentText()),
                           ("method", self.method.currentText()), ("hidden", self.hidden.text()),
                           ("folds", self.folds.value()), ("epochs", self.epochs.value()),
                           ("seed", self.seed.value()), ("where", self.where.currentText()),
                           ("out", self.out_edit.text())):
            s.setValue(f"training/{key}", value)

    def _restore_settings(self) -> None:
        s = self.settings
        self.file_edit.setText(str(s.value("training/file", "", str)))
        self.dataset.setCurrentText(str(s.value("training/dataset", "iris", str)))
        self.method.setCurrentText(str(s.value("training/method", "analog", str)))
        self.hidden.setText(str(s.value("training/hidden", "4", str)))
        self.folds.setValue(int(s.value("training/folds", 5, int)))
        self.epochs.setValue(int(s.value("training/epochs", 15, int)))
        self.seed.setValue(int(s.value("training/seed", 0, int)))
        self.where.setCurrentText(str(s.value("training/where", ON_BENCH, str)))
        self.out_edit.setText(str(s.value("training/out", "runs", str)))


__all__ = ["TrainingTab"]
