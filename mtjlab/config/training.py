"""Training-file model (``kind: training``): dataset, network, gradient method, optimiser.

Paths (``dataset_path``, ``bench``) are stored exactly as written; resolve relative
ones against the training file's folder (see :func:`mtjlab.config.resolve_bench_path`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from mtjlab.config.bench import SEED_MAX, STRICT, Float, Int, fail

HiddenSize = Annotated[Int, Field(ge=1, le=4096)]
"""Neurons in one hidden MTJ layer."""


class OptimiserConfig(BaseModel):
    """Optimiser of the software weights."""

    model_config = STRICT
    name: Literal["sgd", "adam"] = Field("adam", description="SGD with momentum, or Adam.")
    learning_rate: Float = Field(0.05, gt=0, le=100, description="Step size (dimensionless).")
    momentum: Float = Field(0.9, ge=0, lt=1, description="SGD momentum / Adam beta1.")
    weight_decay: Float = Field(0.0, ge=0, le=100, description="L2 weight decay coefficient.")
    schedule: Literal["constant", "cosine", "step"] = Field(
        "constant", description="Learning-rate schedule over the epochs.")


class LayerConfig(BaseModel):
    """The physical setting of one hidden layer's devices (docs/training.md, "Per-layer settings")."""

    model_config = STRICT
    bias_field_oe: Float | None = Field(
        None, ge=-100_000, le=100_000, description="Coil bias field (Oe) while this layer's devices are measured; "
        "null: the bench's measurement.bias_field_oe. The coil is one: the trainer switches it between layers "
        "that differ, and the bench's field limit applies.")
    device_kind: Literal["single", "double"] = Field(
        "single", description="Which junctions serve this layer: single (one reference layer, sigmoid-like "
        "response) or double (two reference layers, bell/bump-shaped response).")


class TrainingConfig(BaseModel):
    """A whole training file (``kind: training``)."""

    model_config = STRICT
    kind: Literal["training"] = Field("training", description="File kind; always 'training'.")
    name: str = Field("iris", max_length=100, description="Run name, used in the run directory "
                      "name (at most 100 characters: file systems limit a name to 255 bytes).")
    dataset: Literal["iris", "digits", "mnist", "csv"] = Field(
        "iris", description="iris and digits ship with scikit-learn; mnist and csv need a path.")
    dataset_path: Path | None = Field(None, description="IDX/npz (mnist) or CSV file.")
    label_column: str | None = Field(None, description="CSV label column; default the last.")
    hidden: list[HiddenSize] = Field(default_factory=lambda: [4], min_length=1, max_length=2,
                                     description="Hidden MTJ layer sizes (1 or 2 layers).")
    method: Literal["analog", "numeric", "model", "nominal", "perturbation", "offline"] = Field(
        "analog", description="How neuron derivatives are obtained.")
    optimiser: OptimiserConfig = Field(default_factory=OptimiserConfig)
    epochs: Int = Field(15, ge=1, le=100_000, description="Passes over the training set per fold.")
    batch_size: Int = Field(8, ge=1, le=1_000_000, description="Samples per weight update.")
    folds: Int = Field(5, ge=2, le=1000, description="k of k-fold cross-validation.")
    seed: Int = Field(0, ge=0, le=SEED_MAX, description="Seed of splits, initial weights and shuffling "
                      "(0..2**32-1, what numpy and scikit-learn take).")
    pre_activation_limit: Float = Field(
        1.25, gt=0, le=10, description="Largest |z| a hidden neuron receives (calibrated units): its input "
        "I = I0 + z g must stay inside the bench's safe range for every device (docs/training.md, eq. N1).")
    max_neurons_per_device: Int = Field(
        16, ge=1, le=4096, description="How many neurons one device may serve when the network has more neurons "
        "than the chip has live devices.")
    finite_difference_step_a: Float = Field(
        2e-4, gt=0, le=0.01, description="Input step h (A) of the numeric method: dV/dI = (V(I+h) - V(I-h)) / 2h.")
    perturbation_size: Float = Field(
        0.05, gt=0, le=100, description="Weight perturbation c of the perturbation (SPSA) method (weight units).")
    train_samples: Int | None = Field(
        None, ge=1, le=1_000_000_000, description="Instead of k-fold: the first N samples train, the rest validate "
        "(a fixed split, e.g. MNIST's).")
    layers: list[LayerConfig] | None = Field(
        None, description="Per hidden layer (one entry each, in order): its bias field (Oe) and device kind; "
        "null: every layer at the bench's bias field on single junctions.")
    recalibrate_every: Int | None = Field(
        None, ge=1, le=100_000, description="Re-run the devices' calibration every this many epochs (within a "
        "fold, after the epoch); null: calibrate once, at the start.")
    chip_seed: Int | None = Field(
        None, ge=0, le=SEED_MAX, description="Seed of the simulated chip's device draws, in place of the bench "
        "file's chip.physics.seed: another chip of the same process (a Monte Carlo over device variability). "
        "Model and simulated benches only; null: the bench file's chip.")
    augment_shift_px: Int = Field(
        0, ge=0, le=4, description="Image datasets (mnist, digits): every epoch, shift each training image by a "
        "random whole number of pixels in x and in y, up to this many (pixels), zeros filling the edge; drawn "
        "from the seed, so a run repeats. Validation images are never shifted. 0: off.")
    log_measurements: bool = Field(True, description="Keep every step's inputs, outputs and derivatives "
                                   "in the run's measurements/ folder.")
    bench: str = Field("typical.yaml", description="Packaged bench name, a bench file path, "
                       "or 'model' (physics model directly, no instruments; 'model:<bench>' for the chip "
                       "of another bench file or preset).")

    @field_validator("bench")
    @classmethod
    def _bench_not_empty(cls, value: str) -> str:
        if not value.strip():
            fail((), "must name a bench file, a packaged bench, or 'model'", value)
        return value

    @model_validator(mode="after")
    def _check(self) -> TrainingConfig:
        if self.dataset in ("mnist", "csv") and self.dataset_path is None:
            fail(("dataset_path",), f"required when dataset is {self.dataset}")
        if self.dataset in ("iris", "digits") and self.dataset_path is not None:
            fail(("dataset_path",), f"not used with dataset {self.dataset} (remove it)",
                 str(self.dataset_path))
        if self.label_column is not None and self.dataset != "csv":
            fail(("label_column",), "only used with dataset csv", self.label_column)
        if self.augment_shift_px > 0 and self.dataset in ("iris", "csv"):
            fail(("augment_shift_px",), f"shifts images; dataset {self.dataset} is a table, not images (set 0)",
                 self.augment_shift_px)
        if self.layers is not None and len(self.layers) != len(self.hidden):
            fail(("layers",), f"has {len(self.layers)} entries but hidden has {len(self.hidden)} "
                 f"layer{'s' if len(self.hidden) > 1 else ''} "
                 f"{list(self.hidden)}; give one entry per hidden layer")
        return self
