"""The sweeps the ``mtjlab sweep`` command knows: procedure, summary and figure of each.

A summary turns a recorded sweep (a pymeasure Results DataFrame) into the few
lines a physicist wants on one screen; a figure is written beside the data
file. Both work on recorded data alone, so replaying a file gives the same.
A summary copes with any number of points (a stopped sweep, a short one, one
branch or state only): what the data cannot give is named as not extracted,
with the reason, and never raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .activation import ActivationMapProcedure
from .calibration import CalibrationProcedure, fit_calibration, write_calibration
from .derivative_check import DerivativeCheckProcedure, assess, measured_error, numerical_derivative
from .iv import IVProcedure, fit_tmr, parallel_resistance
from .rh_loop import RHLoopProcedure, analyse_rh
from .survey import ArraySurveyProcedure, plot_survey, survey_summary


def _not_extracted(what: str, why: Exception | str) -> str:
    """``TMR0: not extracted (needs 3 antiparallel points, got 2)``."""
    return f"{what}: not extracted ({' '.join(str(why).split())})"


def _activation_summary(data: pd.DataFrame, procedure) -> list[str]:
    lines = []
    for field_oe, sweep in data.groupby("Bias field (Oe)"):
        output = sweep["Output voltage (V)"].to_numpy(float)
        derivative = np.abs(sweep["Derivative (V/A)"].to_numpy(float))
        output, derivative = output[np.isfinite(output)], derivative[np.isfinite(derivative)]
        if output.size < 2 or derivative.size == 0:
            lines.append(_not_extracted(f"bias {field_oe:g} Oe", f"{len(sweep)} point{'s' if len(sweep) != 1 else ''}"
                                        ", an output span needs 2"))
            continue
        lines.append(f"bias {field_oe:g} Oe: output span {1e3 * np.ptp(output):.2f} mV, "
                     f"peak |dV/dI| {derivative.max():.3g} V/A, {_shape(sweep)} ({len(sweep)} points)")
    return lines


def _shape(sweep: pd.DataFrame) -> str:
    """The response's shape as the calibration would see it: a sigmoid, a bump (where), or why neither."""
    from .calibration import CalibrationShapeError, classify_sweep

    ordered = sweep.sort_values("Input current (A)")
    x = ordered["Input current (A)"].to_numpy(float)
    v = ordered["Output voltage (V)"].to_numpy(float)
    try:
        shape, k = classify_sweep(x, v)
    except CalibrationShapeError as exc:
        reason = exc.one_line().split(": ", 1)[-1].split(";")[0]
        return f"neither sigmoid nor bump ({reason})"
    if shape == "bump":
        return f"bump ({'peak' if v[k] > (v[0] + v[-1]) / 2 else 'dip'} at {1e3 * x[k]:.2g} mA)"
    return "sigmoid"


def _derivative_summary(data: pd.DataFrame, procedure) -> list[str]:
    try:
        result = assess(data["Input current (A)"].to_numpy(), data["Output voltage (V)"].to_numpy(),
                        data["Derivative (V/A)"].to_numpy(), float(procedure.modulation_amplitude_a))
    except ValueError as exc:
        return [_not_extracted("lock-in vs DC slope", exc)]
    lines = [
        f"lock-in vs DC slope: median {100 * result.median_relative_error:.2f} %, worst "
        f"{100 * result.worst_relative_error:.2f} %, correlation {result.correlation:.5f} "
        f"({result.compared_points} points)",
    ]
    plan = getattr(procedure, "lockin_plan", None)
    if plan is None:
        lines.append(f"modulation aperture {100 * result.aperture_fraction:.1f} % of the slope's width: "
                     f"{result.verdict}")
        return lines
    lines.append(f"settings from the noise budget: {plan.frequency_hz:g} Hz, tau {plan.time_constant_s * 1e6:g} us "
                 f"({plan.slope_db_per_oct} dB/oct), wait {plan.settle_s * 1e3:.3g} ms, modulation "
                 f"{plan.modulation_peak_a * 1e3:.3g} mA peak")
    lines.append(f"predicted error {100 * plan.predicted_error:.2f} % of the peak (aperture "
                 f"{100 * plan.aperture_error:.2f}, noise {100 * plan.noise_error:.2f}, ripple "
                 f"{100 * plan.ripple_error:.2f}, settling {100 * plan.settling_error:.2f} %; asked "
                 f"{100 * plan.tolerance:g} %)")
    truth = data["True derivative (V/A)"].to_numpy(float) if "True derivative (V/A)" in data else None
    if truth is not None and np.isfinite(truth).any():
        reference, against = truth, "the true dV/dI"
    else:
        reference, against = numerical_derivative(data["Input current (A)"].to_numpy(float),
                                                  data["Output voltage (V)"].to_numpy(float)), "the DC slope"
    try:
        rms, worst = measured_error(data["Derivative (V/A)"].to_numpy(float), reference)
    except ValueError as exc:
        lines.append(_not_extracted("measured error", exc))
        return lines
    verdict = "within" if rms <= plan.tolerance else "beyond"
    lines.append(f"measured error against {against}: rms {100 * rms:.2f} %, worst {100 * worst:.2f} % of the peak "
                 f"({verdict} the asked {100 * plan.tolerance:g} %)")
    return lines


