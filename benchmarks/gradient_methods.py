"""Every gradient method on the same simulated chip and the same folds (Iris, one hidden layer).

Each method trains the same network (same initial weights, batches and
optimiser) on the same chip, and the table puts side by side, from one run:
accuracy (mean and std over the folds), the software tanh baseline, the
median cosine of the gradient used to the devices' exact gradient, the device
measurements each method cost, the lab time they would take on the bench, and
the wall time here.

    python benchmarks/gradient_methods.py [--bench model|sim-bench.yaml] [--epochs E] [--folds K]

``--bench model`` (the default) measures on the physics model directly; a bench
file runs every measurement through the drivers and emulators (slower, same chip).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from mtjlab.config import TrainingConfig
from mtjlab.training.methods import METHODS
from mtjlab.training.session import run_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="model", help="'model' or a bench file (default: model)")
    parser.add_argument("--epochs", type=int, default=TrainingConfig().epochs)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for method in METHODS:
            config = TrainingConfig(bench=args.bench, method=method, epochs=args.epochs, folds=args.folds,
                                    hidden=[args.hidden], seed=args.seed, log_measurements=False)
            summary = run_training(config, out=Path(scratch) / method).summary
            rows.append(summary)
            print(f"  ... {method} done", flush=True)
    print(f"\nIris, network 4-{args.hidden}-3, {args.folds} folds x {args.epochs} epochs, bench {args.bench}, "
          f"seed {args.seed}\n")
    header = (f"{'method':<13} {'accuracy %':>12} {'baseline %':>11} {'grad cos':>9} {'measurements':>13} "
              f"{'lab time min':>13} {'wall s':>8} {'meas. / analog':>15} {'lab / analog':>13}")
    print(header)
    print("-" * len(header))
    analog = next(r for r in rows if r["method"] == "analog")
    for r in rows:
        cosine = f"{r['grad_cosine_median']:.4f}" if r["grad_cosine_median"] is not None else "-"
        print(f"{r['method']:<13} {100 * r['accuracy_mean']:>6.1f} ± {100 * r['accuracy_std']:<3.1f} "
              f"{100 * r['baseline_accuracy_mean']:>11.1f} {cosine:>9} {r['measurements']:>13,} "
              f"{r['lab_time_s'] / 60:>13.1f} {r['wall_time_s']:>8.1f} "
              f"{r['measurements'] / analog['measurements']:>15.2f} {r['lab_time_s'] / analog['lab_time_s']:>13.2f}")


if __name__ == "__main__":
    main()
