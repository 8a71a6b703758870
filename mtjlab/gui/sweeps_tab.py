"""The Sweeps tab: the six procedures, a queue of sweeps, a live plot and the finished files.

Each kind's form is pymeasure's ``InputsWidget`` built from the procedure's
own parameters (units shown), with pymeasure's ``SequencerWidget`` below it
for parameter series; the bench limits in force are listed beside the form.
"Queue" checks the request against the connected bench's limits first
(``check_requests``, as ``preflight()`` does, reading only the bench's
config: the GUI thread never talks to an instrument) and refuses it in the
form, naming the limit, before anything is queued or written. Queued sweeps
run one after another as :class:`~.sweep_jobs.SweepJob` s on the worker, each
into its own new file ``<folder>/<date>-<kind>-<n>.csv`` (never overwritten).

**Abort** stops the running sweep at its next point, then the worker ramps
every output to zero; the sweeps still waiting are **removed** from the
queue, as they are whenever a sweep ends stopped (also by the bench bar's
Safe stop) or failed: nothing starts on a bench someone just stopped.

The finished files of the output folder are listed on the right (a plain
list: pymeasure's ``BrowserWidget`` is bound to one procedure class and to
``ManagedWindow``'s curves, and this folder holds six kinds); selecting one
re-plots it in the same :class:`~.sweep_views.SweepView` with its summary.
"""

from __future__ import annotations

from collections import ChainMap
from pathlib import Path
from typing import Any

from pymeasure.experiment.sequencer import SequenceEvaluationError
from PyQt5.QtCore import QSettings, Qt
from PyQt5.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                             QListWidgetItem, QPushButton, QScrollArea, QSplitter, QStackedWidget, QTreeWidget,
                             QTreeWidgetItem, QVBoxLayout, QWidget)

from ..errors import MtjlabError
from ..experiments.catalog import SWEEPS
from .bench_worker import MODEL_BENCH, BenchInfo, BenchWorker, one_line
from .bench_bar import describe_limits
from .sweep_forms import BENCH_PARAMETER, DEFAULT_FOLDER, KindPanel, QueuedSweep, free_data_file
from .sweep_jobs import SweepJob, SweepResult
from .sweep_views import SweepView