def _iv_summary(data: pd.DataFrame, procedure) -> list[str]:
    columns = (data["State"], data["Read current (A)"], data["Voltage (V)"], data["In compliance"])
    counted = {state: int(((data["State"] == state) & (data["In compliance"] == 0)).sum()) for state in ("P", "AP")}
    try:
        resistance_p = parallel_resistance(*columns)
    except ValueError as exc:
        return [_not_extracted("R_P", exc), "TMR0 and half-bias voltage: not extracted (they need R_P)"]
    lines = [f"R_P {resistance_p:.2f} ohm ({counted['P']} parallel points out of compliance)"]
    try:
        tmr0, half_bias_v = fit_tmr(*columns, resistance_p)
    except ValueError as exc:
        return lines + [_not_extracted("TMR0 and half-bias voltage", exc)]
    return lines + [f"TMR0 {100 * tmr0:.1f} %, half-bias voltage {half_bias_v:.3f} V "
                    f"({counted['AP']} antiparallel points out of compliance)"]


def _rh_summary(data: pd.DataFrame, procedure) -> list[str]:
    try:
        s = analyse_rh(data)
    except ValueError as exc:
        return [_not_extracted("R-H loop", exc)]
    snapshot = json.loads(procedure.bench_snapshot) if getattr(procedure, "bench_snapshot", None) else {}
    angle = snapshot.get("calibration", {}).get("bias_field_angle_deg") if isinstance(snapshot, dict) else None
    along_reference = angle is not None and abs(abs(float(angle)) % 180 - 90) < 10
    if s.centre_oe is not None:
        transitions = (f"transitions {s.up_transition_oe:+.2f} Oe (up), {s.down_transition_oe:+.2f} Oe (down): "
                       f"centre {s.centre_oe:+.2f} Oe, coercive {s.coercive_oe:.2f} Oe")
    else:
        found = [f"{s.up_transition_oe:+.2f} Oe (up)" if s.up_transition_oe is not None else "",
                 f"{s.down_transition_oe:+.2f} Oe (down)" if s.down_transition_oe is not None else ""]
        shown = ", ".join(f for f in found if f)
        transitions = (f"transition {shown}; " if shown else "") + _not_extracted(
            "centre and coercive field", "; ".join(s.missing))
    if along_reference:  # a sensor's own geometry: the loop saturates parallel and antiparallel
        hk = (f"slope {s.slope_s_per_oe:.3g} S/Oe: Hk {s.hard_axis_hk_oe:.1f} Oe" if s.hard_axis_hk_oe is not None
              else _not_extracted("Hk", "no transition to take the slope at"))
        return [f"R_P {s.resistance_p_ohm:.2f} ohm, R_AP {s.resistance_ap_ohm:.2f} ohm, TMR {100 * s.tmr:.1f} % "
                f"at the read bias", transitions + (" (centre = -offset field)" if s.centre_oe is not None else ""), hk]
    where = f"at {angle:g} deg to the easy axis" if isinstance(angle, (int, float)) else "at an unrecorded angle"
    return [f"coil {where}, not along the reference: R low {s.resistance_p_ohm:.2f} ohm, "
            f"high {s.resistance_ap_ohm:.2f} ohm (contrast {100 * s.tmr:.1f} %, not the TMR)", transitions]


