"""Nominal activations: the calibrated curve of the chip's *average* device at each layer's setting.

The ``nominal`` method's derivative, the ``offline`` method's software training
and the software baseline network all use, for hidden layer n, the activation
the layer's devices would have if every one were the datasheet's average
device: ``array.nominal_sweep(I, bias_field_oe, device_kind)`` gives that
device's output V(I) (V) and exact dV/dI (V/A) at the array's read current, with
no variability and no noise, over the same inputs as a device's calibration
sweep (:func:`mtjlab.training.neurons.calibration_inputs_a`, NOMINAL_POINTS of
them). It is calibrated with the devices' own
:func:`~mtjlab.experiments.calibration.fit_device` (eq. C1), so in z

    z_k = (I_k - I0) / g      a_k = (V_k - V0) / h      a'_k = V'(I_k) g / h

and a cubic Hermite spline through (z_k, a_k, a'_k) is tabulated on TABLE_POINTS
points over z in [-z_lim, z_lim] (z_lim the pre-activation limit, narrowed to
the sweep's z range if that is smaller), interpolated linearly between them.
Beyond the table z is clamped, as a device's input is: a(z) = a(clamp(z)),
a'(z) = 0.

Where the array has no datasheet (``nominal_sweep`` missing or None: a replay,
a real bench) the activation is the ideal calibrated neuron of the layer's
kind: tanh for single junctions (a'(0) = 1, span +/-1: exactly the activation
mtjlab used before per-layer settings, not clamped), exp(-z^2/2) for double
junctions (clamped like the devices). The run's summary names which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from ..errors import MtjlabError
from ..experiments.calibration import DeviceCalibration, fit_device
from .network import HiddenActivation, tanh_activation

#: Points of the average device's sweep (free: a datasheet costs no lab time).
NOMINAL_POINTS = 257
#: Points of the tabulated activation over [-z_lim, z_lim].
TABLE_POINTS = 2001
#: The expected calibrated shape of each device kind where there is no datasheet.
KIND_SHAPES = {"single": "sigmoid", "double": "bump"}


@dataclass
class NominalActivation:
    """One hidden layer's nominal activation (see the module doc).

    ``name``: "tanh (no datasheet)", "gaussian (no datasheet)", "datasheet sigmoid" or
    "datasheet bump"; ``shape``: "sigmoid" or "bump"; ``table_z``/``table_a``/``table_da``:
    the tabulated curve (None for the closed forms); ``limit``: the clamp of the closed
    gaussian form.
    """

    name: str
    shape: str
    limit: float
    table_z: np.ndarray | None = None
    table_a: np.ndarray | None = None
    table_da: np.ndarray | None = None
    calibration: DeviceCalibration | None = None

    @property
    def is_tanh(self) -> bool:
        return self.table_z is None and self.shape == "sigmoid"

    def __call__(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """a(z) and a'(z), elementwise."""
        z = np.asarray(z, float)
        if self.is_tanh:
            a = np.tanh(z)
            return a, 1.0 - a * a
        if self.table_z is None:  # the ideal bump, clamped like a device
            zc = np.clip(z, -self.limit, self.limit)
            a = np.exp(-0.5 * zc * zc)
            return a, -zc * a * (np.abs(z) < self.limit)
        low, high = self.table_z[0], self.table_z[-1]
        zc = np.clip(z, low, high)
        inside = (z > low) & (z < high)
        return np.interp(zc, self.table_z, self.table_a), np.interp(zc, self.table_z, self.table_da) * inside


def nominal_activation(array: Any, inputs_a: np.ndarray, bias_field_oe: float | None, device_kind: str,
                       limit: float) -> NominalActivation:
    """The nominal activation of devices of ``device_kind`` at ``bias_field_oe`` (Oe), from the array's
    datasheet where it has one (``nominal_sweep``), else the kind's ideal form."""
    sweep = getattr(array, "nominal_sweep", None)
    result = sweep(np.asarray(inputs_a, float), float(bias_field_oe), device_kind) \
        if callable(sweep) and bias_field_oe is not None else None
    if result is None:
        if KIND_SHAPES.get(device_kind, "sigmoid") == "bump":
            return NominalActivation("gaussian (no datasheet)", "bump", float(limit))
        return NominalActivation("tanh (no datasheet)", "sigmoid", float(limit))
    output_v, slope_v_per_a = (np.asarray(x, float) for x in result)
    if output_v.shape != np.shape(inputs_a) or slope_v_per_a.shape != np.shape(inputs_a):
        raise MtjlabError(f"the array's nominal sweep gave {output_v.shape} outputs for {np.shape(inputs_a)} inputs")
    c = fit_device(inputs_a, output_v, slope_v_per_a,
                   f"(the datasheet's average {device_kind} junction at {bias_field_oe:g} Oe)")
    z = (np.asarray(inputs_a, float) - c.input_offset_a) / c.input_per_unit_a
    a = (output_v - c.output_offset_v) / c.output_per_unit_v
    da = slope_v_per_a * c.input_per_unit_a / c.output_per_unit_v
    order = np.argsort(z)
    spline = CubicHermiteSpline(z[order], a[order], da[order])
    low, high = max(-float(limit), float(z.min())), min(float(limit), float(z.max()))
    table_z = np.linspace(low, high, TABLE_POINTS)
    return NominalActivation(f"datasheet {c.shape}", c.shape, float(limit), table_z, spline(table_z),
                             spline(table_z, 1), c)


class NominalActivations:
    """Every hidden layer's nominal activation, and the software network that uses them."""

    def __init__(self, layers: Sequence[NominalActivation]) -> None:
        self.layers = list(layers)

    @classmethod
    def tanh(cls, n_layers: int, limit: float = 1.25) -> "NominalActivations":
        """Every layer tanh: the activation of runs before per-layer settings (and of arrays with no datasheet)."""
        return cls([NominalActivation("tanh (no datasheet)", "sigmoid", float(limit)) for _ in range(n_layers)])

    @property
    def all_tanh(self) -> bool:
        return all(layer.is_tanh for layer in self.layers)

    def derivative(self, layer: int, z: np.ndarray, limit: float) -> np.ndarray:
        """The nominal a'(z) inside the pre-activation limit ``limit`` (0 beyond, where devices are clipped)."""
        if self.layers[layer].is_tanh:
            return (1.0 - np.tanh(z) ** 2) * (np.abs(z) < limit)
        return self.layers[layer](z)[1] * (np.abs(z) < limit)

    @property
    def software(self) -> HiddenActivation:
        """The software network's activation ``f(layer, z) -> (a, a', a')``: tanh_activation itself when
        every layer is tanh (so such runs are bit for bit what they were)."""
        if self.all_tanh:
            return tanh_activation

        def activation(layer: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            a, da = self.layers[layer](z)
            return a, da, da
        return activation

    def label(self) -> str:
        """A short name for tables and figures: "tanh", "sigmoid", "bump" or "per-layer"."""
        names = {("tanh" if x.is_tanh else x.shape) for x in self.layers}
        return names.pop() if len(names) == 1 else "per-layer"

    def describe(self) -> str:
        """What summary.json says: one name, or each layer's."""
        names = [x.name for x in self.layers]
        if len(set(names)) == 1:
            return names[0]
        return ", ".join(f"layer {n + 1}: {name}" for n, name in enumerate(names))


__all__ = ["NominalActivation", "NominalActivations", "nominal_activation"]
