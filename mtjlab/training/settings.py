"""Per-hidden-layer settings: each layer's coil bias field and device kind, and calibrating at them.

A training file's ``layers:`` gives each hidden layer a bias field (Oe; null:
the bench's ``measurement.bias_field_oe``, the field the array is at when it is
opened) and a device kind ("single" or "double" junctions). The coil is one, so
every distinct (field, kind) setting is calibrated in turn: the coil switched
to its field, then every device of its kind swept (:func:`calibrate_settings`).
A layer's neurons take only live devices of its kind calibrated at its setting
(:func:`build_map`), and its devices must calibrate to the shape of its nominal
curve (:func:`check_shapes`).

Run record: ``calibration.npz`` (and ``calibration.yaml``) hold the first
setting's sweep exactly as runs without settings have them, with its field and
kind; a second setting's are ``calibration-2.npz`` / ``calibration-2.yaml``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import TrainingConfig
from ..errors import DataFileError, MtjlabError
from ..experiments.calibration import DeviceCalibration, write_calibration
from .activations import KIND_SHAPES, NOMINAL_POINTS, NominalActivations, nominal_activation
from .neurons import (CalibrationSweep, MeasurementTally, NeuronMap, calibrate, calibration_inputs_a, map_layers,
                      present_field_oe, switch_field)
from .records import RunRecord, atomic_savez


class ShapeMismatchError(MtjlabError):
    """A device calibrates to another shape than its layer's nominal curve."""


@dataclasses.dataclass(frozen=True)
class LayerSetting:
    """One hidden layer's setting: coil bias field (Oe; None where the array does not say its own) and kind."""

    bias_field_oe: float | None
    device_kind: str = "single"

    def describe(self) -> str:
        field = "the array's field" if self.bias_field_oe is None else f"{self.bias_field_oe:g} Oe"
        return f"{self.device_kind} junctions at {field}"


def layer_settings(config: TrainingConfig, array: Any) -> list[LayerSetting]:
    """Each hidden layer's setting; a field left null is the array's present (the bench's) field."""
    default = present_field_oe(array)
    entries = config.layers if config.layers is not None else [None] * len(config.hidden)
    return [LayerSetting(default if e is None or e.bias_field_oe is None else float(e.bias_field_oe),
                         "single" if e is None else e.device_kind) for e in entries]


def distinct(settings: Sequence[LayerSetting]) -> list[LayerSetting]:
    """The settings in order of first use, each once."""
    return list(dict.fromkeys(settings))


def device_kinds(array: Any) -> dict[str, str]:
    """Device id -> "single" | "double": the array's ``device_kinds``, every device single where it has none."""
    kinds = getattr(array, "device_kinds", None) or {}
    return {d: str(kinds.get(d, "single")) for d in array.device_ids}


def calibrate_settings(array: Any, settings: Sequence[LayerSetting], tally: MeasurementTally,
                       devices: Sequence[Sequence[str]] | None = None) -> list[CalibrationSweep]:
    """One calibration sweep per distinct setting: the coil switched to its field, then its devices
    swept (``devices[k]`` for setting k, default every device of its kind). Counted in ``tally``."""
    kinds, sweeps = device_kinds(array), []
    for k, setting in enumerate(distinct(settings)):
        if switch_field(array, setting.bias_field_oe):
            tally.field_switches += 1
        scope = [d for d in array.device_ids if kinds[d] == setting.device_kind] if devices is None else devices[k]
        sweep = calibrate(array, devices=scope)
        sweep.bias_field_oe, sweep.device_kind = setting.bias_field_oe, setting.device_kind
        tally.measurements += int(sweep.output_v.size)
        tally.lab_time_s += sweep.instrument_time_s
        sweeps.append(sweep)
    return sweeps


def layer_index(settings: Sequence[LayerSetting]) -> list[int]:
    """For each layer, the index of its setting among :func:`distinct` ones."""
    order = distinct(settings)
    return [order.index(s) for s in settings]


def largest_limit(calibration: DeviceCalibration, input_range_a: tuple[float, float], margin_a: float = 0.0) -> float:
    """The largest pre-activation limit whose inputs (eq. N1, widened by ``margin_a``) stay inside the
    safe range for this device."""
    low, high = input_range_a[0] + margin_a, input_range_a[1] - margin_a
    return max(0.0, min(high - calibration.input_offset_a, calibration.input_offset_a - low)
               / abs(calibration.input_per_unit_a))


