"""``mtjlab train``: device-in-the-loop training from the command line.

With no options it trains Iris on the packaged simulated bench (through the full
driver stack) with the analog method, shows a progress bar and ends with a
one-screen summary. Options override the training file (``--config``) or the
defaults; ``--resume RUN_DIR`` continues a stopped or killed run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from mtjlab.cli_support import (
    EXIT_FAILED,
    STOP_NAMES,
    check_out_dir,
    int_option,
    stop_status,
)
from mtjlab.errors import ConfigError, DeadDeviceError, InstrumentError, MtjlabError

METHOD_NAMES = "analog, numeric, model, nominal, perturbation, offline"


def add_train_parser(sub: Any) -> None:
    train = sub.add_parser(
        "train", help="train an MTJ network on a bench (default: Iris on the simulated bench)",
        description="Train a network whose hidden neurons are MTJs: outputs and derivatives are measured "
        "on the devices. With no options: Iris, one hidden layer of 4, analog (lock-in) gradients, "
        "5-fold cross-validation on the packaged simulated bench.")
    train.add_argument("--config", type=Path, metavar="FILE", help="training YAML file (kind: training)")
    train.add_argument("--bench", metavar="FILE|model",
                       help="bench file, chip preset (ideal, typical, harsh, drifting), 'model' (physics "
                       "model of the default chip, no instruments; 'model:harsh' for another chip) "
                       "or recorded sweep CSV files (comma-separated) to replay")
    train.add_argument("--dataset", metavar="NAME", help="iris, digits, mnist or csv")
    train.add_argument("--method", metavar="NAME", help=f"gradient method: {METHOD_NAMES}")
    train.add_argument("--hidden", metavar="N[,N]", help="hidden layer sizes, e.g. 4 or 8,4")
    train.add_argument("--folds", type=int_option(2, 100_000), metavar="K", help="k of k-fold cross-validation")
    train.add_argument("--epochs", type=int_option(1, 1_000_000), metavar="E", help="epochs per fold")
    train.add_argument("--seed", type=int_option(0, 2**32 - 1), metavar="S",
                       help="seed of splits, weights and shuffling (0 to 2**32 - 1)")
    train.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: runs/<date>-<name>)")
    train.add_argument("--resume", type=Path, metavar="DIR", help="continue the stopped run in DIR")
    train.add_argument("--mnist-file", type=Path, metavar="PATH",
                       help="MNIST as an npz (images, labels) or IDX file/folder; implies --dataset mnist")
    train.add_argument("--csv-file", type=Path, metavar="PATH",
                       help="a CSV of numeric features and a label column; implies --dataset csv")
    train.add_argument("--label-column", metavar="NAME", help="the CSV's label column (default: the last)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)


def build_config(args: argparse.Namespace):
    """The training config: the file (or the defaults) with the options on top, validated."""
    from mtjlab.config import parse_training, read_yaml_mapping

    data: dict[str, Any] = read_yaml_mapping(args.config) if args.config is not None else {"kind": "training"}
    source = str(args.config) if args.config is not None else "command line"
    # paths given on the command line are relative to the working folder, not the file's
    if args.bench is not None:
        data["bench"] = str(Path(args.bench).resolve()) if Path(args.bench).is_file() else args.bench
    if args.dataset is not None:
        data["dataset"] = args.dataset
    if args.mnist_file is not None:
        if args.dataset is None:
            data["dataset"] = "mnist"
        data["dataset_path"] = str(args.mnist_file.resolve())
    if args.csv_file is not None:
        if args.dataset is None:
            data["dataset"] = "csv"
        data["dataset_path"] = str(args.csv_file.resolve())
    if args.label_column is not None:
        data["label_column"] = args.label_column
    if args.method is not None:
        data["method"] = args.method
    if args.hidden is not None:
        try:
            data["hidden"] = [int(n) for n in args.hidden.split(",")]
        except ValueError:
            raise ConfigError(f"--hidden: expected sizes like 4 or 8,4 (got {args.hidden!r})") from None
    for key in ("folds", "epochs", "seed"):
        if getattr(args, key) is not None:
            data[key] = getattr(args, key)
    config = parse_training(data, source)
    return config, (args.config.parent if args.config is not None else Path.cwd())


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or resume); a stop names the resume command and exits 130 (Ctrl-C) or 143 (SIGTERM)."""
    from mtjlab.training.session import resume_training, run_training

    progress = ProgressBar(enabled=not args.no_progress)
    started: dict[str, Any] = {}
    try:
        if args.resume is not None:
            overrides = [k for k in ("config", "bench", "dataset", "method", "hidden", "folds", "epochs", "seed",
                                     "out", "mnist_file", "csv_file", "label_column") if getattr(args, k) is not None]
            if overrides:
                raise ConfigError(f"--resume continues a run as it was configured; drop --{overrides[0].replace('_', '-')}")
            result = resume_training(args.resume, on_event=progress.update, on_trainer=lambda trainer: started.update(trainer=trainer))
        else:
            # refused in one line before the bench is opened or anything is made
            check_out_dir(args.out if args.out is not None else Path("runs"))
            config, config_dir = build_config(args)
            result = run_training(config, config_dir=config_dir, out=args.out, on_event=progress.update,
                                  on_trainer=lambda trainer: started.update(trainer=trainer))
    except (KeyboardInterrupt, SystemExit, MtjlabError) as exc:
        progress.close()
        record = getattr(started.get("trainer"), "record", None)
        run_dir = record.directory if record is not None else args.resume
        stopped = stop_status(exc)  # also a measurement that a Ctrl-C cut short
        if stopped is not None:
            if run_dir is None:
                sys.stderr.write(f"mtjlab: train stopped by {STOP_NAMES[stopped]} before its run directory was "
                                 f"made; nothing was kept; run mtjlab train again\n")
            else:
                sys.stderr.write(f"mtjlab: train stopped by {STOP_NAMES[stopped]}; the finished epochs are kept: "
                                 f"mtjlab train --resume {run_dir}\n")
            return stopped
        if run_dir is not None and isinstance(exc, (InstrumentError, DeadDeviceError)):  # a fault mid-run
            sys.stderr.write(f"mtjlab: {exc.one_line()} (resume: mtjlab train --resume {run_dir})\n")
            return EXIT_FAILED
        raise
    finally:
        progress.close()
    print_summary(result.summary, sys.stdout)
    return 0


