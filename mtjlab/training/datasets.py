"""Datasets: Iris and 8x8 digits (scikit-learn's bundled copies), MNIST and any CSV from a path.

Features come back raw; :class:`Standardiser` is fitted on each fold's training
part only, so nothing of the validation part leaks into training. Splits are
stratified k-fold (:func:`stratified_folds`) or a fixed holdout (:func:`holdout_split`).
"""

from __future__ import annotations

import gzip
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataFileError

DATASETS = ("iris", "digits", "mnist", "csv")
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801


@dataclass(frozen=True)
class Dataset:
    """Samples ``features`` (n, d), float) with integer ``labels`` (n,) indexing ``class_names``."""

    name: str
    features: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        return int(self.features.shape[1])

    @property
    def n_samples(self) -> int:
        return int(self.features.shape[0])


def load_dataset(name: str, path: str | Path | None = None, label_column: str | None = None) -> Dataset:
    """The dataset called ``name``; ConfigError or DataFileError in one line."""
    if name in ("iris", "digits"):
        from sklearn import datasets

        bunch = datasets.load_iris() if name == "iris" else datasets.load_digits()
        names = tuple(str(n) for n in bunch.target_names)
        return Dataset(name, np.asarray(bunch.data, float), np.asarray(bunch.target, np.int64), names,
                       f"scikit-learn {name}")
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r} (choose {', '.join(DATASETS[:-1])} or {DATASETS[-1]})")
    if path is None:
        raise DataFileError(f"dataset {name} needs a file: give its path (--mnist-file or dataset_path)")
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: not found")
    return load_mnist(path) if name == "mnist" else load_csv(path, label_column)


# ------------------------------------------------------------------------ MNIST
def load_mnist(path: Path) -> Dataset:
    """MNIST from an npz (``images``, ``labels``), an IDX images file, or a folder of IDX files."""
    if path.is_dir():
        images, labels = _idx_folder(path)
    elif path.suffix == ".npz":
        images, labels = _mnist_npz(path)
    else:
        images = _read_idx(path, IDX_IMAGES_MAGIC, 3)
        labels = _read_idx(_labels_beside(path), IDX_LABELS_MAGIC, 1)
    return _mnist(path, images, labels)


def _mnist_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("images", "labels") if k not in data.files]
            if missing:
                raise DataFileError(f"{path}: npz has no {missing[0]!r} array (has: {', '.join(data.files) or 'none'})")
            return np.asarray(data["images"]), np.asarray(data["labels"])
    except DataFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{path}: not a readable npz file ({' '.join(str(exc).split())})") from None


def _mnist(path: Path, images: np.ndarray, labels: np.ndarray) -> Dataset:
    if images.ndim == 3 and images.shape[1:] == (28, 28):
        images = images.reshape(len(images), 784)
    if images.ndim != 2 or images.shape[1] != 784:
        raise DataFileError(f"{path}: images have shape {images.shape}; expected (n, 28, 28) or (n, 784)")
    labels = np.ravel(labels)
    if len(images) != len(labels):
        raise DataFileError(f"{path}: {len(images)} images but {len(labels)} labels")
    if len(labels) == 0:
        raise DataFileError(f"{path}: holds no images")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
        raise DataFileError(f"{path}: labels must be integers 0..9 (found {labels.dtype} from "
                            f"{labels.min()} to {labels.max()})")
    if not np.issubdtype(images.dtype, np.number):
        raise DataFileError(f"{path}: images must be numbers, not {images.dtype}")
    scale = 255.0 if images.dtype == np.uint8 or float(images.max(initial=0)) > 1.0 else 1.0
    return Dataset("mnist", images.astype(float) / scale, labels.astype(np.int64),
                   tuple(str(d) for d in range(10)), str(path))