def fitting_devices(fitted: dict[str, DeviceCalibration], input_range_a: tuple[float, float], limit: float,
                    margin_a: float = 0.0) -> tuple[dict[str, DeviceCalibration], dict[str, str], dict[str, float]]:
    """The calibrated devices whose inputs for pre-activations within +/-``limit`` (eq. N1, widened by
    ``margin_a``) stay inside the safe input range; for each one left out, why; and each device's
    :func:`largest_limit`.

    A junction whose working point lies near the edge of the safe range (an early process's wide
    offsets and couplings) cannot serve as a neuron at this limit: it is left out and said so, rather
    than the whole run refused; a layer left with too few devices is refused by the mapping.
    """
    low, high = input_range_a[0] + margin_a, input_range_a[1] - margin_a
    room = {d: largest_limit(c, input_range_a, margin_a) for d, c in fitted.items()}
    kept, left_out = {}, {}
    for device, c in fitted.items():
        if room[device] >= limit:
            kept[device] = c
            continue
        lower = c.input_offset_a - limit * abs(c.input_per_unit_a)
        upper = c.input_offset_a + limit * abs(c.input_per_unit_a)
        left_out[device] = (f"pre-activations within +/-{limit:g} need {lower * 1e3:.2f} to {upper * 1e3:.2f} mA, "
                            f"beyond the safe input range {low * 1e3:.2f} to {high * 1e3:.2f} mA")
    return kept, left_out, room


def build_map(config: TrainingConfig, settings: Sequence[LayerSetting],
              fitted: Sequence[dict[str, DeviceCalibration]]) -> NeuronMap:
    """Neurons to live devices of each layer's kind calibrated at its setting (one line if too few)."""
    index = layer_index(settings)
    if not any(fitted):
        raise MtjlabError("no live device on the chip: every junction is known or found dead")
    return map_layers(config.hidden, [s.device_kind for s in settings], [list(fitted[k]) for k in index],
                      config.max_neurons_per_device)


def nominal_activations(array: Any, settings: Sequence[LayerSetting], limit: float) -> NominalActivations:
    """Each layer's nominal activation at its setting (tanh / gaussian where the array has no datasheet)."""
    inputs = calibration_inputs_a(array, NOMINAL_POINTS)  # the calibration span, finer
    cache = {s: nominal_activation(array, inputs, s.bias_field_oe, s.device_kind, limit) for s in distinct(settings)}
    return NominalActivations([cache[s] for s in settings])


def check_shapes(neuron_map: NeuronMap, layer_calibrations: Sequence[dict[str, DeviceCalibration]],
                 nominal: NominalActivations, settings: Sequence[LayerSetting]) -> None:
    """Refuse (one line naming the device) a layer whose device calibrates to another shape than its nominal curve."""
    for n, layer in enumerate(neuron_map.layers):
        expected = nominal.layers[n].shape if nominal.layers[n].calibration is not None else \
            KIND_SHAPES.get(settings[n].device_kind, "sigmoid")
        for device in layer:
            shape = layer_calibrations[n][device].shape
            if shape != expected:
                raise ShapeMismatchError(
                    f"hidden layer {n + 1} ({settings[n].describe()}): device {device} calibrates as a {shape} "
                    f"but the layer's nominal curve is a {expected} ({nominal.layers[n].name}); change the layer's "
                    "bias_field_oe or device_kind, or leave the device out (known_dead in the bench file)")


# ------------------------------------------------------------------------------------ run record
def sweep_arrays(sweep: CalibrationSweep, prefix: str = "") -> dict[str, np.ndarray]:
    """A sweep as npz arrays (``prefix`` before every key), with its setting."""
    return {f"{prefix}devices": np.array(sweep.devices), f"{prefix}input_a": sweep.input_a,
            f"{prefix}output_v": sweep.output_v, f"{prefix}derivative_v_per_a": sweep.derivative_v_per_a,
            f"{prefix}dead": np.array(sweep.dead, dtype=str),
            f"{prefix}instrument_time_s": np.array(sweep.instrument_time_s),
            f"{prefix}bias_field_oe": np.array(np.nan if sweep.bias_field_oe is None else sweep.bias_field_oe),
            f"{prefix}device_kind": np.array(sweep.device_kind)}


