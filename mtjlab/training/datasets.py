"""Datasets: Iris and 8x8 digits (scikit-learn's bundled copies), MNIST and any CSV from a path.

Features come back raw; the scalers of :mod:`.scaling` are fitted on each fold's training
part only (images, :attr:`Dataset.is_image`, take one scale for all pixels). Splits are
stratified k-fold (:func:`stratified_folds`) or a fixed holdout (:func:`holdout_split`).
Every problem with a file is a :class:`~mtjlab.errors.DataFileError` whose one-line
message names the file and what is wrong.
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import ConfigError, DataFileError
from ..safe_files import (DATASET_BINARY_MAX_BYTES, DATASET_CSV_MAX_BYTES, decode_text, describe_size, open_regular,
                          read_bytes)
from .records import read_npz

log = logging.getLogger(__name__)

DATASETS = ("iris", "digits", "mnist", "csv")
IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (n, rows, columns)
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (n,)
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"  # an npz is a zip archive, whatever its name
_NPY_MAGIC = b"\x93NUM"  # a lone .npy array
#: Largest magnitude of a feature value. Standardising squares the values, so up
#: to about 1e154 would still be finite; no measured or tabulated feature comes
#: near 1e30, and a value beyond it is a unit mistake or a corrupt file.
FEATURE_MAX_ABS = 1e30


@dataclass(frozen=True)
class Dataset:
    """Samples ``features`` (n, d) float64, raw, with int64 ``labels`` (n,) indexing ``class_names``.

    ``name`` names the dataset, ``source`` where it was read from. ``is_image``
    says the features are the pixels of an image (``mnist``, ``digits``): one
    quantity on one scale, scaled alike (:class:`ImageScaler`), not per pixel.
    Tables (``iris``, ``csv``) mix quantities and units, and keep per-feature
    standardisation (:class:`Standardiser`). ``image_shape`` is an image's (rows, columns)
    when ``is_image`` (``features`` hold the rows one after another), so that pixels
    can be moved as an image (random-shift augmentation); None for tables.
    """

    name: str
    features: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    source: str
    is_image: bool = False
    image_shape: tuple[int, int] | None = None

    @property
    def n_classes(self) -> int:
        """Number of classes (labels run 0..n_classes-1)."""
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        """Number of features per sample."""
        return int(self.features.shape[1])

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.features.shape[0])


def _fail(path: Path, what: str) -> DataFileError:
    """A DataFileError naming ``path``; whitespace is collapsed because the CLI prints one line."""
    return DataFileError(" ".join(f"{path}: {what}".split()))


def _why(exc: BaseException) -> str:
    """An exception's text (or its type when it has none), for the end of a one-line message."""
    return str(exc) or type(exc).__name__


def load_dataset(name: str, path: str | Path | None = None, label_column: str | None = None) -> Dataset:
    """The dataset called ``name``; an unknown name is a ConfigError, a bad file a DataFileError."""
    if name in ("iris", "digits"):
        from sklearn import datasets  # imported late: scikit-learn takes a while to import

        bunch = datasets.load_iris() if name == "iris" else datasets.load_digits()
        names = tuple(str(n) for n in bunch.target_names)
        return Dataset(name, np.asarray(bunch.data, np.float64), np.asarray(bunch.target, np.int64), names,
                       f"scikit-learn {name}", is_image=name == "digits",
                       image_shape=(8, 8) if name == "digits" else None)
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r} (choose {', '.join(DATASETS[:-1])} or {DATASETS[-1]})")
    if path is None:
        raise DataFileError(f"dataset {name} needs a file: give its path (--mnist-file or dataset_path)")
    path = Path(path)
    if not path.exists():
        raise _fail(path, "not found; check the path (relative paths start from the config file's folder)")
    dataset = load_mnist(path) if name == "mnist" else load_csv(path, label_column)
    log.info("dataset %s: %d samples, %d features, %d classes from %s",
             dataset.name, dataset.n_samples, dataset.n_features, dataset.n_classes, dataset.source)
    return dataset


