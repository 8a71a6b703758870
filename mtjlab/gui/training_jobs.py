"""The training run as a worker job: run_training / resume_training in the bench's thread.

The job runs in the :class:`~.bench_worker.BenchWorker`'s thread, on the bench
the worker owns (or, for a 'model' config, on the physics model with no
instruments). It reports to the GUI thread through :class:`TrainingSignals`
(queued across threads): every trainer event except ``step`` at once, ``step``
events and batch samples at most every :data:`SAMPLE_INTERVAL_S`, so a fast
model-backend run cannot flood the event loop. Stop, pause and resume act on the
trainer, which is thread-safe and acts between two steps.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from .. import foreground
from ..config import TrainingConfig, is_model_bench
from ..errors import MtjlabError
from ..training.trainer import Trainer, TrainingEvent, TrainingStopped
from .bench_worker import Job
from .run_samples import LayerSample, StepSample

#: Shortest time between two step events (and batch samples) sent to the GUI (s).
SAMPLE_INTERVAL_S = 0.05


class TrainingSignals(QObject):
    """What a training job tells the GUI thread (create it in the GUI thread)."""

    event = pyqtSignal(object)  # TrainingEvent
    sample = pyqtSignal(object)  # StepSample
    run_dir = pyqtSignal(str)  # the run directory, once it exists (calibration written)


@dataclass
class TrainingOutcome:
    """How a training job ended: ``finished`` (with the summary) or ``stopped`` (resumable)."""

    state: str
    run_dir: Path | None
    summary: dict[str, Any] | None = None
    message: str = ""


class TrainingJob(Job):
    """Train ``config`` (or resume ``resume_dir``) on the worker's bench, or on the model for a 'model' config."""

    def __init__(self, signals: TrainingSignals, *, config: TrainingConfig | None = None,
                 config_dir: Path | None = None, runs_parent: Path = Path("runs"),
                 resume_dir: Path | None = None) -> None:
        if (config is None) == (resume_dir is None):
            raise ValueError("give a config to train or a run directory to resume, not both")
        self.signals = signals
        self.config = config
        self.config_dir = config_dir
        self.runs_parent = Path(runs_parent)
        self.resume_dir = Path(resume_dir) if resume_dir is not None else None
        self.name = "training (resume)" if resume_dir is not None else "training"
        self.trainer: Trainer | None = None
        self.run_dir: Path | None = self.resume_dir
        self._lock = threading.Lock()
        self._stop = False
        self._stop_event = threading.Event()  # shared with the session: ends a measurement between points
        self._paused = False
        self._last_sent = 0.0

    # ---------------------------------------------------------- GUI thread
    def stop(self) -> None:
        """Stop before the next measured point (any thread); the run resumes from its last checkpoint."""
        with self._lock:
            self._stop = True
            trainer = self.trainer
        self._stop_event.set()  # the calibration and a step in progress stop before their next point
        if trainer is not None:
            trainer.request_stop()  # and a paused trainer wakes up to stop

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            trainer = self.trainer
        if trainer is not None:
            trainer.pause()

    def unpause(self) -> None:
        with self._lock:
            self._paused = False
            trainer = self.trainer
        if trainer is not None:
            trainer.unpause()

    # ------------------------------------------------------- worker thread
    def run(self, bench: Any) -> TrainingOutcome:
        from ..config import load_training
        from ..training.session import resume_training, run_training

        config = self.config if self.config is not None else load_training(self.resume_dir / "config.yaml")
        # a 'model' config never touches instruments, whatever the worker holds; any other needs a real bench
        use = None if is_model_bench(config.bench) else bench
        if not is_model_bench(config.bench) and bench is None:
            raise MtjlabError(f"this run trains on {config.bench}: connect a bench first (the worker holds "
                              "the model, no instruments), or choose 'model' in 'runs on'")
        try:
            if self.resume_dir is not None:
                result = resume_training(self.resume_dir, on_event=self._on_event, on_trainer=self._on_trainer,
                                         bench=use, stop=self._stop_event)
            else:
                result = run_training(config, config_dir=self.config_dir, runs_parent=self.runs_parent,
                                      on_event=self._on_event, on_trainer=self._on_trainer, bench=use,
                                      stop=self._stop_event)
        except TrainingStopped as exc:
            return TrainingOutcome("stopped", self.run_dir, None, exc.one_line())
        finally:
            if use is not None:  # the session leaves the bench to its owner: ramp it to zero as the CLI does
                use.shutdown()
        return TrainingOutcome("finished", result.directory, result.summary)

    def _on_trainer(self, trainer: Trainer) -> None:
        with self._lock:
            self.trainer = trainer
            stop, paused = self._stop, self._paused
        if trainer.record is not None:
            self.run_dir = trainer.record.directory
            self.signals.run_dir.emit(str(self.run_dir))
        self._tap(trainer)
        if paused:
            trainer.pause()
        if stop:  # stopped before the trainer existed (during calibration)
            trainer.request_stop()

    def _on_event(self, event: TrainingEvent) -> None:
        if event.kind == "step":
            now = time.monotonic()
            if now - self._last_sent < SAMPLE_INTERVAL_S and event.step < event.total_steps:
                return
            self._last_sent = now
        self.signals.event.emit(event)

    def _tap(self, trainer: Trainer) -> None:
        """Watch each training step of the method (its forward pass holds the batch's operating points and,
        on a simulated bench, the exact derivatives) and send one in every SAMPLE_INTERVAL_S."""
        method = trainer.method
        original = method.step
        last = [0.0]

        def step(network: Any, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Any:
            foreground.checkpoint()  # the model backend has no bus exchange to wait at
            result = original(network, x, y, rng)
            now = time.monotonic()
            if now - last[0] >= SAMPLE_INTERVAL_S:
                last[0] = now
                forward = result.forward
                exact = forward.exact_derivatives
                layers = [LayerSample(np.array(z), np.array(a), np.array(d),
                                      None if exact is None else np.array(exact[n]))
                          for n, (z, a, d) in enumerate(zip(forward.pre_activations, forward.activations,
                                                            forward.derivatives))]
                p = trainer.progress
                self.signals.sample.emit(StepSample(p.fold, p.epochs_done, p.step, layers,
                                                    [w.copy() for w in network.params]))
            return result

        method.step = step  # an instance attribute: this trainer's method only, for this run
