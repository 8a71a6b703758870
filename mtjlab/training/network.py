"""The network: software weights, hidden layers of neurons, a software softmax output.

For hidden layers l = 1..L and a batch X (B, d):

    z_l = a_{l-1} W_l + b_l          a_0 = X                          (B1)
    a_l, a'_l = f_l(z_l)              (measured on devices, or software)
    p = softmax(a_L W_o + b_o)        loss = -mean log p[y]            (B2)

Backpropagation uses the activations and the derivatives ``a'_l`` it is given
(measured, fitted or ideal, depending on the gradient method):

    d_o = (p - onehot(y)) / B                                          (B3)
    dW_o = a_L^T d_o      db_o = sum d_o      g_L = d_o W_o^T
    d_l = g_l * a'_l      dW_l = a_{l-1}^T d_l   db_l = sum d_l   g_{l-1} = d_l W_l^T

Parameters are ordered ``[W_1, b_1, ..., W_L, b_L, W_o, b_o]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

#: ``f(layer, z) -> (a, da/dz, exact da/dz or None)``: one hidden layer's neurons.
HiddenActivation = Callable[[int, np.ndarray], tuple[np.ndarray, np.ndarray, "np.ndarray | None"]]


def tanh_activation(layer: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The software neuron: tanh, the ideal of a calibrated MTJ neuron (a'(0) = 1, span +/-1)."""
    a = np.tanh(z)
    derivative = 1.0 - a * a
    return a, derivative, derivative


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels (nats)."""
    picked = probabilities[np.arange(labels.size), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-300, None))))


@dataclass
class ForwardPass:
    """Everything backpropagation needs from one forward pass."""

    inputs: np.ndarray
    pre_activations: list[np.ndarray]
    activations: list[np.ndarray]
    derivatives: list[np.ndarray]
    exact_derivatives: list[np.ndarray] | None
    probabilities: np.ndarray

    def loss(self, labels: np.ndarray) -> float:
        return cross_entropy(self.probabilities, labels)

    def predictions(self) -> np.ndarray:
        return np.argmax(self.probabilities, axis=1)


class Network:
    """Weights and biases of an MTJ network (numpy), with forward and backward passes."""

    def __init__(self, params: Sequence[np.ndarray]) -> None:
        self.params = [np.array(p, dtype=float) for p in params]

    @classmethod
    def initial(cls, n_inputs: int, hidden: Sequence[int], n_outputs: int, rng: np.random.Generator) -> "Network":
        """Glorot-uniform weights, zero biases (same seed, same network)."""
        sizes = [n_inputs, *hidden, n_outputs]
        params: list[np.ndarray] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            params += [rng.uniform(-bound, bound, (fan_in, fan_out)), np.zeros(fan_out)]
        return cls(params)

    @property
    def hidden_layers(self) -> int:
        return len(self.params) // 2 - 1

    def copy(self) -> "Network":
        return Network([p.copy() for p in self.params])

    def forward(self, x: np.ndarray, activation: HiddenActivation) -> ForwardPass:
        """Run a batch through the network (eqs. B1, B2)."""
        a = np.asarray(x, float)
        zs, acts, ders, exacts = [], [], [], []
        for layer in range(self.hidden_layers):
            z = a @ self.params[2 * layer] + self.params[2 * layer + 1]
            a, derivative, exact = activation(layer, z)
            zs.append(z)
            acts.append(a)
            ders.append(derivative)
            exacts.append(exact)
        logits = a @ self.params[-2] + self.params[-1]
        has_exact = all(e is not None for e in exacts)
        return ForwardPass(np.asarray(x, float), zs, acts, ders, exacts if has_exact else None, softmax(logits))

    def backward(self, forward: ForwardPass, labels: np.ndarray, exact: bool = False) -> list[np.ndarray]:
        """Gradients of the mean cross-entropy (eq. B3), with the derivatives used or the exact ones."""
        derivatives = forward.exact_derivatives if exact else forward.derivatives
        if derivatives is None:
            raise ValueError("this forward pass has no exact derivatives")
        batch = labels.size
        delta = forward.probabilities.copy()
        delta[np.arange(batch), labels] -= 1.0
        delta /= batch
        grads: list[np.ndarray] = [np.empty(0)] * len(self.params)
        below = forward.activations[-1] if forward.activations else forward.inputs
        grads[-2], grads[-1] = below.T @ delta, delta.sum(axis=0)
        upstream = delta @ self.params[-2].T
        for layer in reversed(range(self.hidden_layers)):
            d = upstream * derivatives[layer]
            below = forward.activations[layer - 1] if layer > 0 else forward.inputs
            grads[2 * layer], grads[2 * layer + 1] = below.T @ d, d.sum(axis=0)
            upstream = d @ self.params[2 * layer].T
        return grads


def hidden_cosine(used: Sequence[np.ndarray], exact: Sequence[np.ndarray]) -> float:
    """Cosine between two gradients over the hidden layers' parameters (the ones that pass
    through neuron derivatives; the output layer's gradient is the same for every method)."""
    u = np.concatenate([g.ravel() for g in used[:-2]])
    e = np.concatenate([g.ravel() for g in exact[:-2]])
    norm = float(np.linalg.norm(u) * np.linalg.norm(e))
    return float(u @ e / norm) if norm > 0 else float("nan")
