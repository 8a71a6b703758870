"""The trainer: folds, epochs and mini-batches, with a software baseline trained side by side.

Each fold standardises the features on its training part only (per feature for
tables, one scale for all pixels of images: :class:`.scaling.ImageScaler`), starts the
device network and a software network of the same architecture (with the
nominal activation of each layer, :mod:`.activations`; tanh where the array has
no datasheet) from the same initial weights, and trains both on the same batches with the same
optimiser and schedule. After every epoch it validates both, appends a metrics
row, and writes a checkpoint (weights, optimiser states, random generator, the
simulated chip's state where there is one) so that a stopped or killed run
resumes at the last finished epoch. With ``recalibrate_every`` the devices are
calibrated again after every that many epochs (:mod:`.recalibration`; event
``recalibrated``), counted in that epoch's measurements and lab time. With
``augment_shift_px`` every training image of a batch is shifted by a random whole number
of pixels (:func:`shift_images`) before both networks see it. Events go to every subscriber (a progress
bar, a GUI); :meth:`Trainer.request_stop` and :meth:`Trainer.pause` work from
any thread and act between two steps, when no output is moving.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..config.training import TrainingConfig
from ..errors import ConfigError, MtjlabError, StopRequested
from .datasets import Dataset
from .scaling import ImageScaler, Standardiser
from .methods import GradientMethod
from .network import Network, hidden_cosine, tanh_activation
from .optimisers import learning_rate_at, make_optimiser
from .records import RunRecord, from_json_array, json_array

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingEvent:
    """What the trainer tells its subscribers.

    ``kind`` is one of ``started``, ``step``, ``epoch``, ``recalibrated``, ``fold``, ``paused``,
    ``resumed``, ``stopped``, ``finished``; ``step`` counts the run's steps
    (``total_steps`` in all), ``metrics`` is the epoch's row or the fold's result.
    """

    kind: str
    fold: int = 0
    epoch: int = 0
    step: int = 0
    total_steps: int = 0
    metrics: dict[str, Any] | None = None


class TrainingStopped(MtjlabError):
    """The run was stopped on request; it resumes from its last checkpoint."""


@dataclass
class _Progress:
    """Everything a checkpoint must bring back besides weights and optimisers."""

    fold: int = 0
    epochs_done: int = 0
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    fold_results: list[dict[str, Any]] = field(default_factory=list)
    cosines: list[float] = field(default_factory=list)
    measurements: int = 0
    lab_time_s: float = 0.0
    wall_time_s: float = 0.0
    field_switches: int = 0
    #: "per_feature" or "image" once the run has chosen (:meth:`Trainer._scaler`); kept in every
    #: checkpoint so that a resumed run scales its inputs as the weights it continues were trained on
    feature_scaling: str | None = None


def shift_images(images: np.ndarray, shape: tuple[int, int], dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``images`` (n, rows*cols) each moved ``dx[i]`` columns right and ``dy[i]`` rows down, zeros coming in.

    Pixel (r, c) of image i becomes pixel (r - dy[i], c - dx[i]) of the original, or 0 where that
    lies outside it. One gather from a zero-padded copy, no loop over the images.
    """
    dx, dy = np.asarray(dx, np.int64), np.asarray(dy, np.int64)
    rows, cols = shape
    pad = int(max(np.max(np.abs(dx), initial=0), np.max(np.abs(dy), initial=0)))
    padded = np.pad(np.asarray(images).reshape(-1, rows, cols), ((0, 0), (pad, pad), (pad, pad)))
    r = (pad - dy)[:, None] + np.arange(rows)  # (n, rows): the padded row each output row reads
    c = (pad - dx)[:, None] + np.arange(cols)
    return padded[np.arange(len(dx))[:, None, None], r[:, :, None], c[:, None, :]].reshape(len(dx), rows * cols)


