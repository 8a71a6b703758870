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

so a calibrated sigmoid neuron has da/dz = 1 at z = 0 and a span of about +/- 1
(the shape of tanh), and a calibrated bump neuron a = 1 at z = 0 and about 0 in
its tails (the shape of exp(-z^2/2)). Each hidden layer may have its own
setting (coil bias field, device kind): a layer's neurons take only devices of
its kind, calibrated at its setting, and the coil is switched to the layer's
field before its devices are measured. ``z_lim`` (the network's
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
    #: Calibrated devices that serve no neuron, and why (their inputs would leave the safe range).
    left_out: tuple[tuple[str, str], ...] = ()

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
        text += f" (devices shared: up to {shared} neurons each)" if shared > 1 else " (one device each)"
        if self.left_out:
            text += f"; left out: {', '.join(d for d, _ in self.left_out)} (inputs beyond the safe range)"
        return text


def map_layers(hidden: Sequence[int], kinds: Sequence[str], pools: Sequence[Sequence[str]],
               max_neurons_per_device: int) -> NeuronMap:
    """Neurons to live devices layer by layer: layer n's neurons take devices of ``pools[n]`` (the live
    devices of its kind ``kinds[n]``, calibrated at its setting), wrapping round per kind.

    With every layer on single junctions sharing one pool this is :func:`map_neurons`. Otherwise a
    kind with too few live devices is refused in one line naming its layers, the kind and the counts.
    """
    if len(set(kinds)) == 1 and kinds[0] == "single" and all(list(p) == list(pools[0]) for p in pools):
        return map_neurons(hidden, pools[0], max_neurons_per_device)
    by_kind: dict[str, list[str]] = {}
    for kind, pool in zip(kinds, pools):  # a device serves a kind only if it is live at every setting of it
        by_kind[kind] = [d for d in by_kind.get(kind, list(pool)) if d in set(pool)]
    for kind, live in by_kind.items():
        numbers = [n for n, k in enumerate(kinds) if k == kind]
        total = int(sum(hidden[n] for n in numbers))
        needed = math.ceil(total / max_neurons_per_device)
        if len(live) < needed:
            which = " and ".join(str(n + 1) for n in numbers)
            raise DeadDeviceError(
                f"hidden layer{'s' if len(numbers) > 1 else ''} {which} ({kind} junctions): {total} neurons need at "
                f"least {needed} live {kind} devices at max_neurons_per_device {max_neurons_per_device}, the chip "
                f"has {len(live)}" + (f" ({', '.join(live)})" if live else "")
                + "; use fewer neurons, allow more neurons per device or another device_kind")
    layers, counters = [], {kind: 0 for kind in by_kind}
    for size, kind in zip(hidden, kinds):
        live, k = by_kind[kind], counters[kind]
        layers.append(tuple(live[(k + j) % len(live)] for j in range(size)))
        counters[kind] = k + size
    return NeuronMap(tuple(layers))


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
    """Each device's calibration sweep: inputs (A), outputs (V), derivatives (V/A), in device order.

    ``bias_field_oe`` and ``device_kind``: the setting it was measured at (None: the array's own field).
    """

    devices: tuple[str, ...]
    input_a: np.ndarray
    output_v: np.ndarray
    derivative_v_per_a: np.ndarray
    dead: tuple[str, ...]
    instrument_time_s: float
    bias_field_oe: float | None = None
    device_kind: str = "single"

    def fit(self) -> dict[str, DeviceCalibration]:
        return {d: fit_device(self.input_a[j], self.output_v[j], self.derivative_v_per_a[j], d)
                for j, d in enumerate(self.devices) if d not in self.dead}


def calibration_inputs_a(array: Any, points: int = CALIBRATION_POINTS) -> np.ndarray:
    """The calibration sweep's input currents (A): ``points`` across CALIBRATION_SPAN of the safe range."""
    low, high = array.input_range_a
    return np.linspace(CALIBRATION_SPAN * low, CALIBRATION_SPAN * high, points)


def calibrate(array: Any, points: int = CALIBRATION_POINTS, devices: Sequence[str] | None = None) -> CalibrationSweep:
    """Sweep every device not known dead (of ``devices``, default every one) across the safe input
    range, at the array's present bias field; the dead ones are noted."""
    scope = list(array.device_ids) if devices is None else list(devices)
    candidates = [d for d in scope if d not in array.dead_ids]
    inputs = calibration_inputs_a(array, points)
    result = array.measure(candidates, np.broadcast_to(inputs, (len(candidates), points)))
    dead = tuple(d for j, d in enumerate(candidates) if result.dead[j]) + tuple(
        d for d in scope if d in array.dead_ids)
    return CalibrationSweep(tuple(candidates), np.array(result.input_current_a), np.array(result.output_v),
                            np.array(result.derivative_v_per_a), dead, float(result.instrument_time_s))


def switch_field(array: Any, field_oe: float | None, assumed_oe: float | None = None) -> bool:
    """Set the array's coil to ``field_oe`` (Oe) unless it is there already (None: leave it as it is);
    ``assumed_oe``: the field last set, for arrays that do not say theirs. True if it was switched
    (the array counts the lab time the coil takes)."""
    if field_oe is None:
        return False
    present = present_field_oe(array)
    present = assumed_oe if present is None else present
    if present is not None and abs(present - field_oe) <= 1e-9 * max(1.0, abs(field_oe)):
        return False
    array.set_bias_field(float(field_oe))
    return True


def present_field_oe(array: Any) -> float | None:
    """The coil bias field (Oe) the array is at, where it says (a bench, a replay, the model's chip)."""
    for owner in (array, getattr(array, "chip", None)):
        value = getattr(owner, "bias_field_oe", None)
        if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool):
            return float(value)
    return None


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
    field_switches: int = 0


