"""Calibration: per-device maps that make junctions with different responses comparable neurons.

Each live device's input is swept at the bias field; from its activation V(I)
and lock-in derivative V'(I) :func:`fit_device` first classifies the response,
then fits the map that suits its shape. Every calibration maps a neuron's
pre-activation z and normalised activation a to and from the device as

    I = I0 + z * g        a = (V - V0) / h        da/dz = V'(I) * g / h     (C1)

**Shape.** The sweep's scatter is the robust scatter of neighbouring points,
sigma = 1.4826 median|V[k-1] - 2 V[k] + V[k+1]| / sqrt(6) (white noise of
standard deviation sigma gives second differences of standard deviation
sigma sqrt(6)). An interior extremum counts only when it stands above (a peak)
or below (a dip) *both* ends of the sweep by more than
tol = max(8 sigma, 5 % of the output's span); a sign change of V' that the
output does not support this way is noise. Then:

- no such extremum: **sigmoid** (monotonic), unless the output spans less
  than 10 sigma (flat: refused);
- exactly one, standing above (below) the far end by less than half the
  output's full rise: a **sigmoid** whose tail turns back (a bump returns to
  its baseline on both sides), accepted only where the turn lies at least one
  unit of z from its working point, so that the response is monotonic over
  |z| < 1;
- exactly one, a peak or a dip, with the output falling monotonically (within
  tol) on both sides, on each side by at least half as much as on the other,
  and through half its height on each side: **bump** (its tails may sit on a
  sloping background: then a is about +/-(difference of the ends)/2h there);
- anything else (a peak and a dip, a second turning point, an extremum within
  10 % of the sweep's width of either end or whose half height lies beyond the sweep, a peak
  smaller than 10 sigma) is refused with :class:`CalibrationShapeError`, one
  line naming the device and what to change (the layer's bias field, the sweep).

**Sigmoid** (today's fit, unchanged): the working point I0 where |V'| peaks
(refined by a parabola through the three largest samples of V'), the output
there V0 = V(I0) and the slope s = V'(I0), and the half-span
h = (max V - min V)/2; g = h / s, so that da/dz = 1 at z = 0 and a spans
about +/- 1, whatever the device's R_P, TMR, Hk or field-line coupling.

**Bump**: I0 at the extremum, refined by the vertex of a parabola through the
output at the extreme sample and its two neighbours; the baseline V0 is the
mean of the sweep's two end outputs, and the scale h = V(I0) - V0 (the
parabola's value at its vertex; negative for a dip), so a = 1 at the top and
about 0 at the far tails. The input scale is g = HWHM / sqrt(2 ln 2), with
HWHM half the distance between the two inputs (linear interpolation) where V
crosses V0 + h/2: a Gaussian V = V0 + A exp(-(I - Ic)^2 / 2 w^2) calibrates to
I0 = Ic, h = A, g = w and a(z) = exp(-z^2/2) exactly; any bump matches
exp(-z^2/2) near its top and at its half height.

The calibration file (YAML, written atomically) is what the trainer reads; it
stores each device's shape (files without it are sigmoids).
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pymeasure.experiment import FloatParameter, IntegerParameter

from ..errors import DataFileError, MtjlabError
from ..safe_files import CALIBRATION_MAX_BYTES
from ..instruments.bench_array import BenchNeuronArray
from .base import BenchProcedure


#: The shapes a calibrated response may have.
SHAPES = ("sigmoid", "bump")
#: The four numbers of a calibration (the map C1), in order.
NUMBER_FIELDS = ("input_offset_a", "input_per_unit_a", "output_offset_v", "output_per_unit_v")


#: A response that turns back by less than this fraction of its span is a sigmoid with a shallow tail ...
SIGMOID_TURN_MAX = 0.5
#: ... provided it turns this many units of z (or more) away from its working point.
SIGMOID_TURN_MIN_Z = 1.0
#: An extremum closer than this fraction of the sweep's width to either end is at its edge.
EDGE_FRACTION = 0.1


class CalibrationShapeError(MtjlabError):
    """A device's sweep is neither a sigmoid nor a single bump (or too flat against its noise)."""


@dataclass(frozen=True)
class DeviceCalibration:
    """z -> I = input_offset_a + z * input_per_unit_a;  V -> a = (V - output_offset_v) / output_per_unit_v.

    ``shape``: "sigmoid" (monotonic response, a'(0) = 1) or "bump" (a = 1 at the
    extremum, about 0 at the tails; ``output_per_unit_v`` is negative for a dip).
    """

    input_offset_a: float
    input_per_unit_a: float
    output_offset_v: float
    output_per_unit_v: float
    shape: str = "sigmoid"

    def numbers(self) -> tuple[float, float, float, float]:
        """The four numbers of the map (eq. C1), without the shape."""
        return (self.input_offset_a, self.input_per_unit_a, self.output_offset_v, self.output_per_unit_v)

    def input_for(self, pre_activation: np.ndarray) -> np.ndarray:
        return self.input_offset_a + np.asarray(pre_activation) * self.input_per_unit_a

    def activation_of(self, output_v: np.ndarray) -> np.ndarray:
        return (np.asarray(output_v) - self.output_offset_v) / self.output_per_unit_v


