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

import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.interpolate import CubicHermiteSpline

from ..errors import DataFileError, MtjlabError
from ..safe_files import SWEEP_MAX_BYTES, read_bytes
from ..instruments.interfaces import NeuronMeasurement
from ..instruments.timing import MeasurementTiming
from .activation import ActivationMapProcedure
from .calibration import CalibrationProcedure

#: Recorded and requested bias fields closer than this are the same field (Oe).
FIELD_MATCH_OE = 0.5
#: Largest magnitude of a recorded value. Every column is a physical reading (A, V,
#: V/A, ohm, Oe) or a flag, far below this; beyond it the file is damaged, and
#: squaring it in a fit or a spline would overflow.
SWEEP_VALUE_MAX_ABS = 1e30


def load_sweep(path: str | Path, expected: type | tuple[type, ...] | None = None):
    """``(procedure, data)`` of a recorded sweep; DataFileError on anything else.

    The file must be a regular UTF-8 file within SWEEP_MAX_BYTES; its header must
    name one of mtjlab's sweep procedures (nothing else is imported), its
    parameters and bench snapshot must be finite, and every data value must be a
    finite number within +/-SWEEP_VALUE_MAX_ABS (no procedure writes NaN or inf).
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise DataFileError(f"{path}: no such file")
    raw = read_bytes(path, what="a sweep file", max_bytes=SWEEP_MAX_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not a text file (not UTF-8 at byte {exc.start})") from None
    if "\x00" in text:
        raise DataFileError(f"{path}: not a text file (holds NUL bytes)")
    if not text.startswith("#Procedure: <mtjlab.experiments."):
        raise DataFileError(f"{path}: not an mtjlab sweep file (no '#Procedure: <mtjlab.experiments...>' header)")
    procedure = _procedure(path, text)
    if expected is not None and not isinstance(procedure, expected):
        wanted = " or ".join(e.__name__ for e in (expected if isinstance(expected, tuple) else (expected,)))
        raise DataFileError(f"{path}: holds a {type(procedure).__name__}, not a {wanted}")
    try:
        data = pd.read_csv(io.StringIO(text), comment="#")  # as pymeasure's Results reads it
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds
        raise DataFileError(f"{path}: unreadable sweep file ({' '.join(str(exc).split())[:120]})") from None
    columns = list(type(procedure).DATA_COLUMNS)
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataFileError(f"{path}: missing column {missing[0]!r} (columns carry their units)")
    if data.empty:
        raise DataFileError(f"{path}: has no data rows")
    text_columns = [c for c in columns if c in getattr(procedure, "TEXT_COLUMNS", ())]
    numeric = data[[c for c in columns if c not in text_columns]].apply(pd.to_numeric, errors="coerce")
    _check_values(path, numeric, data[text_columns])
    return procedure, pd.concat([numeric, data[text_columns]], axis=1)[columns]


def _procedure(path: Path, text: str):
    """The procedure named by the header, with its parameters; only mtjlab's sweep procedures."""
    from pymeasure.experiment import FloatParameter, Results

    from .catalog import SWEEPS

    header_lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith(Results.COMMENT):
            break
        header_lines.append(line.strip("\t\v\n\r\f"))
    match = re.match(r"#Procedure: <([A-Za-z0-9_.]+)>", header_lines[0])
    known = {f"{e.procedure.__module__}.{e.procedure.__name__}": e.procedure for e in SWEEPS.values()}
    if match is None or match[1] not in known:
        raise DataFileError(f"{path}: not an mtjlab sweep file (its header names no mtjlab sweep procedure)")
    try:
        procedure = Results.parse_header(Results.LINE_BREAK.join(header_lines), known[match[1]])
    except Exception as exc:  # noqa: BLE001 - pymeasure raises many kinds
        raise DataFileError(f"{path}: unreadable sweep file ({' '.join(str(exc).split())[:120]})") from None
    for parameter in procedure.parameter_objects().values():
        if isinstance(parameter, FloatParameter) and not math.isfinite(parameter.value):
            raise DataFileError(f"{path}: parameter {parameter.name!r} is not a finite number "
                                f"(got {parameter.value})")
    snapshot = getattr(procedure, "bench_snapshot", "")
    if snapshot:
        try:
            document = json.loads(snapshot, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise DataFileError(f"{path}: its bench snapshot (header 'Bench') is not a JSON object of settings")
    return procedure


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a finite number")


def _check_values(path: Path, numeric: pd.DataFrame, text: pd.DataFrame) -> None:
    """Refuse the first row (1-based, after the header) with an empty, non-numeric or non-finite value."""
    values = numeric.to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) <= SWEEP_VALUE_MAX_ABS)  # true for NaN and inf too
    empty_text = text.isna().to_numpy()
    if not bad.any() and not empty_text.any():
        return
    rows = [int(np.flatnonzero(mask.any(axis=1))[0]) for mask in (bad, empty_text) if mask.any()]
    row = min(rows)
    if empty_text[row].any():
        column = text.columns[int(np.argmax(empty_text[row]))]
        raise DataFileError(f"{path}: data row {row + 1}, column {column!r} is empty")
    col = int(np.argmax(bad[row]))
    column, value = numeric.columns[col], values[row, col]
    if math.isnan(value):
        raise DataFileError(f"{path}: data row {row + 1} is truncated or not a number (column {column!r})")
    raise DataFileError(f"{path}: data row {row + 1}, column {column!r}: not a finite number within "
                        f"+/-{SWEEP_VALUE_MAX_ABS:g} (got {value:g})")


def _setting(path: str | Path, settings: dict, key: str, default: float,
             choices: tuple[float, ...] | None = None) -> float:
    """A timing setting of a recording's bench snapshot: a finite number > 0 (the default if absent)."""
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise DataFileError(f"{path}: bench snapshot setting {key!r} must be a finite number > 0 "
                            f"(got {str(value)[:40]})")
    if choices is not None and value not in choices:
        raise DataFileError(f"{path}: bench snapshot setting {key!r} must be one of "
                            f"{', '.join(map(str, choices))} (got {value})")
    return float(value)


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
            settings = settings if isinstance(settings, dict) else {}
            timing = MeasurementTiming(
                nplc=_setting(path, settings, "source_nplc", timing.nplc),
                lockin_time_constant_s=_setting(path, settings, "lockin_time_constant_s",
                                                timing.lockin_time_constant_s),
                lockin_slope_db_per_oct=int(_setting(path, settings, "lockin_slope_db_per_oct",
                                                     timing.lockin_slope_db_per_oct, (6, 12, 18, 24))))
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