class DeviceNeurons:
    """The hidden layers as devices of a NeuronArray, through their calibrations (eqs. N1, N2).

    ``calibrations``: device -> calibration for every layer, or one such mapping per
    layer (layers at different settings). ``layer_fields_oe``: each layer's coil
    bias field (Oe; None: whatever the array is at); the coil is switched before a
    layer whose field differs from the present one is measured.
    """

    def __init__(self, array: Any, neuron_map: NeuronMap,
                 calibrations: dict[str, DeviceCalibration] | Sequence[dict[str, DeviceCalibration]],
                 pre_activation_limit: float, tally: MeasurementTally | None = None,
                 log_measurements: bool = False, layer_fields_oe: Sequence[float | None] | None = None) -> None:
        self.array = array
        self.map = neuron_map
        self.limit = float(pre_activation_limit)
        self.tally = tally or MeasurementTally()
        self.log_measurements = log_measurements
        self.layer_fields_oe = list(layer_fields_oe) if layer_fields_oe is not None else [None] * len(neuron_map.layers)
        self._field_oe: float | None = None  # the field last set here, for arrays that do not say theirs
        self.set_calibrations(calibrations)

    def set_calibrations(self, calibrations: dict[str, DeviceCalibration] | Sequence[dict[str, DeviceCalibration]]
                         ) -> None:
        """Use these calibrations from the next measurement on (in place: at the start, or after a recalibration)."""
        per_layer = [calibrations] * len(self.map.layers) if isinstance(calibrations, dict) else list(calibrations)
        self.calibrations = [[per_layer[n][d] for d in layer] for n, layer in enumerate(self.map.layers)]
        self._offset_a, self._gain_a, self._out_offset_v, self._out_scale_v = [], [], [], []
        for c in self.calibrations:
            self._offset_a.append(np.array([x.input_offset_a for x in c]))
            self._gain_a.append(np.array([x.input_per_unit_a for x in c]))
            self._out_offset_v.append(np.array([x.output_offset_v for x in c]))
            self._out_scale_v.append(np.array([x.output_per_unit_v for x in c]))

    def use_field(self, field_oe: float | None) -> None:
        """Switch the coil to ``field_oe`` (Oe) unless it is there already (None: leave it)."""
        if switch_field(self.array, field_oe, self._field_oe):
            self._field_oe = field_oe
            self.tally.field_switches += 1

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
        self.use_field(self.layer_fields_oe[layer])
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
