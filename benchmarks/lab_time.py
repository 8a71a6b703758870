"""Lab time per measured point: stepped against hardware-timed acquisition, against the physical floor.

    python benchmarks/lab_time.py [--epochs 1] [--folds 2]

Trains, on the packaged simulated bench and through the real drivers, the
default Iris network and a digits network for a short run in each acquisition
mode (``measurement.acquisition: stepped`` and ``auto``, which is
hardware-timed on this bench), with the lock-in settings of the noise budget
(``lockin_settings: auto``) in both, so the two differ only in how points are
taken. The lab time is the virtual clock's, charged as the instruments'
manuals say (docs/bench.md).

The floor per point is what the physics asks of one point with the chosen
settings, whatever the instruments, counted two ways:

- *overlapped*: the longest of the lock-in's settling (the plan's wait), the
  source-meter's integration and :data:`FLOOR_PERIODS` modulation periods, as
  if the DC reading ran while the lock-in settles;
- *in turn*: the settling, then the longer of the integration and the periods
  (the point's readings begin once the lock-in has settled, as they do on the
  bench: the lock-in's sample and the DC reading describe the same settled
  point).

The table prints the lab time per point, both floors, both ratios, and the
default run's lab time extrapolated from the measured cost per point. Goal:
hardware-timed at most 3x the floor.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import yaml

from mtjlab.config import TrainingConfig, load_default_bench
from mtjlab.training.session import run_training

#: Modulation periods a point needs at least (the DC reading averages whole periods).
FLOOR_PERIODS = 3
#: Measurements of the full default run (Iris, 5 folds x 15 epochs), counted on the model backend.
WORKLOADS = {
    "iris 4-4-3 (default)": dict(dataset="iris", hidden=[4]),
    "digits 64-16-10": dict(dataset="digits", hidden=[16], train_samples=300),
}


def bench_file(directory: Path, acquisition: str) -> Path:
    """The packaged bench with the noise-budget lock-in settings and the given acquisition mode."""
    config = load_default_bench()
    measurement = config.measurement.model_copy(update={"lockin_settings": "auto", "acquisition": acquisition})
    document = config.model_copy(update={"measurement": measurement}).model_dump(mode="json", exclude_none=True)
    path = directory / f"bench-{acquisition}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def run(workload: dict, acquisition: str, directory: Path, epochs: int, folds: int) -> dict:
    bench = bench_file(directory, acquisition)
    folds_or_holdout = {} if "train_samples" in workload else {"folds": folds}
    config = TrainingConfig(bench=str(bench), epochs=epochs, log_measurements=False, **folds_or_holdout, **workload)
    result = run_training(config, out=directory / f"{acquisition}-{workload['dataset']}")
    return result.summary


def floor_s(summary: dict) -> tuple[float, float, str]:
    """(overlapped floor, in-turn floor, what limits the overlapped one) per point, s."""
    plan = summary.get("lockin_plan") or {}
    config = load_default_bench()
    integration = config.wiring.source_nplc / config.wiring.line_frequency_hz
    settle = float(plan.get("settle_s", 0.0))
    periods = FLOOR_PERIODS / float(plan.get("frequency_hz", float("inf")))
    parts = {"settling": settle, "integration": integration, f"{FLOOR_PERIODS} periods": periods}
    name = max(parts, key=parts.get)
    return parts[name], settle + max(integration, periods), name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    default = TrainingConfig()
    full_default_points = None
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        model = run_training(TrainingConfig(bench="model", log_measurements=False),
                             out=directory / "model-default").summary
        full_default_points = int(model["measurements"])
        for name, workload in WORKLOADS.items():
            for acquisition in ("stepped", "auto"):
                summary = run(workload, acquisition, directory, args.epochs, args.folds)
                per_point = summary["lab_time_s"] / summary["measurements"]
                floor, in_turn, limited_by = floor_s(summary)
                mode = summary.get("acquisition", {}).get("mode", acquisition)
                rows.append([name, mode, f"{summary['measurements']:,}", f"{summary['lab_time_s']:.1f}",
                             f"{1e3 * per_point:.2f}", f"{1e3 * floor:.2f} ({limited_by})",
                             f"{per_point / floor:.1f}", f"{1e3 * in_turn:.2f}", f"{per_point / in_turn:.1f}",
                             f"{per_point * full_default_points / 60:.1f}" if name.startswith("iris") else "-"])
                print(f"  ... {name}, {mode} done", flush=True)
    header = ["workload", "mode", "points", "lab time s", "per point ms", "floor overlapped ms", "ratio",
              "floor in turn ms", "ratio",
              f"default run min, extrapolated ({full_default_points:,} points)"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\nshort runs: {args.folds} folds x {args.epochs} epochs (digits: a 300-sample holdout); default run: "
          f"{default.folds} folds x {default.epochs} epochs\n")
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
