"""The exhibits of docs/results.md: the study's own tables and figures, and two figures of the chips themselves.

:func:`study_section` draws the study's figures again with :mod:`mtjlab.studies.figures`
beside its tables. The chips' figures are measured on the simulated chips, not
taken from the study:

- :func:`activation_family_figure`: for each chip preset, the DC output of every
  live junction against its input current at the bench's bias field (the
  device-to-device variability the network must live with), the same curves
  after each junction's own calibration (eq. C1 of
  :mod:`mtjlab.experiments.calibration`) against the pre-activation z, where the
  network sees them, and what the calibration leaves of each one's departure
  from the datasheet's average junction (the software baseline's activation,
  drawn bold).
- :func:`derivative_figure`: for a few junctions, the lock-in (analogue
  finite-difference) derivative and the centred numeric difference of the DC
  output at I +/- h (what the ``numeric`` method measures), each against the
  junction's exact dV/dI, over the working range |z| <= the pre-activation limit.

Both measure the chips through :class:`~mtjlab.instruments.model_array.ModelNeuronArray`
with its noise, calibrate them with the trainer's own sweep
(:func:`mtjlab.training.neurons.calibrate`) and take the nominal curve from
:func:`mtjlab.training.activations.nominal_activation`, so the figures show the
curves a training run on that chip starts from.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mtjlab.config import TrainingConfig, load_bench
from mtjlab.experiments.calibration import CalibrationShapeError, DeviceCalibration, fit_device
from mtjlab.experiments.derivative_check import measured_error
from mtjlab.instruments.model_array import ModelNeuronArray
from mtjlab.studies import figures as study_figures
from mtjlab.studies.report import markdown_tables
from mtjlab.training.activations import NOMINAL_POINTS, NominalActivation, nominal_activation
from mtjlab.training.neurons import calibrate, calibration_inputs_a
from mtjlab.training.records import atomic_write_bytes
from mtjlab.training.settings import fitting_devices

_DPI = 110
#: Points of the dense DC sweep drawn for each junction (the calibration itself uses the trainer's 33).
CURVE_POINTS = 241
#: Points of the derivative comparison across the working range.
DERIVATIVE_POINTS = 49
#: What a training run takes when the study does not say otherwise (pre-activation limit, numeric step).
TRAINING_DEFAULTS = TrainingConfig(dataset="iris")


@dataclass
class CalibratedChip:
    """One simulated chip as a training run finds it: its single junctions calibrated at the bench's field."""

    preset: str
    chip_seed: int | None
    array: ModelNeuronArray
    bias_field_oe: float
    calibrations: dict[str, DeviceCalibration]
    nominal: NominalActivation
    dead: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)  # calibration refused: device -> one-line cause
    left_out: dict[str, str] = field(default_factory=dict)  # calibrated, but |z| <= limit leaves the safe range
    doubles: tuple[str, ...] = ()  # live double-reference junctions (not calibrated here)

    @property
    def label(self) -> str:
        seed = "its own seed" if self.chip_seed is None else f"chip seed {self.chip_seed}"
        return f"{self.preset} chip ({seed}), {self.bias_field_oe:g} Oe"


def calibrated_chip(preset: str, chip_seed: int | None, limit: float) -> CalibratedChip:
    """The preset's chip (drawn from ``chip_seed`` as a study run draws it) calibrated as training does."""
    array = ModelNeuronArray.from_bench(load_bench(preset).with_chip_seed(chip_seed))
    kinds = array.device_kinds
    singles = [d for d in array.device_ids if kinds.get(d, "single") == "single"]
    sweep = calibrate(array, devices=singles)
    calibrations, refused = {}, {}
    for j, device in enumerate(sweep.devices):  # one by one: a refused junction is shown, not fatal to the page
        if device in sweep.dead:
            continue
        try:
            calibrations[device] = fit_device(sweep.input_a[j], sweep.output_v[j], sweep.derivative_v_per_a[j], device)
        except CalibrationShapeError as exc:
            refused[device] = exc.one_line()
    _, left_out, _ = fitting_devices(calibrations, array.input_range_a, limit)
    field_oe = float(array.chip.bias_field_oe)
    nominal = nominal_activation(array, calibration_inputs_a(array, NOMINAL_POINTS), field_oe, "single", limit)
    doubles = tuple(d for d in array.device_ids if kinds.get(d) == "double" and d not in array.dead_ids)
    return CalibratedChip(preset, chip_seed, array, field_oe, calibrations, nominal, tuple(sorted(sweep.dead)),
                          refused, left_out, doubles)  # sweep.dead: found dead, and known dead among its devices


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)  # the figure's own canvas: no pyplot state
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


