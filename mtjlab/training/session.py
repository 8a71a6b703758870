"""A whole training run: check the inputs, open the NeuronArray, calibrate, train, record.

Everything a user can get wrong (dataset, method, MNIST file, a pre-activation
limit beyond the safe range, too few live devices) is checked before the run
directory is created, so a refused run leaves nothing behind. The bench is
opened in a ``with`` block: whatever ends the run (the end, a stop request, an
error, Ctrl-C, SIGTERM) leaves every output ramped to zero.

A caller that already holds a connected Bench (the GUI's worker thread owns
one) passes it as ``bench=``: the run then measures on it without opening or
shutting it, and making it safe afterwards is the caller's duty.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import statistics
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..config import TrainingConfig, is_model_bench, load_bench, load_default_bench, resolve_bench_path
from ..errors import ConfigError, DataFileError, DeadDeviceError, MtjlabError, StopRequested
from .datasets import Dataset, holdout_split, load_dataset, stratified_folds
from .methods import make_method
from .neurons import CalibrationSweep, DeviceNeurons, MeasurementTally
from .optimisers import make_optimiser
from .recalibration import Recalibrator, count_recalibrations
from .records import RunRecord, from_json_array, new_run_dir
from .settings import (LayerSetting, build_map, calibrate_settings, check_shapes, fitting_devices, layer_index,
                       layer_settings, match_sweeps, nominal_activations, read_sweeps, write_sweeps)
from .trainer import Trainer, TrainingEvent, TrainingStopped

log = logging.getLogger(__name__)


@dataclasses.dataclass
class RunResult:
    """A finished run: its directory and summary (as in summary.json)."""

    directory: Path
    summary: dict[str, Any]


def resolved(config: TrainingConfig, relative_to: Path | None) -> TrainingConfig:
    """The config with its bench and dataset paths made absolute (a run resumes from anywhere)."""
    changes: dict[str, Any] = {}
    bench_path = resolve_bench_path(config.bench, relative_to) if not is_replay(config.bench) else None
    if bench_path is not None:
        prefix = "model:" if is_model_bench(config.bench) else ""
        changes["bench"] = prefix + str(bench_path.resolve())
    elif is_replay(config.bench):
        changes["bench"] = ",".join(str(_resolve(p.strip(), relative_to)) for p in config.bench.split(","))
    if config.dataset_path is not None:
        changes["dataset_path"] = _resolve(config.dataset_path, relative_to)
    return config.model_copy(update=changes)


def _resolve(path: str | Path, relative_to: Path | None) -> Path:
    path = Path(path).expanduser()
    return (path if path.is_absolute() or relative_to is None else Path(relative_to) / path).resolve()


def is_replay(bench: str) -> bool:
    return all(part.strip().lower().endswith(".csv") for part in bench.split(","))


@contextlib.contextmanager
def open_array(config: TrainingConfig, bench: Any = None) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The NeuronArray a (resolved) config names, and a snapshot of what it is.

    ``bench``: an already connected Bench to measure on instead of opening the
    one ``config.bench`` names (ignored for 'model' and replay configs, which use
    no instruments). It is prepared (bias field, modulation) but neither opened
    nor shut down here: its owner makes it safe.
    """
    if config.chip_seed is not None and (bench is not None or is_replay(config.bench)):
        what = "recorded sweeps" if is_replay(config.bench) else "an open bench"
        raise ConfigError(f"chip_seed: {config.chip_seed} draws another simulated chip; {what} cannot change "
                          "its chip (remove chip_seed)")
    if bench is not None and not is_model_bench(config.bench) and not is_replay(config.bench):
        from ..instruments.bench_array import BenchNeuronArray

        array = BenchNeuronArray(bench)
        array.prepare()
        yield array, bench.snapshot()
    elif is_model_bench(config.bench):
        from ..instruments.model_array import ModelNeuronArray

        chip_of = config.bench.partition(":")[2]  # model:<bench file>: that bench's chip
        bench = (load_bench(chip_of) if chip_of else load_default_bench()).with_chip_seed(config.chip_seed)
        yield ModelNeuronArray.from_bench(bench), {
            "bench": "model", "chip_of": bench.name, "measurement": bench.measurement.model_dump(),
            "limits": bench.limits.model_dump()}
    elif is_replay(config.bench):
        from ..experiments.replay import ReplayNeuronArray

        files = [p.strip() for p in config.bench.split(",")]
        yield ReplayNeuronArray.from_files(files), {"bench": "replay", "recordings": files}
    else:
        from ..instruments.bench import Bench
        from ..instruments.bench_array import BenchNeuronArray

        with Bench.open(load_bench(config.bench).with_chip_seed(config.chip_seed)) as bench:
            array = BenchNeuronArray(bench)
            array.prepare()
            yield array, bench.snapshot()


