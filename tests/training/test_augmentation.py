"""Random-shift augmentation of image datasets (``augment_shift_px``): the shift, its draws, the trainer."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from mtjlab.config import TrainingConfig, load_training
from mtjlab.errors import ConfigError
from mtjlab.training.datasets import Dataset
from mtjlab.training.network import Network, tanh_activation
from mtjlab.training.records import RunRecord
from mtjlab.training.session import resume_training, run_training
from mtjlab.training.trainer import Trainer, TrainingStopped, epoch_shifts, shift_images


# ------------------------------------------------------------------ the shift
def moved(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``image`` (rows, cols) moved dx columns right and dy rows down, pixel by pixel, zeros coming in."""
    rows, cols = image.shape
    out = np.zeros_like(image)
    for r in range(rows):
        for c in range(cols):
            if 0 <= r - dy < rows and 0 <= c - dx < cols:
                out[r, c] = image[r - dy, c - dx]
    return out


def test_a_shift_moves_the_image_and_fills_zeros():
    image = np.arange(1.0, 13.0).reshape(3, 4)  # no zero pixel: every zero below came in from the edge
    right_up = shift_images(image.reshape(1, 12), (3, 4), np.array([1]), np.array([-1])).reshape(3, 4)
    np.testing.assert_array_equal(right_up, [[0, 5, 6, 7], [0, 9, 10, 11], [0, 0, 0, 0]])
    np.testing.assert_array_equal(shift_images(image.reshape(1, 12), (3, 4), [0], [0]), image.reshape(1, 12))


def test_every_shift_of_a_batch_matches_the_pixel_by_pixel_move():
    rng = np.random.default_rng(7)
    images = rng.uniform(0.5, 1.0, size=(25, 5 * 6))  # rows 5, columns 6: rows and columns not confused
    dx, dy = np.meshgrid(np.arange(-2, 3), np.arange(-2, 3))
    dx, dy = dx.ravel(), dy.ravel()
    shifted = shift_images(images, (5, 6), dx, dy)
    assert shifted.shape == images.shape
    for i in range(len(images)):
        np.testing.assert_array_equal(shifted[i].reshape(5, 6), moved(images[i].reshape(5, 6), dx[i], dy[i]))
    # (dx, dy) = (-2, -2): a 3 x 4 block of the image stays, the rest is the zeros that came in
    assert (dx[0], dy[0]) == (-2, -2) and np.sum(shifted[0] == 0) == 5 * 6 - 3 * 4


def test_shift_draws_stay_within_the_bound_and_repeat_with_the_seed():
    shifts = epoch_shifts(5, 0, 3, 4000, 2)
    assert shifts.shape == (4000, 2) and shifts.min() == -2 and shifts.max() == 2  # every value reached
    assert set(np.unique(shifts)) == {-2, -1, 0, 1, 2}
    np.testing.assert_array_equal(shifts, epoch_shifts(5, 0, 3, 4000, 2))
    for other in (epoch_shifts(6, 0, 3, 4000, 2), epoch_shifts(5, 1, 3, 4000, 2), epoch_shifts(5, 0, 4, 4000, 2)):
        assert not np.array_equal(shifts, other)  # another seed, fold or epoch: other shifts
    assert np.abs(epoch_shifts(5, 0, 0, 1000, 1)).max() == 1


# ---------------------------------------------------------------- the trainer
N_TRAIN, N_VAL, SIDE, CENTRE = 40, 10, 8, 4


def dot_images() -> Dataset:
    """8 x 8 images with one lit pixel at (4, 4) whose value (i + 1) / 50 names image i.

    Scaled on the training images (brightest 40 / 50), training image i's pixel becomes (i + 1) / 40.
    """
    n = N_TRAIN + N_VAL
    features = np.zeros((n, SIDE * SIDE))
    features[:, CENTRE * SIDE + CENTRE] = (np.arange(n) + 1.0) / n
    return Dataset("digits", features, np.arange(n) % 2, ("a", "b"), "test", is_image=True, image_shape=(SIDE, SIDE))


class Recorder:
    """A gradient method that changes nothing and records what it is given."""

    trains_on_devices = False

    def __init__(self) -> None:
        self.neurons = SimpleNamespace(tally=SimpleNamespace(measurements=0, lab_time_s=0.0, field_switches=0,
                                                             log=[], step=0))
        self.validated: list[np.ndarray] = []

    def step(self, net, xb, yb, rng):
        forward = net.forward(xb, tanh_activation)
        return SimpleNamespace(grads=[np.zeros_like(p) for p in net.params], forward=forward, exact=None)

    def evaluate(self, net, x, final):
        self.validated.append(np.array(x))
        return net.forward(x, tanh_activation)


def run_recorded(monkeypatch, **config) -> tuple[dict[int, list[np.ndarray]], Recorder]:
    """Every training batch each network's forward pass received (by network), and the method."""
    seen: dict[int, list[np.ndarray]] = {}
    forward = Network.forward

    def recording(self, x, activation):
        seen.setdefault(id(self), []).append(np.array(x))
        return forward(self, x, activation)

    monkeypatch.setattr(Network, "forward", recording)
    method = Recorder()
    settings = dict(dataset="digits", hidden=[2], batch_size=8, epochs=3, seed=11) | config
    splits = [(np.arange(N_TRAIN), np.arange(N_TRAIN, N_TRAIN + N_VAL))]
    Trainer(TrainingConfig(**settings), dot_images(), splits, method).run()
    return seen, method


