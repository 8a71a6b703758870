"""Running a procedure in pymeasure's Worker, into a Results CSV file.

The Worker writes each point as it is measured (append-only), so a stopped or
crashed sweep leaves a valid file holding every point measured so far; the
procedure's ``shutdown()`` leaves the bench safe on every path. Ctrl-C and
SIGTERM ask the Worker to stop at the next point (the main thread waits for the
ramp-down); progress is reported to a callback.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from pathlib import Path
from typing import Callable

from pymeasure.experiment import Procedure, Results, Worker

from ..errors import DataFileError, InstrumentError, MtjlabError

log = logging.getLogger(__name__)

STATUS_NAMES = {Procedure.FINISHED: "finished", Procedure.ABORTED: "stopped", Procedure.FAILED: "failed"}


def run_procedure(procedure: Procedure, data_file: Path,
                  on_progress: Callable[[float], None] | None = None) -> Results:
    """Run ``procedure`` to its end writing ``data_file``; return its Results.

    An existing file is never overwritten. A procedure that failed raises
    :class:`~mtjlab.errors.InstrumentError` once its file is complete; a
    stopped one (Ctrl-C, SIGTERM) returns with ``procedure.status`` ABORTED.
    """
    data_file = Path(data_file)
    if data_file.exists():
        raise DataFileError(f"{data_file}: already exists; choose another name (nothing was overwritten)")
    data_file.parent.mkdir(parents=True, exist_ok=True)
    failures: list[BaseException] = []
    execute = procedure.execute

    def execute_and_keep_the_cause() -> None:  # the Worker only logs what went wrong
        try:
            execute()
        except Exception as exc:
            failures.append(exc)
            raise

    procedure.execute = execute_and_keep_the_cause
    results = Results(procedure, str(data_file))
    worker = Worker(results, log_level=logging.getLogger("mtjlab").getEffectiveLevel())
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: worker.stop())
    worker.start()
    try:
        while worker.is_alive():
            try:
                _follow(worker, on_progress, timeout_s=0.2)
            except KeyboardInterrupt:
                log.warning("stopping at the next point; the bench ramps down")
                worker.stop()
        worker.join(timeout=None)
        _follow(worker, on_progress, timeout_s=0.0)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    log.info("%s %s: %s", type(procedure).__name__, STATUS_NAMES.get(procedure.status, procedure.status), data_file)
    if procedure.status == Procedure.FAILED:
        cause = failures[0] if failures else None
        kept = f"the points measured so far are in {data_file}"
        if isinstance(cause, MtjlabError):
            try:
                error = type(cause)(f"{cause.one_line()}; {kept}")
            except TypeError:  # an error type that carries more than a message
                error = InstrumentError(f"{cause.one_line()}; {kept}")
            raise error from cause
        reason = f": {' '.join(str(cause).split())}" if cause is not None else ""
        raise InstrumentError(f"{type(procedure).__name__} failed{reason}; {kept}") from cause
    return results


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
