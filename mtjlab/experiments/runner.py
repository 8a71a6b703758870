"""Running a procedure in pymeasure's Worker, into a Results CSV file.

Before the data file is made, the procedure's :meth:`~.base.BenchProcedure.preflight`
loads the bench file and checks every request, so a refused sweep leaves nothing
behind. The Worker then writes each point as it is measured (append-only), so a
stopped or crashed sweep leaves a valid file holding every point measured so far;
the procedure's ``shutdown()`` leaves the bench safe on every path. A sweep that
ends before its first point removes the header-only file it made (only that one).
Ctrl-C and SIGTERM ask the Worker to stop at the next point (the main thread waits
for the ramp-down) and are reported as what stopped it; progress goes to a callback.

pymeasure's Worker logs a failing procedure's traceback itself; on the console
that traceback is held back (the cause comes as one line) unless mtjlab logs at
debug level (``-vv``).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pymeasure.experiment import Procedure, Results, Worker

from ..errors import DataFileError, InstrumentError, MtjlabError

log = logging.getLogger(__name__)

STATUS_NAMES = {Procedure.FINISHED: "finished", Procedure.ABORTED: "stopped", Procedure.FAILED: "failed"}

#: What stopped a sweep: the signal's name, as the CLI reports it.
INTERRUPTED, TERMINATED = "Ctrl-C", "SIGTERM"


@dataclass
class SweepOutcome:
    """How a sweep ended: its Results, status, what stopped it, and the rows on disk."""

    results: Results | None
    data_file: Path
    status: int
    stopped_by: str | None  # INTERRUPTED, TERMINATED, or None
    rows: int  # data rows in the file (0: the file was removed)

    @property
    def kept(self) -> bool:
        """Whether the data file is there (it is removed when no point was measured)."""
        return self.rows > 0 or self.status == Procedure.FINISHED


class _HoldWorkerTracebacks(logging.Filter):
    """Hold back pymeasure's Worker records that carry a traceback, below mtjlab's debug level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.exc_info or logging.getLogger("mtjlab").isEnabledFor(logging.DEBUG)


def run_procedure(procedure: Procedure, data_file: Path,
                  on_progress: Callable[[float], None] | None = None) -> Results:
    """Run ``procedure`` to its end writing ``data_file``; return its Results (see :func:`run_sweep`)."""
    outcome = run_sweep(procedure, data_file, on_progress)
    return outcome.results


def run_sweep(procedure: Procedure, data_file: Path,
              on_progress: Callable[[float], None] | None = None) -> SweepOutcome:
    """Run ``procedure`` to its end writing ``data_file``; how it ended.

    An existing file is never overwritten. A refused request raises its
    MtjlabError before the file is made. A procedure that failed raises
    (an MtjlabError of its cause's kind, or :class:`~mtjlab.errors.InstrumentError`)
    once its file is complete, naming the file; a stopped one (Ctrl-C, SIGTERM)
    returns with ``status`` ABORTED and ``stopped_by`` set.
    """
    data_file = Path(data_file)
    if data_file.exists():
        raise DataFileError(f"{data_file}: already exists; choose another name (nothing was overwritten)")
    preflight = getattr(procedure, "preflight", None)
    if preflight is not None:
        preflight()  # the bench file, the parameters and the requests: refused here, nothing made
    created_folder = not data_file.parent.exists()
    try:
        data_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFileError(f"{data_file.parent}: cannot create the folder ({exc.strerror or exc})") from None
    failures: list[BaseException] = []
    _keep_the_cause(procedure, failures)
    stopped_by: list[str] = []
    worker_log = logging.getLogger("pymeasure.experiment.workers")
    hold = _HoldWorkerTracebacks()
    results = identity = None
    try:
        results = Results(procedure, str(data_file))
        identity = _identity(data_file)
        worker = Worker(results, log_level=logging.getLogger("mtjlab").getEffectiveLevel())
        worker_log.addFilter(hold)
        _run_worker(worker, on_progress, stopped_by)
    except BaseException:
        _remove_if_empty(data_file, identity, created_folder)  # e.g. a Ctrl-C before the Worker ran
        raise
    finally:
        worker_log.removeFilter(hold)
    status = procedure.status
    rows = _data_rows(data_file)
    log.info("%s %s: %s (%d rows)", type(procedure).__name__, STATUS_NAMES.get(status, status), data_file, rows)
    if rows == 0 and status != Procedure.FINISHED:
        _remove_if_empty(data_file, identity, created_folder)
    outcome = SweepOutcome(results, data_file, status, stopped_by[0] if stopped_by else None, rows)
    if status == Procedure.FAILED:
        raise _failure(procedure, failures[0] if failures else None, outcome)
    return outcome