# ------------------------------------------------------------------------ MNIST
def load_mnist(path: Path) -> Dataset:
    """MNIST from an npz (``images``, ``labels``), an IDX images file, or a folder of IDX files."""
    if path.is_dir():
        return _mnist(path, *_idx_folder(path))
    with _open(path) as stream:
        head = stream.read(4)
        stream.seek(0)
        if path.suffix in (".npz", ".npy") or head == _ZIP_MAGIC or head.startswith(_NPY_MAGIC):
            return _mnist(path, *_mnist_npz(path, stream))
        if head[:2] != _GZIP_MAGIC and path.suffix != ".gz" and len(head) == 4:
            # say so now rather than after reading a large file that is not MNIST
            _check_magic(path, head, IDX_IMAGES_MAGIC)
        images = _read_idx(path, IDX_IMAGES_MAGIC, stream)
    return _mnist(path, images, _read_idx(_labels_beside(path), IDX_LABELS_MAGIC))


def _open(path: Path) -> BinaryIO:
    """An MNIST file opened for reading once it is a regular file within the size limit."""
    return open_regular(path, what="an MNIST file", max_bytes=DATASET_BINARY_MAX_BYTES)


def _mnist_npz(path: Path, stream: BinaryIO) -> tuple[np.ndarray, np.ndarray]:
    """The ``images`` and ``labels`` arrays of an npz; pickles are refused (they can run code)."""
    arrays = read_npz(stream, str(path), max_array_bytes=DATASET_BINARY_MAX_BYTES)
    missing = [k for k in ("images", "labels") if k not in arrays]
    if missing:
        raise _fail(path, f"npz has no {missing[0]!r} array (has: {', '.join(arrays) or 'none'}); "
                          "save it with np.savez(path, images=..., labels=...)")
    return np.asarray(arrays["images"]), np.asarray(arrays["labels"])


def _mnist(path: Path, images: np.ndarray, labels: np.ndarray) -> Dataset:
    """Checks shapes and labels, flattens the images and scales pixels to 0..1."""
    if images.ndim == 3 and images.shape[1:] == (28, 28):
        images = images.reshape(len(images), 784)
    if images.ndim != 2 or images.shape[1] != 784:
        raise _fail(path, f"images have shape {images.shape}; expected (n, 28, 28) or (n, 784)")
    if labels.ndim != 1:
        raise _fail(path, f"labels have shape {labels.shape}; expected (n,)")
    if len(images) != len(labels):
        raise _fail(path, f"{len(images)} images but {len(labels)} labels; each image needs one label")
    if len(labels) == 0:
        raise _fail(path, "holds no images")
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        raise _fail(path, f"images must be numbers, not {images.dtype}")
    pixels = images.astype(np.float64)
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 255:
        raise _fail(path, "image pixels must be finite and within 0..255")
    # Uint8 pixels (0..255) are divided by 255; float images already scaled to 0..1
    # are kept as they are, so scaling twice cannot silently flatten them to ~0.
    scale = 255.0 if images.dtype == np.uint8 or pixels.max() > 1.0 else 1.0
    return Dataset("mnist", pixels / scale, _digit_labels(path, labels), tuple(str(d) for d in range(10)),
                   str(path), is_image=True, image_shape=(28, 28))


def _digit_labels(path: Path, labels: np.ndarray) -> np.ndarray:
    """Labels as int64 0..9; whole-number floats are accepted (some tools save labels as float)."""
    if np.issubdtype(labels.dtype, np.integer):
        values = labels.astype(np.int64)
    elif np.issubdtype(labels.dtype, np.floating) and np.isfinite(labels).all() and (labels == np.round(labels)).all():
        values = labels.astype(np.int64)
    else:
        raise _fail(path, f"labels must be integers 0..9, not {labels.dtype} values")
    if values.min() < 0 or values.max() > 9:
        raise _fail(path, f"labels must be integers 0..9 (found {values.min()} to {values.max()})")
    return values


