"""The one thread that owns the Bench, and the jobs it runs one at a time.

The GUI thread never touches an instrument: it sends requests to a
:class:`BenchWorker` living in its own ``QThread`` (queued signals), and draws
what comes back (signals carrying plain data). The worker

- connects and disconnects the bench of a bench file;
- polls the instruments for the bench bar's readouts while nothing runs;
- runs one :class:`Job` at a time (a sweep, a training run), refusing a
  second while one runs;
- on **Safe stop** (callable from any thread) asks the running job to stop at
  its next point or step, then ramps every output to zero
  (``Bench.shutdown``), whatever else happens;
- reports a job's failure as one line and makes the bench safe, and stays
  ready for the next job.

The ``model`` pseudo-bench (no instruments: the physics model directly) is
accepted too; jobs then run with ``bench`` set to None.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QObject, QThread, QTimer, pyqtSignal, pyqtSlot

from ..errors import MtjlabError

log = logging.getLogger(__name__)

#: How often the idle bench is read for the bench bar (ms): twice a second is
#: live enough for a person and costs the instruments little.
READOUT_INTERVAL_MS = 500
#: How often Python may hand the GIL to another thread while both want it (s).
GIL_SWITCH_INTERVAL_S = 0.0001
#: The pseudo bench file that means "the physics model, no instruments".
MODEL_BENCH = "model"


class Job:
    """Something the worker runs with the bench: override :meth:`run` (and :meth:`stop`)."""

    #: What the status line and the busy tooltip call it ("sweep activation").
    name = "job"

    def run(self, bench: Any) -> Any:  # pragma: no cover - every job overrides it
        """Do the work in the worker thread (``bench`` is None on the model pseudo-bench); the result."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop at the next point or step (called from any thread); the default does nothing."""


@dataclass
class BenchInfo:
    """What the bench bar shows of a connected bench."""

    name: str
    file: str
    identities: dict[str, str] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    simulated: bool = False


def one_line(exc: BaseException) -> str:
    """An exception as the one line a dialog or status line shows."""
    if isinstance(exc, MtjlabError):
        return exc.one_line()
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Core(QObject):
    """The worker's signals and its slots, living in the worker thread."""

    connected = pyqtSignal(object)  # BenchInfo
    disconnected = pyqtSignal()
    readouts = pyqtSignal(object)  # instruments.bench.BenchReadouts
    status = pyqtSignal(str)
    busy_changed = pyqtSignal(bool)
    job_started = pyqtSignal(str)
    job_finished = pyqtSignal(str, object)  # name, result
    job_failed = pyqtSignal(str, str)  # name, one-line cause
    made_safe = pyqtSignal(str)  # "" or what could not be made safe

    connect_requested = pyqtSignal(str)
    disconnect_requested = pyqtSignal()
    job_requested = pyqtSignal(object)
    safe_requested = pyqtSignal()
    quit_requested = pyqtSignal()

    def __init__(self, owner: "BenchWorker") -> None:
        super().__init__()
        self.owner = owner
        # Requests are queued to this object, which lives in the worker thread: they run there.
        self.connect_requested.connect(self.on_connect)
        self.disconnect_requested.connect(self.on_disconnect)
        self.job_requested.connect(self.on_job)
        self.safe_requested.connect(self.on_safe)
        self.quit_requested.connect(self.on_quit)

    @pyqtSlot()
    def on_started(self) -> None:
        self.owner._start_timer()

    @pyqtSlot(str)
    def on_connect(self, bench_file: str) -> None:
        self.owner._connect(bench_file)

    @pyqtSlot()
    def on_disconnect(self) -> None:
        self.owner._disconnect()

    @pyqtSlot(object)
    def on_job(self, job: Job) -> None:
        self.owner._run_job(job)

    @pyqtSlot()
    def on_safe(self) -> None:
        self.owner._make_safe()

    @pyqtSlot()
    def on_quit(self) -> None:
        self.owner._quit()

    @pyqtSlot()
    def on_poll(self) -> None:
        self.owner._poll()