def _keep_the_cause(procedure: Procedure, failures: list[BaseException]) -> None:
    """Wrap startup and execute so the cause of a failure is kept (the Worker only logs it)."""
    for name in ("startup", "execute"):
        method = getattr(procedure, name)

        def keeping(method: Callable[[], None] = method) -> None:
            try:
                method()
            except Exception as exc:
                failures.append(exc)
                raise

        setattr(procedure, name, keeping)


def _run_worker(worker: Worker, on_progress: Callable[[float], None] | None, stopped_by: list[str]) -> None:
    """Start the Worker and follow it to its end; Ctrl-C and SIGTERM ask it to stop."""

    def stop(why: str) -> None:
        if not stopped_by:
            stopped_by.append(why)
            log.info("%s: stopping at the next point; the bench ramps down", why)
        worker.stop()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop(TERMINATED))
    try:
        started = False
        while True:  # a Ctrl-C wherever it lands asks for a stop; the loop waits for the ramp-down
            try:
                if not started:
                    started = True
                    worker.start()
                while worker.is_alive():
                    _follow(worker, on_progress, timeout_s=0.2)
                if worker.ident is not None:  # pymeasure's own join may return before the thread ends
                    threading.Thread.join(worker)
                break
            except KeyboardInterrupt:
                stop(INTERRUPTED)
        _follow(worker, on_progress, timeout_s=0.0)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _failure(procedure: Procedure, cause: BaseException | None, outcome: SweepOutcome) -> MtjlabError:
    """The one-line error of a failed sweep: its cause, and where its points are (or that there are none)."""
    if outcome.rows:
        kept = f"the points measured so far are in {outcome.data_file}"
    else:
        kept = f"no point was measured; {outcome.data_file} was not kept"
    if isinstance(cause, MtjlabError):
        try:
            error = type(cause)(f"{cause.one_line()}; {kept}")
        except TypeError:  # an error type that carries more than a message
            error = InstrumentError(f"{cause.one_line()}; {kept}")
    else:
        reason = f": {type(cause).__name__}: {' '.join(str(cause).split())}" if cause is not None else ""
        error = InstrumentError(f"{type(procedure).__name__} failed{reason}; {kept}")
    error.__cause__ = cause
    return error


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _data_rows(path: Path) -> int:
    """Data rows in a Results file: lines that are neither header (#) nor the column labels."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            lines = [line for line in stream if line.strip() and not line.startswith("#")]
    except OSError:
        return 0
    return max(len(lines) - 1, 0)


def _remove_if_empty(path: Path, identity: tuple[int, int] | None, created_folder: bool) -> None:
    """Remove the header-only file this run made (the same file, still without data), and its new folder."""
    if identity is None or _identity(path) != identity or _data_rows(path) > 0:
        return
    try:
        path.unlink()
        if created_folder and not any(path.parent.iterdir()):
            os.rmdir(path.parent)
    except OSError as exc:  # leaving it is harmless; say so rather than fail the report
        log.warning("could not remove the empty data file %s: %s", path, exc)


def _follow(worker: Worker, on_progress: Callable[[float], None] | None, timeout_s: float) -> None:
    """Pass the worker's progress messages on (waiting up to ``timeout_s`` for the first)."""
    try:
        item = worker.monitor_queue.get(timeout=timeout_s) if timeout_s else worker.monitor_queue.get_nowait()
        while True:
            if item is not None and item[0] == "progress" and on_progress is not None:
                on_progress(float(item[1]))
            item = worker.monitor_queue.get_nowait()
    except queue.Empty:
        return