def epoch_shifts(seed: int, fold: int, epoch: int, n: int, max_px: int) -> np.ndarray:
    """The (dx, dy) of each of ``n`` training samples in one epoch, each within -max_px..max_px.

    A generator of its own, seeded by (seed, fold, epoch) rather than carried from epoch to
    epoch: a run resumed from a checkpoint (an epoch boundary) draws the same shifts as one
    that ran through, and the batch order's generator is left as it was without augmentation.
    """
    return np.random.default_rng([seed, fold, 3, epoch]).integers(-max_px, max_px + 1, size=(n, 2))


class Trainer:
    """Trains ``method``'s network on ``dataset`` over ``splits``, recording into ``record``."""

    def __init__(self, config: TrainingConfig, dataset: Dataset, splits: list[tuple[np.ndarray, np.ndarray]],
                 method: GradientMethod, record: RunRecord | None = None, array: Any = None,
                 stop: threading.Event | None = None) -> None:
        self.config = config
        self.dataset = dataset
        self.splits = splits
        self.method = method
        self.record = record
        self.array = array
        self.tally = method.neurons.tally
        #: the software baseline's activation: the method's nominal one (tanh_activation without a datasheet)
        self.baseline_activation = getattr(method, "software_activation", tanh_activation)
        #: a :class:`.recalibration.Recalibrator` when ``recalibrate_every`` is set
        self.recalibrator: Any = None
        self._subscribers: list[Callable[[TrainingEvent], None]] = []
        # shared with the array when given, so that a stop also ends a measurement between two points
        self._stop = stop if stop is not None else threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.total_steps = sum(-(-len(train) // config.batch_size) for train, _ in splits) * config.epochs
        self.progress = _Progress()

    # -------------------------------------------------------------- control
    def subscribe(self, callback: Callable[[TrainingEvent], None]) -> None:
        self._subscribers.append(callback)

    def request_stop(self) -> None:
        """Stop after the step in progress (from any thread); the run can be resumed."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        """Hold between two steps until :meth:`unpause` (from any thread)."""
        self._running.clear()

    def unpause(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def _emit(self, kind: str, **values: Any) -> None:
        event = TrainingEvent(kind, step=self.progress.step, total_steps=self.total_steps, **values)
        for callback in self._subscribers:
            callback(event)

    def _between_steps(self, fold: int, epoch: int) -> None:
        if not self._running.is_set():
            self._emit("paused", fold=fold, epoch=epoch)
            self._running.wait()
            if not self._stop.is_set():
                self._emit("resumed", fold=fold, epoch=epoch)
        if self._stop.is_set():
            self._stopped(fold, epoch)

    def _stopped(self, fold: int, epoch: int) -> None:
        self._emit("stopped", fold=fold, epoch=epoch)
        raise TrainingStopped(f"stopped in fold {fold + 1}, epoch {epoch + 1}; "
                              f"resume with: mtjlab train --resume {self.record.directory if self.record else 'RUN_DIR'}")

    # ------------------------------------------------------------------ run
    def run(self, checkpoint: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        """Train every fold (from ``checkpoint`` if given); the result of each fold."""
        state = self._restore(checkpoint) if checkpoint is not None else None
        self._emit("started")
        while self.progress.fold < len(self.splits):
            try:
                self._train_fold(self.progress.fold, state)
            except StopRequested:  # mid-measurement: the epoch in flight is lost, as at any stop
                self._stopped(self.progress.fold, self.progress.epochs_done)
            state = None
            self.progress.fold += 1
            self.progress.epochs_done = 0
        self._emit("finished")
        return {"folds": self.progress.fold_results, "history": self.progress.history}

    def _fresh_fold(self, fold: int) -> dict[str, Any]:
        init = np.random.default_rng([self.config.seed, fold])
        n_in, n_out = self.dataset.n_features, self.dataset.n_classes
        network = Network.initial(n_in, self.config.hidden, n_out, init)
        shapes = [p.shape for p in network.params]
        return {"network": network, "baseline": network.copy(),
                "optimiser": make_optimiser(self.config.optimiser, shapes),
                "baseline_optimiser": make_optimiser(self.config.optimiser, shapes),
                # shuffling and the method's own draws (SPSA) apart, so the baseline sees
                # the same batches whatever the method
                "rng": np.random.default_rng([self.config.seed, fold, 1]),
                "method_rng": np.random.default_rng([self.config.seed, fold, 2])}

    def _train_fold(self, fold: int, state: dict[str, Any] | None) -> None:
        cfg = self.config
        train, val = self.splits[fold]
        scaler = self._scaler(train)
        x_train, y_train = scaler.transform(self.dataset.features[train]), self.dataset.labels[train]
        x_val, y_val = scaler.transform(self.dataset.features[val]), self.dataset.labels[val]
        state = state or self._fresh_fold(fold)
        net, base, rng = state["network"], state["baseline"], state["rng"]
        shape = self.dataset.image_shape
        if cfg.augment_shift_px and shape is None:
            raise ConfigError(f"augment_shift_px: dataset {self.dataset.name} has no image shape to shift (set 0)")
        for epoch in range(self.progress.epochs_done, cfg.epochs):
            started_wall = time.perf_counter()
            measured0, lab0 = self.tally.measurements, self.tally.lab_time_s
            self.tally.log.clear()
            lr = learning_rate_at(cfg.optimiser, epoch, cfg.epochs)
            order = rng.permutation(len(train))
            shifts = epoch_shifts(cfg.seed, fold, epoch, len(train), cfg.augment_shift_px) \
                if cfg.augment_shift_px else None
            sums = dict(loss=0.0, correct=0, base_loss=0.0, base_correct=0)
            cosines: list[float] = []
            for start in range(0, len(order), cfg.batch_size):
                batch = order[start:start + cfg.batch_size]
                xb, yb = x_train[batch], y_train[batch]
                if shifts is not None:  # after scaling, where the background is 0: zeros fill what comes in
                    xb = shift_images(xb, shape, shifts[batch, 0], shifts[batch, 1])
                self.tally.step = self.progress.step
                step = self.method.step(net, xb, yb, state["method_rng"])
                state["optimiser"].step(net.params, step.grads, lr)
                base_forward = base.forward(xb, self.baseline_activation)
                state["baseline_optimiser"].step(base.params, base.backward(base_forward, yb), lr)
                sums["loss"] += step.forward.loss(yb) * batch.size
                sums["correct"] += int(np.sum(step.forward.predictions() == yb))
                sums["base_loss"] += base_forward.loss(yb) * batch.size
                sums["base_correct"] += int(np.sum(base_forward.predictions() == yb))
                if step.exact is not None and self.method.trains_on_devices:
                    cosines.append(hidden_cosine(step.grads, step.exact))
                self.progress.step += 1
                self._emit("step", fold=fold, epoch=epoch)
                self._between_steps(fold, epoch)
            final = epoch == cfg.epochs - 1
            val_pass = self.method.evaluate(net, x_val, final=final)
            base_val = base.forward(x_val, self.baseline_activation)
            if self.recalibrator is not None and self.recalibrator.due(fold, epoch, cfg.epochs, len(self.splits)):
                self._emit("recalibrated", fold=fold, epoch=epoch, metrics=self.recalibrator.run(fold, epoch))
            n = len(train)
            row = {
                "fold": fold + 1, "epoch": epoch + 1, "learning_rate": lr,
                "loss": sums["loss"] / n, "train_accuracy": sums["correct"] / n,
                "val_accuracy": float(np.mean(val_pass.predictions() == y_val)),
                "baseline_loss": sums["base_loss"] / n, "baseline_train_accuracy": sums["base_correct"] / n,
                "baseline_val_accuracy": float(np.mean(base_val.predictions() == y_val)),
                "grad_cosine_median": float(np.median(cosines)) if cosines else None,
                "measurements": self.tally.measurements - measured0,
                "lab_time_s": self.tally.lab_time_s - lab0,
                "wall_time_s": time.perf_counter() - started_wall,
                "evaluated_on": "devices" if (self.method.trains_on_devices or final) else "software",
            }
            p = self.progress
            p.history.append(row)
            p.cosines.extend(cosines)
            p.epochs_done = epoch + 1
            p.wall_time_s += row["wall_time_s"]
            if final:
                p.fold_results.append({"fold": fold + 1, "accuracy": row["val_accuracy"],
                                       "baseline_accuracy": row["baseline_val_accuracy"]})
            self._save(fold, epoch, state)
            self._emit("epoch", fold=fold, epoch=epoch, metrics=row)
        self._emit("fold", fold=fold, epoch=cfg.epochs - 1, metrics=self.progress.fold_results[-1])

    def _scaler(self, train: np.ndarray) -> Standardiser | ImageScaler:
        """The scaler fitted on the samples ``train`` indexes: one scale for images, per feature otherwise."""
        p = self.progress
        if p.feature_scaling is None:
            p.feature_scaling = "image" if self.dataset.is_image else "per_feature"
        kind = ImageScaler if p.feature_scaling == "image" else Standardiser
        return kind.fit(self.dataset.features[train])

    # ---------------------------------------------------------- checkpoints
    def _save(self, fold: int, epoch: int, state: dict[str, Any]) -> None:
        if self.record is None:
            return
        p = self.progress
        p.measurements, p.lab_time_s = self.tally.measurements, self.tally.lab_time_s
        p.field_switches = self.tally.field_switches
        meta = {k: getattr(p, k) for k in ("fold", "epochs_done", "step", "history", "fold_results", "cosines",
                                           "measurements", "lab_time_s", "wall_time_s", "field_switches",
                                           "feature_scaling")}
        arrays: dict[str, np.ndarray] = {"meta": json_array(meta),
                                         "rng": json_array(state["rng"].bit_generator.state),
                                         "method_rng": json_array(state["method_rng"].bit_generator.state)}
        for name in ("network", "baseline"):
            arrays.update({f"{name}.{i}": p_ for i, p_ in enumerate(state[name].params)})
        for name in ("optimiser", "baseline_optimiser"):
            arrays.update({f"{name}/{k}": v for k, v in state[name].state().items()})
        if hasattr(self.array, "state"):
            arrays.update({f"array/{k}": v for k, v in self.array.state().items()})
        if self.config.log_measurements:
            self.record.save_measurements(fold + 1, epoch + 1, self.tally.log)
        self.record.save_checkpoint(fold + 1, epoch + 1, arrays)
        self.record.write_metrics(p.history)

    def _restore(self, checkpoint: dict[str, np.ndarray]) -> dict[str, Any] | None:
        try:
            meta = from_json_array(checkpoint["meta"])
            p = self.progress
            # checkpoints that do not say were written when every dataset was scaled per feature
            p.feature_scaling = "per_feature"
            for key, value in meta.items():
                setattr(p, key, value)
            self.tally.measurements, self.tally.lab_time_s = p.measurements, p.lab_time_s
            self.tally.field_switches = int(p.field_switches)  # 0 in checkpoints from before layer settings
            if p.feature_scaling not in ("per_feature", "image"):
                raise ValueError(f"unknown feature scaling {str(p.feature_scaling)[:40]!r}")
            if hasattr(self.array, "restore"):
                self.array.restore({k.split("/", 1)[1]: v for k, v in checkpoint.items() if k.startswith("array/")})
            if p.epochs_done >= self.config.epochs:  # the checkpoint closed its fold
                p.fold += 1
                p.epochs_done = 0
                return None
            state = self._fresh_fold(p.fold)
            for name in ("network", "baseline"):
                params = [checkpoint[f"{name}.{i}"] for i in range(len(state[name].params))]
                if [a.shape for a in params] != [a.shape for a in state[name].params]:
                    raise ValueError(f"{name} weights do not match the architecture {self.config.hidden}")
                state[name].params = [np.array(a, float) for a in params]
            for name in ("optimiser", "baseline_optimiser"):
                state[name].load_state({k.split("/", 1)[1]: v for k, v in checkpoint.items()
                                        if k.startswith(name + "/")})
            state["rng"].bit_generator.state = from_json_array(checkpoint["rng"])
            state["method_rng"].bit_generator.state = from_json_array(checkpoint["method_rng"])
            return state
        except (KeyError, ValueError, TypeError) as exc:
            raise MtjlabError(f"checkpoint does not fit this run: {' '.join(str(exc).split())}") from None
