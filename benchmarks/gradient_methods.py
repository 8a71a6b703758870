"""Every gradient method on every chip preset, on Iris and digits, over the same folds and seeds: one table.

Each run trains the same network (same initial weights, batches and optimiser
for a given seed) on the same chip; the rows put side by side, from one
invocation:

- accuracy, mean ± std over every fold of every seed;
- the software baseline (a network of the same architecture whose activation is
  the chip's nominal curve: the average device from its datasheet values);
- the median cosine of the gradient used to the devices' exact gradient;
- the device measurements and the lab time each method costs.

Plus one complex-response network on ``typical``: its hidden layer on the
junctions with two reference layers, whose calibrated activation is a bump.

    python benchmarks/gradient_methods.py [--backend model|bench] [--presets ideal,typical,harsh,drifting]
        [--datasets iris,digits] [--seeds 0,1,2] [--methods ...] [--jobs N] [--markdown FILE] [--figure FILE]

``--backend model`` (the default) measures on the physics model of each preset's
chip directly (its lab time is what the preset's bench would take, with its
noise-budget lock-in and hardware-timed lists: docs/bench.md, "The physics
model's lab time"); ``--backend bench`` runs every measurement through the
drivers and emulators of the preset's simulated bench (the same settings, on
the bench's own clock; far slower).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from mtjlab.config import TrainingConfig
from mtjlab.config.packaged import PRESETS
from mtjlab.training.methods import METHODS

#: Network and schedule per dataset: Iris as the paper (4 hidden), digits with 16 (devices shared).
DATASETS = {"iris": {"hidden": [4], "epochs": 15}, "digits": {"hidden": [16], "epochs": 10}}
#: The complex-response network: the double junctions of row 3, on the branch a negative field leaves.
COMPLEX = {"layers": [{"device_kind": "double", "bias_field_oe": -20.0}]}


def one_run(job: dict[str, Any]) -> dict[str, Any]:
    """Train one configuration in a scratch folder; its summary (or the one-line reason it was refused)."""
    from mtjlab.errors import MtjlabError
    from mtjlab.training.session import run_training

    logging.basicConfig(level=logging.ERROR)
    config = TrainingConfig(**job["config"])
    with tempfile.TemporaryDirectory() as scratch:
        try:
            summary = run_training(config, out=Path(scratch) / "run").summary
        except MtjlabError as exc:
            summary = {"error": exc.one_line()}
    return {**{k: v for k, v in job.items() if k != "config"}, **summary}


def jobs(args: argparse.Namespace) -> list[dict[str, Any]]:
    out = []
    for dataset in args.datasets:
        plan = DATASETS[dataset]
        for preset in args.presets:
            bench = f"model:{preset}" if args.backend == "model" else preset
            variants = [(m, "tanh-like", {}) for m in args.methods]
            if preset == "typical" and args.complex:
                variants.append(("analog", "bump", COMPLEX))
            for method, network, extra in variants:
                for seed in args.seeds:
                    config = dict(dataset=dataset, method=method, bench=bench, seed=seed, folds=args.folds,
                                  epochs=args.epochs or plan["epochs"], hidden=plan["hidden"],
                                  log_measurements=False, name=f"{dataset}-{preset}-{method}-{seed}", **extra)
                    out.append({"dataset": dataset, "preset": preset, "method_label": method, "network": network,
                                "seed_label": seed, "config": config})
    return out


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["preset"], r["method_label"], r["network"]), []).append(r)
    table = []
    for (dataset, preset, method, network), runs in groups.items():
        done = [r for r in runs if "error" not in r]
        entry = {"dataset": dataset, "preset": preset, "method": method, "network": network, "runs": len(runs),
                 "refused": [r["error"] for r in runs if "error" in r]}
        if done:
            folds = np.concatenate([r["fold_accuracies"] for r in done])
            base = np.concatenate([r["baseline_fold_accuracies"] for r in done])
            cosines = [r["grad_cosine_median"] for r in done if r["grad_cosine_median"] is not None]
            entry.update(accuracy=100 * folds.mean(), accuracy_std=100 * folds.std(), baseline=100 * base.mean(),
                         baseline_std=100 * base.std(), cosine=float(np.median(cosines)) if cosines else None,
                         measurements=float(np.mean([r["measurements"] for r in done])),
                         lab_time_min=float(np.mean([r["lab_time_s"] for r in done])) / 60,
                         activation=done[0].get("nominal_activation", "tanh"))
        table.append(entry)
    return table


def markdown(table: list[dict[str, Any]], title: str) -> str:
    lines = [title, "",
             "| dataset | chip | method | network | accuracy % | software baseline % | grad cosine | "
             "measurements | lab time (min) | lab / analog |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    analog = {(e["dataset"], e["preset"]): e for e in table if e["method"] == "analog" and e["network"] == "tanh-like"
              and "accuracy" in e}
    for e in table:
        if "accuracy" not in e:
            lines.append(f"| {e['dataset']} | {e['preset']} | {e['method']} | {e['network']} | refused: "
                         f"{e['refused'][0]} | | | | | |")
            continue
        ref = analog.get((e["dataset"], e["preset"]))
        cosine = f"{e['cosine']:.4f}" if e["cosine"] is not None else "–"
        ratio = f"{e['lab_time_min'] / ref['lab_time_min']:.2f}" if ref else "–"
        lines.append(f"| {e['dataset']} | {e['preset']} | {e['method']} | {e['network']} | "
                     f"{e['accuracy']:.1f} ± {e['accuracy_std']:.1f} | {e['baseline']:.1f} ± {e['baseline_std']:.1f} | "
                     f"{cosine} | {e['measurements']:,.0f} | {e['lab_time_min']:,.1f} | {ratio} |")
    return "\n".join(lines) + "\n"


def figure(table: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({e["dataset"] for e in table}, key=list(DATASETS).index)
    fig, axes = plt.subplots(1, len(datasets), figsize=(7 * len(datasets), 4.5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        rows = [e for e in table if e["dataset"] == dataset and "accuracy" in e]
        presets = [p for p in PRESETS if any(e["preset"] == p for e in rows)]
        labels = sorted({(e["method"], e["network"]) for e in rows},
                        key=lambda m: (METHODS.index(m[0]), m[1] != "tanh-like"))
        width = 0.8 / max(len(labels), 1)
        for k, (method, network) in enumerate(labels):
            xs, ys, errs = [], [], []
            for i, preset in enumerate(presets):
                for e in rows:
                    if (e["preset"], e["method"], e["network"]) == (preset, method, network):
                        xs.append(i + (k - len(labels) / 2 + 0.5) * width)
                        ys.append(e["accuracy"])
                        errs.append(e["accuracy_std"])
            name = method if network == "tanh-like" else f"{method} ({network})"
            ax.bar(xs, ys, width, yerr=errs, label=name, capsize=2)
        for i, preset in enumerate(presets):
            base = [e["baseline"] for e in rows if e["preset"] == preset and e["network"] == "tanh-like"]
            if base:
                ax.hlines(base[0], i - 0.45, i + 0.45, colors="k", linestyles="--", linewidth=1)
        ax.set_xticks(range(len(presets)), presets)
        ax.set_ylim(50, 100)
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(f"{dataset}: accuracy per method and chip (dashed: software baseline)")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    split = lambda text: [t.strip() for t in text.split(",") if t.strip()]  # noqa: E731
    parser.add_argument("--backend", choices=("model", "bench"), default="model")
    parser.add_argument("--presets", type=split, default=list(PRESETS))
    parser.add_argument("--datasets", type=split, default=list(DATASETS))
    parser.add_argument("--methods", type=split, default=list(METHODS))
    parser.add_argument("--seeds", type=lambda t: [int(s) for s in split(t)], default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default: 15 (Iris), 10 (digits)")
    parser.add_argument("--no-complex", dest="complex", action="store_false",
                        help="leave out the complex-response network on typical")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    parser.add_argument("--figure", type=Path, default=Path("gradient_methods.png"))
    parser.add_argument("--json", type=Path, default=None, help="also keep every run's summary here")
    args = parser.parse_args()
    todo = jobs(args)
    print(f"{len(todo)} runs, {args.jobs} at a time", flush=True)
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for n, row in enumerate(pool.map(one_run, todo), 1):
            rows.append(row)
            state = row.get("error") or f"{100 * row['accuracy_mean']:.1f} %"
            print(f"  [{n}/{len(todo)}] {row['dataset']} {row['preset']} {row['method_label']} "
                  f"({row['network']}) seed {row['seed_label']}: {state}", flush=True)
    table = aggregate(rows)
    title = (f"Backend {args.backend}; {args.folds} folds x seeds {', '.join(map(str, args.seeds))}; "
             f"Iris 4-4-3, digits 64-16-10")
    text = markdown(table, title)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float), encoding="utf-8")
    figure(table, args.figure)
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
