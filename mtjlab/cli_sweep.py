"""``mtjlab sweep KIND``: run a measurement procedure on a bench into a Results file.

Each kind's options are its procedure's parameters (``--device-id r0c1
--points 41``), with the procedure's defaults and ranges. The data file and a
figure go into ``--out DIR``; a progress bar runs while it measures and a
one-screen summary of the extracted figures follows.

Everything that can be refused (the options, the output folder, the bench
file, each request against the bench's limits) is refused in one line before
the data file is made. A sweep stopped by Ctrl-C or SIGTERM summarises the
points so far and ends in one line naming the file (exit 130 or 143).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

from .cli_support import STOP_NAMES, check_out_dir, float_option, int_option
from .errors import ConfigError, DataFileError

BENCH_PARAMETER = "bench_file"
#: What stopped a sweep (the runner's names) -> exit status.
STOP_STATUS = {name: status for status, name in STOP_NAMES.items()}

log = logging.getLogger(__name__)


def _say(line: str) -> None:
    sys.stdout.write(f"{line}\n")


def _options(procedure_class: type) -> dict[str, Any]:
    """Parameter attribute name -> pymeasure Parameter object, without the bench file."""
    return {name: p for name, p in procedure_class().parameter_objects().items() if name != BENCH_PARAMETER}


def _option_type(parameter: Any) -> Callable[[str], Any]:
    """An argparse type with the parameter's own range (pymeasure's minimum and maximum), finite numbers only."""
    from pymeasure.experiment import FloatParameter, IntegerParameter

    if isinstance(parameter, IntegerParameter):
        return int_option(int(parameter.minimum), int(parameter.maximum))
    if isinstance(parameter, FloatParameter):
        return float_option(float(parameter.minimum), float(parameter.maximum))
    return str


def add_sweep_parser(sub: argparse._SubParsersAction) -> None:
    from .experiments.catalog import SWEEPS

    sweep = sub.add_parser("sweep", help="characterise a junction on a bench: one procedure, one data file")
    kinds = sweep.add_subparsers(dest="sweep_kind", metavar="KIND", required=True)
    for kind, entry in SWEEPS.items():
        p = kinds.add_parser(kind, help=(entry.procedure.__doc__ or "").strip().splitlines()[0])
        p.add_argument("--bench", type=Path, metavar="FILE", help="bench YAML file (default: the simulated bench)")
        p.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for the data file and figure")
        for name, parameter in _options(entry.procedure).items():
            unit = f" ({parameter.units})" if getattr(parameter, "units", None) else ""
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=_option_type(parameter), metavar="VALUE",
                           help=f"{parameter.name}{unit}; default {parameter.default}")
        p.set_defaults(func=cmd_sweep)


def _procedure(args: argparse.Namespace, entry: Any) -> Any:
    """The procedure of the options, each converted and range-checked by its pymeasure parameter."""
    options = _options(entry.procedure)
    values = {name: getattr(args, name) for name in options if getattr(args, name) is not None}
    if args.bench is not None:
        from .safe_files import CONFIG_MAX_BYTES, check_regular_file

        # a pipe, a device or a folder is named as what it is, not as missing
        check_regular_file(args.bench, what="a bench file", max_bytes=CONFIG_MAX_BYTES, error_class=ConfigError)
        values[BENCH_PARAMETER] = str(args.bench)
    for name, value in values.items():
        if name in options:
            try:
                options[name].value = value  # pymeasure converts and range-checks here
            except ValueError as exc:
                raise ConfigError(f"sweep {args.sweep_kind}: --{name.replace('_', '-')} {value}: "
                                  f"{' '.join(str(exc).split())}") from exc
    return entry.procedure(**values)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Check, measure, summarise; 0 finished, 130/143 stopped (failures raise, one line)."""
    from pymeasure.experiment import Results
    from tqdm import tqdm

    from .experiments.catalog import SWEEPS
    from .experiments.runner import run_sweep

    kind = args.sweep_kind
    entry = SWEEPS[kind]
    procedure = _procedure(args, entry)
    check_out_dir(args.out)
    data_file = args.out / f"{kind}.csv"
    for path in (data_file, data_file.with_suffix(".png"), *(args.out / name for name in entry.product_names)):
        if path.exists():  # refused before measuring, not after
            raise DataFileError(f"{path}: already exists; choose another --out (nothing was overwritten)")
    procedure.preflight()  # the bench file and every request, refused before the progress bar and the file
    with tqdm(total=100.0, unit="%", desc=f"sweep {kind}", file=sys.stderr, leave=False,
              bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} %") as bar:
        outcome = run_sweep(procedure, data_file, on_progress=lambda pct: bar.update(pct - bar.n))
    finished = outcome.status == procedure.FINISHED
    stopped = None if finished else STOP_STATUS.get(outcome.stopped_by or "", None)
    if not outcome.kept:
        _say(f"{kind}: no points measured")
    else:
        data = Results.load(str(data_file)).data
        _say(f"{kind}: {len(data)} points ({'finished' if finished else 'stopped'})")
        for line in _guarded(lambda: entry.summarise(data, procedure), "summary") if len(data) else ["no points"]:
            _say(f"  {line}")
        figure = data_file.with_suffix(".png")
        drawn = _guarded(lambda: entry.plot(data, figure) or [], "figure") if len(data) else ["no points to draw"]
        _say(f"data: {data_file}\nfigure: {figure if not drawn else drawn[0]}")
        if entry.products is not None and finished:
            for line in entry.products(data, procedure, args.out):
                _say(line)
    if finished:
        return 0
    if stopped is None:  # stopped without a signal of ours (a procedure that gave up): still not finished
        stopped = 1
    how = STOP_NAMES.get(stopped, "a stop request")
    if outcome.kept:
        sys.stderr.write(f"mtjlab: sweep {kind} stopped by {how} after {outcome.rows} points; the points so far "
                         f"are in {data_file}; rerun with a new --out to measure again\n")
    else:
        sys.stderr.write(f"mtjlab: sweep {kind} stopped by {how} before its first point; nothing was kept in "
                         f"{args.out}; rerun to measure\n")
    return stopped


