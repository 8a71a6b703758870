"""Recalibration during training (``recalibrate_every: N``): a calibration goes stale as the chip drifts.

Every N epochs within a fold, after the epoch (and never after the run's very
last one), the devices in use are swept again at each layer's setting (the coil
switched as needed) exactly as at the start (:func:`.neurons.calibrate`), refitted
with :func:`~mtjlab.experiments.calibration.fit_device`, checked against their
layers' nominal shapes and the safe input range, and their calibrations replaced
in place: the next measurement uses the new maps (and the ``model`` method the
new sweeps' splines). The sweeps' measurements and lab time are counted like any
other. Run record:

    calibrations/fold<F>-epoch<EEE>.npz   the sweeps (per setting k: s<k>.devices, s<k>.input_a, ...)
    recalibrations.csv                    one row per device and recalibration: fold, epoch, device,
                                          bias_field_oe, device_kind, the four numbers, shape, and
                                          lab_time_s (that setting's sweep)

A resumed run takes the newest sweep file not after its checkpoint.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataFileError, DeadDeviceError
from .activations import NominalActivations
from .neurons import CalibrationSweep, DeviceNeurons
from .records import RunRecord, atomic_savez, atomic_write_text, check_sweep, load_npz
from .settings import (LayerSetting, calibrate_settings, check_shapes, distinct, layer_index, sweep_arrays,
                       sweep_of)

COLUMNS = ("fold", "epoch", "device", "bias_field_oe", "device_kind", "input_offset_a", "input_per_unit_a",
           "output_offset_v", "output_per_unit_v", "shape", "lab_time_s")
FILE_NAME = re.compile(r"fold(\d+)-epoch(\d+)\.npz$")


class Recalibrator:
    """Re-runs the calibration of the devices in use; see the module doc."""

    def __init__(self, every: int, neurons: DeviceNeurons, method: Any, settings: Sequence[LayerSetting],
                 sweeps: Sequence[CalibrationSweep], nominal: NominalActivations, record: RunRecord | None,
                 margin_a: float = 0.0) -> None:
        self.every = int(every)
        self.neurons, self.method, self.settings = neurons, method, list(settings)
        self.sweeps = list(sweeps)  # the latest sweep of each distinct setting
        self.nominal, self.record, self.margin_a = nominal, record, margin_a
        self.index = layer_index(self.settings)

    def due(self, fold: int, epoch: int, epochs: int, folds: int) -> bool:
        """After epoch ``epoch`` (from 0) of fold ``fold`` (from 0)? Never after the run's last epoch."""
        done = epoch + 1
        return done % self.every == 0 and not (fold == folds - 1 and done == epochs)

    def devices_in_use(self) -> list[list[str]]:
        """Per distinct setting, the devices its layers use (first-use order)."""
        used: list[list[str]] = [[] for _ in distinct(self.settings)]
        for n, layer in enumerate(self.neurons.map.layers):
            used[self.index[n]] = list(dict.fromkeys(used[self.index[n]] + list(layer)))
        return used

    def run(self, fold: int, epoch: int) -> dict[str, Any]:
        """Recalibrate now (after epoch ``epoch`` of fold ``fold``, both from 0); what it cost."""
        tally = self.neurons.tally
        measured0, lab0 = tally.measurements, tally.lab_time_s
        fresh = calibrate_settings(self.neurons.array, self.settings, tally, self.devices_in_use())
        for sweep in fresh:
            dead = [d for d in sweep.dead if d in sweep.devices]
            if dead:
                raise DeadDeviceError(f"device {dead[0]} stopped responding (dead) during a recalibration; "
                                      "the finished epochs are kept in the run directory")
        self.apply(fresh)
        if self.record is not None:
            folder = self.record.directory / "calibrations"
            folder.mkdir(exist_ok=True)
            arrays: dict[str, Any] = {}
            for k, sweep in enumerate(fresh):
                arrays.update(sweep_arrays(sweep, f"s{k}."))
            atomic_savez(folder / f"fold{fold + 1}-epoch{epoch + 1:03d}.npz", arrays)
            self._write_rows(fold + 1, epoch + 1, fresh)
        return {"devices": sum(len(s.devices) for s in fresh), "measurements": tally.measurements - measured0,
                "lab_time_s": tally.lab_time_s - lab0}

    def apply(self, fresh: Sequence[CalibrationSweep]) -> None:
        """Replace the calibrations of the devices in ``fresh`` (one sweep per distinct setting)."""
        fitted = [sweep.fit() for sweep in fresh]
        current = [dict(zip(layer, cal)) for layer, cal in zip(self.neurons.map.layers, self.neurons.calibrations)]
        layer_calibrations = [{**current[n], **{d: fitted[self.index[n]][d] for d in layer if d in fitted[self.index[n]]}}
                              for n, layer in enumerate(self.neurons.map.layers)]
        check_shapes(self.neurons.map, layer_calibrations, self.nominal, self.settings)
        self.neurons.set_calibrations(layer_calibrations)
        self.neurons.check_range(self.margin_a)
        self.sweeps = list(fresh)
        self.method.recalibrated([fresh[k] for k in self.index])

    def _write_rows(self, fold: int, epoch: int, fresh: Sequence[CalibrationSweep]) -> None:
        path = self.record.directory / "recalibrations.csv"
        rows = [r for r in read_rows(path) if (int(r["fold"]), int(r["epoch"])) < (fold, epoch)]
        for sweep in fresh:
            for device, c in sweep.fit().items():
                rows.append({"fold": fold, "epoch": epoch, "device": device,
                             "bias_field_oe": "" if sweep.bias_field_oe is None else sweep.bias_field_oe,
                             "device_kind": sweep.device_kind, **dict(zip(COLUMNS[5:9], c.numbers())),
                             "shape": c.shape, "lab_time_s": sweep.instrument_time_s})
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(path, buffer.getvalue())

    def resume(self, fold: int, epochs_done: int) -> Path | None:
        """Use the newest saved recalibration not after fold ``fold`` (from 0), epoch ``epochs_done``;
        its path (None when there is none). A damaged file is refused in one line naming it."""
        if self.record is None:
            return None
        found = []
        for path in (self.record.directory / "calibrations").glob("fold*-epoch*.npz"):
            match = FILE_NAME.search(path.name)
            if match and (int(match[1]), int(match[2])) <= (fold + 1, epochs_done):
                found.append(((int(match[1]), int(match[2])), path))
        if not found:
            return None
        path = max(found)[1]
        saved = load_npz(path)
        fresh = []
        for k, setting in enumerate(distinct(self.settings)):
            part = {key[len(f"s{k}."):]: v for key, v in saved.items() if key.startswith(f"s{k}.")}
            check_sweep(part, path)
            fresh.append(sweep_of(part, setting, path))
        self.apply(fresh)
        return path


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of recalibrations.csv ([] when there is none)."""
    if not Path(path).exists():
        return []
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise DataFileError(f"{path}: damaged (its first line is not the recalibrations header)")
        return list(reader)


def count_recalibrations(directory: Path) -> int:
    """How many recalibrations a run's recalibrations.csv records."""
    return len({(r["fold"], r["epoch"]) for r in read_rows(Path(directory) / "recalibrations.csv")})