def load_data(config: TrainingConfig) -> tuple[Dataset, list[tuple[np.ndarray, np.ndarray]]]:
    dataset = load_dataset(config.dataset, config.dataset_path, config.label_column)
    if config.train_samples is not None:
        return dataset, holdout_split(dataset.n_samples, config.train_samples)
    return dataset, stratified_folds(dataset.labels, config.folds, config.seed)


def run_training(config: TrainingConfig, *, config_dir: Path | None = None, out: Path | None = None,
                 runs_parent: Path = Path("runs"), on_event: Callable[[TrainingEvent], None] | None = None,
                 on_trainer: Callable[[Trainer], None] | None = None, bench: Any = None,
                 stop: threading.Event | None = None) -> RunResult:
    """Train as ``config`` says into a new run directory (``out``, or runs/<date>-<name>).

    ``bench``: a connected Bench to train on (see :func:`open_array`); None opens
    the one the config names and shuts it down at the end. ``stop``: set from any
    thread to stop the run (TrainingStopped) before the next measured point, in
    the calibration as in training; the trainer's ``request_stop`` sets it too.
    """
    config = resolved(config, config_dir)
    dataset, splits = load_data(config)
    if out is not None and out.exists() and any(out.iterdir()):
        raise MtjlabError(f"{out}: already exists and is not empty; choose another --out (nothing was overwritten)")
    started = time.perf_counter()
    with open_array(config, bench) as (array, snapshot):
        stop = _share_stop(array, stop)
        tally = MeasurementTally()
        settings = layer_settings(config, array)
        try:
            sweeps = calibrate_settings(array, settings, tally)
        except StopRequested:
            raise TrainingStopped("stopped during the calibration, before the run directory was made; "
                                  "nothing to resume") from None
        snapshot = _after_preparation(array, snapshot)
        trainer, neurons = _build(config, dataset, splits, array, sweeps, settings, tally, None, stop)
        record = RunRecord.create(out if out is not None else new_run_dir(config.name, runs_parent))
        trainer.record = record
        if trainer.recalibrator is not None:
            trainer.recalibrator.record = record
        record.write_yaml("config.yaml", config.model_dump(mode="json"))
        record.write_yaml("bench.yaml", _plain(snapshot))
        bias = float(snapshot.get("settings", {}).get("field_oe", snapshot.get("measurement", {}).get(
            "bias_field_oe", 0.0)) or 0.0)
        write_sweeps(record, sweeps, str(snapshot.get("bench", "")), bias, plain=config.layers is None)
        log.info("run directory %s; %s", record.directory, neurons.map.describe())
        return _train(trainer, config, dataset, neurons, record, started, None, on_event, on_trainer)


