"""The same 24-run study on 1, 2 and N Dask workers: speed-up against one worker, and the overhead per task.

The grid: every gradient method (6) x two chips (typical, harsh) x two chip
seeds, Iris on the physics model (2 folds x 3 epochs each). Each row starts a
LocalCluster of that many single-threaded worker processes and runs the whole
grid into a fresh study directory; every row is measured in this one run.

- *speed-up*: the wall time on one worker over the wall time on this many;
- *overhead per task*: (wall time x workers - the runs' own wall times) / runs:
  what the cluster costs per run beyond the training (start-up, task hand-off,
  importing mtjlab in each worker, collecting the result), shared out;
- *no-op round trip*: the scheduler's cost alone, from 200 empty tasks.

    python benchmarks/study_scaling.py [--workers 1,2,N] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from mtjlab.studies.plan import plan_study
from mtjlab.studies.runner import create_study_dir, dask_client, run_study

METHODS = ["analog", "numeric", "model", "nominal", "perturbation", "offline"]


def grid(epochs: int) -> dict:
    return {"kind": "study", "name": "scaling",
            "base": {"dataset": "iris", "folds": 2, "epochs": epochs, "log_measurements": False},
            "grid": {"method": METHODS, "bench": ["model:typical", "model:harsh"], "chip_seed": [0, 1]}}


def noop(x: int) -> int:
    return x


def round_trip_s(workers: int, tasks: int = 200) -> float:
    """Seconds per empty task, submitted together, on a warm cluster of ``workers``."""
    with dask_client(None, workers) as client:
        client.gather(client.map(noop, range(workers), pure=False))  # workers up
        start = time.perf_counter()
        client.gather(client.map(noop, range(tasks), pure=False))
        return (time.perf_counter() - start) / tasks


def one_row(workers: int, epochs: int, scratch: Path) -> dict:
    plan = plan_study(grid(epochs), "study_scaling", scratch)
    study_dir = create_study_dir(plan, scratch / f"workers-{workers}")
    start = time.perf_counter()
    outcome = run_study(plan, study_dir, workers=workers)
    wall = time.perf_counter() - start
    if outcome.failed:
        raise SystemExit(f"runs failed: {outcome.failed}")
    run_wall = sum(json.loads(p.read_text())["wall_time_s"] for p in study_dir.glob("runs/*/summary.json"))
    return {"workers": workers, "runs": len(plan.runs), "wall_s": wall, "run_wall_s": run_wall,
            "overhead_s": (wall * workers - run_wall) / len(plan.runs), "noop_s": round_trip_s(workers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = os.cpu_count() or 1
    parser.add_argument("--workers", default=f"1,2,{cores}", help=f"worker counts (default 1,2,{cores})")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.workers.split(",")})
    with tempfile.TemporaryDirectory() as scratch:
        rows = [one_row(n, args.epochs, Path(scratch)) for n in counts]
    base = next((r for r in rows if r["workers"] == 1), rows[0])
    print(f"{rows[0]['runs']} runs (6 methods x 2 chips x 2 chip seeds, Iris 2 folds x {args.epochs} epochs, "
          f"physics model), {cores} cores")
    print(f"{'workers':>7} {'wall s':>8} {'speed-up':>9} {'efficiency':>11} {'overhead/task s':>16} "
          f"{'no-op round trip ms':>20}")
    for row in rows:
        speedup = base["wall_s"] / row["wall_s"] * base["workers"]
        print(f"{row['workers']:>7} {row['wall_s']:>8.1f} {speedup:>9.2f} {speedup / row['workers']:>10.0%} "
              f"{row['overhead_s']:>16.2f} {1e3 * row['noop_s']:>20.2f}")
    print("(speed-up: wall time on one worker / on this many; overhead per task: (wall x workers - the runs' "
          "own wall times) / runs)")


if __name__ == "__main__":
    main()
