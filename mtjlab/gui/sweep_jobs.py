"""Sweeps as worker jobs: one procedure, one data file, through the CLI's runner.

A :class:`SweepJob` runs in the :class:`~.bench_worker.BenchWorker`'s thread.
It builds the procedure from plain parameter values, hands it the connected
bench (``use_bench``: made safe at the end, not disconnected) and runs it with
:func:`mtjlab.experiments.runner.run_sweep`, exactly as ``mtjlab sweep`` does:
every request checked before the file exists, points written one by one, an
existing file never overwritten, a header-only file removed.

Each data row the procedure emits is also forwarded to the GUI through a Qt
signal (queued across threads: the GUI thread never waits on the bench). Rows
are batched for at most :data:`ROW_BATCH_S` so a fast sweep does not flood the
event loop with one signal per point.

``stop()`` (any thread) asks pymeasure's Worker to stop at the next point; the
procedure's ``shutdown()`` then ramps the bench down, and the file keeps every
point so far.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from PyQt5.QtCore import QObject, pyqtSignal

from ..errors import MtjlabError
from .bench_worker import Job

log = logging.getLogger(__name__)

#: Longest time rows wait in the job before they are sent to the GUI (s).
ROW_BATCH_S = 0.05


@dataclass
class SweepResult:
    """How a sweep job ended (the worker's ``job_finished`` result)."""

    kind: str
    data_file: Path
    state: str  # "finished" or "stopped"
    rows: int  # data rows on disk (0: nothing was kept)
    summary: list[str] = field(default_factory=list)


class SweepSignals(QObject):
    """What a sweep job tells the GUI while it runs (made in the GUI thread)."""

    rows = pyqtSignal(object)  # pandas.DataFrame of new data rows
    progress = pyqtSignal(float)  # percent


class SweepJob(Job):
    """One sweep of ``kind`` with ``parameters`` into ``data_file`` (see the module docstring)."""

    def __init__(self, kind: str, parameters: dict[str, Any], data_file: Path, bench_file: str = "") -> None:
        from ..experiments.catalog import SWEEPS

        if kind not in SWEEPS:
            raise MtjlabError(f"sweep kind {kind!r}: not one of {', '.join(SWEEPS)}")
        self.kind = kind
        self.parameters = dict(parameters)
        self.data_file = Path(data_file)
        self.bench_file = bench_file
        self.name = f"sweep {kind} ({self.data_file.name})"
        self.signals = SweepSignals()
        self._lock = threading.Lock()
        self._stop_requested = False
        self._pymeasure_worker: Any = None
        self._pending: list[dict[str, Any]] = []
        self._last_sent = 0.0
        self._last_percent = -1

    def make_procedure(self) -> Any:
        """The procedure of this job's parameters (pymeasure converts and range-checks each)."""
        from ..experiments.catalog import SWEEPS

        procedure = SWEEPS[self.kind].procedure()
        values = dict(self.parameters)
        values["bench_file"] = self.bench_file  # recorded in the header: which bench measured
        procedure.set_parameters(values)
        return procedure

    # ----------------------------------------------------- worker thread
    def run(self, bench: Any) -> SweepResult:
        """Measure into the data file; the outcome (failures raise one-line MtjlabErrors)."""
        from ..experiments.catalog import SWEEPS
        from ..experiments.runner import run_sweep

        if bench is None:
            why = ("the 'model' pseudo-bench has none" if self.bench_file == "model" else "no bench is connected")
            raise MtjlabError(f"sweep {self.kind}: needs instruments or the simulated bench; {why} (connect a "
                              f"bench file, or leave it empty for the simulated bench)")
        procedure = self.make_procedure().use_bench(bench)
        self._route(procedure)
        with self._lock:
            if self._stop_requested:  # stopped while queued in the worker: nothing measured, nothing made
                return SweepResult(self.kind, self.data_file, "stopped", 0, ["stopped before its first point"])
        try:
            outcome = run_sweep(procedure, self.data_file, on_progress=self._progress)
        finally:
            self._flush(force=True)
        state = "finished" if outcome.status == procedure.FINISHED else "stopped"
        return SweepResult(self.kind, self.data_file, state, outcome.rows,
                           self._summarise(SWEEPS[self.kind], procedure, outcome))

    def _route(self, procedure: Any) -> None:
        """Forward emitted rows to the GUI and learn which pymeasure Worker runs the procedure.

        pymeasure's Worker replaces ``procedure.emit`` and ``should_stop`` when it
        starts, before ``startup()``; wrapping ``startup`` is the first moment
        both are in place, and it runs in the Worker's own thread.
        """
        startup = procedure.startup

        def routed_startup() -> None:
            worker = threading.current_thread()
            emit = procedure.emit

            def forwarding_emit(topic: str, record: Any) -> None:
                emit(topic, record)  # to the Results file first: the file is the record
                if topic == "results":
                    self._add_rows([record])
                elif topic == "batch results" and isinstance(record, dict):
                    self._add_rows(pd.DataFrame(record).to_dict("records"))

            procedure.emit = forwarding_emit
            with self._lock:
                self._pymeasure_worker = worker
                stop_now = self._stop_requested
            if stop_now:
                worker.stop()  # the Worker checks this right after startup: stopped, no point measured
            startup()

        procedure.startup = routed_startup

    def _progress(self, percent: float) -> None:
        """Pass progress on only when the whole percent changes (not one signal per point)."""
        whole = int(percent)
        if whole != self._last_percent:
            self._last_percent = whole
            self.signals.progress.emit(float(whole))

    def _add_rows(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            self._pending.extend(rows)
        self._flush(force=False)

    def _flush(self, force: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if not self._pending or (not force and now - self._last_sent < ROW_BATCH_S):
                return
            rows, self._pending = self._pending, []
            self._last_sent = now
        self.signals.rows.emit(pd.DataFrame(rows))

    def _summarise(self, entry: Any, procedure: Any, outcome: Any) -> list[str]:
        """The CLI's summary lines, figure and products (a calibration file), never raising."""
        if not outcome.kept or outcome.rows == 0:
            return ["no points measured; no file kept"]
        try:
            from pymeasure.experiment import Results

            data = Results.load(str(self.data_file)).data
            lines = list(entry.summarise(data, procedure))
        except Exception as exc:  # noqa: BLE001 - the data file is what matters
            log.debug("summary failed", exc_info=True)
            return [f"summary: not made ({type(exc).__name__}: {' '.join(str(exc).split())})"]
        figure = self.data_file.with_suffix(".png")
        if not figure.exists():  # never overwrite: a figure already there is left alone
            try:
                entry.plot(data, figure)
                lines.append(f"figure: {figure}")
            except Exception as exc:  # noqa: BLE001 - as above
                lines.append(f"figure: not made ({type(exc).__name__}: {exc})")
        if entry.products is not None and outcome.status == procedure.FINISHED:
            taken = [n for n in entry.product_names if (self.data_file.parent / n).exists()]
            if taken:
                lines.append(f"{', '.join(taken)}: already in {self.data_file.parent}; not overwritten")
            else:
                try:
                    lines.extend(entry.products(data, procedure, self.data_file.parent))
                except Exception as exc:  # noqa: BLE001 - as above
                    lines.append(f"products: not made ({type(exc).__name__}: {exc})")
        return lines

    # ------------------------------------------------------- any thread
    def stop(self) -> None:
        """Stop at the next point (the procedure's shutdown then ramps the bench down)."""
        with self._lock:
            self._stop_requested = True
            worker = self._pymeasure_worker
        if worker is not None:
            worker.stop()
