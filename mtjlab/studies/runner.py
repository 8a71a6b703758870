"""A study's runs as Dask tasks: a LocalCluster on this machine, or an existing cluster by address.

Layout of a study directory::

    study.yaml               the study file, paths_relative_to made absolute (what --resume reads)
    runs/<run_id>/           each run's ordinary run directory (as mtjlab train writes it),
        study-run.json       ... plus the run's place on the study's axes, once it has finished
    failed/<run_id>.json     a run that failed: its axes and one-line cause (removed when it succeeds)
    results.csv, results.md, figures/   rebuilt from the run directories (mtjlab.studies.report)

A run is finished when its summary.json exists; a study resumes by skipping
those. A run cut short (its worker died, the study was stopped) continues from
its newest checkpoint when it runs again; one with no checkpoint starts over.
Every run executes :func:`execute_run` on some worker with one BLAS thread (the
cluster gives each core a process), so its results do not depend on the worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from ..errors import ConfigError, MtjlabError
from ..training.records import atomic_write_text
from .plan import PlannedRun, StudyPlan

log = logging.getLogger(__name__)

STUDY_FILE = "study.yaml"
RUNS_DIR = "runs"
FAILED_DIR = "failed"
RUN_AXES_FILE = "study-run.json"
#: Seconds to wait for a scheduler to answer, and for it to have a worker.
CONNECT_TIMEOUT_S = 20.0


@dataclasses.dataclass
class StudyOutcome:
    """What a study did: runs finished now, skipped (finished before), failed (id -> one-line cause)."""

    finished: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)


def run_path(study_dir: Path, run_id: str) -> Path:
    return Path(study_dir) / RUNS_DIR / run_id


def is_finished(study_dir: Path, run_id: str) -> bool:
    return (run_path(study_dir, run_id) / "summary.json").is_file()


# --------------------------------------------------------------------------- one run, on a worker
def execute_run(run: dict[str, Any], study_dir: str) -> dict[str, Any]:
    """Train one run of a study into its run directory; never raises for a run's own failure.

    ``run``: ``{"run_id", "axes", "config"}`` (a :class:`PlannedRun` as a dict).
    Returns ``{"run_id", "status": "finished"|"failed", "error"?}``.
    """
    from threadpoolctl import threadpool_limits

    from ..config import TrainingConfig
    from ..training.session import resume_training, run_training

    run_id, folder = run["run_id"], run_path(Path(study_dir), run["run_id"])
    failed_file = Path(study_dir) / FAILED_DIR / f"{run_id}.json"
    if (folder / "summary.json").is_file():
        _mark_finished(Path(study_dir), PlannedRun(**run))
        return {"run_id": run_id, "status": "finished"}
    try:
        with threadpool_limits(limits=1), _quiet_training_logs():
            if _has_checkpoint(folder):
                resume_training(folder)
            else:
                if folder.exists():  # cut short before its first checkpoint: nothing measured is worth keeping
                    shutil.rmtree(folder)
                folder.parent.mkdir(parents=True, exist_ok=True)
                run_training(TrainingConfig.model_validate(run["config"]), out=folder)
    except Exception as exc:  # noqa: BLE001 - one run's failure, whatever it is, must not stop the study
        error = exc.one_line() if isinstance(exc, MtjlabError) else \
            f"{type(exc).__name__}: {' '.join(str(exc).split())}".rstrip(": ")
        failed_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(failed_file, json.dumps({"run_id": run_id, "axes": run["axes"], "error": error}, indent=1))
        return {"run_id": run_id, "status": "failed", "error": error}
    _mark_finished(Path(study_dir), PlannedRun(**run))
    return {"run_id": run_id, "status": "finished"}


def _mark_finished(study_dir: Path, run: PlannedRun) -> None:
    """The run's place on the axes beside its summary, and no failure on record any more."""
    axes_file = run_path(study_dir, run.run_id) / RUN_AXES_FILE
    if not axes_file.is_file():
        atomic_write_text(axes_file, json.dumps({"run_id": run.run_id, "axes": run.axes}, indent=1))
    (study_dir / FAILED_DIR / f"{run.run_id}.json").unlink(missing_ok=True)


def _has_checkpoint(folder: Path) -> bool:
    return (folder / "config.yaml").is_file() and any((folder / "checkpoints").glob("*.npz"))


@contextlib.contextmanager
def _quiet_training_logs() -> Iterator[None]:
    """A worker runs many trainings: their per-run warnings go to the run, not to the study's screen."""
    logger = logging.getLogger("mtjlab.training")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# --------------------------------------------------------------------------- the study directory
