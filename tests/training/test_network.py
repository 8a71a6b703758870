"""Backpropagation against central finite differences of the loss, and the neuron mapping."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import CubicHermiteSpline

from mtjlab.config import load_default_bench
from mtjlab.errors import DeadDeviceError
from mtjlab.instruments.model_array import ModelNeuronArray
from mtjlab.training.network import Network, cross_entropy, hidden_cosine, tanh_activation
from mtjlab.training.neurons import calibrate, map_neurons


def device_model_activation():
    """Each neuron a noiseless simulated device: a spline through its calibration sweep,
    mapped through the calibration (eqs. N1, N2), with the spline's exact derivative."""
    array = ModelNeuronArray.from_bench(load_default_bench(), noise=False)
    sweep = calibrate(array, points=65)
    calibrations = sweep.fit()
    devices = list(calibrations)[:6]
    splines = {d: CubicHermiteSpline(sweep.input_a[j], sweep.output_v[j], sweep.derivative_v_per_a[j])
               for j, d in enumerate(sweep.devices) if d in devices}

    def activation(layer: int, z: np.ndarray):
        chosen = devices[3 * layer:3 * layer + z.shape[1]]
        a, da = np.empty_like(z), np.empty_like(z)
        for j, d in enumerate(chosen):
            c = calibrations[d]
            current = c.input_for(z[:, j])
            a[:, j] = c.activation_of(splines[d](current))
            da[:, j] = splines[d](current, 1) * c.input_per_unit_a / c.output_per_unit_v
        return a, da, da

    return activation


def numeric_gradient(network: Network, x, y, activation, step=1e-6):
    grads = []
    for p in network.params:
        g = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            keep = p[index]
            p[index] = keep + step
            up = cross_entropy(network.forward(x, activation).probabilities, y)
            p[index] = keep - step
            down = cross_entropy(network.forward(x, activation).probabilities, y)
            p[index] = keep
            g[index] = (up - down) / (2 * step)
        grads.append(g)
    return grads


@pytest.mark.parametrize("hidden", [[3], [3, 3]])
@pytest.mark.parametrize("kind", ["tanh", "device model"])
def test_backprop_matches_central_differences(hidden, kind):
    rng = np.random.default_rng(4)
    activation = tanh_activation if kind == "tanh" else device_model_activation()
    network = Network.initial(4, hidden, 3, rng)
    for p in network.params:
        p += 0.1 * rng.standard_normal(p.shape)  # nonzero biases too
    x, y = 0.6 * rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    analytic = network.backward(network.forward(x, activation), y)
    numeric = numeric_gradient(network, x, y, activation)
    flat_a = np.concatenate([g.ravel() for g in analytic])
    flat_n = np.concatenate([g.ravel() for g in numeric])
    assert np.linalg.norm(flat_a - flat_n) <= 1e-6 * np.linalg.norm(flat_n)
    # and the check is sharp: a wrong derivative is caught
    wrong = network.backward(network.forward(x, lambda l, z: (*activation(l, z)[:1], 0.9 * activation(l, z)[1], None)), y)
    flat_w = np.concatenate([g.ravel() for g in wrong])
    assert np.linalg.norm(flat_w - flat_n) > 1e-3 * np.linalg.norm(flat_n)


def test_hidden_cosine_ignores_output_layer_and_detects_disagreement():
    a = [np.ones((2, 2)), np.ones(2), np.ones((2, 3)), np.ones(3)]
    b = [np.ones((2, 2)), -np.ones(2), 5 * np.ones((2, 3)), np.zeros(3)]
    assert hidden_cosine(a, a) == pytest.approx(1.0)
    assert hidden_cosine(a, b) == pytest.approx((4 - 2) / 6)


def test_neurons_wrap_round_live_devices_and_refuse_too_few():
    live = ["r0c0", "r0c1", "r0c3"]
    one_each = map_neurons([2, 1], live, 1)
    assert one_each.layers == (("r0c0", "r0c1"), ("r0c3",)) and one_each.neurons_per_device == 1
    shared = map_neurons([4, 3], live, 3)
    assert shared.neurons_per_device == 3 and set(shared.devices) == set(live)
    assert "shared" in shared.describe()
    with pytest.raises(DeadDeviceError, match=r"7 neurons need at least 4 live devices.*has 3"):
        map_neurons([4, 3], live, 2)