class BenchWorker:
    """Owns the Bench in its own thread (see the module docstring).

    A plain object on purpose: its public methods run in the caller's thread
    even when connected to a Qt signal (a bound method of a QObject living in
    the worker thread would be queued behind the running job, and Safe stop
    would wait for the very job it must stop). The signals below are the
    worker's, emitted from its thread; connect GUI slots to them.
    """

    def __init__(self) -> None:
        # The simulated bench is pure Python in this thread: with the default 5 ms
        # switch interval every Qt call of the GUI thread (which releases the GIL)
        # could wait 5 ms to get it back, and a redraw of a few hundred calls stalls
        # the window for seconds. 0.1 ms bounds each wait; the window's drawing also
        # goes first at the worker's checkpoints (mtjlab.foreground).
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        self.bench: Any = None
        self.bench_file = ""
        self._job: Job | None = None
        self._lock = threading.Lock()
        self._core = _Core(self)
        self._thread = QThread()
        self._thread.setObjectName("bench worker")
        self._core.moveToThread(self._thread)
        self._timer: QTimer | None = None
        core = self._core
        for name in ("connected", "disconnected", "readouts", "status", "busy_changed", "job_started",
                     "job_finished", "job_failed", "made_safe"):
            setattr(self, name, getattr(core, name))
        self._thread.started.connect(core.on_started)
        self._thread.start()

    # ------------------------------------------------- requests (any thread)
    @property
    def busy(self) -> bool:
        """Whether a job runs now."""
        with self._lock:
            return self._job is not None

    @property
    def running_job(self) -> str:
        """The running job's name, or ""."""
        with self._lock:
            return self._job.name if self._job is not None else ""

    def request_connect(self, bench_file: str) -> None:
        """Connect the bench of ``bench_file`` ("" for the packaged simulated bench, "model")."""
        self._core.connect_requested.emit(bench_file)

    def request_disconnect(self) -> None:
        self._core.disconnect_requested.emit()

    def submit(self, job: Job) -> bool:
        """Queue ``job`` unless one runs already (False then: one job drives the bench at a time)."""
        with self._lock:
            if self._job is not None:
                return False
            self._job = job
        self.busy_changed.emit(True)
        self._core.job_requested.emit(job)
        return True

    def safe_stop(self) -> None:
        """Stop whatever runs at its next point and ramp every output to zero (from any thread)."""
        with self._lock:
            job = self._job
        if job is not None:
            job.stop()
        self.status.emit("safe stop: stopping, then ramping every output to zero")
        self._core.safe_requested.emit()

    def shut_down(self, timeout_ms: int = 600_000) -> bool:
        """Make the bench safe, disconnect and end the thread (blocks until done); whether it ended."""
        self.safe_stop()
        self._core.quit_requested.emit()
        return self._thread.wait(timeout_ms)

    # ------------------------------------------------ the worker thread
    def _start_timer(self) -> None:
        self._timer = QTimer()
        self._timer.setInterval(READOUT_INTERVAL_MS)
        self._timer.timeout.connect(self._core.on_poll)
        self._timer.start()

    def _connect(self, bench_file: str) -> None:
        self._disconnect()
        if bench_file == MODEL_BENCH:
            from ..config import load_default_bench

            config = load_default_bench()
            self.bench_file = MODEL_BENCH
            self.connected.emit(BenchInfo("model", MODEL_BENCH, {}, config.limits.model_dump(), True))
            self.status.emit("model: the physics model of the packaged chip, no instruments")
            return
        self.status.emit(f"connecting {bench_file or 'the simulated bench'} ...")
        try:
            from ..config import load_bench, load_default_bench
            from ..instruments.bench import Bench

            config = load_bench(Path(bench_file)) if bench_file else load_default_bench()
            self.bench = Bench.open(config)
        except BaseException as exc:  # noqa: BLE001 - a GUI reports every failure and stays up
            self.bench = None
            self.job_failed.emit("connect", one_line(exc))
            self.status.emit("not connected")
            return
        self.bench_file = bench_file
        info = BenchInfo(config.name, bench_file, dict(self.bench.identities), config.limits.model_dump(),
                         self.bench.lab is not None)
        self.connected.emit(info)
        log.info("connected to bench %s", config.name)
        self.status.emit(f"connected to {config.name}; everything at zero")
        self._poll()

    def _disconnect(self) -> None:
        bench, self.bench = self.bench, None
        was_model = self.bench_file == MODEL_BENCH
        self.bench_file = ""
        if bench is None:
            if was_model:
                self.disconnected.emit()
            return
        self.status.emit("disconnecting: ramping every output to zero")
        self._shutdown(bench)
        self.disconnected.emit()
        self.status.emit("disconnected")

    def _shutdown(self, bench: Any) -> None:
        try:
            bench.shutdown()
        except BaseException as exc:  # noqa: BLE001 - reported, never hidden
            log.critical("bench not made safe: %s", one_line(exc))
            self.made_safe.emit(one_line(exc))
            return
        log.info("bench made safe: every output at zero and off, every relay open")
        self.made_safe.emit("")

    def _poll(self) -> None:
        if self.bench is None or self.busy:
            return
        try:
            self.readouts.emit(self.bench.readouts())
        except BaseException as exc:  # noqa: BLE001 - a failed readout is shown, not fatal
            self.status.emit(f"readouts failed: {one_line(exc)}")

    def _run_job(self, job: Job) -> None:
        self.job_started.emit(job.name)
        self.status.emit(f"{job.name}: running")
        try:
            result = job.run(self.bench)
        except BaseException as exc:  # noqa: BLE001 - the GUI stays up; the bench is made safe
            log.info("%s failed: %s", job.name, exc, exc_info=True)
            self._finish_job()
            if self.bench is not None:
                self._shutdown(self.bench)
            self.job_failed.emit(job.name, one_line(exc))
            self.status.emit(f"{job.name}: failed; bench made safe")
            return
        self._finish_job()
        self.job_finished.emit(job.name, result)
        self.status.emit(f"{job.name}: done")

    def _finish_job(self) -> None:
        with self._lock:
            self._job = None
        self.busy_changed.emit(False)

    def _make_safe(self) -> None:
        if self.bench is not None:
            self._shutdown(self.bench)
            self.status.emit("safe: every output at zero and off, every relay open")
            self._poll()

    def _quit(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._disconnect()
        self._thread.quit()