def _guarded(make: Callable[[], list[str]], what: str) -> list[str]:
    """Lines of a summary (or a figure), or one line saying it could not be made: a sweep's data is never
    lost to its analysis."""
    try:
        return list(make())
    except Exception as exc:  # noqa: BLE001 - the data file is what matters; the cause is logged
        log.debug("%s failed", what, exc_info=True)
        return [f"{what}: not made ({type(exc).__name__}: {' '.join(str(exc).split())})"]


def add_replay_parser(sub: argparse._SubParsersAction) -> None:
    replay = sub.add_parser("replay", help="re-plot and re-summarise recorded sweep files (no hardware)")
    replay.add_argument("files", nargs="+", type=Path, metavar="FILE", help="sweep data files (CSV)")
    replay.set_defaults(func=cmd_replay)


def free_figure_path(data_file: Path) -> Path:
    """``FILE-replay.png``, or the first free ``FILE-replay-N.png``, reserved (created empty) so
    that nothing already there is ever overwritten, even by a replay running beside this one."""
    for n in range(1, 10_000):
        suffix = "-replay.png" if n == 1 else f"-replay-{n}.png"
        path = data_file.with_name(data_file.stem + suffix)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        except OSError as exc:
            raise DataFileError(f"{path}: cannot write the figure ({exc.strerror or exc})") from None
        return path
    raise DataFileError(f"{data_file}: 9999 replay figures beside it already; remove some")


def cmd_replay(args: argparse.Namespace) -> int:
    from .experiments.catalog import SWEEPS
    from .experiments.replay import load_sweep

    for path in args.files:
        procedure, data = load_sweep(path)
        kind = next((k for k, e in SWEEPS.items() if type(procedure) is e.procedure), None)
        if kind is None:
            raise DataFileError(f"{path}: a {type(procedure).__name__} has no replay summary")
        figure = free_figure_path(path)  # the original figure and earlier replays are kept
        try:
            SWEEPS[kind].plot(data, figure)
        except BaseException:
            figure.unlink(missing_ok=True)  # no empty reserved file left behind
            raise
        _say(f"{path}: {kind}, {len(data)} points")
        for line in _guarded(lambda: SWEEPS[kind].summarise(data, procedure), "summary"):
            _say(f"  {line}")
        _say(f"  figure: {figure} (written)")
    return 0