class ProgressBar:
    """A tqdm bar on stderr fed by the trainer's events."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def update(self, event: Any) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=event.total_steps, initial=event.step, unit="step", desc="training",
                            file=sys.stderr, dynamic_ncols=True, leave=False)
        if event.kind == "step":
            self.bar.n = event.step
            self.bar.set_description(f"fold {event.fold + 1} epoch {event.epoch + 1}", refresh=False)
            if event.step % 8 == 0:  # a redraw per step would cost more than a model-backend step
                self.bar.refresh()
        elif event.kind == "epoch" and event.metrics:
            self.bar.set_postfix(val=f"{100 * event.metrics['val_accuracy']:.1f}%",
                                 base=f"{100 * event.metrics['baseline_val_accuracy']:.1f}%", refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def format_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _activation_label(name: str | None) -> str:
    """"tanh", "sigmoid", "bump", "gaussian" or "per-layer" from summary.json's nominal_activation."""
    if not name:
        return "tanh"
    if "layer " in name:
        return "per-layer"
    return name.split(" (")[0].replace("datasheet ", "")


def print_summary(summary: dict[str, Any], out: TextIO) -> None:
    """The one-screen result: accuracy per fold and mean beside the baseline, and the costs."""
    arch = "-".join(str(n) for n in summary["architecture"])
    bench = summary["bench"]
    if bench == "model" or bench.startswith("model:"):
        bench = "the physics model" + (f" of {Path(bench[6:]).stem}" if bench.startswith("model:") else "")
    else:
        bench = Path(bench).name
    out.write(f"{summary['dataset']}: {summary['method']} gradients, network {arch}, "
              f"{summary['folds']} fold{'s' if summary['folds'] != 1 else ''} x {summary['epochs']} epochs, "
              f"on {bench}\n\n")
    baseline = "software " + _activation_label(summary.get("nominal_activation"))
    extra = max(0, len(baseline) - 14)
    out.write(f"  {'fold':>6}  {'MTJ network':>12}  {baseline:>14}\n")
    for n, (acc, base) in enumerate(zip(summary["fold_accuracies"], summary["baseline_fold_accuracies"]), 1):
        out.write(f"  {n:>6}  {100 * acc:>10.1f} %  {100 * base:>{12 + extra}.1f} %\n")
    out.write(f"  {'mean':>6}  {100 * summary['accuracy_mean']:>5.1f} ± {100 * summary['accuracy_std']:<4.1f}%"
              f"  {100 * summary['baseline_accuracy_mean']:>{7 + extra}.1f} ± {100 * summary['baseline_accuracy_std']:<4.1f}%\n\n")
    cosine = summary["grad_cosine_median"]
    agreement = f"{cosine:.6f}" if cosine is not None else "n/a (no exact gradient for this array or method)"
    rows = [
        ("gradient agreement", f"median cosine to the devices' exact gradient {agreement}"),
        ("device measurements", f"{summary['measurements']:,}"),
        ("estimated lab time", format_duration(summary["lab_time_s"])),
        ("wall time", format_duration(summary["wall_time_s"])),
        ("neurons", summary["mapping"]),
        ("nominal activation", summary.get("nominal_activation", "tanh (no datasheet)")),
        ("run directory", summary["run_dir"]),
    ]
    for label, value in rows:
        out.write(f"  {label + ':':<21} {value}\n")