def fit_device(input_a: np.ndarray, output_v: np.ndarray, derivative_v_per_a: np.ndarray,
               device: str = "the device") -> DeviceCalibration:
    """The calibration of one device from its sweep (see the module doc).

    Raises :class:`CalibrationShapeError` (one line naming ``device``) for a sweep
    that is neither a sigmoid nor a single bump.
    """
    order = np.argsort(input_a)
    x, v, dv = (np.asarray(a, float)[order] for a in (input_a, output_v, derivative_v_per_a))
    shape, turn = classify_sweep(x, v, device)
    if shape == "bump":
        return _fit_bump(x, v, turn, device)
    k = int(np.clip(np.argmax(np.abs(dv)), 1, x.size - 2))
    (a2, a1, a0) = np.polyfit(x[k - 1:k + 2], dv[k - 1:k + 2], 2)
    i0 = float(np.clip(-a1 / (2 * a2), x[k - 1], x[k + 1])) if a2 != 0 else float(x[k])
    slope = float(np.polyval((a2, a1, a0), i0))
    half_span = float(np.ptp(v)) / 2.0
    calibration = DeviceCalibration(i0, half_span / slope, float(np.interp(i0, x, v)), half_span)
    if turn >= 0 and not abs(x[turn] - i0) >= SIGMOID_TURN_MIN_Z * abs(calibration.input_per_unit_a):
        raise CalibrationShapeError(
            f"device {device}: its response turns back at {x[turn] * 1e3:.3g} mA, within {SIGMOID_TURN_MIN_Z:g} "
            f"unit of z of its working point at {i0 * 1e3:.3g} mA (neither a sigmoid nor a bump); change the "
            "layer's bias field (or its device_kind) so that its devices respond as a sigmoid or one bump")
    return calibration


def sweep_scatter_v(output_v: np.ndarray) -> float:
    """Robust scatter (V) of neighbouring points of a sweep, from its second differences."""
    v = np.asarray(output_v, float)
    if v.size < 3:
        return 0.0
    second = v[:-2] - 2.0 * v[1:-1] + v[2:]
    return float(1.4826 * np.median(np.abs(second)) / math.sqrt(6.0))


def classify_sweep(x: np.ndarray, v: np.ndarray, device: str = "the device") -> tuple[str, int]:
    """``("sigmoid", -1)``, ``("sigmoid", k)`` (a tail turning back at sample k by less than
    SIGMOID_TURN_MAX of the output's span) or ``("bump", k)`` (k: the extreme sample) of a
    sweep sorted by input; CalibrationShapeError (one line) for anything else (see the module doc)."""
    hint = "; change the layer's bias field (or its device_kind) so that its devices respond as a sigmoid or one bump"
    if v.size < 5 or not np.all(np.isfinite(v)):
        raise CalibrationShapeError(f"device {device}: its calibration sweep has fewer than 5 finite points")
    sigma = sweep_scatter_v(v)
    span = float(np.ptp(v))
    floor = 1e-9 * float(np.max(np.abs(v)))  # round-off of a noiseless sweep
    if span <= max(10.0 * sigma, floor):
        raise CalibrationShapeError(
            f"device {device}: its response is flat (its output spans {span:.3g} V, "
            f"{span / sigma if sigma > 0 else 0:.1f} times the scatter of neighbouring points){hint}")
    tol = max(8.0 * sigma, 0.05 * span, floor)
    ends_high, ends_low = max(v[0], v[-1]), min(v[0], v[-1])
    peak, dip = float(np.max(v) - ends_high), float(ends_low - np.min(v))
    if peak <= tol and dip <= tol:
        return "sigmoid", -1
    if peak > tol and dip > tol:
        raise CalibrationShapeError(
            f"device {device}: its response has a peak at {x[np.argmax(v)] * 1e3:.3g} mA and a dip at "
            f"{x[np.argmin(v)] * 1e3:.3g} mA (two turning points beyond noise){hint}")
    sign = 1.0 if peak > tol else -1.0
    u = sign * v  # a peak, whatever the sign
    k = int(np.argmax(u))
    for side, part in (("left", u[k::-1]), ("right", u[k:])):
        rise = part - np.minimum.accumulate(part)
        if np.max(rise) > tol:
            j = int(np.argmax(rise))
            where = x[k - j] if side == "left" else x[k + j]
            raise CalibrationShapeError(
                f"device {device}: its response turns again at {where * 1e3:.3g} mA, {side} of its "
                f"{'peak' if sign > 0 else 'dip'} at {x[k] * 1e3:.3g} mA (two or more turning points beyond noise){hint}")
    if k <= 1 or k >= x.size - 2 or min(x[k] - x[0], x[-1] - x[k]) < EDGE_FRACTION * (x[-1] - x[0]):
        raise CalibrationShapeError(
            f"device {device}: its {'peak' if sign > 0 else 'dip'} at {x[k] * 1e3:.3g} mA lies at the edge of "
            f"the sweep ({x[0] * 1e3:.3g} to {x[-1] * 1e3:.3g} mA){hint}")
    if sign * (v[k] - (ends_high if sign > 0 else ends_low)) < SIGMOID_TURN_MAX * (u[k] - min(u[0], u[-1])):
        return "sigmoid", k  # a sigmoid whose tail turns back; fit_device checks where
    base = (u[0] + u[-1]) / 2.0  # each side falls by at least half as much as the other (else a sigmoid, above)
    half = base + (u[k] - base) / 2.0
    for side, part in (("left", u[:k]), ("right", u[k + 1:])):
        if not np.any(part < half):
            raise CalibrationShapeError(
                f"device {device}: its {'peak' if sign > 0 else 'dip'} at {x[k] * 1e3:.3g} mA does not fall to "
                f"half its height on the {side} within the sweep (extremum too near the sweep's edge){hint}")
    if u[k] - base < 10.0 * sigma:
        raise CalibrationShapeError(
            f"device {device}: its {'peak' if sign > 0 else 'dip'} stands only {(u[k] - base) / sigma:.1f} times "
            f"above the scatter of neighbouring points (too small against the noise){hint}")
    return "bump", k