def sweep_of(saved: dict[str, np.ndarray], setting: LayerSetting | None, path: Path) -> CalibrationSweep:
    """The sweep of checked npz arrays; refused in one line when it cannot calibrate its live devices
    or was measured at another setting than ``setting``."""
    field = float(saved["bias_field_oe"]) if "bias_field_oe" in saved else None
    kind = str(saved["device_kind"]) if "device_kind" in saved else "single"
    field = None if field is not None and not np.isfinite(field) else field
    if setting is not None and ("bias_field_oe" in saved or "device_kind" in saved) and (
            kind != setting.device_kind or (field is None) != (setting.bias_field_oe is None)
            or (field is not None and abs(field - setting.bias_field_oe) > 1e-9 * max(1.0, abs(field)))):
        raise DataFileError(f"{path}: measured at {LayerSetting(field, kind).describe()}, but config.yaml "
                            f"asks for {setting.describe()}")
    sweep = CalibrationSweep(tuple(str(d) for d in saved["devices"]), saved["input_a"], saved["output_v"],
                             saved["derivative_v_per_a"], tuple(str(d) for d in saved["dead"]),
                             float(saved["instrument_time_s"]), field if setting is None else setting.bias_field_oe,
                             kind)
    try:
        with np.errstate(all="raise"):
            fitted = sweep.fit()
        if not all(np.isfinite(c.numbers()).all() for c in fitted.values()):
            raise FloatingPointError("a calibration is not finite")
    except (ArithmeticError, ValueError, np.linalg.LinAlgError, MtjlabError) as exc:
        raise DataFileError(f"{path}: damaged (its sweep gives no calibration: {str(exc)[:80]})") from None
    return sweep


def calibration_name(k: int, suffix: str) -> str:
    """calibration.npz for the first setting, calibration-2.npz for the second (k from 0)."""
    return f"calibration{'' if k == 0 else f'-{k + 1}'}.{suffix}"


def write_sweeps(record: RunRecord, sweeps: Sequence[CalibrationSweep], bench_name: str,
                 default_field_oe: float, plain: bool = False) -> None:
    """Every setting's sweep (npz) and calibration (yaml) into the run directory; ``plain`` (a run
    without ``layers``): calibration.npz exactly as runs before per-layer settings wrote it."""
    for k, sweep in enumerate(sweeps):
        arrays = sweep_arrays(sweep)
        if plain and len(sweeps) == 1:
            arrays = {key: v for key, v in arrays.items() if key not in ("bias_field_oe", "device_kind")}
        atomic_savez(record.directory / calibration_name(k, "npz"), arrays)
        field = default_field_oe if sweep.bias_field_oe is None else sweep.bias_field_oe
        write_calibration(record.directory / calibration_name(k, "yaml"), sweep.fit(), list(sweep.dead),
                          bench_name, field)


def read_sweeps(record: RunRecord) -> list[CalibrationSweep]:
    """The run's saved sweeps (calibration.npz, calibration-2.npz, ...), each checked (one line naming the file)."""
    sweeps, k = [], 0
    while k == 0 or (record.directory / calibration_name(k, "npz")).exists():
        name = calibration_name(k, "npz")
        sweeps.append(sweep_of(record.calibration_sweep(name), None, record.directory / name))
        k += 1
    return sweeps


def match_sweeps(record: RunRecord, sweeps: Sequence[CalibrationSweep],
                 settings: Sequence[LayerSetting]) -> list[CalibrationSweep]:
    """The saved sweeps, refused in one line unless there is one per distinct setting, measured at it."""
    wanted = distinct(settings)
    if len(sweeps) != len(wanted):
        name = calibration_name(min(len(sweeps), len(wanted)), "npz")
        raise DataFileError(f"{record.directory / name}: the run holds {len(sweeps)} calibration sweep(s) but "
                            f"config.yaml's layers need {len(wanted)}; the run record is damaged")
    matched = []
    for k, (sweep, setting) in enumerate(zip(sweeps, wanted)):
        name = calibration_name(k, "npz")
        matched.append(sweep_of(sweep_arrays(sweep), setting, record.directory / name)
                       if sweep.bias_field_oe is not None or sweep.device_kind != "single" else
                       dataclasses.replace(sweep, bias_field_oe=setting.bias_field_oe))
    return matched


__all__ = ["LayerSetting", "ShapeMismatchError", "build_map", "calibrate_settings", "check_shapes",
           "layer_settings", "match_sweeps", "nominal_activations", "read_sweeps", "write_sweeps"]