def create_study_dir(plan: StudyPlan, out: Path) -> Path:
    """Make the study directory with its study.yaml; refuse one that holds anything already."""
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: already exists and is not empty; choose another --out, or continue the "
                          f"study in it with --resume {out} (nothing was overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / STUDY_FILE, yaml.safe_dump(plan.document, sort_keys=False))
    return out


def check_resumable(plan: StudyPlan, study_dir: Path) -> None:
    """Refuse to resume when a finished run's config is not the one the study now plans (a base edited since)."""
    from ..config import load_training

    for run in plan.runs:
        if not is_finished(study_dir, run.run_id):
            continue
        path = run_path(study_dir, run.run_id) / "config.yaml"
        try:
            had = load_training(path).model_dump(mode="json")
        except MtjlabError as exc:
            raise ConfigError(f"{exc.one_line()} (a finished run of this study; move it away to run it again)") from None
        if had != run.config:
            changed = sorted(k for k in run.config if had.get(k) != run.config.get(k))
            raise ConfigError(f"{path}: finished with {changed[0]}={had.get(changed[0])!r} but the study now plans "
                              f"{run.config.get(changed[0])!r} (its base or study file changed); start a new study "
                              "with --out")


# --------------------------------------------------------------------------- the cluster
@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client: on a new LocalCluster (one single-threaded process per core, or ``workers``), or on
    the scheduler at ``scheduler`` (refused in one line when nothing answers or it has no worker)."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        n = workers or os.cpu_count() or 1
        # processes: the physics and numpy hold the GIL; the dashboard on a free port (8787 may be another
        # cluster's), its address in the log (mtjlab -v study ...)
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            log.info("local cluster of %d workers; dashboard %s", n, client.dashboard_link)
            yield client
        return
    try:
        client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"--scheduler {scheduler}: no Dask scheduler answered ({reason[:160]})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except (TimeoutError, OSError):
            raise ConfigError(f"--scheduler {scheduler}: the scheduler has no worker after "
                              f"{CONNECT_TIMEOUT_S:g} s; start one with: dask worker {scheduler}") from None
        yield client
    finally:
        client.close()


def run_study(plan: StudyPlan, study_dir: Path, *, scheduler: str | None = None, workers: int | None = None,
              on_result: Callable[[dict[str, Any]], None] | None = None) -> StudyOutcome:
    """Run every unfinished run of ``plan`` as one Dask task each; results arrive as they finish.

    ``on_result`` sees each result dict as it arrives (progress, reporting). A
    task lost with its worker more often than Dask allows is reported failed.
    """
    from distributed import as_completed

    study_dir = Path(study_dir).resolve()
    outcome = StudyOutcome()
    pending: list[PlannedRun] = []
    for run in plan.runs:
        if is_finished(study_dir, run.run_id):
            outcome.skipped.append(run.run_id)
            _mark_finished(study_dir, run)  # a study stopped between summary.json and these files
        else:
            pending.append(run)
    if not pending:
        return outcome
    with dask_client(scheduler, workers) as client:
        futures = {}
        for run in pending:
            future = client.submit(execute_run, dataclasses.asdict(run), str(study_dir), pure=False,
                                   key=f"mtjlab-run-{run.run_id}-{os.getpid()}-{id(plan)}")
            futures[future] = run
        try:
            for future in as_completed(futures):
                run = futures[future]
                result = _result_of(future, run, study_dir)
                if result["status"] == "finished":
                    outcome.finished.append(run.run_id)
                else:
                    outcome.failed[run.run_id] = result["error"]
                if on_result is not None:
                    on_result(result)
        finally:
            client.cancel(list(futures))
    return outcome


def _result_of(future: Any, run: PlannedRun, study_dir: Path) -> dict[str, Any]:
    """A task's result; a task Dask gave up on (its worker died, again and again) as a failed run."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker, a worker without mtjlab, ...
        reason = " ".join(str(exc).split())
        if type(exc).__name__ == "KilledWorker":
            reason = "its worker died while running it, every time Dask retried it"
        error = f"{type(exc).__name__}: {reason}" if type(exc).__name__ != "KilledWorker" else reason
        failed_file = study_dir / FAILED_DIR / f"{run.run_id}.json"
        failed_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(failed_file, json.dumps({"run_id": run.run_id, "axes": run.axes, "error": error}, indent=1))
        return {"run_id": run.run_id, "status": "failed", "error": error}


__all__ = ["RUN_AXES_FILE", "STUDY_FILE", "StudyOutcome", "check_resumable", "create_study_dir", "dask_client",
           "execute_run", "is_finished", "run_path", "run_study"]