def _idx_bytes(path: Path, stream: BinaryIO | None = None) -> bytes:
    """A whole IDX file, gunzipped when its first bytes or its .gz suffix say it is gzip.

    Reading and unpacking both stop past DATASET_BINARY_MAX_BYTES: a small gzip
    file can otherwise unpack into more memory than the machine has.
    """
    limit = DATASET_BINARY_MAX_BYTES
    if stream is None:
        raw = read_bytes(path, what="an MNIST file", max_bytes=limit)
    else:
        try:
            raw = stream.read(limit + 1)
        except OSError as exc:
            raise _fail(path, f"cannot read ({_why(exc)})") from None
        if len(raw) > limit:
            raise _fail(path, "grew past the size limit for an MNIST file while it was read")
    if raw[:2] != _GZIP_MAGIC and path.suffix != ".gz":
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unpacked:
            data = unpacked.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise _fail(path, f"not a readable gzip file ({_why(exc)}); download it again") from None
    if len(data) > limit:
        raise _fail(path, f"unpacks to more than the {describe_size(limit)} limit for an MNIST file")
    return data


def _check_magic(path: Path, data: bytes, magic: int) -> None:
    """Refuse a file whose first four bytes are not the IDX ``magic``."""
    found = int.from_bytes(data[:4], "big")
    if len(data) < 4 or found != magic:
        kind = "images" if magic == IDX_IMAGES_MAGIC else "labels"
        raise _fail(path, f"not an IDX {kind} file (magic 0x{found:08x}, expected 0x{magic:08x})")


def _read_idx(path: Path, magic: int, stream: BinaryIO | None = None) -> np.ndarray:
    """An IDX array of unsigned bytes; the magic's low byte is the number of dimensions."""
    data = _idx_bytes(path, stream)
    kind, dims = ("images", 3) if magic == IDX_IMAGES_MAGIC else ("labels", 1)
    _check_magic(path, data, magic)
    header = 4 + 4 * dims
    if len(data) < header:
        raise _fail(path, f"truncated: {len(data)} bytes, shorter than the IDX header of {header}")
    shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(dims))
    size = math.prod(shape)  # Python integers: four 32-bit sizes cannot overflow
    if len(data) - header < size:
        raise _fail(path, f"truncated: the header says {shape[0]} {kind} ({' x '.join(map(str, shape))} bytes) "
                          f"but the file holds {len(data) - header}; download it again")
    return np.frombuffer(data, np.uint8, size, header).reshape(shape)


def _labels_beside(images_path: Path) -> Path:
    """The labels file of an IDX images file: ``images-idx3`` becomes ``labels-idx1``, gzip or not."""
    name = images_path.name
    if "images-idx3" not in name:
        raise _fail(images_path, "cannot find its labels file: the name has no 'images-idx3' to replace "
                                 "with 'labels-idx1' (use the MNIST names, e.g. train-images-idx3-ubyte)")
    wanted = name.replace("images-idx3", "labels-idx1")
    # The labels may be compressed when the images are not, or the other way round.
    alternative = wanted[:-3] if wanted.endswith(".gz") else wanted + ".gz"
    for candidate in (wanted, alternative):
        if images_path.with_name(candidate).is_file():
            return images_path.with_name(candidate)
    raise _fail(images_path, f"its labels file {wanted} is not beside it; put it in the same folder")


