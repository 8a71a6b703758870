"""Gradient methods: how the neuron derivatives (or the gradient itself) are obtained.

Every method takes a training step the same way, ``step(network, x, y, rng) ->
Step`` (gradients to apply, the exact gradients where the devices are simulated,
and the forward pass), and evaluates a batch with ``evaluate(network, x,
final)``. The device measurements each costs are counted in
``neurons.tally`` (one measurement = one input point of one device). Only the
analog method waits for and reads the lock-in; every other reading, and every
validation pass, is a DC reading of the source-meter (no lock-in settling):

- ``analog``: output and lock-in first harmonic at each point, measured together
  (the paper's method): 1 measurement per neuron and sample.
- ``numeric``: output at I, then DC outputs at I + h and I - h:
  dV/dI = (V+ - V-) / 2h; 3 measurements per neuron and sample.
- ``model``: output measured; dV/dI from each device's own model, a cubic
  Hermite spline through its calibration sweep (values and lock-in slopes):
  1 measurement per neuron and sample.
- ``nominal``: output measured; the derivative of the layer's nominal
  activation (:mod:`.activations`: the calibrated curve of the datasheet's
  average device at the layer's setting; tanh'(z) = 1 - tanh(z)^2 where the
  array has no datasheet), ignoring each device's own response.
- ``perturbation``: SPSA on the hidden weights: the loss measured at theta +/- c Delta
  (Delta random signs), g = (L+ - L-) / 2c * Delta; the output layer by backprop
  on the measured activations; 3 forward passes per step.
- ``offline``: trained in software on the nominal network (the nominal
  activations; tanh without a datasheet), then deployed on the devices and
  evaluated there; measurements only for that evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from ..errors import ConfigError
from .activations import NominalActivations
from .network import ForwardPass, Network
from .neurons import CalibrationSweep, DeviceNeurons

METHODS = ("analog", "numeric", "model", "nominal", "perturbation", "offline")


@dataclass
class Step:
    """One training step's gradients (``exact`` only where the devices' true derivatives are known)."""

    grads: list[np.ndarray]
    exact: list[np.ndarray] | None
    forward: ForwardPass


class GradientMethod:
    """The shared part: measured forward passes and backprop with the derivatives given."""

    name = ""
    #: Does training touch the devices (False only for ``offline``)?
    trains_on_devices = True

    def __init__(self, neurons: DeviceNeurons, nominal: NominalActivations | None = None) -> None:
        self.neurons = neurons
        self.nominal = nominal if nominal is not None else NominalActivations.tanh(len(neurons.map.layers))
        #: the software network's activation (baseline, offline): the nominal one
        self.software_activation = self.nominal.software

    def recalibrated(self, layer_sweeps: Sequence[CalibrationSweep]) -> None:
        """The devices were calibrated again (``layer_sweeps[n]``: layer n's new sweep); by default nothing to do."""

    # the hidden-layer activation of a forward pass; overridden for other derivatives
    def activation(self, layer: int, z: np.ndarray):
        reading = self.neurons.read(layer, z)
        return reading.activation, reading.derivative, reading.exact_derivative

    def step(self, network: Network, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Step:
        forward = network.forward(x, self.activation)
        exact = network.backward(forward, y, exact=True) if forward.exact_derivatives is not None else None
        return Step(network.backward(forward, y), exact, forward)

    def evaluate(self, network: Network, x: np.ndarray, final: bool = False) -> ForwardPass:
        """A forward pass for validation, on the devices."""
        return network.forward(x, self._output_only)

    def _output_only(self, layer: int, z: np.ndarray):
        reading = self.neurons.read(layer, z, derivative=False)
        return reading.activation, reading.derivative, reading.exact_derivative


class AnalogMethod(GradientMethod):
    name = "analog"


class NumericMethod(GradientMethod):
    """Central differences from two extra DC measurements at I +/- h."""

    name = "numeric"

    def __init__(self, neurons: DeviceNeurons, step_a: float, nominal: NominalActivations | None = None) -> None:
        super().__init__(neurons, nominal)
        self.step_a = float(step_a)

    def activation(self, layer: int, z: np.ndarray):
        result = self.neurons.measure(layer, z, (self.step_a, -self.step_a), derivative=False)
        b = z.shape[0]
        plus, minus = result.output_v[:, b:2 * b], result.output_v[:, 2 * b:]
        reading = self.neurons.read(layer, z, (plus - minus) / (2 * self.step_a), result=result)
        return reading.activation, reading.derivative, reading.exact_derivative


class ModelMethod(GradientMethod):
    """Derivatives from each device's spline through its calibration sweep (at its layer's setting)."""

    name = "model"

    def __init__(self, neurons: DeviceNeurons, sweep: CalibrationSweep | Sequence[CalibrationSweep],
                 nominal: NominalActivations | None = None) -> None:
        super().__init__(neurons, nominal)
        self._slopes: list[dict[str, Any]] = [{} for _ in neurons.map.layers]
        self.recalibrated([sweep] * len(neurons.map.layers) if isinstance(sweep, CalibrationSweep) else sweep)

    def recalibrated(self, layer_sweeps: Sequence[CalibrationSweep]) -> None:
        """(Re)build the splines of the devices in each layer's sweep."""
        built: dict[int, dict[str, Any]] = {}
        for n, sweep in enumerate(layer_sweeps):
            if id(sweep) not in built:
                built[id(sweep)] = {}
                for j, device in enumerate(sweep.devices):
                    if device in sweep.dead:
                        continue
                    order = np.argsort(sweep.input_a[j])
                    spline = CubicHermiteSpline(sweep.input_a[j][order], sweep.output_v[j][order],
                                                sweep.derivative_v_per_a[j][order])
                    built[id(sweep)][device] = spline.derivative()
            self._slopes[n].update(built[id(sweep)])

    def activation(self, layer: int, z: np.ndarray):
        result = self.neurons.measure(layer, z, derivative=False)
        devices = self.neurons.map.layers[layer]
        slope = np.array([self._slopes[layer][d](result.input_current_a[j]) for j, d in enumerate(devices)])
        reading = self.neurons.read(layer, z, slope, result=result)
        return reading.activation, reading.derivative, reading.exact_derivative


class NominalMethod(GradientMethod):
    """Measured outputs, the nominal activation's derivative inside the pre-activation limit."""

    name = "nominal"

    def activation(self, layer: int, z: np.ndarray):
        reading = self.neurons.read(layer, z, derivative=False)
        ideal = self.nominal.derivative(layer, z, self.neurons.limit)
        return reading.activation, ideal, reading.exact_derivative


class PerturbationMethod(GradientMethod):
    """SPSA on the hidden weights with the loss measured on the devices."""

    name = "perturbation"

    def __init__(self, neurons: DeviceNeurons, size: float, nominal: NominalActivations | None = None) -> None:
        super().__init__(neurons, nominal)
        self.size = float(size)

    def step(self, network: Network, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Step:
        forward = network.forward(x, self._output_only)
        backprop = network.backward(forward, y)
        exact = network.backward(forward, y, exact=True) if forward.exact_derivatives is not None else None
        hidden = len(network.params) - 2
        signs = [rng.choice((-1.0, 1.0), size=p.shape) for p in network.params[:hidden]]
        losses = []
        for direction in (1.0, -1.0):
            trial = network.copy()
            for p, s in zip(trial.params, signs):
                p += direction * self.size * s
            losses.append(trial.forward(x, self._output_only).loss(y))
        scale = (losses[0] - losses[1]) / (2 * self.size)
        grads = [scale * s for s in signs] + backprop[hidden:]
        return Step(grads, exact, forward)


class OfflineMethod(GradientMethod):
    """Software training on the nominal model; devices only to evaluate the deployed network."""

    name = "offline"
    trains_on_devices = False

    def step(self, network: Network, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Step:
        forward = network.forward(x, self.software_activation)
        return Step(network.backward(forward, y), None, forward)

    def evaluate(self, network: Network, x: np.ndarray, final: bool = False) -> ForwardPass:
        return super().evaluate(network, x) if final else network.forward(x, self.software_activation)


def make_method(name: str, neurons: DeviceNeurons, sweep: CalibrationSweep | Sequence[CalibrationSweep], *,
                step_a: float, perturbation_size: float, nominal: NominalActivations | None = None) -> GradientMethod:
    """The gradient method called ``name``; ConfigError (one line) for an unknown name.

    ``sweep``: the calibration sweep (or each hidden layer's, at its setting); ``nominal``:
    each layer's nominal activation (default tanh for every layer)."""
    if name == "analog":
        return AnalogMethod(neurons, nominal)
    if name == "numeric":
        return NumericMethod(neurons, step_a, nominal)
    if name == "model":
        return ModelMethod(neurons, sweep, nominal)
    if name == "nominal":
        return NominalMethod(neurons, nominal)
    if name == "perturbation":
        return PerturbationMethod(neurons, perturbation_size, nominal)
    if name == "offline":
        return OfflineMethod(neurons, nominal)
    raise ConfigError(f"unknown gradient method {name!r} (choose {', '.join(METHODS)})")
