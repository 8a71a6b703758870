"""The ``mtjlab`` command.

Each command is a small function taking the parsed arguments and returning an exit
status. Whatever ends a command ends in one line on stderr and a status a script can
rely on (see :mod:`mtjlab.cli_support`): 0 finished, 1 failed (an instrument fault or
an unexpected error; the traceback only with ``-vv``), 2 refused or bad input (an
:class:`~mtjlab.errors.MtjlabError` or a usage error), 130 stopped by Ctrl-C, 143
stopped by SIGTERM. Heavy modules (configuration, simulation) are imported inside the
command functions, so ``mtjlab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from mtjlab import __version__
from mtjlab.cli_support import (
    EXIT_FAILED,
    STOP_NAMES,
    OneLineParser,
    error_status,
    float_option,
    make_out_dir,
    sigterm_raises,
    stop_status,
)
from mtjlab.errors import MtjlabError

if TYPE_CHECKING:  # imported lazily at run time
    from mtjlab.config import BenchConfig, TrainingConfig

log = logging.getLogger("mtjlab.cli")

OVERVIEW = """\
commands:
  gui [--bench FILE|model] [--run DIR]
                           the lab window: the bench bar with Safe stop, sweeps with
                           live plots, training with live views, replay
  config check FILE        validate a bench, training or study YAML file, print a summary
  bench check [FILE]       connect to every instrument of a bench file (default: the
                           simulated bench), show who answered, exercise each one
                           harmlessly and leave everything at zero and off
  bench resources          list the VISA resources (GPIB, USB, serial, LAN) pyvisa sees
  sweep KIND --out DIR     measure on a bench into a data file and figure, with a
                           summary: rh (R-H loop), iv (R_P, TMR0, half-bias
                           voltage), activation (activation map), derivative
                           (lock-in vs DC slope), survey (every junction),
                           calibrate (per-device calibration file)
  replay FILE...           re-plot and re-summarise recorded sweeps, no hardware
  sim curves --out DIR     sweep the simulated chip: transfer curves and derivatives
                           of every junction (curves.csv, curves.png)
  train [options]          device-in-the-loop training: hidden neurons are MTJs whose
                           outputs and derivatives are measured on the devices;
                           with no options Iris on the simulated bench (analog
                           gradients, 5-fold), with a software baseline beside it;
                           --resume DIR continues a stopped run
  study FILE               a grid of trainings (methods x chips x seeds x datasets)
                           on a Dask cluster (local by default, --scheduler ADDR),
                           with results.csv, results.md and figures; --resume DIR
                           skips finished runs; --report DIR rebuilds the results

examples:
  mtjlab config check mybench.yaml
  mtjlab bench check mybench.yaml
  mtjlab sim curves --bias-field-oe 0 20 40 --out runs/curves
  mtjlab train
  mtjlab train --bench model --method numeric --hidden 8,4 --epochs 30
  mtjlab study paper --out studies/paper