def _fit_bump(x: np.ndarray, v: np.ndarray, k: int, device: str) -> DeviceCalibration:
    """The bump map (module doc): I0 and V(I0) from a parabola through the extreme sample and its
    neighbours, V0 from the sweep's ends, g from the half width at half maximum."""
    (c2, c1, c0) = np.polyfit(x[k - 1:k + 2], v[k - 1:k + 2], 2)
    i0 = float(np.clip(-c1 / (2 * c2), x[k - 1], x[k + 1])) if c2 != 0 else float(x[k])
    top = float(np.polyval((c2, c1, c0), i0)) if c2 != 0 else float(v[k])
    base = float((v[0] + v[-1]) / 2.0)
    height = top - base
    u = np.sign(height) * (v - base) / abs(height)  # 1 at the top, ~0 at the tails
    left = np.flatnonzero(u[:k] < 0.5)[-1]  # last sample below half height, left of the top
    right = k + 1 + np.flatnonzero(u[k + 1:] < 0.5)[0]
    x_left = x[left] + (0.5 - u[left]) * (x[left + 1] - x[left]) / (u[left + 1] - u[left])
    x_right = x[right - 1] + (u[right - 1] - 0.5) * (x[right] - x[right - 1]) / (u[right - 1] - u[right])
    hwhm = (x_right - x_left) / 2.0
    if not hwhm > 0:
        raise CalibrationShapeError(f"device {device}: its bump has no measurable width")
    return DeviceCalibration(i0, float(hwhm / math.sqrt(2.0 * math.log(2.0))), base, height, "bump")


def fit_calibration(data: pd.DataFrame) -> tuple[dict[str, DeviceCalibration], list[str]]:
    """Per-device calibrations of a calibration sweep, and the dead devices."""
    calibrations, dead = {}, []
    for device, sweep in data.groupby("Device", sort=False):
        if sweep["Dead"].max() > 0 or len(sweep) < 3:
            dead.append(str(device))
            continue
        calibrations[str(device)] = fit_device(sweep["Input current (A)"].to_numpy(),
                                               sweep["Output voltage (V)"].to_numpy(),
                                               sweep["Derivative (V/A)"].to_numpy(), str(device))
    return calibrations, dead


def write_calibration(path: Path, calibrations: dict[str, DeviceCalibration], dead: list[str],
                      bench_name: str, bias_field_oe: float) -> None:
    """Write the calibration file atomically (a temporary file renamed into place)."""
    path = Path(path)
    if path.exists():
        raise DataFileError(f"{path}: already exists; choose another name (nothing was overwritten)")
    document = {"kind": "calibration", "bench": bench_name, "bias_field_oe": float(bias_field_oe),
                "devices": {d: asdict(c) for d, c in calibrations.items()}, "dead": list(dead)}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".calibration-", suffix=".yaml")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        yaml.safe_dump(document, stream, sort_keys=False)
    os.replace(temporary, path)