def _idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The train images and labels of a folder, followed by the t10k ones when present."""
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for part in ("train", "t10k"):
        found = sorted(p for p in folder.glob(f"{part}-images-idx3-ubyte*") if p.is_file())
        if found:
            images.append(_read_idx(found[0], IDX_IMAGES_MAGIC))
            labels.append(_read_idx(_labels_beside(found[0]), IDX_LABELS_MAGIC))
            if len(images[-1]) != len(labels[-1]):
                raise _fail(found[0], f"{len(images[-1])} images but {len(labels[-1])} labels beside it")
    if not images:
        raise _fail(folder, "no IDX files (expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])")
    return np.concatenate(images), np.concatenate(labels)


# -------------------------------------------------------------------------- CSV
def load_csv(path: Path, label_column: str | None) -> Dataset:
    """Any CSV with a header: numeric feature columns and a label column (default the last)."""
    import pandas as pd  # imported late: only CSV datasets need pandas

    if path.is_dir():
        raise _fail(path, "is a folder; give the CSV file itself")
    text = decode_text(read_bytes(path, what="a CSV dataset", max_bytes=DATASET_CSV_MAX_BYTES), str(path))
    try:
        frame = pd.read_csv(io.StringIO(text))
    except pd.errors.EmptyDataError:
        raise _fail(path, "is empty; a CSV needs a header line and rows") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise _fail(path, f"not a readable CSV file ({_why(exc)[:200]})") from None
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if frame.empty:
        raise _fail(path, "has a header but no data rows")
    label = label_column if label_column is not None else columns[-1]
    if label not in columns:
        raise _fail(path, f"no label column {label!r} (columns: {', '.join(columns)[:200]})")
    features = frame.drop(columns=[label])
    if features.shape[1] == 0:
        raise _fail(path, f"has only the label column {label!r}; it needs at least one feature column")
    for column in features.columns:
        if not pd.api.types.is_numeric_dtype(features[column]):
            raise _fail(path, f"feature column {column!r} is not numeric")
    missing = frame.isna().to_numpy()
    if missing.any():
        row, col = map(int, np.argwhere(missing)[0])
        raise _fail(path, f"data row {row + 1}, column {columns[col]!r} is empty or NaN; fill or remove it")
    values = features.to_numpy(np.float64)
    _check_features(path, values, list(features.columns))
    # Sorting the raw values keeps numeric labels in numeric order (2 before 10).
    raw = frame[label]
    labels_raw = raw.to_numpy() if pd.api.types.is_numeric_dtype(raw) else raw.astype(str).to_numpy()
    classes, labels = np.unique(labels_raw, return_inverse=True)
    if len(classes) < 2:
        raise _fail(path, f"label column {label!r} has only one class ({classes[0]}); it needs at least 2")
    return Dataset(path.stem, values, labels.astype(np.int64).ravel(), tuple(str(c) for c in classes), str(path))


def _check_features(path: Path, values: np.ndarray, columns: list[str]) -> None:
    """Refuse inf and values beyond FEATURE_MAX_ABS, naming the first bad row and column."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) <= FEATURE_MAX_ABS)  # also true for NaN and inf
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        value = values[row, col]
        why = "is not a finite number" if not np.isfinite(value) else f"is beyond +/-{FEATURE_MAX_ABS:g}"
        raise _fail(path, f"data row {row + 1}, column {columns[col]!r} {why} (got {value:g}); "
                          "features must be finite measured values")


# ----------------------------------------------------------------------- splits
def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, validation)`` indices of stratified k-fold splits; the same seed, the same splits."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    if folds < 2:
        raise ConfigError(f"folds: k-fold needs at least 2 folds (got {folds})")
    if labels.size == 0:
        raise ConfigError("folds: the dataset has no samples to split")
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < folds:
        # StratifiedKFold only warns here and hands out folds missing a class; refuse instead.
        worst = int(np.argmin(counts))
        raise ConfigError(f"{folds} folds need at least {folds} samples of every class; "
                          f"class {str(classes[worst])!r} has {counts[worst]}")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(train, val) for train, val in splitter.split(np.zeros(len(labels)), labels)]


def holdout_split(n_samples: int, n_train: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The one split: the first ``n_train`` samples train, the rest validate (MNIST's fixed split)."""
    if not 1 <= n_train < n_samples:
        raise ConfigError(f"train_samples: must be within 1..{n_samples - 1} for {n_samples} samples (got {n_train})")
    return [(np.arange(n_train), np.arange(n_train, n_samples))]
