"""Hidden layers of MTJ neurons: which device serves which neuron, and how a
pre-activation becomes a physical input and a measured output becomes an activation.

Each device is calibrated first (:func:`calibrate`: an input sweep across the
safe range; :func:`mtjlab.experiments.calibration.fit_device` turns it into a
working point I0, an input scale g = h/s and an output offset V0 and scale h).
A neuron's pre-activation z then drives its device with

    I = I0 + clip(z, -z_lim, z_lim) * g                              (N1)

and the measured output V and derivative dV/dI give the activation and its
derivative by the chain rule through the calibration

    a = (V - V0) / h        da/dz = (dV/dI) * g / h   (0 where z is clipped)   (N2)

so a calibrated neuron has da/dz = 1 at z = 0 and a span of about +/- 1 (the
same as tanh, the software baseline's activation). ``z_lim`` (the network's
``pre_activation_limit``) keeps every input inside the bench's safe range: it
is checked against every device's calibration before training starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import DeadDeviceError, MtjlabError, SafetyLimitError
from ..experiments.calibration import DeviceCalibration, fit_device

#: Points of the calibration sweep of each device.
CALIBRATION_POINTS = 33
#: The calibration sweep spans this fraction of the safe input range on each side.
CALIBRATION_SPAN = 0.95


@dataclass(frozen=True)
class NeuronMap:
    """The device that serves each neuron of each hidden layer."""

    layers: tuple[tuple[str, ...], ...]

    @property
    def neurons_per_device(self) -> int:
        """The most neurons any one device serves (1: every neuron has its own device)."""
        counts: dict[str, int] = {}
        for layer in self.layers:
            for device in layer:
                counts[device] = counts.get(device, 0) + 1
        return max(counts.values(), default=0)

    @property
    def devices(self) -> tuple[str, ...]:
        """Every device used, in first-use order."""
        return tuple(dict.fromkeys(d for layer in self.layers for d in layer))

    def describe(self) -> str:
        shared = self.neurons_per_device
        text = f"{sum(map(len, self.layers))} neurons on {len(self.devices)} devices"
        return text + (f" (devices shared: up to {shared} neurons each)" if shared > 1 else " (one device each)")


def map_neurons(hidden: Sequence[int], live_devices: Sequence[str], max_neurons_per_device: int) -> NeuronMap:
    """Neurons to live devices, in order, wrapping round when there are more neurons than devices.

    Raises :class:`DeadDeviceError` (one line) when the chip has too few live
    devices for ``max_neurons_per_device``.
    """
    live = list(live_devices)
    total = int(sum(hidden))
    needed = math.ceil(total / max_neurons_per_device)
    if len(live) < needed:
        raise DeadDeviceError(
            f"hidden {list(hidden)}: {total} neurons need at least {needed} live devices at "
            f"max_neurons_per_device {max_neurons_per_device}, the chip has {len(live)}"
            + (f" ({', '.join(live)})" if live else "")
            + "; use fewer neurons or allow more neurons per device")
    layers, k = [], 0
    for size in hidden:
        layers.append(tuple(live[(k + j) % len(live)] for j in range(size)))
        k += size
    return NeuronMap(tuple(layers))


@dataclass
class CalibrationSweep:
    """Each device's calibration sweep: inputs (A), outputs (V), derivatives (V/A), in device order."""

    devices: tuple[str, ...]
    input_a: np.ndarray
    output_v: np.ndarray
    derivative_v_per_a: np.ndarray
    dead: tuple[str, ...]
    instrument_time_s: float

    def fit(self) -> dict[str, DeviceCalibration]:
        return {d: fit_device(self.input_a[j], self.output_v[j], self.derivative_v_per_a[j])
                for j, d in enumerate(self.devices) if d not in self.dead}


def calibrate(array: Any, points: int = CALIBRATION_POINTS) -> CalibrationSweep:
    """Sweep every device not known dead across the safe input range; the dead ones are noted."""
    candidates = [d for d in array.device_ids if d not in array.dead_ids]
    low, high = array.input_range_a
    inputs = np.linspace(CALIBRATION_SPAN * low, CALIBRATION_SPAN * high, points)
    result = array.measure(candidates, np.broadcast_to(inputs, (len(candidates), points)))
    dead = tuple(d for j, d in enumerate(candidates) if result.dead[j]) + tuple(
        d for d in array.device_ids if d in array.dead_ids)
    return CalibrationSweep(tuple(candidates), np.array(result.input_current_a), np.array(result.output_v),
                            np.array(result.derivative_v_per_a), dead, float(result.instrument_time_s))


@dataclass
class LayerReading:
    """What one hidden layer's devices gave for a batch: activations and their derivatives, (batch, n)."""

    activation: np.ndarray
    derivative: np.ndarray
    exact_derivative: np.ndarray | None


@dataclass
class MeasurementTally:
    """Device measurements (input points) and lab time (s) spent so far."""

    measurements: int = 0
    lab_time_s: float = 0.0
    step: int = 0
    log: list[dict[str, np.ndarray]] = field(default_factory=list)