def _plot_sweep(data: pd.DataFrame, path: Path, x: str, ys: list[str], group: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(ys), 1, figsize=(6, 2.6 * len(ys)), sharex=True, squeeze=False)
    groups = data.groupby(group) if group else [("", data)]
    for name, part in groups:
        part = part.sort_values(x)
        for ax, y in zip(axes[:, 0], ys):
            ax.plot(part[x], part[y], ".-", label=f"{group}: {name}" if group else None)
            ax.set_ylabel(y)
    axes[-1, 0].set_xlabel(x)
    if group:
        axes[0, 0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _calibration_summary(data: pd.DataFrame, procedure) -> list[str]:
    # a device whose sweep was cut short is incomplete, not dead (fit_calibration lists both as dead)
    counts = data.groupby("Device", sort=False).agg(points=("Dead", "size"), dead=("Dead", "max"))
    expected = int(getattr(procedure, "points", 0) or 0)
    short = [str(d) for d, row in counts.iterrows() if not row["dead"] and row["points"] < max(expected, 3)]
    try:
        calibrations, dead = fit_calibration(data[~data["Device"].isin(short)])
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        return [_not_extracted("calibration", exc)]
    gains = np.array([c.output_per_unit_v / c.input_per_unit_a for c in calibrations.values()])
    gains = gains[np.isfinite(gains)]
    lines = [f"{len(calibrations)} devices calibrated" + (f"; dead: {', '.join(dead)}" if dead else "")
             + (f"; incomplete (sweep cut short): {', '.join(short)}" if short else "")]
    if gains.size and np.mean(gains):
        lines.append(f"raw small-signal slopes {gains.min():.3g}..{gains.max():.3g} V/A "
                     f"(spread {100 * np.std(gains) / abs(np.mean(gains)):.1f} %), each mapped to unit gain at z = 0")
    return lines


def _write_calibration_file(data: pd.DataFrame, procedure, folder: Path) -> list[str]:
    calibrations, dead = fit_calibration(data)
    path = folder / "calibration.yaml"
    write_calibration(path, calibrations, dead, procedure.bench.config.name, float(procedure.bias_field_oe))
    return [f"calibration: {path}"]


@dataclass(frozen=True)
class SweepKind:
    procedure: type
    summarise: Callable[[pd.DataFrame, object], list[str]]
    plot: Callable[[pd.DataFrame, Path], None]
    #: Files made from a fresh measurement (not on replay): (data, procedure, folder) -> lines.
    products: Callable[[pd.DataFrame, object, Path], list[str]] | None = None
    #: The names of those files in the folder (checked to be free before measuring).
    product_names: tuple[str, ...] = ()


SWEEPS: dict[str, SweepKind] = {
    "rh": SweepKind(RHLoopProcedure, _rh_summary, lambda d, p: _plot_sweep(
        d, p, "Field reading (Oe)", ["Resistance (ohm)"], "Branch")),
    "activation": SweepKind(ActivationMapProcedure, _activation_summary, lambda d, p: _plot_sweep(
        d, p, "Input current (A)", ["Output voltage (V)", "Derivative (V/A)"], "Bias field (Oe)")),
    "derivative": SweepKind(DerivativeCheckProcedure, _derivative_summary, lambda d, p: _plot_sweep(
        d, p, "Input current (A)", ["Output voltage (V)", "Derivative (V/A)"], None)),
    "survey": SweepKind(ArraySurveyProcedure, lambda d, p: survey_summary(d), plot_survey),
    "calibrate": SweepKind(CalibrationProcedure, _calibration_summary, lambda d, p: _plot_sweep(
        d, p, "Input current (A)", ["Output voltage (V)", "Derivative (V/A)"], "Device"), _write_calibration_file,
        ("calibration.yaml",)),
    "iv": SweepKind(IVProcedure, _iv_summary, lambda d, p: _plot_sweep(
        d, p, "Read current (A)", ["Voltage (V)", "Resistance (ohm)"], "State")),
}