# --------------------------------------------------------------------------- the activation family
def _dense_outputs(chip: CalibratedChip, devices: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (A) across the calibration sweep's span and each device's measured DC output (V)."""
    low, high = calibration_inputs_a(chip.array, 2)
    inputs = np.linspace(low, high, CURVE_POINTS)
    if not devices:
        return inputs, np.empty((0, inputs.size))
    return inputs, chip.array.measure(devices, inputs, derivative=False).output_v


def _colour(j: int) -> tuple:
    """A colour per junction: tab20 has enough for a 4 x 4 chip's junctions without repeating."""
    from matplotlib import colormaps

    return colormaps["tab20"](j % 20)


def _family_row(chip: CalibratedChip, raw_ax, calibrated_ax, residual_ax, limit: float) -> float:
    """Draw one chip's row; the largest |a(z) - nominal a(z)| of its usable junctions within |z| <= limit."""
    devices, largest = list(chip.calibrations), 0.0
    inputs, outputs = _dense_outputs(chip, devices + list(chip.doubles))
    ma = 1e3 * inputs
    for j, device in enumerate(chip.doubles):
        raw_ax.plot(ma, 1e3 * outputs[len(devices) + j], color="0.6", lw=0.9, ls=":")
    for j, device in enumerate(devices):
        style = {"ls": "--"} if device in chip.left_out else {}
        c = chip.calibrations[device]
        z, a = (inputs - c.input_offset_a) / c.input_per_unit_a, c.activation_of(outputs[j])
        raw_ax.plot(ma, 1e3 * outputs[j], color=_colour(j), lw=1.0, **style)
        calibrated_ax.plot(z, a, color=_colour(j), lw=1.0, **style)
        inside = np.abs(z) <= limit  # the residual only where the network drives the junction
        residual = a[inside] - chip.nominal(z[inside])[0]
        residual_ax.plot(z[inside], residual, color=_colour(j), lw=1.0, **style)
        if device not in chip.left_out and residual.size:
            largest = max(largest, float(np.max(np.abs(residual))))
    nominal_v, _ = chip.array.nominal_sweep(inputs, chip.bias_field_oe, "single")
    raw_ax.plot(ma, 1e3 * nominal_v, color="black", lw=2.6)
    n = chip.nominal.calibration
    calibrated_ax.plot((inputs - n.input_offset_a) / n.input_per_unit_a, n.activation_of(nominal_v), color="black",
                       lw=2.6)
    residual_ax.axhline(0.0, color="black", lw=2.6)
    calibrated_ax.axvspan(-limit, limit, color="0.9", zorder=0)
    calibrated_ax.set_xlim(-3.0, 3.0)  # the tails beyond a few units of z are never driven
    calibrated_ax.set_ylim(-1.6, 1.6)
    raw_ax.set(xlabel="input current in the field line I (mA)", ylabel="DC output V (mV)")
    calibrated_ax.set(xlabel="pre-activation z = (I − I0) / g", ylabel="activation a = (V − V0) / h")
    residual_ax.set(xlabel="pre-activation z", ylabel="a(z) − nominal a(z)", xlim=(-limit, limit))
    notes = f"{len(devices)} live single junctions"
    if chip.left_out:
        notes += f"; dashed: {', '.join(chip.left_out)} left out\n(|z| ≤ {limit:g} would leave the safe range)"
    if chip.refused:
        notes += f"; calibration refused: {', '.join(chip.refused)}"
    if chip.dead:
        notes += f"; dead: {', '.join(chip.dead)}"
    raw_ax.set_title(f"{chip.label}: measured\n{notes}", fontsize="medium")
    calibrated_ax.set_title(f"{chip.label}:\nafter each junction's own calibration", fontsize="medium")
    residual_ax.set_title(f"{chip.label}:\nwhat calibration leaves, within |z| ≤ {limit:g}", fontsize="medium")
    for ax in (raw_ax, calibrated_ax, residual_ax):
        ax.grid(alpha=0.3)
    return largest


def activation_family_figure(chips: list[CalibratedChip], path: Path, limit: float) -> dict[str, float]:
    """docs/images/paper-activation-family.png: one row per chip (measured; calibrated; calibrated less nominal).
    Returns each chip's largest departure from the nominal curve after calibration (see :func:`_family_row`)."""
    fig = Figure(figsize=(16.0, 1.0 + 4.4 * len(chips)), layout="constrained")
    axes = fig.subplots(len(chips), 3, squeeze=False, width_ratios=(1.15, 1.0, 1.0))
    residuals = {chip.preset: _family_row(chip, *row, limit) for chip, row in zip(chips, axes)}
    handles = [Line2D([], [], color=_colour(0), lw=1.0, label="one live single-reference junction (a colour each)"),
               Line2D([], [], color="black", lw=2.6, label="datasheet's average junction (software baseline)"),
               Line2D([], [], color="0.6", lw=0.9, ls=":",
                      label="double-reference junction (row 3; not calibrated here)"),
               Line2D([], [], color="0.9", lw=8, label=f"working range |z| ≤ {limit:g} (pre-activation limit)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize="small")
    fig.suptitle("Activation family: every live junction's DC output at the bench's bias field, before and after "
                 "its calibration\n(physics model with measurement noise; read current "
                 f"{chips[0].array.read_current_a * 1e3:g} mA)", fontsize="medium")
    _save(fig, path)
    return residuals


# --------------------------------------------------------------------------- analog against numeric derivatives
@dataclass
class DerivativeSweep:
    """One junction over its working range: lock-in, numeric and exact dV/dI (V/A) at inputs (A)."""

    device: str
    input_a: np.ndarray
    lockin: np.ndarray
    numeric: np.ndarray
    exact: np.ndarray


def derivative_sweeps(chip: CalibratedChip, devices: list[str], limit: float, step_a: float) -> list[DerivativeSweep]:
    """Each device's derivatives at DERIVATIVE_POINTS inputs spanning |z| <= limit: the lock-in's and the exact
    one measured together (the analog method's reading), the numeric one from DC readings at I +/- step_a
    (the numeric method's)."""
    z = np.linspace(-limit, limit, DERIVATIVE_POINTS)
    inputs = np.array([chip.calibrations[d].input_for(z) for d in devices])
    inputs = np.sort(inputs, axis=1)  # g < 0 reverses a row: the plots read left to right in current
    reading = chip.array.measure(devices, inputs, derivative=True)
    plus = chip.array.measure(devices, inputs + step_a, derivative=False).output_v
    minus = chip.array.measure(devices, inputs - step_a, derivative=False).output_v
    numeric = (plus - minus) / (2.0 * step_a)
    return [DerivativeSweep(d, inputs[j], reading.derivative_v_per_a[j], numeric[j],
                            reading.exact_derivative_v_per_a[j]) for j, d in enumerate(devices)]


def pick_devices(chip: CalibratedChip, count: int = 3) -> list[str]:
    """The steepest, a middling and the flattest junction by input scale |g| (the spread of the family)."""
    usable = sorted((d for d in chip.calibrations if d not in chip.left_out),
                    key=lambda d: abs(chip.calibrations[d].input_per_unit_a))
    if len(usable) <= count:
        return usable
    picks = np.unique(np.round(np.linspace(0, len(usable) - 1, count)).astype(int))
    return [usable[k] for k in picks]


def derivative_figure(chip: CalibratedChip, path: Path, limit: float, step_a: float,
                      devices: list[str] | None = None) -> tuple[Path, list[dict[str, float]]]:
    """docs/images/paper-analog-vs-numeric.png, and per device the RMS and worst error of each method
    (relative to the exact derivative's peak, as :func:`measured_error` gives them) for the text."""
    devices = devices if devices is not None else pick_devices(chip)
    sweeps = derivative_sweeps(chip, devices, limit, step_a)
    fig = Figure(figsize=(4.4 * len(sweeps) + 0.6, 7.2), layout="constrained")
    axes = fig.subplots(2, len(sweeps), squeeze=False, sharex="col", height_ratios=(3, 2))
    errors = []
    for (top, bottom), sweep in zip(axes.T, sweeps):
        ma = 1e3 * sweep.input_a
        top.plot(ma, sweep.exact, color="black", lw=2.2, label="exact dV/dI (model)")
        top.plot(ma, sweep.lockin, color="C0", marker="o", ms=3, lw=0.8, label="lock-in (analog)")
        top.plot(ma, sweep.numeric, color="C3", marker="s", ms=3, lw=0.8, mfc="none",
                 label=f"(V(I+h) − V(I−h)) / 2h, h = {step_a * 1e3:g} mA (numeric)")
        peak = float(np.max(np.abs(sweep.exact)))
        row = {"device": sweep.device}
        for name, values, colour, marker in (("analog", sweep.lockin, "C0", "o"),
                                             ("numeric", sweep.numeric, "C3", "s")):
            rms, worst = measured_error(values, sweep.exact)
            row[f"{name}_rms"], row[f"{name}_worst"] = rms, worst
            bottom.plot(ma, 100 * (values - sweep.exact) / peak, color=colour, marker=marker, ms=3, lw=0.8,
                        mfc="none" if name == "numeric" else colour,
                        label=f"{name}: RMS {100 * rms:.2f} %, worst {100 * worst:.2f} %")
        errors.append(row)
        bottom.axhline(0.0, color="black", lw=0.8)
        top.set_title(f"{chip.preset} chip, junction {sweep.device} (|g| = "
                      f"{abs(chip.calibrations[sweep.device].input_per_unit_a) * 1e3:.2f} mA per unit of z)",
                      fontsize="medium")
        top.set_ylabel("dV/dI (V/A = mV/mA)")
        bottom.set_ylabel("measured − exact (% of peak |dV/dI|)")
        bottom.set_xlabel("input current I (mA)")
        bottom.legend(fontsize="x-small", loc="best")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize="small")
    fig.suptitle(f"Analog against numeric derivatives on the {chip.label}, over each junction's working range "
                 f"|z| ≤ {limit:g}\n(physics model with measurement noise; lock-in modulation "
                 f"{chip.array.modulation_amplitude_a * 1e3:.3g} mA peak)", fontsize="medium")
    return _save(fig, path), errors


# --------------------------------------------------------------------------- the study's own figures
def study_section(runs: pd.DataFrame, study_dir: Path, image_dir: Path) -> list[str]:
    """The study's tables (:func:`mtjlab.studies.report.markdown_tables`) and its four figures
    (:mod:`mtjlab.studies.figures`), drawn again from its runs (``collect()``) into ``image_dir`` as paper-*.png."""
    drawn = (("accuracy", "accuracy per method and chip", study_figures.accuracy_figure),
             ("gradient-cosine", "median gradient cosine", study_figures.gradient_cosine_figure),
             ("cost", "lab time and device measurements", study_figures.cost_figure),
             ("learning-curves", "learning curves",
              lambda df, path: study_figures.learning_curves(df, study_dir, path)))
    lines = ["## Every method on every chip", "",
             "One table per task; each row gathers the runs that differ only in their chip seed (and training seed): "
             "**MTJ accuracy** is the mean ± sample std over them of each run's mean validation accuracy, the "
             "**software baseline** the same network trained in software on the datasheet curve, **difference** "
             "MTJ − baseline in percentage points, **grad cosine** the median cosine between the gradient used and "
             "the devices' exact one. Lab time is the physics model's estimate of the bench's time "
             "(docs/studies.md).", "", markdown_tables(runs).rstrip("\n"), ""]
    for name, caption, draw in drawn:
        draw(runs, image_dir / f"paper-{name}.png")
        lines += [f"![{caption}](images/paper-{name}.png)", ""]
    return lines


# --------------------------------------------------------------------------- the section of docs/results.md
@dataclass
class ChipSection:
    """The markdown of the chips' section, and the line on the derivatives that the findings quote."""

    lines: list[str]
    derivative_finding: str


def _span(values: list[float], unit: str, scale: float, digits: int = 0) -> str:
    return f"{min(values) * scale:.{digits}f} to {max(values) * scale:.{digits}f} {unit}"


def chip_section(image_dir: Path, chip_seed: int | None, limit: float, step_a: float,
                 presets: tuple[str, ...] = ("typical", "harsh")) -> ChipSection:
    """Both physics figures into ``image_dir`` (paper-activation-family.png, paper-analog-vs-numeric.png) and
    the text that goes with them, every number measured here."""
    chips = [calibrated_chip(p, chip_seed, limit) for p in presets]
    residuals = activation_family_figure(chips, image_dir / "paper-activation-family.png", limit)
    _, errors = derivative_figure(chips[0], image_dir / "paper-analog-vs-numeric.png", limit, step_a)
    which = (f"chip seed {chip_seed} (the chip of the study's first run)" if chip_seed is not None
             else "each preset's own seed")
    lines = ["## The chips behind the numbers", "",
             "![activation family of the typical and harsh chips](images/paper-activation-family.png)", "",
             "Every live single-reference junction (the kind a hidden layer takes unless its `layers:` entry says "
             f"otherwise) of the simulated chips, drawn from {which}, measured here on the physics model with its "
             f"noise at the bench's bias field of {chips[0].bias_field_oe:g} Oe, and calibrated with the trainer's "
             "own sweep (eqs. N1 and N2 of docs/training.md). Left: the DC output against the input current; "
             "middle: the same curves in the units the network sees; right: what the calibration leaves of each "
             "junction's departure from the datasheet's average junction, over the working range "
             f"|z| ≤ {limit:g}. The double-reference junctions of row 3 (dotted) serve no single-junction layer "
             "and are drawn uncalibrated.", ""]
    for chip in chips:
        c = list(chip.calibrations.values())
        notes = (f"; left out: {', '.join(chip.left_out)}" if chip.left_out else "") + \
            (f"; calibration refused: {', '.join(chip.refused)}" if chip.refused else "")
        lines.append(f"- **{chip.preset}**: {len(c)} live single junctions (dead: {', '.join(chip.dead) or 'none'}"
                     f"{notes}); working points I0 {_span([x.input_offset_a for x in c], 'mA', 1e3, 1)}, input "
                     f"scales |g| {_span([abs(x.input_per_unit_a) for x in c], 'mA', 1e3, 1)} per unit of z, output "
                     f"half-spans h {_span([x.output_per_unit_v for x in c], 'mV', 1e3)}; after calibration every "
                     f"usable junction stays within {residuals[chip.preset]:.3f} of the nominal a(z) for |z| ≤ "
                     f"{limit:g}.")
    analog = [e["analog_rms"] for e in errors]
    numeric = [e["numeric_rms"] for e in errors]
    array = chips[0].array
    lockin = (array.lockin_plan.describe() if array.lockin_plan is not None  # the noise budget's choice, as a bench's
              else f"lock-in time constant {array.timing.lockin_time_constant_s * 1e3:g} ms, modulation "
                   f"{array.modulation_amplitude_a * 1e3:.3g} mA peak")
    summary = (f"On junctions {', '.join(e['device'] for e in errors)} of the {chips[0].label}, the lock-in's "
               f"derivative departs from the exact one by an RMS of {_span(analog, '%', 100, 2)} of its peak, "
               f"the numeric difference (V(I+h) − V(I−h))/2h with h = {step_a * 1e3:g} mA by "
               f"{_span(numeric, '%', 100, 2)}, with the model's noise at the bench's settings (DC readings at "
               f"{array.timing.nplc:g} NPLC; {lockin}).")
    lines += ["", "![analog against numeric derivatives](images/paper-analog-vs-numeric.png)", "",
              "The steepest, a middling and the flattest junction of the typical chip (by input scale |g|), over "
              "each one's working range: the lock-in (analogue finite-difference) derivative, which the `analog` "
              "method reads with each output, and the centred difference of two extra DC readings, which the "
              "`numeric` method takes, each against the junction's exact dV/dI from the model. " + summary, ""]
    finding = (f"**Derivatives**: on {len(errors)} junctions of the {chips[0].preset} chip the lock-in's derivative "
               f"is off the exact one by an RMS of {_span(analog, '%', 100, 2)} of its peak, the numeric "
               f"difference by {_span(numeric, '%', 100, 2)} (the chips' section above).")
    return ChipSection(lines, finding)


__all__ = ["CalibratedChip", "ChipSection", "TRAINING_DEFAULTS", "activation_family_figure", "calibrated_chip",
           "chip_section", "derivative_figure", "pick_devices", "study_section"]
