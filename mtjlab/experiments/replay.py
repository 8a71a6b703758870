"""Offline replay: recorded sweep files, checked, re-summarised, and a digital twin.

:func:`load_sweep` reads a pymeasure Results file written by one of mtjlab's
procedures and refuses, in one line naming the file and the problem, anything
that is not one: not a file, not a Results CSV, a header from another
procedure, missing or renamed (unit-changed) columns, no data, a truncated or
NaN-bearing row. Loading never executes content (pymeasure imports only the
procedure class named in the header, and only from ``mtjlab.experiments``).

:class:`ReplayNeuronArray` is the NeuronArray of recorded activation maps
(one device, several bias fields) and calibration sweeps (every device, one
bias field): per
device and recorded bias field, the output is the cubic Hermite interpolant
through the recorded outputs with the recorded lock-in derivatives as its
slopes, so it reproduces both exactly at the recorded inputs and is smooth
between them; the derivative is that interpolant's slope. Optionally the
recorded scatter (estimated from second differences, which a smooth curve
leaves near zero at this spacing) is re-injected as Gaussian noise.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.interpolate import CubicHermiteSpline

from ..errors import DataFileError, MtjlabError
from ..instruments.interfaces import NeuronMeasurement
from ..instruments.timing import MeasurementTiming
from .activation import ActivationMapProcedure
from .calibration import CalibrationProcedure

#: Recorded and requested bias fields closer than this are the same field (Oe).
FIELD_MATCH_OE = 0.5


def load_sweep(path: str | Path, expected: type | tuple[type, ...] | None = None):
    """``(procedure, data)`` of a recorded sweep; DataFileError on anything else."""
    from pymeasure.experiment import Results

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    try:
        head = path.read_text(encoding="utf-8", errors="strict")[:4096]
    except (UnicodeDecodeError, OSError) as exc:
        raise DataFileError(f"{path}: not a text file ({exc.__class__.__name__})") from None
    if not head.startswith("#Procedure: <mtjlab.experiments."):
        raise DataFileError(f"{path}: not an mtjlab sweep file (no '#Procedure: <mtjlab.experiments...>' header)")
    try:
        results = Results.load(str(path))
        procedure, data = results.procedure, results.data
    except Exception as exc:  # noqa: BLE001 - pymeasure and pandas raise many kinds
        raise DataFileError(f"{path}: unreadable sweep file ({' '.join(str(exc).split())[:120]})") from None
    if expected is not None and not isinstance(procedure, expected):
        wanted = " or ".join(e.__name__ for e in (expected if isinstance(expected, tuple) else (expected,)))
        raise DataFileError(f"{path}: holds a {type(procedure).__name__}, not a {wanted}")
    columns = list(type(procedure).DATA_COLUMNS)
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataFileError(f"{path}: missing column {missing[0]!r} (columns carry their units)")
    if data.empty:
        raise DataFileError(f"{path}: has no data rows")
    text = [c for c in columns if c in getattr(procedure, "TEXT_COLUMNS", ())]
    numeric = data[[c for c in columns if c not in text]].apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFileError(f"{path}: data row {row + 1} is truncated or not a number")
    return procedure, pd.concat([numeric, data[text]], axis=1)[columns]


def recorded_scatter(y: np.ndarray) -> float:
    """Noise sigma of samples of a smooth curve, from second differences (sigma^2 = var/6)."""
    if y.size < 4:
        return 0.0
    return float(np.std(np.diff(y, 2)) / math.sqrt(6.0))


@dataclass
class _Curve:
    spline: CubicHermiteSpline
    low_a: float
    high_a: float
    output_scatter_v: float
    derivative_scatter_v_per_a: float
    dead: bool


def _curve(path, device: str, field_oe: float, sweep: pd.DataFrame) -> _Curve:
    """The interpolant of one device's recorded sweep at one bias field."""
    sweep = sweep.sort_values("Input current (A)").drop_duplicates("Input current (A)")
    x = sweep["Input current (A)"].to_numpy()
    v, dv = sweep["Output voltage (V)"].to_numpy(), sweep["Derivative (V/A)"].to_numpy()
    dead = bool(sweep["Dead"].max() > 0)
    if x.size < 2 and not dead:
        raise DataFileError(f"{path}: {device} at {field_oe:g} Oe has fewer than 2 inputs to interpolate")
    spline = CubicHermiteSpline(x, v, dv) if x.size >= 2 and not dead else None
    return _Curve(spline, float(x.min()), float(x.max()), recorded_scatter(v), recorded_scatter(dv), dead)