Errors are printed on one line. Exit status: 0 finished, 1 failed (instrument
fault, unexpected error), 2 refused or bad input, 130 stopped by Ctrl-C, 143
stopped by SIGTERM."""


# --------------------------------------------------------------------------- helpers
def describe_bench(bench: BenchConfig) -> str:
    """``bench "simulated 4x4" (6 instruments, 4 x 4 chip, 2 known dead, backend sim)``."""
    backends = sorted({str(inst.backend) for inst in bench.instruments})
    backend = f"backend {backends[0]}" if len(backends) == 1 else f"backends {'+'.join(backends)}"
    return (
        f'bench "{bench.name}" ({len(bench.instruments)} instruments, '
        f"{bench.chip.rows} x {bench.chip.cols} chip, {len(bench.chip.known_dead)} known dead, {backend})"
    )


def describe_training(training: TrainingConfig) -> str:
    """``training "iris" (iris, hidden [4], analog, 5 folds x 60 epochs)``."""
    return (
        f'training "{training.name}" ({training.dataset}, hidden {list(training.hidden)}, '
        f"{training.method}, {training.folds} folds x {training.epochs} epochs)"
    )


def run_sim_curves(bench_file: Path | None, bias_fields_oe: list[float] | None, out_dir: Path) -> str:
    """Characterise the (simulated) chip of a bench file into ``out_dir``; the summary."""
    from mtjlab.config import load_bench, load_default_bench
    from mtjlab.instruments.sim.curves import write_curves

    bench = load_bench(bench_file) if bench_file is not None else load_default_bench()
    from tqdm import tqdm

    out_dir = Path(out_dir)
    created = not out_dir.exists()
    make_out_dir(out_dir)  # refused in one line before anything is measured
    log.info("writing transfer curves to %s", out_dir)

    def progress(fields):
        return tqdm(fields, desc="bias fields", unit="field", leave=False, file=sys.stderr)

    try:
        return write_curves(bench, bias_fields_oe, out_dir, progress)
    except BaseException:
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a refused or stopped run leaves no empty folder of its own behind
        raise


# --------------------------------------------------------------------------- commands
def cmd_config_check(args: argparse.Namespace) -> int:
    from mtjlab.config import BenchConfig, TrainingConfig, load_config

    path = Path(args.file)
    if _is_study_file(path):
        from mtjlab.studies.plan import load_study

        plan = load_study(path)
        axes = " x ".join(f"{axis} ({len({str(r.axes[axis]) for r in plan.runs})})" for axis in plan.axes)
        print(f"{path.name}: valid study \"{plan.name}\": {len(plan.runs)} runs over {axes}")
        return 0
    cfg = load_config(path)
    if isinstance(cfg, BenchConfig):
        what = describe_bench(cfg)
    elif isinstance(cfg, TrainingConfig):
        what = describe_training(cfg)
    else:  # pragma: no cover - load_config returns one of the two
        what = type(cfg).__name__
    print(f"{path.name}: valid {what}")
    return 0


def _is_study_file(path: Path) -> bool:
    """Whether a file to check says ``kind: study`` (read safely; anything else goes to load_config)."""
    from mtjlab.config import read_yaml_mapping
    from mtjlab.errors import MtjlabError

    if not path.exists():
        from mtjlab.studies.plan import packaged_study

        return packaged_study(str(path)) is not None
    try:
        return read_yaml_mapping(path).get("kind") == "study"
    except MtjlabError:
        return False


def cmd_sim_curves(args: argparse.Namespace) -> int:
    print(run_sim_curves(args.bench, args.bias_field_oe, args.out))
    return 0


# --------------------------------------------------------------------------- parser
def cmd_bench_check(args: argparse.Namespace) -> int:
    from mtjlab.cli_bench import bench_check

    return bench_check(args.file, sys.stdout, visa_library=args.visa_library)


def cmd_bench_resources(args: argparse.Namespace) -> int:
    from mtjlab.cli_bench import bench_resources

    return bench_resources(sys.stdout, visa_library=args.visa_library)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mtjlab",
        description="Train neural networks of physical magnetic tunnel junctions, "
        "on a measurement bench or on the simulated bench.",
        epilog=OVERVIEW,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mtjlab {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    config = sub.add_parser("config", help="work with bench and training YAML files")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    check = config_sub.add_parser("check", help="validate a YAML file and print a one-line summary")
    check.add_argument("file", metavar="FILE", help="bench or training YAML file")
    check.set_defaults(func=cmd_config_check)

    bench = sub.add_parser("bench", help="connect to the instruments of a bench")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="SUBCOMMAND", required=True)
    bench_check = bench_sub.add_parser("check", help="connect, identify and harmlessly exercise every "
                                       "instrument, then leave everything safe")
    bench_check.add_argument("file", metavar="FILE", type=Path, nargs="?",
                             help="bench YAML file (default: the packaged simulated bench)")
    resources = bench_sub.add_parser("resources", help="list the VISA resources pyvisa sees")
    for p in (bench_check, resources):
        p.add_argument("--visa-library", default="", metavar="LIB",
                       help="VISA library for pyvisa ('@py' for the pure-Python one; default: pyvisa's choice)")
    bench_check.set_defaults(func=cmd_bench_check)
    resources.set_defaults(func=cmd_bench_resources)

    from mtjlab.cli_sweep import add_replay_parser, add_sweep_parser

    add_sweep_parser(sub)
    add_replay_parser(sub)

    sim = sub.add_parser("sim", help="the simulated bench")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", required=True)
    curves = sim_sub.add_parser("curves", help="transfer curves and derivatives of the simulated chip")
    curves.add_argument("--bench", type=Path, metavar="FILE",
                        help="bench YAML file (default: the packaged simulated bench)")
    curves.add_argument("--bias-field-oe", type=float_option(-1e6, 1e6), nargs="+", metavar="F",
                        help="coil bias fields to sweep at, in oersted (default: from the bench)")
    curves.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output directory for curves.csv and curves.png")
    curves.set_defaults(func=cmd_sim_curves)

    from mtjlab.cli_train import add_train_parser

    add_train_parser(sub)
    from mtjlab.cli_study import add_study_parser

    add_study_parser(sub)
    from mtjlab.cli_gui import add_gui_parser

    add_gui_parser(sub)
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(stream=sys.stderr, format="mtjlab: %(levelname)s: %(name)s: %(message)s")
    logging.getLogger().setLevel(level)  # also when main() runs again in one process


def _command_name(args: argparse.Namespace) -> str:
    """``sweep rh``, ``bench check``, ``train``: the command as typed, for the final line."""
    words = [args.command]
    for attribute in ("config_command", "bench_command", "sweep_kind", "sim_command"):
        if getattr(args, attribute, None):
            words.append(getattr(args, attribute))
    return " ".join(words)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mtjlab`` command; return the exit status (see the module doc)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (one line, status 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    _setup_logging(args.verbose)
    command = _command_name(args)
    with sigterm_raises():
        try:
            return args.func(args)
        except (MtjlabError, KeyboardInterrupt, SystemExit) as exc:
            stopped = stop_status(exc)
            if stopped is not None:
                print(f"mtjlab: {command} stopped by {STOP_NAMES[stopped]} (interrupted) before it finished; "
                      f"run it again to start over", file=sys.stderr)
                return stopped
            if not isinstance(exc, MtjlabError):
                raise  # a SystemExit of its own
            print(f"mtjlab: {exc.one_line()}", file=sys.stderr)
            return error_status(exc)
        except Exception as exc:  # a bug or an unforeseen fault: one line, the traceback at -vv
            log.debug("%s failed", command, exc_info=True)
            reason = " ".join(str(exc).split())
            print(f"mtjlab: {command} failed: {type(exc).__name__}{': ' + reason if reason else ''} "
                  f"(run with -vv for the traceback)", file=sys.stderr)
            return EXIT_FAILED