def load_calibration(path: Path) -> tuple[dict[str, DeviceCalibration], list[str], float]:
    """``(calibrations, dead, bias_field_oe)`` of a calibration file; DataFileError in one line.

    The file must be a regular UTF-8 file within CALIBRATION_MAX_BYTES, and every
    number finite: the messages name the file and the field (``devices.r0c1.input_per_unit_a``).
    """
    from ..config.loading import read_yaml

    path = Path(path)
    document = read_yaml(path, what="a calibration file", max_bytes=CALIBRATION_MAX_BYTES,
                         error_class=DataFileError)
    if not isinstance(document, dict) or document.get("kind") != "calibration":
        raise DataFileError(f"{path}: not a calibration file (kind: calibration)")
    devices = document.get("devices")
    if not isinstance(devices, dict):
        raise DataFileError(f"{path}: devices: must be a mapping of device ids to calibrations")
    fields = list(NUMBER_FIELDS)
    calibrations = {}
    for device, values in devices.items():
        if not isinstance(values, dict) or sorted(set(values) - {"shape"}) != sorted(fields):
            raise DataFileError(f"{path}: devices.{device}: must have exactly the fields {', '.join(fields)} "
                                "(and optionally shape)")
        shape = values.get("shape", "sigmoid")  # files written before shapes existed hold sigmoids
        if shape not in SHAPES:
            raise DataFileError(f"{path}: devices.{device}.shape: must be sigmoid or bump "
                                f"(got {str(shape)[:40]})")
        numbers = {k: _finite(path, f"devices.{device}.{k}", values[k]) for k in fields}
        if numbers["input_per_unit_a"] == 0 or (numbers["output_per_unit_v"] == 0 if shape == "bump"
                                                else numbers["output_per_unit_v"] <= 0):
            raise DataFileError(f"{path}: devices.{device}: input_per_unit_a must not be 0 and "
                                + ("output_per_unit_v must not be 0" if shape == "bump"
                                   else "output_per_unit_v must be > 0"))
        calibrations[str(device)] = DeviceCalibration(**numbers, shape=str(shape))
    dead = document.get("dead", [])
    if not isinstance(dead, list) or not all(isinstance(d, str) for d in dead):
        raise DataFileError(f"{path}: dead: must be a list of device ids")
    return calibrations, list(dead), _finite(path, "bias_field_oe", document.get("bias_field_oe"))


def _finite(path: Path, field: str, value: object) -> float:
    """``value`` as a float: a number (not true/false), finite and within +/-1e30."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not abs(number) <= 1e30:
        raise DataFileError(f"{path}: {field}: must be a finite number (got {str(value)[:40]})")
    return number


class CalibrationProcedure(BenchProcedure):
    """Input sweeps of every live device at the bias field, for per-device calibration."""

    input_min_a = FloatParameter("Input start", units="A", default=-0.008)
    input_max_a = FloatParameter("Input stop", units="A", default=0.008)
    points = IntegerParameter("Points per device", default=17, minimum=5, maximum=10001)
    bias_field_oe = FloatParameter("Bias field", units="Oe", default=20.0)
    read_current_a = FloatParameter("Read current", units="A", default=1e-4)
    modulation_amplitude_a = FloatParameter("Modulation amplitude (peak)", units="A", default=2e-4)

    TEXT_COLUMNS = ("Device",)
    DATA_COLUMNS = ["Device", "Input current (A)", "Output voltage (V)", "Derivative (V/A)", "Dead"]

    def execute(self) -> None:
        bench = self.bench
        array = BenchNeuronArray(bench, read_current_a=self.read_current_a,
                                 modulation_amplitude_a=self.modulation_amplitude_a, bias_field_oe=self.bias_field_oe)
        inputs = np.linspace(self.input_min_a, self.input_max_a, int(self.points))
        bench.limits.check_input_current(float(np.max(np.abs(inputs))), self.modulation_amplitude_a)
        array.prepare()
        devices = [d for d in bench.config.chip.ids() if d not in bench.config.chip.known_dead]
        for n, device in enumerate(devices):
            for k, input_a in enumerate(inputs if n % 2 == 0 else inputs[::-1]):
                if self.should_stop():
                    return
                point = array.measure_point(device, float(input_a))
                self.emit("results", {"Device": device, "Input current (A)": float(input_a),
                                      "Output voltage (V)": point.output_v,
                                      "Derivative (V/A)": point.derivative_v_per_a, "Dead": int(point.dead)})
                if point.dead:
                    break
            bench.set_input_current(0.0)
            self.emit("progress", 100.0 * (n + 1) / len(devices))
