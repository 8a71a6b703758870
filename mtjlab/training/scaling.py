"""Feature scaling fitted on a fold's training part: per feature for tables, one map for every pixel for images."""

from __future__ import annotations

import numpy as np


class Standardiser:
    """Per-feature mean and standard deviation, to scale features to mean 0 and std 1.

    Fit it on a fold's training part only: statistics taken over the validation
    part too would leak information about it into training and flatter the score.
    It suits tables, whose columns are different quantities in different units;
    images take :class:`ImageScaler`.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        """``mean`` and ``std`` (d,): subtracted from, then dividing, each sample's features."""
        self.mean, self.std = mean, std

    @classmethod
    def fit(cls, features: np.ndarray) -> Standardiser:
        """Mean and std of ``features`` (n, d); a constant feature gets std 1 so it maps to 0, not NaN."""
        features = np.asarray(features, np.float64)
        std = np.std(features, axis=0)
        return cls(np.mean(features, axis=0), np.where(std > 0, std, 1.0))

    def transform(self, features: np.ndarray) -> np.ndarray:
        """``features`` scaled with the fitted (training) statistics."""
        return (np.asarray(features, np.float64) - self.mean) / self.std


class ImageScaler:
    """One scale for every pixel: the training images' darkest pixel to 0, their brightest to 1.

    A pixel is one quantity (an intensity) on one scale, so every pixel gets the
    same affine map, fitted on a fold's training part only (as :class:`Standardiser`).
    Per-pixel statistics would rescale each pixel on its own: a border pixel that
    is dark in all but a few training images gets a tiny std, and a faint stroke
    there in a validation image becomes an input of hundreds of standard
    deviations (up to 460 on MNIST), far outside what a hidden neuron's
    pre-activation is clipped to. Scaling to 0..1 rather than to a global mean 0
    and std 1 keeps the background at exactly 0: background pixels add nothing
    to a neuron's pre-activation and their weights receive no gradient, whereas
    centred they are a constant input whose dozens of weights Adam moves by a
    full learning-rate step each, like as many extra biases. Measured on the
    model backend (``typical``; docs/training.md, "Datasets"): the digits at the
    default learning rate lose 5 points with a global mean and std and keep
    their per-feature accuracy with 0..1, and MNIST gains 2 points either way.
    MNIST pixels already span 0..1 (the map is then the identity), digits 0..16.
    """

    def __init__(self, offset: float, scale: float) -> None:
        """``offset`` (the darkest training pixel) is subtracted, then ``scale`` (their range) divides."""
        self.offset, self.scale = offset, scale

    @classmethod
    def fit(cls, images: np.ndarray) -> ImageScaler:
        """Offset and scale over all pixels of the training ``images`` (n, pixels).

        Images all of one value get scale 1, so every pixel maps to 0, not NaN.
        """
        images = np.asarray(images, np.float64)
        darkest, brightest = float(np.min(images)), float(np.max(images))
        return cls(darkest, brightest - darkest if brightest > darkest else 1.0)

    def transform(self, images: np.ndarray) -> np.ndarray:
        """``images`` (n, pixels) scaled with the training offset and scale; other images may leave 0..1."""
        return (np.asarray(images, np.float64) - self.offset) / self.scale
