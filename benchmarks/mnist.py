"""MNIST on the model backend: the analog MTJ network beside its software baseline.

The first 8,000 digits of ``mnist-10k.npz`` train, the last 2,000 test. The MTJ
network (hidden neurons on the simulated chip's devices, analog lock-in
derivatives) and a software network of the same architecture (the layer's
nominal activation: the average device's calibrated curve) start from
the same weights and train on the same batches with the same optimiser, in one
run; the table gives both accuracies per epoch and the costs.

    python benchmarks/mnist.py [--data PATH] [--bench model:PRESET] [--hidden N[,N]] [--epochs E]
                               [--batch-size B] [--optimiser adam|sgd] [--learning-rate LR] [--momentum M]
                               [--weight-decay WD] [--schedule constant|cosine|step]
                               [--max-neurons-per-device N] [--method analog] [--seed S]
                               [--augment-shift-px P]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from mtjlab.config import OptimiserConfig, TrainingConfig, is_model_bench
from mtjlab.training.session import run_training

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist-10k.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"MNIST npz or IDX (default {DEFAULT_DATA})")
    parser.add_argument("--bench", default="model:typical",
                        help="physics model of a chip: model or model:<preset or bench file> (default model:typical)")
    parser.add_argument("--hidden", default="100", help="hidden layer sizes, e.g. 100 or 100,50")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training images")
    parser.add_argument("--batch-size", type=int, default=32, help="images per weight update")
    parser.add_argument("--optimiser", choices=("adam", "sgd"), default="adam", help="Adam or SGD with momentum")
    parser.add_argument("--learning-rate", type=float, default=0.002, help="peak step size of the optimiser")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum / Adam beta1")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay coefficient")
    parser.add_argument("--schedule", choices=("constant", "cosine", "step"), default="cosine",
                        help="learning-rate schedule over the epochs")
    parser.add_argument("--max-neurons-per-device", type=int, default=None,
                        help="neurons one device may serve (default: enough for 8 live devices, at least 16)")
    parser.add_argument("--method", default="analog", help="gradient method of the MTJ network")
    parser.add_argument("--train-samples", type=int, default=8000, help="the first N images train, the rest test")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    parser.add_argument("--augment-shift-px", type=int, default=0,
                        help="shift each training image by up to this many pixels in x and y, anew every epoch "
                             "(0: off)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not is_model_bench(args.bench):
        parser.error(f"--bench {args.bench}: this benchmark runs on the physics model (model or model:<bench>)")
    hidden = [int(n) for n in args.hidden.split(",")]
    # Neurons share devices when they outnumber them: the typical chip has 11 live single
    # junctions, so budgeting for 8 leaves room for a preset with more dead ones.
    per_device = args.max_neurons_per_device or max(16, -(-sum(hidden) // 8))
    config = TrainingConfig(
        name="mnist", dataset="mnist", dataset_path=args.data, train_samples=args.train_samples, bench=args.bench,
        method=args.method, hidden=hidden, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
        optimiser=OptimiserConfig(name=args.optimiser, learning_rate=args.learning_rate, momentum=args.momentum,
                                  weight_decay=args.weight_decay, schedule=args.schedule),
        max_neurons_per_device=per_device, augment_shift_px=args.augment_shift_px, log_measurements=False)
    with tempfile.TemporaryDirectory() as scratch:
        epochs = []
        result = run_training(config, out=Path(scratch) / "run",
                              on_event=lambda e: epochs.append(e.metrics) if e.kind == "epoch" else None)
    s = result.summary
    print(f"\nMNIST ({args.data.name}: first {args.train_samples} train, the rest test), network "
          f"{'-'.join(map(str, s['architecture']))}, {args.method} gradients on the model backend, "
          f"{s['mapping']}"
          f"{f', training images shifted by up to {args.augment_shift_px} px' if args.augment_shift_px else ''}\n")
    print(f"software network: {s['nominal_activation']}\n")
    print(f"{'epoch':>5} {'MTJ test %':>11} {'soft test %':>12} {'MTJ train %':>12} {'soft train %':>13} "
          f"{'measurements':>13} {'lab time h':>11} {'wall s':>7}")
    for row in epochs:
        print(f"{row['epoch']:>5} {100 * row['val_accuracy']:>11.2f} {100 * row['baseline_val_accuracy']:>12.2f} "
              f"{100 * row['train_accuracy']:>12.2f} {100 * row['baseline_train_accuracy']:>13.2f} "
              f"{row['measurements']:>13,} {row['lab_time_s'] / 3600:>11.2f} {row['wall_time_s']:>7.1f}")
    cosine = f"{s['grad_cosine_median']:.4f}" if s["grad_cosine_median"] is not None else "-"
    print(f"\nfinal test accuracy: MTJ network {100 * s['accuracy_mean']:.2f} %, software "
          f"{100 * s['baseline_accuracy_mean']:.2f} % (difference {100 * (s['accuracy_mean'] - s['baseline_accuracy_mean']):+.2f} "
          f"points); gradient cosine median {cosine}; {s['measurements']:,} device measurements, "
          f"{s['lab_time_s'] / 3600:.1f} h of lab time, {s['wall_time_s']:.0f} s wall")


if __name__ == "__main__":
    main()
