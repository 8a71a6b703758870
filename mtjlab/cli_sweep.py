"""``mtjlab sweep KIND``: run a measurement procedure on a bench into a Results file.

Each kind's options are its procedure's parameters (``--device-id r0c1
--points 41``), with the procedure's defaults. The data file and a figure go
into ``--out DIR``; a progress bar runs while it measures and a one-screen
summary of the extracted figures follows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError

BENCH_PARAMETER = "bench_file"


def _say(line: str) -> None:
    sys.stdout.write(f"{line}\n")


def _options(procedure_class: type) -> dict[str, Any]:
    """Parameter attribute name -> pymeasure Parameter object, without the bench file."""
    return {name: p for name, p in procedure_class().parameter_objects().items() if name != BENCH_PARAMETER}


def add_sweep_parser(sub: argparse._SubParsersAction) -> None:
    from pymeasure.experiment import FloatParameter, IntegerParameter

    from .experiments.catalog import SWEEPS

    sweep = sub.add_parser("sweep", help="characterise a junction on a bench: one procedure, one data file")
    kinds = sweep.add_subparsers(dest="sweep_kind", metavar="KIND", required=True)
    for kind, entry in SWEEPS.items():
        p = kinds.add_parser(kind, help=(entry.procedure.__doc__ or "").strip().splitlines()[0])
        p.add_argument("--bench", type=Path, metavar="FILE", help="bench YAML file (default: the simulated bench)")
        p.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for the data file and figure")
        for name, parameter in _options(entry.procedure).items():
            kind_of = float if isinstance(parameter, FloatParameter) else int if isinstance(parameter, IntegerParameter) else str
            unit = f" ({parameter.units})" if getattr(parameter, "units", None) else ""
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind_of, metavar="VALUE",
                           help=f"{parameter.name}{unit}; default {parameter.default}")
        p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from pymeasure.experiment import Results
    from tqdm import tqdm

    from .experiments.catalog import SWEEPS
    from .experiments.runner import run_procedure

    entry = SWEEPS[args.sweep_kind]
    values = {name: getattr(args, name) for name in _options(entry.procedure) if getattr(args, name) is not None}
    if args.bench is not None:
        if not args.bench.is_file():
            raise ConfigError(f"{args.bench}: no such bench file")
        values[BENCH_PARAMETER] = str(args.bench)
    options = _options(entry.procedure)
    for name, value in values.items():
        if name in options:
            try:
                options[name].value = value  # pymeasure converts and range-checks here
            except ValueError as exc:
                raise ConfigError(f"sweep {args.sweep_kind}: --{name.replace('_', '-')} {value}: "
                                  f"{' '.join(str(exc).split())}") from exc
    procedure = entry.procedure(**values)
    data_file = args.out / f"{args.sweep_kind}.csv"
    with tqdm(total=100.0, unit="%", desc=f"sweep {args.sweep_kind}", file=sys.stderr,
              bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} %") as bar:
        run_procedure(procedure, data_file, on_progress=lambda pct: bar.update(pct - bar.n))
    data = Results.load(str(data_file)).data
    figure = data_file.with_suffix(".png")
    entry.plot(data, figure)
    _say(f"{args.sweep_kind}: {len(data)} points ({'finished' if procedure.status == procedure.FINISHED else 'stopped'})")
    for line in entry.summarise(data, procedure) if len(data) else ["no points measured"]:
        _say(f"  {line}")
    _say(f"data: {data_file}\nfigure: {figure}")
    if entry.products is not None and procedure.status == procedure.FINISHED:
        for line in entry.products(data, procedure, args.out):
            _say(line)
    return 0


def add_replay_parser(sub: argparse._SubParsersAction) -> None:
    replay = sub.add_parser("replay", help="re-plot and re-summarise recorded sweep files (no hardware)")
    replay.add_argument("files", nargs="+", type=Path, metavar="FILE", help="sweep data files (CSV)")
    replay.set_defaults(func=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    from .errors import DataFileError
    from .experiments.catalog import SWEEPS
    from .experiments.replay import load_sweep

    for path in args.files:
        procedure, data = load_sweep(path)
        kind = next((k for k, e in SWEEPS.items() if type(procedure) is e.procedure), None)
        if kind is None:
            raise DataFileError(f"{path}: a {type(procedure).__name__} has no replay summary")
        figure = path.with_name(path.stem + "-replay.png")  # the original figure is kept
        SWEEPS[kind].plot(data, figure)
        _say(f"{path}: {kind}, {len(data)} points")
        for line in SWEEPS[kind].summarise(data, procedure):
            _say(f"  {line}")
        _say(f"  figure: {figure}")
    return 0
