"""``mtjlab study``: a grid of training runs on a Dask cluster, and its results.

    mtjlab study FILE [--scheduler ADDRESS] [--workers N] [--out DIR]
    mtjlab study --resume DIR [--scheduler ADDRESS] [--workers N]
    mtjlab study --report DIR

The study file is checked whole (every run's training config, its bench) before
the study directory is made, so a refused study leaves nothing behind. Each
run is one Dask task; a failed run is reported in one line and the others go
on. The results (results.csv, results.md, figures/) are rebuilt at the end and
by ``--report`` from the run directories alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from mtjlab.cli_support import EXIT_FAILED, STOP_NAMES, check_out_dir, int_option, stop_status
from mtjlab.errors import ConfigError


def add_study_parser(sub: Any) -> None:
    study = sub.add_parser(
        "study", help="run a grid of trainings (methods x chips x seeds x datasets) on a Dask cluster",
        description="Run every training of a study file (kind: study) as one Dask task each, on a local "
        "cluster (one process per core) or on an existing one (--scheduler), then write results.csv, "
        "results.md and figures/. Only the physics model, simulated benches and recorded sweeps may run in a "
        "study. A packaged study is named without a path: 'mtjlab study paper'.")
    study.add_argument("file", nargs="?", metavar="FILE", help="study YAML file, or a packaged study's name (paper)")
    study.add_argument("--scheduler", metavar="ADDRESS",
                       help="Dask scheduler to run on, e.g. tcp://host:8786 (default: a local cluster); the "
                       "workers must see the study directory and the data files at the same paths")
    study.add_argument("--workers", type=int_option(1, 4096), metavar="N",
                       help="worker processes of the local cluster (default: one per core)")
    study.add_argument("--out", type=Path, metavar="DIR", help="study directory (default: studies/<date>-<name>)")
    study.add_argument("--resume", type=Path, metavar="DIR",
                       help="continue the study in DIR: finished runs are skipped, the others run")
    study.add_argument("--report", type=Path, metavar="DIR",
                       help="rebuild results.csv, results.md and figures/ of DIR from its run directories")
    study.add_argument("--no-progress", action="store_true", help="no progress bar")
    study.set_defaults(func=cmd_study)


def _check_usage(args: argparse.Namespace) -> None:
    modes = [name for name, value in (("FILE", args.file), ("--resume", args.resume), ("--report", args.report))
             if value is not None]
    if not modes:
        raise ConfigError("study: give a study FILE, --resume DIR or --report DIR (see mtjlab study --help)")
    if len(modes) > 1:
        raise ConfigError(f"study: {modes[0]} and {modes[1]} do not go together; give one")
    if args.report is not None and (args.scheduler or args.workers or args.out):
        raise ConfigError("study: --report only rebuilds the results; drop --scheduler, --workers and --out")
    if args.resume is not None and args.out is not None:
        raise ConfigError("study: --resume continues the study in its own directory; drop --out")
    if args.scheduler is not None and args.workers is not None:
        raise ConfigError("study: --workers sizes the local cluster; a --scheduler's cluster has its own workers")


def cmd_study(args: argparse.Namespace) -> int:
    from mtjlab.studies.plan import load_study
    from mtjlab.studies.runner import STUDY_FILE, check_resumable, create_study_dir, run_study

    _check_usage(args)
    if not args.verbose:
        quiet_cluster_logs()
    if args.report is not None:
        return _report(args.report)
    if args.resume is not None:
        study_dir = args.resume
        if not (study_dir / STUDY_FILE).is_file():
            raise ConfigError(f"{study_dir}: no {STUDY_FILE} here; --resume takes a study directory")
        plan = load_study(study_dir / STUDY_FILE)
        check_resumable(plan, study_dir)
    else:
        plan = load_study(args.file)
        from mtjlab.training.records import new_run_dir

        study_dir = args.out if args.out is not None else new_run_dir(plan.name, Path("studies"))
        check_out_dir(study_dir)
        create_study_dir(plan, study_dir)
    from mtjlab.studies.runner import is_finished

    before = sum(is_finished(study_dir, run.run_id) for run in plan.runs)
    progress = RunProgress(len(plan.runs), before, enabled=not args.no_progress)
    try:
        outcome = run_study(plan, study_dir, scheduler=args.scheduler, workers=args.workers,
                            on_result=progress.update)
    except (KeyboardInterrupt, SystemExit) as exc:
        progress.close()
        stopped = stop_status(exc)
        if stopped is None:
            raise
        sys.stderr.write(f"mtjlab: study stopped by {STOP_NAMES[stopped]}; finished runs are kept: "
                         f"mtjlab study --resume {study_dir}\n")
        return stopped
    finally:
        progress.close()
    print_outcome(plan.name, len(plan.runs), outcome, _write_results(study_dir), study_dir, sys.stdout)
    return EXIT_FAILED if outcome.failed else 0


def print_outcome(name: str, total: int, outcome: Any, results: str | None, study_dir: Path, out: TextIO) -> None:
    """The study's end: runs finished (and before), each failure in one line, where the results are."""
    done = len(outcome.finished) + len(outcome.skipped)
    skipped = f" ({len(outcome.skipped)} finished before)" if outcome.skipped else ""
    out.write(f"study {name}: {done} of {total} runs finished{skipped}, {len(outcome.failed)} failed\n")
    for run_id, error in sorted(outcome.failed.items()):
        out.write(f"  failed: {run_id}: {error}\n")
    if results is not None:
        out.write(f"  results: {results}\n")
    if outcome.failed:
        out.write(f"  run the failed ones again: mtjlab study --resume {study_dir}\n")


