"""What the training views draw, read from a run directory or taken from a live trainer.

The views (:mod:`.training_views`) are fed three kinds of record, and both a
live run and a replayed run directory produce the same ones:

- :class:`~mtjlab.training.trainer.TrainingEvent` (an epoch's metrics row, progress);
- :class:`RunSetup`: each hidden neuron's calibrated activation curve, from
  calibration.npz and config.yaml (the neuron-to-device map is recomputed as
  the session does, so it is the map the run used);
- :class:`StepSample`: one training batch's operating points (z, a), measured
  and (on a simulated bench) exact derivatives, in calibrated units, and the
  network's weights.

No Qt here: this is plain reading of run files, so it is testable without a screen.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..experiments.calibration import DeviceCalibration
from ..training.neurons import CalibrationSweep, map_neurons
from ..training.records import METRIC_COLUMNS, RunRecord, from_json_array, load_npz
from ..training.trainer import TrainingEvent

#: Columns of metrics.csv that are whole numbers, and the text one; the rest are floats.
_INT_COLUMNS = ("fold", "epoch", "measurements")
_TEXT_COLUMNS = ("evaluated_on",)


@dataclass
class NeuronCurve:
    """One hidden neuron's calibrated activation curve a(z) (its device's sweep through its calibration)."""

    layer: int
    neuron: int
    device: str
    z: np.ndarray
    activation: np.ndarray


@dataclass
class RunSetup:
    """What is fixed for a whole run: the neurons' curves and their calibrations, per hidden layer."""

    curves: list[list[NeuronCurve]]
    calibrations: list[list[DeviceCalibration]]
    limit: float


@dataclass
class LayerSample:
    """One hidden layer over one batch, (batch, neurons), in calibrated units (z, a, da/dz)."""

    z: np.ndarray
    activation: np.ndarray
    derivative: np.ndarray | None = None
    exact_derivative: np.ndarray | None = None


@dataclass
class StepSample:
    """One training step as the views draw it (``weights``: [W1, b1, W2, b2, ...] or None)."""

    fold: int
    epoch: int
    step: int
    layers: list[LayerSample] = field(default_factory=list)
    weights: list[np.ndarray] | None = None


def read_setup(run_dir: Path) -> RunSetup:
    """The neurons' calibrated curves of a run (calibration.npz fitted, neurons mapped as the session does)."""
    from ..config import load_training

    record = RunRecord(run_dir)
    config = load_training(record.directory / "config.yaml")
    saved = record.calibration_sweep()
    sweep = CalibrationSweep(tuple(str(d) for d in saved["devices"]), saved["input_a"], saved["output_v"],
                             saved["derivative_v_per_a"], tuple(str(d) for d in saved["dead"]),
                             float(saved["instrument_time_s"]))
    fitted = sweep.fit()
    neuron_map = map_neurons(config.hidden, list(fitted), config.max_neurons_per_device)
    row = {d: j for j, d in enumerate(sweep.devices)}
    curves, calibrations = [], []
    for n, layer in enumerate(neuron_map.layers):
        curves.append([])
        calibrations.append([fitted[d] for d in layer])
        for j, device in enumerate(layer):
            c = fitted[device]
            z = (sweep.input_a[row[device]] - c.input_offset_a) / c.input_per_unit_a
            curves[n].append(NeuronCurve(n, j, device, z, c.activation_of(sweep.output_v[row[device]])))
    return RunSetup(curves, calibrations, float(config.pre_activation_limit))


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """metrics.csv as rows of numbers (as the trainer's history holds them); [] when there is none yet."""
    path = Path(run_dir) / "metrics.csv"
    if not path.exists():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as stream:
        for raw in csv.DictReader(stream):
            row: dict[str, Any] = {}
            for key in METRIC_COLUMNS:
                text = raw.get(key) or ""
                if key in _TEXT_COLUMNS:
                    row[key] = text
                elif text == "":
                    row[key] = None
                else:
                    row[key] = int(float(text)) if key in _INT_COLUMNS else float(text)
            rows.append(row)
    return rows


def epoch_events(rows: list[dict[str, Any]], total_steps: int = 0) -> list[TrainingEvent]:
    """The ``epoch`` events a live run emitted for these metrics rows (folds and epochs counted from 0)."""
    return [TrainingEvent("epoch", fold=int(r["fold"]) - 1, epoch=int(r["epoch"]) - 1, step=0,
                          total_steps=total_steps, metrics=r) for r in rows]


def newest_checkpoint(run_dir: Path) -> tuple[dict[str, Any], list[np.ndarray]] | None:
    """The newest checkpoint's metadata and network weights, or None when the run has none readable."""
    found = RunRecord(run_dir).readable_checkpoint()
    if found is None:
        return None
    arrays = found[1]
    weights = [arrays[f"network.{i}"] for i in range(sum(k.startswith("network.") for k in arrays))]
    return from_json_array(arrays["meta"]), weights


def last_sample(run_dir: Path, setup: RunSetup) -> StepSample | None:
    """The last recorded step of the newest measurements/ file, in calibrated units, with the exact
    derivatives where the run recorded them (a simulated bench or the model)."""
    files = sorted(Path(run_dir, "measurements").glob("fold*-epoch*.npz"))
    if not files:
        return None
    newest = files[-1]
    fold, epoch = (int(part) for part in newest.stem.replace("fold", "").split("-epoch"))
    arrays = load_npz(newest)
    layers, step = [], 0
    for n, calibrations in enumerate(setup.calibrations):
        if f"layer{n}.step" not in arrays:
            break
        steps = arrays[f"layer{n}.step"]
        step = int(steps.max())
        keep = steps == step
        # The step's training batch, not an evaluation at the same step (outputs only, no derivative).
        measured_derivative = np.all(np.isfinite(arrays[f"layer{n}.derivative_v_per_a"]), axis=0)
        if (keep & measured_derivative).any():
            keep &= measured_derivative
        input_a, output_v = arrays[f"layer{n}.input_a"][:, keep], arrays[f"layer{n}.output_v"][:, keep]
        dv_di = arrays[f"layer{n}.derivative_v_per_a"][:, keep]
        offset = np.array([c.input_offset_a for c in calibrations])[:, None]
        gain = np.array([c.input_per_unit_a for c in calibrations])[:, None]
        v0 = np.array([c.output_offset_v for c in calibrations])[:, None]
        h = np.array([c.output_per_unit_v for c in calibrations])[:, None]
        z = (input_a - offset) / gain
        inside = np.abs(z) < setup.limit  # as the trainer: no derivative where z is clipped
        exact_key = f"layer{n}.exact_derivative_v_per_a"
        exact = None
        if exact_key in arrays and arrays[exact_key].shape == arrays[f"layer{n}.derivative_v_per_a"].shape:
            exact = (arrays[exact_key][:, keep] * gain / h * inside).T
        layers.append(LayerSample(z.T, ((output_v - v0) / h).T, (dv_di * gain / h * inside).T, exact))
    return StepSample(fold - 1, epoch - 1, step, layers)


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """summary.json of a finished run, or None."""
    path = Path(run_dir) / "summary.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
