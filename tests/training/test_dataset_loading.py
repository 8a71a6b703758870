"""Datasets and splits: bundled sets, MNIST as npz and IDX, CSV, and one-line errors."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from mtjlab.errors import ConfigError, DataFileError
from mtjlab.training.datasets import holdout_split, load_dataset, stratified_folds
from mtjlab.training.scaling import Standardiser


def write_idx(folder, part, images, labels, compress=False):
    opener = gzip.open if compress else open
    suffix = ".gz" if compress else ""
    with opener(folder / f"{part}-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, *images.shape) + images.tobytes())
    with opener(folder / f"{part}-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">II", 0x801, labels.size) + labels.tobytes())


def digits(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def test_bundled_sets():
    iris, eight = load_dataset("iris"), load_dataset("digits")
    assert iris.features.shape == (150, 4) and iris.n_classes == 3 and iris.class_names[0] == "setosa"
    assert eight.features.shape == (1797, 64) and eight.n_classes == 10


def test_mnist_npz_and_idx_give_the_same_samples(tmp_path):
    images, labels = digits(12)
    np.savez(tmp_path / "m.npz", images=images, labels=labels)
    np.savez(tmp_path / "flat.npz", images=images.reshape(12, 784), labels=labels)
    write_idx(tmp_path, "train", images[:8], labels[:8])
    (tmp_path / "gz").mkdir()
    write_idx(tmp_path / "gz", "train", images[:8], labels[:8], compress=True)
    write_idx(tmp_path / "gz", "t10k", images[8:], labels[8:], compress=True)
    from_npz = load_dataset("mnist", tmp_path / "m.npz")
    assert from_npz.features.shape == (12, 784) and from_npz.features.max() <= 1.0
    np.testing.assert_array_equal(from_npz.features[3], images[3].ravel() / 255.0)
    np.testing.assert_array_equal(load_dataset("mnist", tmp_path / "flat.npz").features, from_npz.features)
    from_file = load_dataset("mnist", tmp_path / "train-images-idx3-ubyte")
    np.testing.assert_array_equal(from_file.features, from_npz.features[:8])
    from_folder = load_dataset("mnist", tmp_path / "gz")  # train then t10k
    np.testing.assert_array_equal(from_folder.features, from_npz.features)
    np.testing.assert_array_equal(from_folder.labels, labels)


def test_csv_with_text_labels_and_a_chosen_label_column(tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text("species,a,b\nred,1,2\nblue,3,4\nred,5,6\n")
    data = load_dataset("csv", path, label_column="species")
    assert data.class_names == ("blue", "red") and list(data.labels) == [1, 0, 1]
    np.testing.assert_array_equal(data.features, [[1, 2], [3, 4], [5, 6]])


@pytest.mark.parametrize("name, content, message", [
    ("missing.npz", None, "not found"),
    ("bad.npz", b"garbage", "not a readable npz"),
    ("train-images-idx3-ubyte", struct.pack(">IIII", 0x801, 2, 28, 28), "not an IDX images file"),
    ("train-images-idx3-ubyte", struct.pack(">IIII", 0x803, 5, 28, 28) + bytes(100), "truncated"),
    ("t.csv", "a,b,label\n1,x,0\n2,3,1\n", "feature column 'b' is not numeric"),
    ("u.csv", "a,label\n1,0\n,1\n", "data row 2, column 'a' is empty"),
    ("v.csv", "a,label\n1,0\n2,0\n", "only one class"),
])
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_bytes(content)
    kind = "csv" if name.endswith(".csv") else "mnist"
    with pytest.raises(DataFileError, match=message) as caught:
        load_dataset(kind, path)
    assert "\n" not in str(caught.value) and name in str(caught.value)


def test_mnist_shape_and_label_errors(tmp_path):
    images, labels = digits(4)
    np.savez(tmp_path / "short.npz", images=images, labels=labels[:3])
    np.savez(tmp_path / "eleven.npz", images=images, labels=np.array([0, 1, 2, 11]))
    np.savez(tmp_path / "shape.npz", images=images[:, :20], labels=labels)
    for name, message in (("short", "4 images but 3 labels"), ("eleven", "0..9"), ("shape", "expected")):
        with pytest.raises(DataFileError, match=message):
            load_dataset("mnist", tmp_path / f"{name}.npz")
    with pytest.raises(DataFileError, match="needs a file"):
        load_dataset("mnist")
    with pytest.raises(ConfigError, match="unknown dataset 'emnist'"):
        load_dataset("emnist")


def test_stratified_folds_cover_every_sample_once_and_follow_the_seed():
    labels = load_dataset("iris").labels
    folds = stratified_folds(labels, 5, seed=7)
    validation = np.concatenate([v for _, v in folds])
    assert sorted(validation) == list(range(150))
    for train, val in folds:
        assert set(train).isdisjoint(val) and np.bincount(labels[val]).tolist() == [10, 10, 10]
    again = stratified_folds(labels, 5, seed=7)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    other = stratified_folds(labels, 5, seed=8)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))
    with pytest.raises(ConfigError, match="class .2. has 3$"):
        stratified_folds(np.array([0] * 10 + [1] * 10 + [2] * 3), 5, 0)
    train, val = holdout_split(10, 8)[0]
    assert list(train) == list(range(8)) and list(val) == [8, 9]
    with pytest.raises(ConfigError):
        holdout_split(10, 10)


def test_standardiser_uses_the_training_part_only():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = Standardiser.fit(train)
    np.testing.assert_allclose(scaler.transform(train), [[-1, 0], [1, 0]])
    np.testing.assert_allclose(scaler.transform(np.array([[5.0, 7.0]])), [[3.0, 2.0]])


# --------------------------------------------------------------- hostile files
def _npz_declaring(path, shape):
    """An npz whose 'images' header claims ``shape`` (uint8) while holding ten bytes: a bomb."""
    import zipfile

    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (117 - len(header)) + "\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(10)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("images.npy", npy)
        archive.writestr("labels.npy", npy)


@pytest.mark.parametrize("name, content, message", [
    ("inf.csv", "a,b,label\n1,inf,0\n2,3,1\n", "data row 1, column 'b' is not a finite number (got inf)"),
    ("e999.csv", "a,b,label\n1,2,0\n2,1e999,1\n", "data row 2, column 'b' is not a finite number"),
    ("huge.csv", "a,b,label\n1,1e308,0\n2,3,1\n", "data row 1, column 'b' is beyond +/-1e+30 (got 1e+308)"),
    ("nan.csv", "a,label\n1,0\nnan,1\n", "data row 2, column 'a' is empty or NaN"),
    ("utf16.csv", "a,label\n1,0\n2,1\n".encode("utf-16"), "is UTF-16 text"),
    ("latin1.csv", "a,label\n1,caf\xe9\n2,b\n".encode("latin-1"), "not UTF-8 text"),
    ("lone.npz", None, "is a single .npy array"),
    ("bomb.npz", None, "its arrays unpack to more than 512 MiB"),
    ("object.npz", None, "holds Python objects"),
    ("nan.npz", None, "image pixels must be finite"),
])
def test_non_finite_huge_and_misencoded_data_are_refused_at_load(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif name == "lone.npz":
        with path.open("wb") as stream:
            np.save(stream, np.zeros((2, 784)))
    elif name == "bomb.npz":
        _npz_declaring(path, (10**9, 784))
    elif name == "object.npz":
        np.savez(path, images=np.array([None, 1], dtype=object), labels=np.arange(2))
    else:
        np.savez(path, images=np.full((2, 28, 28), np.nan), labels=np.arange(2))
    with pytest.raises(DataFileError) as caught:
        load_dataset("csv" if name.endswith(".csv") else "mnist", path)
    assert message in str(caught.value) and str(caught.value).startswith(f"{path}: "), str(caught.value)


def test_a_gzip_bomb_stops_at_the_size_limit(tmp_path, monkeypatch):
    from mtjlab.training import datasets

    monkeypatch.setattr(datasets, "DATASET_BINARY_MAX_BYTES", 1 << 20)  # the same check, at 1 MiB
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(struct.pack(">IIII", 0x803, 10**5, 28, 28) + bytes(4 << 20))
    with pytest.raises(DataFileError, match="unpacks to more than the 1 MiB limit"):
        load_dataset("mnist", path)


@pytest.mark.parametrize("kind", ["csv", "mnist"])
@pytest.mark.parametrize("what", ["fifo", "device", "too large"])
def test_pipes_devices_and_oversized_files_are_refused_before_reading(tmp_path, kind, what):
    import os

    from mtjlab.safe_files import DATASET_BINARY_MAX_BYTES, DATASET_CSV_MAX_BYTES

    path = tmp_path / ("data.csv" if kind == "csv" else "data.npz")
    if what == "fifo":
        os.mkfifo(path)
    elif what == "device":
        path = "/dev/zero"
    else:
        with open(path, "wb") as stream:  # sparse: no disk is used
            stream.truncate((DATASET_CSV_MAX_BYTES if kind == "csv" else DATASET_BINARY_MAX_BYTES) + 1)
    reason = {"fifo": "named pipe", "device": "character device", "too large": "limit for"}[what]
    with pytest.raises(DataFileError, match=reason):
        load_dataset(kind, path)