def quiet_cluster_logs() -> None:
    """The cluster's own news (workers starting, connections, a worker killed at shutdown) only with -v:
    Dask sets each of its loggers' levels itself, so each is set here, after it is imported."""
    import logging

    import distributed  # noqa: F401 - its logging configuration is applied on import

    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _write_results(study_dir: Path) -> str | None:
    """results.csv, results.md and figures/; a report that cannot be written is one line, the runs are kept."""
    from mtjlab.studies.report import write_report

    try:
        report = write_report(Path(study_dir))
    except Exception as exc:  # noqa: BLE001 - the runs are safe on disk; say so rather than lose the summary
        sys.stderr.write(f"mtjlab: the study's report could not be written ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())}); rebuild it with mtjlab study --report {study_dir}\n")
        return None
    return f"{Path(study_dir) / 'results.md'} (results.csv, figures/)" if report is not None else str(study_dir)


def _report(study_dir: Path) -> int:
    from mtjlab.studies.report import write_report
    from mtjlab.studies.runner import RUNS_DIR

    if not (study_dir / RUNS_DIR).is_dir():
        raise ConfigError(f"{study_dir}: no {RUNS_DIR}/ folder here; --report takes a study directory")
    write_report(study_dir)
    sys.stdout.write(f"rebuilt {study_dir / 'results.csv'}, {study_dir / 'results.md'} and {study_dir / 'figures'}/\n")
    return 0


class RunProgress:
    """A tqdm bar over a study's runs on stderr, with the failures counted; each failure also in one line."""

    def __init__(self, total: int, initial: int = 0, enabled: bool = True) -> None:
        self.failed = 0
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="run", desc="study", file=sys.stderr,
                            dynamic_ncols=True)

    def update(self, result: dict[str, Any]) -> None:
        if result["status"] == "failed":
            self.failed += 1
            line = f"mtjlab: run {result['run_id']} failed: {result['error']}"
            if self.bar is not None:
                self.bar.write(line, file=sys.stderr)
            else:
                sys.stderr.write(line + "\n")
        if self.bar is not None:
            self.bar.update(1)
            if self.failed:
                self.bar.set_postfix(failed=self.failed)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
