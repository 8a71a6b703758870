"""The run record: ``runs/<date>-<name>/`` and everything written into it.

Layout (every write atomic: a temporary file renamed into place)::

    config.yaml          the full resolved training configuration
    bench.yaml           the bench snapshot (instrument identities, settings, limits)
    calibration.yaml     each device's calibration (gain, offset) and the dead devices
    calibration.npz      the calibration sweep it was fitted to
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
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml

from ..errors import DataFileError

METRIC_COLUMNS = (
    "fold", "epoch", "learning_rate", "loss", "train_accuracy", "val_accuracy", "baseline_loss",
    "baseline_train_accuracy", "baseline_val_accuracy", "grad_cosine_median", "measurements",
    "lab_time_s", "wall_time_s", "evaluated_on",
)
CHECKPOINT_NAME = re.compile(r"fold(\d+)-epoch(\d+)\.npz$")


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


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an npz file (never pickle); DataFileError in one line if it is unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError) as exc:
        raise DataFileError(f"{path}: not a readable npz file ({' '.join(str(exc).split())})") from None
    except Exception as exc:  # zipfile.BadZipFile and friends from a truncated file
        raise DataFileError(f"{path}: corrupt npz file ({type(exc).__name__})") from None


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
        if not (directory / "config.yaml").is_file():
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

    def latest_checkpoint(self) -> dict[str, np.ndarray] | None:
        """The newest checkpoint that loads (a damaged newest one falls back to the one before)."""
        for path in reversed(self.checkpoints()):
            try:
                return load_npz(path)
            except DataFileError:
                continue
        return None

    def save_measurements(self, fold: int, epoch: int, log: list[dict[str, np.ndarray]]) -> None:
        """One epoch's measurement log: per hidden layer, the inputs, outputs and derivatives per step."""
        arrays: dict[str, np.ndarray] = {}
        for layer in sorted({int(entry["layer"]) for entry in log}):
            entries = [e for e in log if int(e["layer"]) == layer]
            for key in ("input_a", "output_v", "derivative_v_per_a"):
                arrays[f"layer{layer}.{key}"] = np.hstack([e[key] for e in entries]).astype(np.float32)
            arrays[f"layer{layer}.step"] = np.concatenate(
                [np.full(e["input_a"].shape[1], int(e["step"]), np.int32) for e in entries])
        if arrays:
            atomic_savez(self.directory / "measurements" / f"fold{fold}-epoch{epoch:03d}.npz", arrays)


def json_array(document: Any) -> np.ndarray:
    """A JSON document as a 0-d text array (for npz without pickle)."""
    return np.array(json.dumps(document))


def from_json_array(array: np.ndarray) -> Any:
    return json.loads(str(array))


def _format(value: Any) -> Any:
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    return "" if value is None else value