def resume_training(run_dir: Path, *, on_event: Callable[[TrainingEvent], None] | None = None,
                    on_trainer: Callable[[Trainer], None] | None = None, bench: Any = None,
                    stop: threading.Event | None = None) -> RunResult:
    """Continue a stopped or killed run from its newest checkpoint.

    Every file of the run directory is checked before anything is measured; a
    missing or damaged one is refused in one line naming it (never a silent
    restart from scratch), and so is a config.yaml edited to fewer epochs or
    folds than the run has already done. ``bench`` and ``stop`` as in :func:`run_training`.
    """
    from ..config import load_training

    record = RunRecord.open(run_dir)
    if (record.directory / "summary.json").exists():
        raise MtjlabError(f"{run_dir}: this run has finished (summary.json exists); nothing to resume")
    config_path = record.directory / "config.yaml"
    config = load_training(config_path)
    record.check_files()
    dataset, splits = load_data(config)
    found = record.readable_checkpoint(_fits(config, dataset))
    if found is not None:
        _check_progress(config, splits, config_path, *found)
    saved = read_sweeps(record)
    started = time.perf_counter()
    with open_array(config, bench) as (array, _snapshot):
        for sweep in saved:
            unknown = sorted(set(sweep.devices) - set(array.device_ids))
            if unknown:
                raise DataFileError(f"{record.directory / 'calibration.npz'}: device {unknown[0]!r} is not on "
                                    f"the run's bench ({config.bench})")
        settings = layer_settings(config, array)
        sweeps = match_sweeps(record, saved, settings)
        tally = MeasurementTally(sum(int(s.output_v.size) for s in sweeps), sum(s.instrument_time_s for s in sweeps))
        trainer, neurons = _build(config, dataset, splits, array, sweeps, settings, tally, record,
                                  _share_stop(array, stop))
        if trainer.recalibrator is not None and found is not None:  # the calibration the checkpoint measured with
            meta = from_json_array(found[1]["meta"])
            trainer.recalibrator.resume(int(meta["fold"]), int(meta["epochs_done"]))
        return _train(trainer, config, dataset, neurons, record, started, found, on_event, on_trainer)


def _fits(config: TrainingConfig, dataset: Dataset) -> Callable[[dict[str, np.ndarray], str], None]:
    """A check that a checkpoint's weights and optimiser states have this run's architecture."""
    sizes = [dataset.n_features, *config.hidden, dataset.n_classes]
    shapes = [shape for n_in, n_out in zip(sizes, sizes[1:]) for shape in ((n_in, n_out), (n_out,))]

    def fits(arrays: dict[str, np.ndarray], source: str) -> None:
        for name in ("network", "baseline"):
            found = [arrays[f"{name}.{i}"].shape if f"{name}.{i}" in arrays else None for i in range(len(shapes))]
            if found != shapes:
                raise DataFileError(f"{source}: its {name} weights do not fit the network "
                                    f"{'-'.join(map(str, sizes))} of config.yaml")
        for name in ("optimiser", "baseline_optimiser"):
            state = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(name + "/")}
            try:  # a throwaway optimiser: load_state checks every key, shape and type
                make_optimiser(config.optimiser, shapes).load_state(state)
            except DataFileError as exc:
                raise DataFileError(f"{source}: {name}: {exc.one_line()}") from None
    return fits


def _check_progress(config: TrainingConfig, splits: list[tuple[np.ndarray, np.ndarray]], config_path: Path,
                    path: Path, checkpoint: dict[str, np.ndarray]) -> None:
    """Refuse a config.yaml edited to fewer epochs or folds than the checkpoint has done."""
    meta = from_json_array(checkpoint["meta"])
    done = max([meta["epochs_done"], *(int(row["epoch"]) for row in meta["history"])])
    if done > config.epochs:
        raise ConfigError(f"{config_path}: epochs: {config.epochs} is below the {done} epochs this run has "
                          f"already done ({path.name}); set it back to {done} or more to resume")
    if meta["fold"] >= len(splits) or len(meta["fold_results"]) > len(splits):
        raise ConfigError(f"{config_path}: folds: {len(splits)} is fewer than this run has already "
                          f"reached ({path.name}); set it back to resume")


