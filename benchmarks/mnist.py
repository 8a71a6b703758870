"""MNIST on the model backend: the analog MTJ network beside the software tanh baseline.

The first 8,000 digits of ``mnist-10k.npz`` train, the last 2,000 test. The MTJ
network (hidden neurons on the simulated chip's devices, analog lock-in
derivatives) and a software tanh network of the same architecture start from
the same weights and train on the same batches with the same optimiser, in one
run; the table gives both accuracies per epoch and the costs.

    python benchmarks/mnist.py [--data PATH] [--hidden N[,N]] [--epochs E] [--method analog]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from mtjlab.config import OptimiserConfig, TrainingConfig
from mtjlab.training.session import run_training

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist-10k.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"MNIST npz or IDX (default {DEFAULT_DATA})")
    parser.add_argument("--hidden", default="100", help="hidden layer sizes, e.g. 100 or 100,50")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.002)
    parser.add_argument("--method", default="analog")
    parser.add_argument("--train-samples", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    hidden = [int(n) for n in args.hidden.split(",")]
    config = TrainingConfig(
        name="mnist", dataset="mnist", dataset_path=args.data, train_samples=args.train_samples, bench="model",
        method=args.method, hidden=hidden, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
        optimiser=OptimiserConfig(name="adam", learning_rate=args.learning_rate, schedule="cosine"),
        max_neurons_per_device=max(16, -(-sum(hidden) // 8)), log_measurements=False)
    with tempfile.TemporaryDirectory() as scratch:
        epochs = []
        result = run_training(config, out=Path(scratch) / "run",
                              on_event=lambda e: epochs.append(e.metrics) if e.kind == "epoch" else None)
    s = result.summary
    print(f"\nMNIST ({args.data.name}: first {args.train_samples} train, the rest test), network "
          f"{'-'.join(map(str, s['architecture']))}, {args.method} gradients on the model backend, "
          f"{s['mapping']}\n")
    print(f"{'epoch':>5} {'MTJ test %':>11} {'tanh test %':>12} {'MTJ train %':>12} {'tanh train %':>13} "
          f"{'measurements':>13} {'lab time h':>11} {'wall s':>7}")
    for row in epochs:
        print(f"{row['epoch']:>5} {100 * row['val_accuracy']:>11.2f} {100 * row['baseline_val_accuracy']:>12.2f} "
              f"{100 * row['train_accuracy']:>12.2f} {100 * row['baseline_train_accuracy']:>13.2f} "
              f"{row['measurements']:>13,} {row['lab_time_s'] / 3600:>11.2f} {row['wall_time_s']:>7.1f}")
    cosine = f"{s['grad_cosine_median']:.4f}" if s["grad_cosine_median"] is not None else "-"
    print(f"\nfinal test accuracy: MTJ network {100 * s['accuracy_mean']:.2f} %, software tanh "
          f"{100 * s['baseline_accuracy_mean']:.2f} % (difference {100 * (s['accuracy_mean'] - s['baseline_accuracy_mean']):+.2f} "
          f"points); gradient cosine median {cosine}; {s['measurements']:,} device measurements, "
          f"{s['lab_time_s'] / 3600:.1f} h of lab time, {s['wall_time_s']:.0f} s wall")


if __name__ == "__main__":
    main()
