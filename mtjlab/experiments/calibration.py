"""Calibration: per-device maps that make junctions with different responses comparable neurons.

Each live device's input is swept at the bias field; from its activation V(I)
and lock-in derivative V'(I) the calibration takes the working point I0 where
|V'| peaks (refined by a parabola through the three largest samples), the
output there V0 = V(I0) and the slope s = V'(I0), and the output's half-span
h = (max V - min V)/2. A neuron's pre-activation z and normalised activation a
then map to and from the device as

    I = I0 + z * (h / s)        a = (V - V0) / h

so that every calibrated neuron has da/dz = 1 at z = 0 and a span of about
+/- 1, whatever its R_P, TMR, Hk or field-line coupling. The calibration file
(YAML, written atomically) is what the trainer reads.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pymeasure.experiment import FloatParameter, IntegerParameter

from ..errors import DataFileError
from ..safe_files import CALIBRATION_MAX_BYTES
from ..instruments.bench_array import BenchNeuronArray
from .base import BenchProcedure


@dataclass(frozen=True)
class DeviceCalibration:
    """z -> I = input_offset_a + z * input_per_unit_a;  V -> a = (V - output_offset_v) / output_per_unit_v."""

    input_offset_a: float
    input_per_unit_a: float
    output_offset_v: float
    output_per_unit_v: float

    def input_for(self, pre_activation: np.ndarray) -> np.ndarray:
        return self.input_offset_a + np.asarray(pre_activation) * self.input_per_unit_a

    def activation_of(self, output_v: np.ndarray) -> np.ndarray:
        return (np.asarray(output_v) - self.output_offset_v) / self.output_per_unit_v


def fit_device(input_a: np.ndarray, output_v: np.ndarray, derivative_v_per_a: np.ndarray) -> DeviceCalibration:
    """The calibration of one device from its sweep (see the module doc)."""
    order = np.argsort(input_a)
    x, v, dv = (np.asarray(a, float)[order] for a in (input_a, output_v, derivative_v_per_a))
    k = int(np.clip(np.argmax(np.abs(dv)), 1, x.size - 2))
    (a2, a1, a0) = np.polyfit(x[k - 1:k + 2], dv[k - 1:k + 2], 2)
    i0 = float(np.clip(-a1 / (2 * a2), x[k - 1], x[k + 1])) if a2 != 0 else float(x[k])
    slope = float(np.polyval((a2, a1, a0), i0))
    half_span = float(np.ptp(v)) / 2.0
    return DeviceCalibration(i0, half_span / slope, float(np.interp(i0, x, v)), half_span)


def fit_calibration(data: pd.DataFrame) -> tuple[dict[str, DeviceCalibration], list[str]]:
    """Per-device calibrations of a calibration sweep, and the dead devices."""
    calibrations, dead = {}, []
    for device, sweep in data.groupby("Device", sort=False):
        if sweep["Dead"].max() > 0 or len(sweep) < 3:
            dead.append(str(device))
            continue
        calibrations[str(device)] = fit_device(sweep["Input current (A)"].to_numpy(),
                                               sweep["Output voltage (V)"].to_numpy(),
                                               sweep["Derivative (V/A)"].to_numpy())
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
    fields = [f.name for f in dataclasses.fields(DeviceCalibration)]
    calibrations = {}
    for device, values in devices.items():
        if not isinstance(values, dict) or sorted(values) != sorted(fields):
            raise DataFileError(f"{path}: devices.{device}: must have exactly the fields {', '.join(fields)}")
        numbers = {k: _finite(path, f"devices.{device}.{k}", values[k]) for k in fields}
        if numbers["input_per_unit_a"] == 0 or numbers["output_per_unit_v"] <= 0:
            raise DataFileError(f"{path}: devices.{device}: input_per_unit_a must not be 0 and "
                                "output_per_unit_v must be > 0")
        calibrations[str(device)] = DeviceCalibration(**numbers)
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