def lit(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which training image each row is, and its (dx, dy) from where its pixel was lit."""
    where = np.argmax(batch, axis=1)
    assert np.all(np.sum(batch > 0, axis=1) == 1)  # the dot never leaves the image for shifts up to 3
    ids = np.rint(batch.max(axis=1) * N_TRAIN).astype(int) - 1
    return ids, where % SIDE - CENTRE, where // SIDE - CENTRE


def training_batches(seen: dict[int, list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Per network, its forward passes on training batches (8 rows; the validation passes have N_VAL)."""
    return [[b for b in batches if len(b) != N_VAL] for batches in seen.values()]


def test_both_networks_see_the_same_shifted_batches_and_the_validation_images_unshifted(monkeypatch):
    seen, method = run_recorded(monkeypatch, augment_shift_px=2)
    mtj, software = training_batches(seen)  # two networks: the MTJ one and its software twin
    assert len(mtj) == len(software) == 3 * N_TRAIN // 8
    for a, b in zip(mtj, software, strict=True):
        np.testing.assert_array_equal(a, b)
    dxs, dys = [], []
    for epoch in range(3):
        ids, dx, dy = (np.concatenate(v) for v in zip(*(lit(b) for b in mtj[epoch * 5:(epoch + 1) * 5])))
        assert sorted(ids) == list(range(N_TRAIN))  # every image once an epoch
        dxs.append(dx[np.argsort(ids)])  # by image, not by batch order
        dys.append(dy[np.argsort(ids)])
    shifts = np.concatenate(dxs + dys)
    assert np.abs(shifts).max() == 2 and np.any(shifts != 0)  # within the bound, and used
    assert not np.array_equal(dxs[0], dxs[1]) and not np.array_equal(dys[1], dys[2])  # each image anew each epoch
    # the validation images as they are, only scaled by the training images' brightest pixel
    expected = dot_images().features[N_TRAIN:] * (N_TRAIN + N_VAL) / N_TRAIN
    assert len(method.validated) == 3
    for x in method.validated:
        np.testing.assert_allclose(x, expected, rtol=1e-12)
    for batches in seen.values():  # both networks validate on them too
        assert sum(len(b) == N_VAL for b in batches) >= 3
        for b in (b for b in batches if len(b) == N_VAL):
            np.testing.assert_allclose(b, expected, rtol=1e-12)


def test_without_augmentation_the_batches_are_the_images_as_they_are(monkeypatch):
    seen, _ = run_recorded(monkeypatch, augment_shift_px=0)
    for batch in training_batches(seen)[0]:
        ids, dx, dy = lit(batch)
        assert np.all(dx == 0) and np.all(dy == 0)


def test_the_same_seed_gives_the_same_shifted_batches(monkeypatch):
    first = training_batches(run_recorded(monkeypatch, augment_shift_px=1)[0])[0]
    monkeypatch.undo()
    again = training_batches(run_recorded(monkeypatch, augment_shift_px=1)[0])[0]
    monkeypatch.undo()
    other = training_batches(run_recorded(monkeypatch, augment_shift_px=1, seed=12)[0])[0]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_an_image_dataset_without_a_shape_is_refused():
    data = dot_images()
    shapeless = Dataset(data.name, data.features, data.labels, data.class_names, "test", is_image=True)
    trainer = Trainer(TrainingConfig(dataset="digits", hidden=[2], augment_shift_px=1), shapeless,
                      [(np.arange(N_TRAIN), np.arange(N_TRAIN, N_TRAIN + N_VAL))], Recorder())
    with pytest.raises(ConfigError, match="augment_shift_px: .* no image shape"):
        trainer.run()


def test_a_resumed_augmented_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    # digits on the physics model: the first 150 images train (19 steps an epoch at batch 8), the rest validate
    config = dict(bench="model", dataset="digits", train_samples=150, epochs=3, hidden=[3], seed=4,
                  augment_shift_px=1, log_measurements=False)
    whole = run_training(TrainingConfig(**config), out=tmp_path / "whole")

    def stop_in_epoch_2(trainer):
        trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step == 25 else None)

    with pytest.raises(TrainingStopped):
        run_training(TrainingConfig(**config), out=tmp_path / "stopped", on_trainer=stop_in_epoch_2)
    resumed = resume_training(tmp_path / "stopped")
    assert resumed.summary["fold_accuracies"] == whole.summary["fold_accuracies"]
    a, b = RunRecord(whole.directory).latest_checkpoint(), RunRecord(resumed.directory).latest_checkpoint()
    names = [k for k in a if k.startswith(("network.", "baseline."))]
    assert names
    for name in names:
        np.testing.assert_array_equal(a[name], b[name])


# ------------------------------------------------------------------ the config
@pytest.mark.parametrize("dataset", ["iris", "csv"])
def test_tables_refuse_augmentation(tmp_path, monkeypatch, dataset):
    monkeypatch.chdir(tmp_path)
    data = {"kind": "training", "dataset": dataset, "augment_shift_px": 1}
    if dataset == "csv":
        data["dataset_path"] = "t.csv"
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_training("run.yaml")
    message = str(info.value)
    assert "\n" not in message and "augment_shift_px" in message and f"dataset {dataset} is a table" in message
    data["augment_shift_px"] = 0
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(data))
    assert load_training("run.yaml").augment_shift_px == 0


def test_images_take_shifts_up_to_4_pixels():
    assert TrainingConfig(dataset="digits", augment_shift_px=4).augment_shift_px == 4
    assert TrainingConfig().augment_shift_px == 0  # off unless asked
    for bad in (-1, 5):
        with pytest.raises(ValueError):
            TrainingConfig(dataset="digits", augment_shift_px=bad)
