"""Datasets, splits and the scalers: every loader, every file error in one line."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mtjlab.errors import ConfigError, DataFileError
from mtjlab.config import TrainingConfig
from mtjlab.errors import MtjlabError
from mtjlab.training.scaling import ImageScaler, Standardiser
from mtjlab.training.datasets import (Dataset, holdout_split, load_dataset,
                                      stratified_folds)
from mtjlab.training.records import json_array
from mtjlab.training.trainer import Trainer


# ---------------------------------------------------------------------- helpers
def idx_images(images: np.ndarray, magic: int = 0x803) -> bytes:
    """An IDX images file: big-endian magic and dimensions, then the pixels."""
    return struct.pack(">IIII", magic, *images.shape) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 0x801, labels.size) + labels.astype(np.uint8).tobytes()


def write_idx(folder: Path, part: str, images: np.ndarray, labels: np.ndarray, gz: bool = False) -> Path:
    """Writes <part>-images-idx3-ubyte[.gz] and its labels file; returns the images file."""
    suffix = ".gz" if gz else ""
    pack = gzip.compress if gz else (lambda raw: raw)
    images_path = folder / f"{part}-images-idx3-ubyte{suffix}"
    images_path.write_bytes(pack(idx_images(images)))
    (folder / f"{part}-labels-idx1-ubyte{suffix}").write_bytes(pack(idx_labels(labels)))
    return images_path


def fake_mnist(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def file_error(kind: str, path: Path, label_column: str | None = None, names: Path | None = None) -> str:
    """The message of the DataFileError loading ``path`` raises: one line naming the faulty file."""
    with pytest.raises(DataFileError) as caught:
        load_dataset(kind, path, label_column)
    message = str(caught.value)
    assert "\n" not in message and str(names or path) in message, message
    return message


# -------------------------------------------------------------- bundled sets
def test_iris_has_150_samples_of_4_features_in_3_classes():
    iris = load_dataset("iris")
    assert isinstance(iris, Dataset) and iris.name == "iris" and "iris" in iris.source
    assert iris.features.shape == (150, 4) and iris.features.dtype == np.float64
    assert (iris.n_samples, iris.n_features, iris.n_classes) == (150, 4, 3)
    assert iris.labels.dtype == np.int64 and set(iris.labels) == {0, 1, 2}
    assert iris.class_names == ("setosa", "versicolor", "virginica")


def test_digits_are_raw_8x8_pixels_in_10_classes():
    digits = load_dataset("digits")
    assert digits.features.shape == (1797, 64) and digits.n_classes == 10
    assert digits.features.min() == 0 and digits.features.max() == 16  # not standardised
    assert digits.class_names == tuple(str(d) for d in range(10))


def test_unknown_dataset_is_a_config_error_in_one_line():
    with pytest.raises(ConfigError, match=r"^unknown dataset 'irs' \(choose iris, digits, mnist or csv\)$"):
        load_dataset("irs")


@pytest.mark.parametrize("kind", ["mnist", "csv"])
def test_a_file_dataset_without_a_path_says_it_needs_one(kind):
    with pytest.raises(DataFileError, match=f"dataset {kind} needs a file") as caught:
        load_dataset(kind)
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------- MNIST
def test_mnist_npz_round_trip_scales_pixels_to_0_1(tmp_path):
    images, labels = fake_mnist(6)
    np.savez(tmp_path / "m.npz", images=images, labels=labels)
    data = load_dataset("mnist", tmp_path / "m.npz")
    assert data.features.shape == (6, 784) and data.features.dtype == np.float64
    np.testing.assert_array_equal(data.features, images.reshape(6, 784) / 255.0)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.labels.dtype == np.int64 and data.n_classes == 10 and data.source == str(tmp_path / "m.npz")


def test_mnist_npz_with_flat_images(tmp_path):
    images, labels = fake_mnist(5)
    np.savez(tmp_path / "flat.npz", images=images.reshape(5, 784), labels=labels)
    data = load_dataset("mnist", tmp_path / "flat.npz")
    np.testing.assert_array_equal(data.features, images.reshape(5, 784) / 255.0)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_file_round_trip_plain_and_gzip(tmp_path, gz):
    images, labels = fake_mnist(7)
    data = load_dataset("mnist", write_idx(tmp_path, "train", images, labels, gz=gz))
    np.testing.assert_array_equal(data.features, images.reshape(7, 784) / 255.0)
    np.testing.assert_array_equal(data.labels, labels)


def test_mnist_gzip_is_recognised_by_its_magic_without_the_suffix(tmp_path):
    images, labels = fake_mnist(3)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(gzip.compress(idx_images(images)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_labels(labels))
    np.testing.assert_array_equal(load_dataset("mnist", tmp_path / "train-images-idx3-ubyte").labels, labels)


def test_mnist_idx_folder_appends_t10k_after_train(tmp_path):
    images, labels = fake_mnist(10)
    write_idx(tmp_path, "train", images[:6], labels[:6], gz=True)
    write_idx(tmp_path, "t10k", images[6:], labels[6:])
    data = load_dataset("mnist", tmp_path)
    np.testing.assert_array_equal(data.features, images.reshape(10, 784) / 255.0)
    np.testing.assert_array_equal(data.labels, labels)
    only_train = tmp_path / "only_train"
    only_train.mkdir()
    write_idx(only_train, "train", images[:6], labels[:6])
    assert load_dataset("mnist", only_train).n_samples == 6


# ----------------------------------------------------------------------- CSV
def test_csv_with_text_labels_and_a_chosen_label_column(tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text("species,length,width\nrose,1.5,2\ntulip,3,4\nrose,5,6\ndaisy,7,8\n")
    data = load_dataset("csv", path, label_column="species")
    assert data.name == "flowers" and data.source == str(path)
    assert data.class_names == ("daisy", "rose", "tulip") and data.labels.tolist() == [1, 2, 1, 0]
    assert data.labels.dtype == np.int64 and data.features.dtype == np.float64
    np.testing.assert_array_equal(data.features, [[1.5, 2], [3, 4], [5, 6], [7, 8]])


def test_csv_label_column_defaults_to_the_last(tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("a,b,y\n1,2,10\n3,4,2\n5,6,10\n")
    data = load_dataset("csv", path)
    assert data.n_features == 2 and data.class_names == ("2", "10") and data.labels.tolist() == [1, 0, 1]


# ---------------------------------------------------------------- file errors
def test_missing_file_and_folder_are_not_found(tmp_path):
    assert "not found" in file_error("mnist", tmp_path / "absent.npz")
    assert "not found" in file_error("mnist", tmp_path / "absent_folder")
    assert "not found" in file_error("csv", tmp_path / "absent.csv")


def test_corrupt_npz_is_not_readable(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"this is not a zip archive")
    assert "not a readable npz" in file_error("mnist", tmp_path / "bad.npz")
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04" + bytes(10))
    assert "not a readable npz" in file_error("mnist", tmp_path / "cut.npz")


def test_npz_without_images_or_labels_names_what_it_has(tmp_path):
    images, labels = fake_mnist(2)
    np.savez(tmp_path / "x.npz", x_train=images, labels=labels)
    message = file_error("mnist", tmp_path / "x.npz")
    assert "'images'" in message and "x_train" in message
    np.savez(tmp_path / "y.npz", images=images, y=labels)
    assert "'labels'" in file_error("mnist", tmp_path / "y.npz")


@pytest.mark.parametrize("images, labels, expected", [
    (np.zeros((4, 28, 20), np.uint8), np.zeros(4, np.uint8), "expected (n, 28, 28) or (n, 784)"),
    (np.zeros((4, 28, 28), np.uint8), np.zeros(3, np.uint8), "4 images but 3 labels"),
    (np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 2, 10]), "0..9"),
    (np.zeros((4, 28, 28), np.uint8), np.array([0, -1, 2, 3]), "0..9"),
    (np.zeros((4, 28, 28), np.uint8), np.array([0, 1.5, 2, 3]), "integers"),
    (np.zeros((4, 28, 28), np.uint8), np.array(["0", "1", "2", "3"]), "integers"),
])
def test_npz_shape_count_and_label_errors(tmp_path, images, labels, expected):
    np.savez(tmp_path / "wrong.npz", images=images, labels=labels)
    assert expected in file_error("mnist", tmp_path / "wrong.npz")


def test_idx_with_the_wrong_magic(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(struct.pack(">IIII", 0x801, 2, 28, 28) + bytes(2 * 784))
    assert "not an IDX images file (magic 0x00000801" in file_error("mnist", path)


def test_idx_labels_with_the_wrong_magic(tmp_path):
    images, labels = fake_mnist(2)
    images_path = write_idx(tmp_path, "train", images, labels)
    labels_path = tmp_path / "train-labels-idx1-ubyte"
    labels_path.write_bytes(idx_images(images))  # images where the labels belong
    assert "not an IDX labels file" in file_error("mnist", images_path, names=labels_path)


def test_truncated_idx_says_what_the_header_promised(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 5, 28, 28) + bytes(100)))
    message = file_error("mnist", path)
    assert "truncated" in message and "5 images" in message and "holds 100" in message


def test_idx_labels_file_missing_beside_the_images(tmp_path):
    images, labels = fake_mnist(2)
    path = write_idx(tmp_path, "train", images, labels)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    assert "train-labels-idx1-ubyte is not beside it" in file_error("mnist", path)


def test_folder_without_idx_files(tmp_path):
    folder = tmp_path / "empty_mnist"
    folder.mkdir()
    (folder / "readme.txt").write_text("nothing here")
    assert "no IDX files" in file_error("mnist", folder)


@pytest.mark.parametrize("content, label_column, expected", [
    ("", None, "is empty"),
    ("a,b,label\n", None, "no data rows"),
    ("a,b,label\n1,2,x\n3,4,y\n", "class", "no label column 'class' (columns: a, b, label)"),
    ("a,b,label\n1,x,0\n2,3,1\n", None, "feature column 'b' is not numeric"),
    ("a,b,label\n1,2,0\n3,4,1\n5,,1\n", None, "data row 3, column 'b' is empty"),
    ("a,label\n1,0\n2,0\n", None, "only one class"),
])
def test_csv_errors(tmp_path, content, label_column, expected):
    path = tmp_path / "table.csv"
    path.write_text(content)
    assert expected in file_error("csv", path, label_column)


# -------------------------------------------------------------------- splits
def test_stratified_folds_validate_every_sample_once_in_proportion():
    labels = np.array([0] * 20 + [1] * 13 + [2] * 7)
    folds = stratified_folds(labels, 5, seed=3)
    assert len(folds) == 5
    validated = np.concatenate([val for _, val in folds])
    assert sorted(validated.tolist()) == list(range(40))  # exactly once each
    totals = np.bincount(labels)
    for train, val in folds:
        assert set(train).isdisjoint(val) and len(train) + len(val) == 40
        # Each class contributes its share of the fold, give or take one sample.
        assert np.all(np.abs(np.bincount(labels[val], minlength=3) - totals / 5) <= 1)


def test_stratified_folds_follow_the_seed():
    labels = load_dataset("iris").labels
    first, again, other = (stratified_folds(labels, 4, seed=s) for s in (11, 11, 12))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other))


def test_stratified_folds_refuse_too_few_members_or_folds():
    labels = np.array([0] * 10 + [1] * 10 + [3] * 2)
    with pytest.raises(ConfigError) as caught:
        stratified_folds(labels, 5, seed=0)
    assert str(caught.value) == "5 folds need at least 5 samples of every class; class '3' has 2"
    with pytest.raises(ConfigError, match="at least 2 folds"):
        stratified_folds(labels, 1, seed=0)


def test_holdout_split_is_first_n_then_the_rest():
    (train, val), = holdout_split(10, 7)
    assert train.tolist() == list(range(7)) and val.tolist() == [7, 8, 9]
    for bad in (0, 10, 11):
        with pytest.raises(ConfigError, match="train_samples"):
            holdout_split(10, bad)


# -------------------------------------------------------------- standardiser
def test_standardiser_gives_mean_0_std_1_on_the_training_part():
    train = np.random.default_rng(0).normal(5.0, 3.0, (50, 4))
    scaled = Standardiser.fit(train).transform(train)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-12)


def test_standardiser_keeps_a_constant_column_finite():
    train = np.array([[1.0, 4.0], [3.0, 4.0], [5.0, 4.0]])
    scaled = Standardiser.fit(train).transform(train)
    assert np.isfinite(scaled).all() and np.all(scaled[:, 1] == 0.0)


def test_standardiser_transforms_other_data_with_training_statistics():
    scaler = Standardiser.fit(np.array([[1.0, 10.0], [3.0, 30.0]]))  # mean (2, 20), std (1, 10)
    np.testing.assert_allclose(scaler.mean, [2.0, 20.0])
    np.testing.assert_allclose(scaler.std, [1.0, 10.0])
    np.testing.assert_allclose(scaler.transform(np.array([[5.0, 0.0]])), [[3.0, -2.0]])


# -------------------------------------------------------------- image scaler
def test_mnist_and_digits_are_images_iris_and_csv_are_not(tmp_path):
    images, labels = fake_mnist(4)
    np.savez(tmp_path / "m.npz", images=images, labels=labels)
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    assert load_dataset("mnist", tmp_path / "m.npz").is_image and load_dataset("digits").is_image
    assert not load_dataset("iris").is_image and not load_dataset("csv", tmp_path / "t.csv").is_image


def test_images_know_their_shape_and_tables_have_none(tmp_path):
    images, labels = fake_mnist(4)
    np.savez(tmp_path / "m.npz", images=images, labels=labels)
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    mnist, digits = load_dataset("mnist", tmp_path / "m.npz"), load_dataset("digits")
    assert mnist.image_shape == (28, 28) and digits.image_shape == (8, 8)
    for data in (mnist, digits):  # the features are the image's rows one after another
        assert np.prod(data.image_shape) == data.n_features
    np.testing.assert_array_equal(mnist.features[1].reshape(28, 28), images[1].reshape(28, 28) / 255.0)
    assert load_dataset("iris").image_shape is None and load_dataset("csv", tmp_path / "t.csv").image_shape is None


def test_image_scaler_maps_the_training_pixels_to_0_1_with_one_scale():
    # Pixel 0 is a border that is dark in every image; pixel 2 is nearly constant.
    train = np.array([[0.0, 4.0, 0.0], [0.0, 12.0, 0.0], [0.0, 16.0, 0.1]])
    scaler = ImageScaler.fit(train)
    assert (scaler.offset, scaler.scale) == (0.0, 16.0)  # darkest and brightest over all pixels
    np.testing.assert_allclose(scaler.transform(train), train / 16.0)  # relative intensities kept
    # A faint stroke where the training images were (nearly) always dark stays faint;
    # per-pixel standardisation makes it 42 standard deviations in pixel 2.
    np.testing.assert_allclose(scaler.transform(np.array([[1.0, 8.0, 2.0]])), [[1 / 16, 0.5, 2 / 16]])
    per_pixel = Standardiser.fit(train).transform(np.array([[1.0, 8.0, 2.0]]))
    assert per_pixel[0, 2] > 30  # what the image scaler is for


def test_image_scaler_keeps_a_constant_border_finite_and_equal():
    train = np.zeros((5, 6))
    train[:, 2:4] = np.arange(10.0).reshape(5, 2) + 3.0  # a stroke from 3 to 12, borders always 0
    scaled = ImageScaler.fit(train).transform(train)
    assert np.isfinite(scaled).all()
    np.testing.assert_array_equal(scaled[:, [0, 1, 4, 5]], 0.0)
    np.testing.assert_allclose(scaled[:, 2:4], train[:, 2:4] / 12.0)
    blank = ImageScaler.fit(np.full((3, 4), 7.0)).transform(np.full((2, 4), 7.0))  # nothing to scale by
    np.testing.assert_array_equal(blank, 0.0)


def test_image_scaler_takes_offset_and_scale_from_the_training_split_only():
    scaler = ImageScaler.fit(np.array([[2.0, 4.0], [6.0, 10.0]]))  # offset 2, scale 8
    assert (scaler.offset, scaler.scale) == (2.0, 8.0)
    np.testing.assert_allclose(scaler.transform(np.array([[0.0, 26.0]])), [[-0.25, 3.0]])  # beyond 0..1 is kept


def bare_trainer(data: Dataset, splits, **config) -> Trainer:
    """A trainer over ``data`` whose method is never called: enough to fit its scaler or read a checkpoint."""
    tally = SimpleNamespace(measurements=0, lab_time_s=0.0, field_switches=0)
    return Trainer(TrainingConfig(**config), data, splits, SimpleNamespace(neurons=SimpleNamespace(tally=tally)))


def test_trainer_scales_images_with_statistics_of_the_training_split_only():
    digits = load_dataset("digits")
    features = digits.features.copy()
    features[-100:] *= 50.0  # validation pixels far brighter than any training pixel
    images = Dataset("digits", features, digits.labels, digits.class_names, "test", is_image=True)
    train = np.arange(len(features) - 100)
    scaler = bare_trainer(images, [(train, np.arange(len(train), len(features)))], dataset="digits")._scaler(train)
    assert isinstance(scaler, ImageScaler) and (scaler.offset, scaler.scale) == (0.0, 16.0)
    np.testing.assert_allclose(scaler.transform(features[train]), digits.features[train] / 16.0)


@pytest.mark.parametrize("name", ["iris", "csv"])
def test_trainer_scales_tables_per_feature_as_before(tmp_path, name):
    if name == "csv":
        rng = np.random.default_rng(1)
        rows = "\n".join(f"{a:.6f},{b:.6f},{y}" for a, b, y in zip(rng.normal(0, 1e3, 40), rng.normal(5, 0.01, 40),
                                                                   np.arange(40) % 2))
        (tmp_path / "t.csv").write_text("a,b,y\n" + rows + "\n")
        table = load_dataset("csv", tmp_path / "t.csv")
    else:
        table = load_dataset("iris")
    train = np.arange(0, table.n_samples, 2)
    val = np.arange(1, table.n_samples, 2)
    scaler = bare_trainer(table, [(train, val)])._scaler(train)
    assert isinstance(scaler, Standardiser)
    np.testing.assert_allclose(scaler.mean, table.features[train].mean(axis=0))
    np.testing.assert_allclose(scaler.std, table.features[train].std(axis=0))
    scaled = scaler.transform(table.features[train])
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-9)


def closed_fold_checkpoint(**meta) -> dict[str, np.ndarray]:
    """A checkpoint of a run whose one fold has ended: the trainer reads only its metadata."""
    base = dict(fold=0, epochs_done=2, step=4, history=[], fold_results=[], cosines=[], measurements=0,
                lab_time_s=0.0, wall_time_s=0.0, field_switches=0)
    return {"meta": json_array({**base, **meta})}


@pytest.mark.parametrize("saved, expected", [(None, "per_feature"), ("per_feature", "per_feature"),
                                             ("image", "image")])
def test_a_resumed_run_scales_as_its_checkpoint_was_trained(saved, expected):
    digits = load_dataset("digits")
    trainer = bare_trainer(digits, [(np.arange(1000), np.arange(1000, 1797))] * 2, dataset="digits", epochs=2)
    meta = {} if saved is None else {"feature_scaling": saved}  # None: written before images had a scaler
    assert trainer._restore(closed_fold_checkpoint(**meta)) is None  # the next fold starts fresh
    assert trainer.progress.feature_scaling == expected
    kind = ImageScaler if expected == "image" else Standardiser
    assert isinstance(trainer._scaler(np.arange(1000)), kind)


def test_a_checkpoint_with_an_unknown_scaling_does_not_fit():
    trainer = bare_trainer(load_dataset("digits"), [(np.arange(1000), np.arange(1000, 1797))], dataset="digits",
                           epochs=2)
    with pytest.raises(MtjlabError, match="unknown feature scaling 'pixels'"):
        trainer._restore(closed_fold_checkpoint(feature_scaling="pixels"))