def _after_preparation(array: Any, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The bench's snapshot as the run measures (lock-in settings from the noise budget applied), with the plan."""
    bench = getattr(array, "bench", None)
    if bench is None or not hasattr(bench, "snapshot"):
        return snapshot
    fresh = bench.snapshot()
    plan = getattr(array, "lockin_plan", None)
    if plan is not None:
        fresh["lockin_plan"] = plan.as_dict()
    return fresh


def _share_stop(array: Any, stop: threading.Event | None) -> threading.Event:
    """One stop event for the run: the trainer's, and the array's where it can stop between points."""
    stop = stop if stop is not None else threading.Event()
    if hasattr(array, "stop"):
        array.stop = stop
    return stop


def _build(config: TrainingConfig, dataset: Dataset, splits: list[tuple[np.ndarray, np.ndarray]], array: Any,
           sweeps: list[CalibrationSweep], settings: list[LayerSetting], tally: MeasurementTally,
           record: RunRecord | None, stop: threading.Event | None = None) -> tuple[Trainer, DeviceNeurons]:
    """Map each layer's neurons to live devices of its kind calibrated at its setting, check their shapes
    against the layer's nominal activation and the safe range, pick the method: the trainer."""
    margin_a = config.finite_difference_step_a if config.method == "numeric" else 0.0
    fitted, left_out, room = [], {}, {}
    for sweep in sweeps:  # devices whose working point leaves no room for +/-limit serve no neuron
        kept, why, largest = fitting_devices(sweep.fit(), array.input_range_a, config.pre_activation_limit, margin_a)
        fitted.append(kept)
        left_out.update(why)
        room.update(largest)
    if left_out:
        log.warning("left out of the network (inputs beyond the safe range at pre_activation_limit %g): %s",
                    config.pre_activation_limit, ", ".join(left_out))
    index = layer_index(settings)
    try:
        if left_out and not any(fitted):
            raise DeadDeviceError("no calibrated device can serve a neuron")
        neuron_map = build_map(config, settings, fitted)
    except DeadDeviceError as exc:
        if not left_out:
            raise
        needed = max(1, math.ceil(sum(config.hidden) / config.max_neurons_per_device))
        limits = sorted(room.values(), reverse=True)
        suggestion = math.floor(limits[min(needed, len(limits)) - 1] * 100) / 100
        first = next(iter(left_out.items()))
        raise DeadDeviceError(f"{exc.one_line()}: {len(left_out)} device(s) left out because their inputs would leave "
                              f"the safe range (e.g. {first[0]}: {first[1]}); set pre_activation_limit to "
                              f"{suggestion:g} or less") from None
    neuron_map = dataclasses.replace(neuron_map, left_out=tuple(left_out.items()))
    layer_calibrations = [fitted[k] for k in index]
    nominal = nominal_activations(array, settings, config.pre_activation_limit)
    check_shapes(neuron_map, layer_calibrations, nominal, settings)
    neurons = DeviceNeurons(array, neuron_map, layer_calibrations if len(sweeps) > 1 else fitted[0],
                            config.pre_activation_limit, tally, log_measurements=config.log_measurements,
                            layer_fields_oe=[s.bias_field_oe for s in settings])
    # every mapped device fits +/-limit (fitting_devices); a recalibration checks again (check_range)
    method = make_method(config.method, neurons, [sweeps[k] for k in index], step_a=config.finite_difference_step_a,
                         perturbation_size=config.perturbation_size, nominal=nominal)
    trainer = Trainer(config, dataset, splits, method, record, array, stop)
    trainer.settings = settings
    if config.recalibrate_every is not None:
        trainer.recalibrator = Recalibrator(config.recalibrate_every, neurons, method, settings, sweeps, nominal,
                                            record, margin_a)
    return trainer, neurons


def _train(trainer: Trainer, config: TrainingConfig, dataset: Dataset, neurons: DeviceNeurons,
           record: RunRecord, started: float, found: tuple[Path, dict[str, np.ndarray]] | None,
           on_event: Callable[[TrainingEvent], None] | None,
           on_trainer: Callable[[Trainer], None] | None) -> RunResult:
    """Run the trainer (from the checkpoint ``found``, if any), then write the summary and the learning curves."""
    if on_event is not None:
        trainer.subscribe(on_event)
    if on_trainer is not None:
        on_trainer(trainer)
    path, checkpoint = found if found is not None else (None, None)
    prior_wall_s = float(from_json_array(checkpoint["meta"])["wall_time_s"]) if checkpoint is not None else 0.0
    restored: list[bool] = []
    trainer.subscribe(lambda event: restored.append(True) if event.kind == "started" else None)
    try:
        outcome = trainer.run(checkpoint)
    except MtjlabError as exc:
        if path is None or restored:
            raise
        # raised while the trainer restored the checkpoint: say which file did not fit
        raise DataFileError(f"{path}: {exc.one_line()}") from None
    summary = summarise(config, dataset, neurons, outcome, trainer, record.directory,
                        prior_wall_s + (time.perf_counter() - started))
    record.write_json("summary.json", summary)
    from .figures import learning_curves

    learning_curves(trainer.progress.history, record.directory / "learning_curves.png", config.method,
                    trainer.method.nominal.label())
    return RunResult(record.directory, summary)


def summarise(config: TrainingConfig, dataset: Dataset, neurons: DeviceNeurons, outcome: dict[str, Any],
              trainer: Trainer, directory: Path, wall_time_s: float) -> dict[str, Any]:
    folds = outcome["folds"]
    accuracies = [f["accuracy"] for f in folds]
    baseline = [f["baseline_accuracy"] for f in folds]
    cosines = [c for c in trainer.progress.cosines if c == c]
    return {
        "dataset": config.dataset,
        "method": config.method,
        "architecture": [dataset.n_features, *config.hidden, dataset.n_classes],
        "folds": len(folds),
        "epochs": config.epochs,
        "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)),
        "fold_accuracies": accuracies,
        "baseline_accuracy_mean": float(np.mean(baseline)),
        "baseline_accuracy_std": float(np.std(baseline)),
        "baseline_fold_accuracies": baseline,
        "grad_cosine_median": float(statistics.median(cosines)) if cosines else None,
        "measurements": int(neurons.tally.measurements),
        "lab_time_s": float(neurons.tally.lab_time_s),
        "wall_time_s": float(wall_time_s),
        "bench": config.bench,
        "neurons": [list(layer) for layer in neurons.map.layers],
        "neurons_per_device": neurons.map.neurons_per_device,
        "mapping": neurons.map.describe(),
        "left_out": dict(neurons.map.left_out),
        "nominal_activation": trainer.method.nominal.describe(),
        "layers": [{"hidden_layer": n + 1, "bias_field_oe": s.bias_field_oe, "device_kind": s.device_kind,
                    "activation_shape": trainer.method.nominal.layers[n].shape,
                    "nominal_activation": trainer.method.nominal.layers[n].name}
                   for n, s in enumerate(getattr(trainer, "settings", []))],
        "field_switches": int(neurons.tally.field_switches),
        "recalibrations": count_recalibrations(directory),
        "seed": config.seed,
        "chip_seed": config.chip_seed,
        "run_dir": str(directory),
        **_acquisition_of(neurons.array),
    }


def _acquisition_of(array: Any) -> dict[str, Any]:
    """How the run measured: the acquisition mode (and why) and the lock-in plan, where there is a bench."""
    bench = getattr(array, "bench", None)
    if bench is None or not hasattr(bench, "acquisition"):
        return {}
    mode = bench.acquisition()
    plan = getattr(array, "lockin_plan", None)
    return {"acquisition": {"mode": mode.mode, "reason": mode.reason},
            "lockin_plan": plan.as_dict() if plan is not None else None}


def _plain(document: Any) -> Any:
    """A snapshot with numpy scalars and tuples made YAML-safe."""
    if isinstance(document, dict):
        return {str(k): _plain(v) for k, v in document.items()}
    if isinstance(document, (list, tuple)):
        return [_plain(v) for v in document]
    if isinstance(document, np.generic):
        return document.item()
    if isinstance(document, Path):
        return str(document)
    return document


__all__ = ["RunResult", "open_array", "resume_training", "run_training"]