class SweepsTab(QWidget):
    """Forms, queue, live plot and finished files (see the module docstring)."""

    def __init__(self, worker: BenchWorker, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker, self.settings = worker, settings
        self.waiting: list[QueuedSweep] = []
        self.current: QueuedSweep | None = None
        self.done: list[QueuedSweep] = []
        self._limits: dict[str, float] | None = None
        self._build()
        self.restore_settings()
        worker.connected.connect(self._on_connected)
        worker.disconnected.connect(self._on_disconnected)
        worker.busy_changed.connect(self._on_busy)
        worker.job_finished.connect(self._on_job_finished)
        worker.job_failed.connect(self._on_job_failed)
        if worker.bench is not None:  # connected before the tab was made
            self._on_connected(BenchInfo(worker.bench.config.name, worker.bench_file, {},
                                         worker.bench.config.limits.model_dump(), worker.bench.lab is not None))
        self._on_busy(worker.busy)

    # ----------------------------------------------------------- layout
    def _build(self) -> None:
        self.kind_box = QComboBox()
        self.kind_box.addItems(list(SWEEPS))
        self.panels = {kind: KindPanel(kind, lambda p, k=kind: self.queue_procedures(k, [p])) for kind in SWEEPS}
        self.stack = QStackedWidget()
        for kind, panel in self.panels.items():
            self.stack.addWidget(panel)
            self.kind_box.setItemData(self.kind_box.findText(kind),
                                      (SWEEPS[kind].procedure.__doc__ or "").strip().splitlines()[0], Qt.ToolTipRole)
            # the sequence is checked as a whole and queued all or nothing
            panel.sequencer.queue_button.clicked.disconnect()
            panel.sequencer.queue_button.clicked.connect(lambda _=False, k=kind: self.queue_sequence(k))
        self.kind_box.currentIndexChanged.connect(self.stack.setCurrentIndex)
        self.limits_label = QLabel("no bench connected")
        self.limits_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.folder_edit = QLineEdit(DEFAULT_FOLDER)
        self.folder_edit.setToolTip("each sweep writes a new file here: <date>-<kind>-<n>.csv, never overwriting")
        self.folder_edit.editingFinished.connect(self.refresh_files)
        browse = QPushButton("Folder...")
        browse.clicked.connect(self._choose_folder)
        self.queue_button = QPushButton("Queue")
        self.queue_button.clicked.connect(lambda: self.queue_procedures(self.kind, [self.panel.make_procedure()]))
        self.abort_button = QPushButton("Abort")
        self.abort_button.setToolTip("stop the running sweep at its next point, ramp the bench to zero, "
                                     "and remove the sweeps still waiting")
        self.abort_button.clicked.connect(self.abort)

        form = QWidget()
        form_layout = QVBoxLayout(form)
        form_layout.addWidget(self.kind_box)
        form_layout.addWidget(self.stack)
        form_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form)
        scroll.setMinimumWidth(340)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Output folder"))
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.queue_button)
        buttons.addWidget(self.abort_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        form_and_limits = QHBoxLayout()
        form_and_limits.addWidget(scroll, 1)
        form_and_limits.addWidget(self.limits_label, 0, Qt.AlignTop)
        left_layout.addLayout(form_and_limits, 1)
        left_layout.addLayout(folder_row)
        left_layout.addWidget(self.message)
        left_layout.addLayout(buttons)

        self.view = SweepView()
        self.queue_list = QTreeWidget()
        self.queue_list.setHeaderLabels(["Kind", "File", "State"])
        self.queue_list.setRootIsDecorated(False)
        for column, width in enumerate((75, 165, 80)):
            self.queue_list.setColumnWidth(column, width)
        self.files = QListWidget()
        self.files.setToolTip("finished sweep files in the output folder: select one to re-plot it")
        self.files.currentItemChanged.connect(lambda item, _old: self.open_file(item))
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_files)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(QLabel("Queue"))
        right_layout.addWidget(self.queue_list, 1)
        right_layout.addWidget(QLabel("Finished files"))
        right_layout.addWidget(self.files, 1)
        right_layout.addWidget(refresh)
        splitter = QSplitter(Qt.Horizontal)
        for widget, stretch in ((left, 0), (self.view, 1), (right, 0)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([560, 900, 330])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    @property
    def kind(self) -> str:
        return self.kind_box.currentText()

    @property
    def panel(self) -> KindPanel:
        return self.panels[self.kind]

    @property
    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip() or DEFAULT_FOLDER)

    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder for sweep files", str(self.folder))
        if chosen:
            self.folder_edit.setText(chosen)
            self.refresh_files()

    def _say(self, text: str, refused: bool = False) -> None:
        self.message.setStyleSheet("color: #b00020;" if refused else "")
        self.message.setText(text)

    # ------------------------------------------------------------ queue
    def check(self, procedure: Any) -> None:
        """Refuse (MtjlabError, one line naming the limit) what the connected bench would refuse."""
        if self.worker.bench_file == MODEL_BENCH:
            raise MtjlabError("sweeps need instruments or the simulated bench; the 'model' pseudo-bench has none")
        bench = self.worker.bench
        if bench is None:
            raise MtjlabError("no bench connected: connect one in the bench bar first")
        procedure.check_parameters()
        procedure.check_requests(bench.config, bench.limits)  # config and limits only: no instrument is touched

    def queue_procedures(self, kind: str, procedures: list[Any]) -> bool:
        """Check every procedure, then queue all of them (or none); whether they were queued."""
        for n, procedure in enumerate(procedures):
            try:
                self.check(procedure)
            except (MtjlabError, ValueError) as exc:
                where = f"sweep {n + 1} of {len(procedures)}: " if len(procedures) > 1 else ""
                self._say(f"refused, nothing queued: {where}{one_line(exc)}", refused=True)
                return False
        taken = {q.data_file for q in [*self.waiting, *self.done, *([self.current] if self.current else [])]}
        for procedure in procedures:
            values = {n: p.value for n, p in procedure.parameter_objects().items() if n != BENCH_PARAMETER}
            data_file = free_data_file(self.folder, kind, taken)
            taken.add(data_file)
            item = QTreeWidgetItem([kind, data_file.name, "queued"])
            item.setToolTip(1, str(data_file))
            self.queue_list.addTopLevelItem(item)
            self.waiting.append(QueuedSweep(kind, values, data_file, item))
        self._say(f"queued {len(procedures)} {kind} sweep{'s' if len(procedures) != 1 else ''}")
        self._start_next()
        return True

    def queue_sequence(self, kind: str) -> bool:
        """Queue every sweep of the kind's parameter series, all or nothing."""
        panel = self.panels[kind]
        try:
            sequence = panel.sequencer.get_sequence()
        except SequenceEvaluationError as exc:
            self._say(f"refused, nothing queued: the parameter series does not evaluate ({exc})", refused=True)
            return False
        if not sequence:
            self._say("the parameter series is empty: add an item with values first", refused=True)
            return False
        procedures = []
        for entry in sequence:
            procedure = panel.make_procedure()
            try:
                procedure.set_parameters(dict(ChainMap(*entry[::-1])))
            except ValueError as exc:
                self._say(f"refused, nothing queued: {one_line(exc)}", refused=True)
                return False
            procedures.append(procedure)
        return self.queue_procedures(kind, procedures)

    def _start_next(self) -> None:
        if self.current is not None or not self.waiting or self.worker.busy:
            return
        queued = self.waiting[0]
        job = SweepJob(queued.kind, queued.parameters, queued.data_file, self.worker.bench_file)
        job.signals.rows.connect(self.view.add_rows)
        job.signals.progress.connect(lambda pct, q=queued: q.set_state(f"running {pct:.0f} %"))
        if not self.worker.submit(job):  # another job took the bench meanwhile: wait for it
            return
        self.waiting.pop(0)
        queued.job, self.current = job, queued
        queued.set_state("running")
        self.view.start(queued.kind, list(SWEEPS[queued.kind].procedure.DATA_COLUMNS))
        self._update_controls()

    def abort(self) -> None:
        """Stop the running sweep at its next point, ramp the bench to zero, remove the waiting sweeps."""
        removed = self._drop_waiting()
        if self.current is not None:
            self.worker.safe_stop()
            self._say(f"aborting: the sweep stops at its next point and the bench ramps to zero; "
                      f"{removed} waiting sweep{'s' if removed != 1 else ''} removed from the queue")

    def _drop_waiting(self) -> int:
        removed = len(self.waiting)
        for queued in self.waiting:
            self.queue_list.takeTopLevelItem(self.queue_list.indexOfTopLevelItem(queued.item))
        self.waiting = []
        return removed

    def _end_current(self, state: str, summary: list[str]) -> None:
        queued, self.current = self.current, None
        queued.set_state(state)
        self.done.append(queued)
        self.view.finish(summary)
        self.refresh_files()
        if state == "finished":
            self._start_next()
        else:
            removed = self._drop_waiting()
            self._say(f"{queued.data_file.name} {state}" + (f"; {removed} waiting sweep"
                      f"{'s' if removed != 1 else ''} removed from the queue" if removed else ""),
                      refused=state == "failed")
        self._update_controls()

    # ----------------------------------------------------- worker signals
    def _on_job_finished(self, name: str, result: object) -> None:
        if self.current is not None and self.current.job is not None and name == self.current.job.name:
            assert isinstance(result, SweepResult)
            self._end_current(result.state, result.summary)

    def _on_job_failed(self, name: str, cause: str) -> None:
        if self.current is not None and self.current.job is not None and name == self.current.job.name:
            self._end_current("failed", [f"failed: {cause}"])

    def _on_busy(self, busy: bool) -> None:
        self._update_controls()
        if not busy:
            self._start_next()

    def _on_connected(self, info: BenchInfo) -> None:
        self._limits = dict(info.limits)
        self.limits_label.setText(f"Limits of {info.name}:\n" + "\n".join(describe_limits(self._limits)))
        self._update_controls()

    def _on_disconnected(self) -> None:
        self._limits = None
        self.limits_label.setText("no bench connected")
        removed = self._drop_waiting()  # never start them on whatever bench comes next
        if removed:
            self._say(f"bench disconnected: {removed} waiting sweep{'s' if removed != 1 else ''} removed")
        self._update_controls()

    def _update_controls(self) -> None:
        other_job = self.worker.busy and self.current is None
        can_queue = not other_job and self.worker.bench is not None
        why = ""
        if other_job:
            why = f"{self.worker.running_job or 'a job'} is running: one job drives the bench at a time"
        elif self.worker.bench_file == MODEL_BENCH:
            why = "sweeps need instruments or the simulated bench, not the 'model' pseudo-bench"
        elif self.worker.bench is None:
            why = "connect a bench first"
        for button in [self.queue_button, *(p.sequencer.queue_button for p in self.panels.values())]:
            button.setEnabled(can_queue)
            button.setToolTip(why or "check the request against the bench limits, then queue it")
        self.abort_button.setEnabled(self.current is not None)
        self.files.setEnabled(self.current is None)
        self.files.setToolTip("the plot follows the running sweep; files open when it ends" if self.current
                              else "finished sweep files in the output folder: select one to re-plot it")

    # ---------------------------------------------------------- browser
    def refresh_files(self) -> None:
        """List the sweep files of the output folder, newest first."""
        self.files.blockSignals(True)
        self.files.clear()
        paths = sorted(self.folder.glob("*.csv"), key=lambda p: p.stat().st_mtime, reverse=True) \
            if self.folder.is_dir() else []
        for path in paths:
            item = QListWidgetItem(path.name)
            item.setData(Qt.UserRole, str(path))
            self.files.addItem(item)
        self.files.blockSignals(False)

    def open_file(self, item: QListWidgetItem | None) -> None:
        """Re-plot a finished file with its summary (refused in the message line if it is not a sweep)."""
        if item is None or self.current is not None:
            return
        try:
            self.view.load_file(item.data(Qt.UserRole))
        except MtjlabError as exc:
            self._say(one_line(exc), refused=True)
            return
        self._say(f"showing {item.text()}")

    # --------------------------------------------------------- settings
    def save_settings(self) -> None:
        """Remember the kind, the output folder and every kind's parameters."""
        self.settings.setValue("sweeps/kind", self.kind)
        self.settings.setValue("sweeps/folder", self.folder_edit.text())
        for kind, panel in self.panels.items():
            for name, value in panel.values().items():
                self.settings.setValue(f"sweeps/{kind}/{name}", str(value))

    def restore_settings(self) -> None:
        """Bring back what save_settings kept (a value the parameter refuses is left at its default)."""
        for kind, panel in self.panels.items():
            for name in panel.names:
                stored = self.settings.value(f"sweeps/{kind}/{name}")
                if stored is None:
                    continue
                element = getattr(panel.inputs, name)
                parameter = element.parameter
                try:
                    parameter.value = stored
                except (ValueError, TypeError):
                    continue
                element.set_parameter(parameter)
        self.folder_edit.setText(str(self.settings.value("sweeps/folder", DEFAULT_FOLDER)))
        kind = str(self.settings.value("sweeps/kind", "activation"))
        if kind in SWEEPS:
            self.kind_box.setCurrentText(kind)
        self.refresh_files()
