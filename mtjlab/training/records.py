"""The run record: ``runs/<date>-<name>/`` and everything written into it.

Layout (every write atomic: a temporary file renamed into place)::

    config.yaml          the full resolved training configuration
    bench.yaml           the bench snapshot (instrument identities, settings, limits)
    calibration.yaml     each device's calibration (gain, offset) and the dead devices
    calibration.npz      the calibration sweep it was fitted to (calibration-2.* for a second layer setting)
    calibrations/        fold<F>-epoch<EEE>.npz: the sweeps of each recalibration (recalibrate_every)
    recalibrations.csv   one row per device and recalibration
    metrics.csv          one row per epoch and fold
    checkpoints/         fold<F>-epoch<EEE>.npz: weights, optimiser, random state (no pickle)
    measurements/        fold<F>-epoch<EEE>.npz: inputs, outputs, derivatives per step
    summary.json         the result (written when the run ends)
    learning_curves.png  loss and accuracy per epoch, device network beside the baseline
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import logging
import math
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

import numpy as np
import yaml

from ..errors import DataFileError
from ..safe_files import (METRICS_MAX_BYTES, RUN_NPZ_MAX_BYTES, decode_text, describe_size, open_regular,
                          read_bytes)

log = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "fold", "epoch", "learning_rate", "loss", "train_accuracy", "val_accuracy", "baseline_loss",
    "baseline_train_accuracy", "baseline_val_accuracy", "grad_cosine_median", "measurements",
    "lab_time_s", "wall_time_s", "evaluated_on",
)
CHECKPOINT_NAME = re.compile(r"fold(\d+)-epoch(\d+)\.npz$")
_ZIP_MAGIC = b"PK\x03\x04"  # an npz is a zip archive
CALIBRATION_KEYS = ("devices", "input_a", "output_v", "derivative_v_per_a", "dead", "instrument_time_s")
#: Largest magnitude of a number in a run's npz files: weights, optimiser moments and
#: calibration readings are all far below it; beyond it the file is damaged.
VALUE_MAX_ABS = 1e30
CheckpointCheck = Callable[[dict[str, np.ndarray], str], None]
"""``fits(arrays, source)``: raise DataFileError naming ``source`` if a checkpoint does not fit."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def _declared_bytes(archive: zipfile.ZipFile, name: str, source: str) -> int:
    """The size an npz member says its array has, read from its .npy header alone."""
    member = name if name in archive.namelist() else f"{name}.npy"
    with archive.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise DataFileError(f"{source}: array {name!r} is in .npy format {version[0]}.{version[1]}, "
                                "which mtjlab does not read")
    if dtype.hasobject:
        raise DataFileError(f"{source}: array {name!r} holds Python objects (pickles are never loaded)")
    return math.prod(shape) * dtype.itemsize