def _open_idx(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataFileError(f"{path}: cannot read ({' '.join(str(exc).split())})") from None


def _read_idx(path: Path, magic: int, dims: int) -> np.ndarray:
    data = _open_idx(path)
    kind = "images" if magic == IDX_IMAGES_MAGIC else "labels"
    found = int.from_bytes(data[:4], "big") if len(data) >= 4 else -1
    if found != magic:
        raise DataFileError(f"{path}: not an IDX {kind} file (magic 0x{max(found, 0):08x}, expected 0x{magic:08x})")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataFileError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(dims))
    size = int(np.prod(shape))
    if len(data) - header < size:
        raise DataFileError(f"{path}: truncated: the header says {' x '.join(map(str, shape))} bytes of {kind} "
                            f"but the file holds {len(data) - header}")
    return np.frombuffer(data, np.uint8, size, header).reshape(shape)


def _labels_beside(images_path: Path) -> Path:
    name = images_path.name
    if "images-idx3" not in name:
        raise DataFileError(f"{images_path}: not an npz and not an IDX images file name (*images-idx3-ubyte*)")
    labels = images_path.with_name(name.replace("images-idx3", "labels-idx1"))
    if not labels.exists():
        raise DataFileError(f"{images_path}: its labels file {labels.name} is not beside it")
    return labels


def _idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for part in ("train", "t10k"):
        found = sorted(folder.glob(f"{part}-images-idx3-ubyte*"))
        if found:
            images.append(_read_idx(found[0], IDX_IMAGES_MAGIC, 3))
            labels.append(_read_idx(_labels_beside(found[0]), IDX_LABELS_MAGIC, 1))
    if not images:
        raise DataFileError(f"{folder}: no IDX files (train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])")
    return np.concatenate(images), np.concatenate(labels)


# -------------------------------------------------------------------------- CSV
def load_csv(path: Path, label_column: str | None) -> Dataset:
    """Any CSV with a header: numeric feature columns and a label column (default the last)."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFileError(f"{path}: not a readable CSV file ({' '.join(str(exc).split())})") from None
    if frame.empty or frame.shape[1] < 2:
        raise DataFileError(f"{path}: needs a header, at least one feature column, a label column and rows")
    label = label_column if label_column is not None else str(frame.columns[-1])
    if label not in frame.columns:
        raise DataFileError(f"{path}: no label column {label!r} (columns: {', '.join(map(str, frame.columns))})")
    features = frame.drop(columns=[label])
    for column in features.columns:
        if not pd.api.types.is_numeric_dtype(features[column]):
            raise DataFileError(f"{path}: feature column {column!r} is not numeric")
    missing = frame.isna().to_numpy()
    if missing.any():
        row, col = map(int, np.argwhere(missing)[0])
        raise DataFileError(f"{path}: data row {row + 1}, column {frame.columns[col]!r} is empty")
    names, labels = np.unique(frame[label].astype(str).to_numpy(), return_inverse=True)
    if len(names) < 2:
        raise DataFileError(f"{path}: label column {label!r} has only one class")
    return Dataset(path.stem, features.to_numpy(float), labels.astype(np.int64), tuple(names), str(path))


# ----------------------------------------------------------------------- splits
def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, validation)`` indices of stratified k-fold splits; the same seed, the same splits."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if folds < 2:
        raise ConfigError(f"folds: k-fold needs at least 2 folds (got {folds})")
    if counts.min() < folds:
        worst = int(np.argmin(counts))
        raise ConfigError(f"{folds} folds need at least {folds} samples of every class; "
                          f"class {str(classes[worst])!r} has {counts[worst]}")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(train, val) for train, val in splitter.split(np.zeros(len(labels)), labels)]


def holdout_split(n_samples: int, n_train: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The one split: the first ``n_train`` samples train, the rest validate."""
    if not 1 <= n_train < n_samples:
        raise ConfigError(f"train_samples: must be within 1..{n_samples - 1} for {n_samples} samples (got {n_train})")
    return [(np.arange(n_train), np.arange(n_train, n_samples))]


class Standardiser:
    """Per-feature mean and standard deviation of the training part (a constant feature keeps std 1)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean, self.std = mean, std

    @classmethod
    def fit(cls, features: np.ndarray) -> "Standardiser":
        std = np.std(features, axis=0)
        return cls(np.mean(features, axis=0), np.where(std > 0, std, 1.0))

    def transform(self, features: np.ndarray) -> np.ndarray:
        return (np.asarray(features, float) - self.mean) / self.std