class DeviceNeurons:
    """The hidden layers as devices of a NeuronArray, through their calibrations (eqs. N1, N2)."""

    def __init__(self, array: Any, neuron_map: NeuronMap, calibrations: dict[str, DeviceCalibration],
                 pre_activation_limit: float, tally: MeasurementTally | None = None,
                 log_measurements: bool = False) -> None:
        self.array = array
        self.map = neuron_map
        self.limit = float(pre_activation_limit)
        self.tally = tally or MeasurementTally()
        self.log_measurements = log_measurements
        self._offset_a, self._gain_a, self._out_offset_v, self._out_scale_v = [], [], [], []
        for layer in neuron_map.layers:
            c = [calibrations[d] for d in layer]
            self._offset_a.append(np.array([x.input_offset_a for x in c]))
            self._gain_a.append(np.array([x.input_per_unit_a for x in c]))
            self._out_offset_v.append(np.array([x.output_offset_v for x in c]))
            self._out_scale_v.append(np.array([x.output_per_unit_v for x in c]))

    def check_range(self, margin_a: float = 0.0) -> None:
        """Refuse (one line) a pre-activation limit whose inputs (widened by ``margin_a``, A)
        would leave the safe range."""
        low, high = self.array.input_range_a
        low, high = low + margin_a, high - margin_a
        for n, layer in enumerate(self.map.layers):
            ends = self._offset_a[n][:, None] + np.array([-1.0, 1.0]) * self.limit * np.abs(self._gain_a[n])[:, None]
            bad = np.flatnonzero((ends[:, 0] < low) | (ends[:, 1] > high))
            if bad.size:
                j = int(bad[0])
                fits = min((high - self._offset_a[n][j]), (self._offset_a[n][j] - low)) / abs(self._gain_a[n][j])
                raise SafetyLimitError(
                    f"hidden layer {n + 1} neuron {j + 1} ({layer[j]}): pre-activations within "
                    f"+/-{self.limit:g} need {ends[j, 0] * 1e3:.2f} to {ends[j, 1] * 1e3:.2f} mA, beyond the safe "
                    f"input range {low * 1e3:.2f} to {high * 1e3:.2f} mA; set pre_activation_limit to "
                    f"{math.floor(fits * 100) / 100:g} or less")

    def inputs_for(self, layer: int, z: np.ndarray) -> np.ndarray:
        """The input currents (A), (n, batch), for pre-activations ``z`` (batch, n) (eq. N1)."""
        clipped = np.clip(z, -self.limit, self.limit)
        return (self._offset_a[layer] + clipped * self._gain_a[layer]).T

    def measure(self, layer: int, z: np.ndarray, extra_inputs_a: Sequence[float] = (),
                derivative: bool = True) -> Any:
        """Measure layer ``layer``'s devices at ``z`` (plus copies shifted by ``extra_inputs_a``);
        ``derivative=False``: DC outputs only (no lock-in)."""
        inputs = self.inputs_for(layer, z)
        columns = [inputs] + [inputs + shift for shift in extra_inputs_a]
        result = self.array.measure(self.map.layers[layer], np.hstack(columns), derivative=derivative)
        dead = [d for d, flag in zip(result.device_ids, result.dead) if flag]
        if dead:
            raise DeadDeviceError(f"device {dead[0]} stopped responding (dead) during training; "
                                  f"the finished epochs are kept in the run directory")
        self.tally.measurements += int(np.size(result.output_v))
        self.tally.lab_time_s += float(result.instrument_time_s)
        return result

    def read(self, layer: int, z: np.ndarray, derivative_v_per_a: np.ndarray | None = None,
             result: Any = None, derivative: bool = True) -> LayerReading:
        """Activations and derivatives of a layer (eq. N2) from a measurement.

        ``derivative_v_per_a`` (n, batch) replaces the measured derivative (the
        numeric and model methods obtain theirs differently); ``derivative=False``
        measures outputs only.
        """
        if result is None:
            result = self.measure(layer, z, derivative=derivative)
        batch = z.shape[0]
        output_v = result.output_v[:, :batch]
        measured = result.derivative_v_per_a[:, :batch] if derivative_v_per_a is None else derivative_v_per_a
        inside = (np.abs(z) < self.limit).T
        scale = (self._gain_a[layer] / self._out_scale_v[layer])[:, None]
        activation = ((output_v - self._out_offset_v[layer][:, None]) / self._out_scale_v[layer][:, None]).T
        derivative = (measured * scale * inside).T
        exact = result.exact_derivative_v_per_a
        exact_derivative = None if exact is None else (exact[:, :batch] * scale * inside).T
        if self.log_measurements:
            entry = {"layer": np.array(layer), "step": np.array(self.tally.step),
                     "input_a": result.input_current_a[:, :batch], "output_v": output_v,
                     "derivative_v_per_a": measured}
            if exact is not None:  # a simulated bench or the model: the truth, kept beside what was measured
                entry["exact_derivative_v_per_a"] = exact[:, :batch]
            self.tally.log.append(entry)
        return LayerReading(activation, derivative, exact_derivative)


def require_live(calibrations: dict[str, DeviceCalibration]) -> list[str]:
    """The calibrated (live) devices, or one line saying there are none."""
    if not calibrations:
        raise MtjlabError("no live device on the chip: every junction is known or found dead")
    return list(calibrations)