class ReplayNeuronArray:
    """A NeuronArray of recorded devices (digital twin from activation maps)."""

    def __init__(self, curves: dict[tuple[str, float], _Curve], timing: MeasurementTiming,
                 noise: bool = False, seed: int = 0) -> None:
        self._curves = curves
        self.timing = timing
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self._fields = sorted({f for _, f in curves})
        self.bias_field_oe = self._fields[0]

    @classmethod
    def from_files(cls, paths: Sequence[str | Path], *, noise: bool = False, seed: int = 0) -> "ReplayNeuronArray":
        curves: dict[tuple[str, float], _Curve] = {}
        timing = MeasurementTiming()
        for path in paths:
            procedure, data = load_sweep(path, (ActivationMapProcedure, CalibrationProcedure))
            settings = json.loads(procedure.bench_snapshot).get("settings", {}) if procedure.bench_snapshot else {}
            timing = MeasurementTiming(
                nplc=settings.get("source_nplc", timing.nplc),
                lockin_time_constant_s=settings.get("lockin_time_constant_s", timing.lockin_time_constant_s),
                lockin_slope_db_per_oct=int(settings.get("lockin_slope_db_per_oct", timing.lockin_slope_db_per_oct)))
            if isinstance(procedure, CalibrationProcedure):  # every device, one bias field
                groups = ((str(d), float(procedure.bias_field_oe), part) for d, part in data.groupby("Device"))
            else:  # one device, several bias fields
                groups = ((procedure.device_id, float(f), part) for f, part in data.groupby("Bias field (Oe)"))
            for device, field_oe, sweep in groups:
                curves[(device, field_oe)] = _curve(path, device, field_oe, sweep)
        if not curves:
            raise DataFileError("no recorded activation maps or calibration sweeps to replay")
        return cls(curves, timing, noise, seed)

    # --------------------------------------------------------- NeuronArray API
    @property
    def device_ids(self) -> tuple[str, ...]:
        return tuple(sorted({d for d, _ in self._curves}))

    @property
    def dead_ids(self) -> frozenset[str]:
        return frozenset(d for (d, f), c in self._curves.items() if c.dead and f == self.bias_field_oe)

    @property
    def input_range_a(self) -> tuple[float, float]:
        live = [c for (d, f), c in self._curves.items() if f == self.bias_field_oe and not c.dead]
        return (max(c.low_a for c in live), min(c.high_a for c in live)) if live else (0.0, 0.0)

    def set_bias_field(self, field_oe: float) -> None:
        """Choose the recorded bias field (Oe) to replay; others were not measured."""
        nearest = min(self._fields, key=lambda f: abs(f - field_oe))
        if abs(nearest - field_oe) > FIELD_MATCH_OE:
            raise MtjlabError(f"bias field {field_oe:g} Oe was not recorded (recorded: "
                              f"{', '.join(f'{f:g}' for f in self._fields)} Oe)")
        self.bias_field_oe = nearest

    def measure(self, device_ids: Sequence[str], input_current_a: np.ndarray,
                derivative: bool = True) -> NeuronMeasurement:
        want_derivative = derivative
        ids = tuple(device_ids)
        inputs = np.asarray(input_current_a, float)
        if inputs.ndim == 1:
            inputs = np.broadcast_to(inputs, (len(ids), inputs.size))
        output, derivative = np.full(inputs.shape, np.nan), np.full(inputs.shape, np.nan)
        dead = np.zeros(len(ids), bool)
        for j, device in enumerate(ids):
            curve = self._curves.get((device, self.bias_field_oe))
            if curve is None:
                raise MtjlabError(f"device {device!r} was not recorded at {self.bias_field_oe:g} Oe")
            if curve.dead:
                dead[j] = True
                continue
            row = inputs[j]
            if row.min() < curve.low_a or row.max() > curve.high_a:
                raise MtjlabError(f"input current {row.min():.4g}..{row.max():.4g} A is outside what {device} "
                                  f"was recorded at ({curve.low_a:.4g}..{curve.high_a:.4g} A)")
            output[j], derivative[j] = curve.spline(row), curve.spline(row, 1)
            if self.noise:
                output[j] += curve.output_scatter_v * self.rng.standard_normal(row.size)
                derivative[j] += curve.derivative_scatter_v_per_a * self.rng.standard_normal(row.size)
        measured = int((~dead).sum())
        if not want_derivative:
            derivative[:] = np.nan
        return NeuronMeasurement(ids, np.array(inputs), output, derivative, dead,
                                 self.timing.measurement_time_s(measured, measured * inputs.shape[1],
                                                                lockin=want_derivative))