def read_npz(stream: BinaryIO, source: str, *, max_array_bytes: int) -> dict[str, np.ndarray]:
    """Every array of the npz archive open as ``stream``, never unpickling anything.

    The arrays' sizes are read from their headers and refused beyond
    ``max_array_bytes`` in all *before* any is read, so a small compressed file
    cannot unpack into more memory than that. ``source`` names the file in errors.
    """
    head = stream.read(6)
    stream.seek(0)
    if head.startswith(b"\x93NUMPY"):
        raise DataFileError(f"{source}: is a single .npy array, not an npz archive of named arrays")
    if not head.startswith(_ZIP_MAGIC):
        raise DataFileError(f"{source}: not a readable npz file (no zip archive header)")
    try:
        with np.load(stream, allow_pickle=False) as data:
            declared = 0
            for name in data.files:
                declared += _declared_bytes(data.zip, name, source)
                if declared > max_array_bytes:
                    raise DataFileError(f"{source}: its arrays unpack to more than {describe_size(max_array_bytes)}, "
                                        "the limit for this kind of file")
            return {name: data[name] for name in data.files}
    except DataFileError:
        raise
    except (OSError, ValueError, EOFError, KeyError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataFileError(f"{source}: not a readable npz file ({' '.join(str(exc).split())[:160]})") from None
    except Exception as exc:  # noqa: BLE001 - a damaged archive raises many kinds; never a traceback
        raise DataFileError(f"{source}: corrupt npz file ({type(exc).__name__})") from None


def load_npz(path: Path, *, source: str | None = None, max_bytes: int = RUN_NPZ_MAX_BYTES) -> dict[str, np.ndarray]:
    """Every array of an npz file of a run directory (never pickle); DataFileError in one line."""
    source = str(path) if source is None else source
    with open_regular(path, what="an npz file of a run", max_bytes=max_bytes, source=source) as stream:
        return read_npz(stream, source, max_array_bytes=max_bytes)


def new_run_dir(name: str, parent: Path = Path("runs"), today: _dt.date | None = None) -> Path:
    """``runs/<YYYY-MM-DD>-<name>``, numbered ``-2``, ``-3``... so no earlier run is touched (not created)."""
    stem = f"{(today or _dt.date.today()):%Y-%m-%d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name) or 'run'}"
    candidate, n = parent / stem, 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{stem}-{n}"
    return candidate


class RunRecord:
    """Reads and writes one run directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @classmethod
    def create(cls, directory: Path) -> "RunRecord":
        """Make the run directory (refusing one that holds anything), with its sub-folders."""
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise DataFileError(f"{directory}: already exists and is not empty; choose another --out "
                                f"(nothing was overwritten)")
        for sub in ("", "checkpoints", "measurements"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        return cls(directory)

    @classmethod
    def open(cls, directory: Path) -> "RunRecord":
        """An existing run directory, for resuming."""
        directory = Path(directory)
        config = directory / "config.yaml"
        if not directory.is_dir() or not (config.exists() or config.is_symlink()):
            raise DataFileError(f"{directory}: not a run directory (no config.yaml)")
        return cls(directory)

    # -------------------------------------------------------------- documents
    def write_yaml(self, name: str, document: Any) -> None:
        atomic_write_text(self.directory / name, yaml.safe_dump(document, sort_keys=False))

    def write_json(self, name: str, document: Any) -> None:
        atomic_write_text(self.directory / name, json.dumps(document, indent=2) + "\n")

    def write_metrics(self, rows: Iterable[dict[str, Any]]) -> None:
        """metrics.csv from the whole history (rewritten atomically, so never half a row)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _format(row.get(k)) for k in METRIC_COLUMNS})
        atomic_write_text(self.directory / "metrics.csv", buffer.getvalue())

    # ------------------------------------------------------------ checkpoints
    def checkpoint_path(self, fold: int, epoch: int) -> Path:
        return self.directory / "checkpoints" / f"fold{fold}-epoch{epoch:03d}.npz"

    def save_checkpoint(self, fold: int, epoch: int, arrays: dict[str, np.ndarray], keep: int = 2) -> Path:
        """Write a checkpoint atomically, then drop all but the newest ``keep``."""
        path = self.checkpoint_path(fold, epoch)
        atomic_savez(path, arrays)
        for old in self.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)
        return path

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first (by fold, then epoch)."""
        found = []
        for path in (self.directory / "checkpoints").glob("fold*-epoch*.npz"):
            match = CHECKPOINT_NAME.search(path.name)
            if match:
                found.append(((int(match[1]), int(match[2])), path))
        return [p for _, p in sorted(found)]

    def latest_checkpoint(self, fits: CheckpointCheck | None = None) -> dict[str, np.ndarray] | None:
        """The arrays of the newest readable checkpoint (see :meth:`readable_checkpoint`), or None."""
        found = self.readable_checkpoint(fits)
        return found[1] if found is not None else None

    def readable_checkpoint(self, fits: CheckpointCheck | None = None) -> tuple[Path, dict[str, np.ndarray]] | None:
        """The newest checkpoint that loads, passes :func:`check_checkpoint` and ``fits``; its path too.

        A damaged newest one falls back to the one before. None when the run has no
        checkpoint at all (stopped before its first epoch ended); DataFileError naming
        the run directory when it has some and none can be read, rather than
        silently training again from scratch.
        """
        paths = self.checkpoints()
        reasons: list[str] = []
        for path in reversed(paths):
            try:
                arrays = load_npz(path)
                check_checkpoint(arrays, str(path))
                if fits is not None:
                    fits(arrays, str(path))
            except DataFileError as exc:
                reasons.append(exc.one_line())
                continue
            if reasons:  # one line, whatever number were skipped
                log.warning("%d newer checkpoint(s) damaged (newest: %s); resuming from %s",
                            len(reasons), reasons[0], path.name)
            return path, arrays
        if paths:
            raise DataFileError(f"{self.directory}: no checkpoint could be read ({len(paths)} damaged; newest: "
                                f"{reasons[0]}); nothing was resumed or retrained")
        return None

    # ------------------------------------------------------- checks on resume
    def check_files(self) -> None:
        """Refuse, naming the file, a run whose bench.yaml or metrics.csv is missing or damaged.

        metrics.csv may be missing (a run killed between its first checkpoint and
        its first table); when present it must be the table this module writes.
        """
        for sub in ("checkpoints", "measurements"):  # made with the run directory, before any file
            if not (self.directory / sub).is_dir():
                raise DataFileError(f"{self.directory / sub}: missing or not a folder; the run record is "
                                    "damaged and cannot be resumed")
        bench = self.directory / "bench.yaml"
        if not bench.exists():
            raise DataFileError(f"{bench}: missing; the run record is incomplete and cannot be resumed")
        snapshot = _read_yaml(bench)
        if not isinstance(snapshot, dict):
            raise DataFileError(f"{bench}: damaged (not a mapping of bench settings)")
        metrics = self.directory / "metrics.csv"
        if metrics.exists() or metrics.is_symlink():
            text = decode_text(read_bytes(metrics, what="a metrics table", max_bytes=METRICS_MAX_BYTES),
                               str(metrics))
            if text.split("\n", 1)[0].strip() != ",".join(METRIC_COLUMNS):
                raise DataFileError(f"{metrics}: damaged (its first line is not the metrics header); it is "
                                    "rebuilt from the checkpoints: move it away to resume")

    def calibration_sweep(self, name: str = "calibration.npz") -> dict[str, np.ndarray]:
        """calibration.npz (or another setting's ``name``), checked: every key, shape and value the resumed run needs."""
        path = self.directory / name
        if not path.exists():
            raise DataFileError(f"{path}: missing; the run record is incomplete and cannot be resumed")
        saved = load_npz(path)
        check_sweep(saved, path)
        return saved

    def save_measurements(self, fold: int, epoch: int, log: list[dict[str, np.ndarray]]) -> None:
        """One epoch's measurement log: per hidden layer, the inputs, outputs and derivatives per step."""
        arrays: dict[str, np.ndarray] = {}
        for layer in sorted({int(entry["layer"]) for entry in log}):
            entries = [e for e in log if int(e["layer"]) == layer]
            keys = ["input_a", "output_v", "derivative_v_per_a"]
            if all("exact_derivative_v_per_a" in e for e in entries):  # simulated: the exact dV/dI too
                keys.append("exact_derivative_v_per_a")
            for key in keys:
                arrays[f"layer{layer}.{key}"] = np.hstack([e[key] for e in entries]).astype(np.float32)
            arrays[f"layer{layer}.step"] = np.concatenate(
                [np.full(e["input_a"].shape[1], int(e["step"]), np.int32) for e in entries])
        if arrays:
            atomic_savez(self.directory / "measurements" / f"fold{fold}-epoch{epoch:03d}.npz", arrays)


def check_sweep(saved: dict[str, np.ndarray], path: Path) -> None:
    """Refuse (one line naming ``path``) a calibration sweep's arrays that miss a key, have the wrong
    shape or hold a non-finite reading of a live device."""
    missing = [k for k in CALIBRATION_KEYS if k not in saved]
    if missing:
        raise DataFileError(f"{path}: damaged (no {missing[0]!r} array)")
    devices, dead, inputs = saved["devices"], saved["dead"], saved["input_a"]
    if devices.ndim != 1 or devices.dtype.kind != "U" or dead.ndim != 1 or dead.dtype.kind != "U":
        raise DataFileError(f"{path}: damaged ('devices' and 'dead' must be lists of device ids)")
    for key in ("input_a", "output_v", "derivative_v_per_a"):
        values = saved[key]
        if values.dtype.kind != "f" or values.ndim != 2 or values.shape != (devices.size, inputs.shape[-1]):
            raise DataFileError(f"{path}: damaged ({key!r} must be numbers, one row of inputs per device)")
    if inputs.shape[1] < 3:
        raise DataFileError(f"{path}: damaged (fewer than 3 inputs per device)")
    live = ~np.isin(devices, dead)  # a dead device's readings are NaN by design
    for key in ("input_a", "output_v", "derivative_v_per_a"):
        values = saved[key] if key == "input_a" else saved[key][live]
        _refuse_non_finite(values, str(path), key)
    time_s = saved["instrument_time_s"]
    if time_s.shape != () or time_s.dtype.kind not in "fiu" or not 0 <= float(time_s) < math.inf:
        raise DataFileError(f"{path}: damaged ('instrument_time_s' must be one finite time >= 0)")
    for key, kind in (("bias_field_oe", "f"), ("device_kind", "U")):  # a setting's, where saved
        if key in saved and (saved[key].shape != () or saved[key].dtype.kind != kind):
            raise DataFileError(f"{path}: damaged ({key!r} must be one {'number' if kind == 'f' else 'text'})")
    if "device_kind" in saved and str(saved["device_kind"]) not in ("single", "double"):
        raise DataFileError(f"{path}: damaged ('device_kind' must be single or double)")


def _read_yaml(path: Path) -> Any:
    """A YAML file of the run (bounded like a config file), DataFileError naming it."""
    from ..config.loading import read_yaml  # config imports nothing of training

    return read_yaml(path, what="a run's YAML file", error_class=DataFileError)


def _refuse_non_finite(values: np.ndarray, source: str, key: str) -> None:
    """DataFileError naming ``key`` when ``values`` holds NaN, inf or a magnitude beyond 1e30."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) <= VALUE_MAX_ABS)
    if np.any(bad):
        raise DataFileError(f"{source}: damaged ({key!r} holds {np.ravel(values)[np.argmax(np.ravel(bad))]:g}; "
                            "every value must be finite)")


def _json_of(arrays: dict[str, np.ndarray], key: str, source: str) -> Any:
    """The JSON document stored as the text array ``key``; DataFileError when it is not one."""
    if key not in arrays:
        raise DataFileError(f"{source}: damaged (no {key!r} entry)")
    value = arrays[key]
    if value.shape != () or value.dtype.kind != "U":
        raise DataFileError(f"{source}: damaged ({key!r} is not a JSON text)")
    try:
        return json.loads(str(value))
    except (ValueError, RecursionError) as exc:
        raise DataFileError(f"{source}: damaged ({key!r} is not JSON: {str(exc)[:80]})") from None


def check_checkpoint(arrays: dict[str, np.ndarray], source: str) -> None:
    """Refuse a checkpoint whose metadata, random states or numbers are damaged (``source`` names it).

    Whether it fits the run's configuration (folds, epochs, architecture) is for the caller.
    """
    meta = _json_of(arrays, "meta", source)
    if not isinstance(meta, dict):
        raise DataFileError(f"{source}: damaged ('meta' is not a JSON object)")
    for key in ("fold", "epochs_done", "step", "measurements"):
        if not isinstance(meta.get(key), int) or isinstance(meta.get(key), bool) or meta[key] < 0:
            raise DataFileError(f"{source}: damaged (meta {key!r} must be a whole number >= 0, got "
                                f"{str(meta.get(key))[:40]})")
    for key in ("lab_time_s", "wall_time_s"):
        value = meta.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < math.inf:
            raise DataFileError(f"{source}: damaged (meta {key!r} must be a finite time >= 0)")
    for key in ("history", "fold_results", "cosines"):
        if not isinstance(meta.get(key), list):
            raise DataFileError(f"{source}: damaged (meta {key!r} must be a list)")
    if not all(isinstance(row, dict) and isinstance(row.get("epoch"), int) for row in meta["history"]):
        raise DataFileError(f"{source}: damaged (meta 'history' rows must each name their epoch)")
    for result in meta["fold_results"]:
        scores = [result.get(k) if isinstance(result, dict) else None for k in ("accuracy", "baseline_accuracy")]
        if not all(isinstance(x, (int, float)) and 0 <= x <= 1 for x in scores):
            raise DataFileError(f"{source}: damaged (meta 'fold_results' must hold accuracies within 0..1)")
    for key in ("rng", "method_rng"):
        if not isinstance(_json_of(arrays, key, source), dict):
            raise DataFileError(f"{source}: damaged ({key!r} is not a random generator state)")
    for key, values in arrays.items():
        if values.dtype.kind in "fc":
            _refuse_non_finite(values, source, key)


def json_array(document: Any) -> np.ndarray:
    """A JSON document as a 0-d text array (for npz without pickle)."""
    return np.array(json.dumps(document))


def from_json_array(array: np.ndarray) -> Any:
    return json.loads(str(array))


def _format(value: Any) -> Any:
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    return "" if value is None else value
