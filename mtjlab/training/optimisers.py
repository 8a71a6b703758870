"""Optimisers of the software weights, and the learning-rate schedule.

An optimiser updates a list of numpy parameter arrays (the network's weights and
biases) **in place** from their gradients. Weight decay is L2 regularisation added
to the gradient, ``g <- g + wd * p``, for every parameter passed (the caller decides
which parameters to pass). Its state is a dict of plain numeric arrays, so that a run
can be saved in an ``npz`` (``allow_pickle=False``) and resumed exactly.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from mtjlab.config.training import OptimiserConfig
from mtjlab.errors import DataFileError

Shape = tuple[int, ...]


def learning_rate_at(config: OptimiserConfig, epoch: int, epochs: int) -> float:
    """Learning rate of epoch ``epoch`` (counted from 0) in a run of ``epochs`` epochs.

    With ``lr = config.learning_rate``:

    * ``constant``: ``lr``.
    * ``cosine``:   ``lr * 0.5 * (1 + cos(pi * epoch / epochs))`` (``lr`` at epoch 0,
      ``lr / 2`` half-way).
    * ``step``:     ``lr * 0.1 ** (epoch // max(1, epochs // 3))`` (divided by 10 at
      each third of the run).
    """
    if epochs < 1 or epoch < 0:
        raise ValueError(f"need epochs >= 1 and epoch >= 0, got epoch {epoch} of {epochs}")
    lr = config.learning_rate
    if config.schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    if config.schedule == "step":
        return lr * 0.1 ** (epoch // max(1, epochs // 3))
    return lr


class Optimiser(Protocol):
    """What the trainer needs of an optimiser."""

    def step(self, params: list[np.ndarray], grads: list[np.ndarray],
             learning_rate: float) -> None:
        """Update ``params`` in place from ``grads``."""

    def state(self) -> dict[str, np.ndarray]:
        """Every array needed to resume exactly (plain numeric arrays)."""

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore a :meth:`state`; raise :class:`DataFileError` if it does not fit."""


def _check_step(shapes: list[Shape], params: list[np.ndarray], grads: list[np.ndarray]) -> None:
    """Raise ValueError unless params and grads have the optimiser's shapes."""
    if len(params) != len(shapes) or len(grads) != len(shapes):
        raise ValueError(f"expected {len(shapes)} parameters and gradients, "
                         f"got {len(params)} and {len(grads)}")
    for i, (shape, p, g) in enumerate(zip(shapes, params, grads)):
        if p.shape != shape or g.shape != shape:
            raise ValueError(f"parameter {i}: expected shape {shape}, "
                             f"got parameter {p.shape} and gradient {g.shape}")


def _take(state: dict[str, np.ndarray], key: str, shape: Shape, dtype: type,
          kinds: str = "biuf") -> np.ndarray:
    """A copy of ``state[key]`` as ``dtype``, or DataFileError naming the key."""
    if key not in state:
        raise DataFileError(f"optimiser state: missing key '{key}'")
    value = np.asarray(state[key])
    if value.shape != shape:
        raise DataFileError(f"optimiser state: key '{key}' has shape {value.shape}, "
                            f"expected {shape}")
    if value.dtype.kind not in kinds:
        raise DataFileError(f"optimiser state: key '{key}' has dtype {value.dtype}, "
                            "expected " + ("an integer" if kinds == "iu" else "a number"))
    return np.array(value, dtype=dtype)


class SGD:
    """Stochastic gradient descent with heavy-ball momentum and L2 weight decay.

    Per parameter ``p`` with gradient ``g`` and velocity ``v`` (initially 0)::

        g <- g + wd * p
        v <- mu * v + g
        p <- p - lr * v

    With ``mu = 0`` this is plain ``p - lr * g``; on a constant gradient the step
    tends to ``lr * g / (1 - mu)``.
    """

    def __init__(self, shapes: list[Shape], momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        self.shapes = [tuple(int(n) for n in s) for s in shapes]
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.velocity = [np.zeros(s) for s in self.shapes]

    def step(self, params: list[np.ndarray], grads: list[np.ndarray],
             learning_rate: float) -> None:
        """One update of every parameter, in place."""
        _check_step(self.shapes, params, grads)
        for p, g, v in zip(params, grads, self.velocity):
            if self.weight_decay:
                g = g + self.weight_decay * p
            v *= self.momentum
            v += g
            p -= learning_rate * v

    def state(self) -> dict[str, np.ndarray]:
        """Velocities as ``sgd.velocity.<i>`` (copies)."""
        return {f"sgd.velocity.{i}": v.copy() for i, v in enumerate(self.velocity)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore the velocities; other keys are ignored. Nothing changes on error."""
        self.velocity = [_take(state, f"sgd.velocity.{i}", s, np.float64)
                         for i, s in enumerate(self.shapes)]


class Adam:
    """Adam (Kingma & Ba) with bias correction and L2 weight decay.

    Per parameter ``p`` with gradient ``g``, moments ``m``, ``v`` (initially 0) and the
    step counter ``t`` (shared, initially 0)::

        g <- g + wd * p
        t <- t + 1
        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * g**2
        p <- p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)

    The first step therefore moves every parameter by ``lr * sign(g)`` (up to eps).
    """

    def __init__(self, shapes: list[Shape], beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        self.shapes = [tuple(int(n) for n in s) for s in shapes]
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.m = [np.zeros(s) for s in self.shapes]
        self.v = [np.zeros(s) for s in self.shapes]
        self.t = 0

    def step(self, params: list[np.ndarray], grads: list[np.ndarray],
             learning_rate: float) -> None:
        """One update of every parameter, in place."""
        _check_step(self.shapes, params, grads)
        self.t += 1
        correction1 = 1.0 - self.beta1 ** self.t
        correction2 = 1.0 - self.beta2 ** self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            if self.weight_decay:
                g = g + self.weight_decay * p
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * np.square(g)
            p -= learning_rate * (m / correction1) / (np.sqrt(v / correction2) + self.eps)

    def state(self) -> dict[str, np.ndarray]:
        """Moments as ``adam.m.<i>``, ``adam.v.<i>`` and the counter ``adam.t`` (copies)."""
        state = {"adam.t": np.array(self.t, dtype=np.int64)}
        for i, (m, v) in enumerate(zip(self.m, self.v)):
            state[f"adam.m.{i}"] = m.copy()
            state[f"adam.v.{i}"] = v.copy()
        return state

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore moments and counter; other keys are ignored. Nothing changes on error."""
        m = [_take(state, f"adam.m.{i}", s, np.float64) for i, s in enumerate(self.shapes)]
        v = [_take(state, f"adam.v.{i}", s, np.float64) for i, s in enumerate(self.shapes)]
        t = int(_take(state, "adam.t", (), np.int64, kinds="iu"))
        if t < 0:
            raise DataFileError(f"optimiser state: key 'adam.t' is {t}, expected >= 0")
        self.m, self.v, self.t = m, v, t


def make_optimiser(config: OptimiserConfig, shapes: list[Shape]) -> SGD | Adam:
    """The optimiser ``config`` names, for parameters of the given shapes.

    ``config.momentum`` is the SGD momentum or Adam's ``beta1``; Adam's ``beta2`` is
    0.999 and ``eps`` 1e-8.
    """
    if config.name == "sgd":
        return SGD(shapes, momentum=config.momentum, weight_decay=config.weight_decay)
    return Adam(shapes, beta1=config.momentum, weight_decay=config.weight_decay)
