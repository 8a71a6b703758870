"""docs/results.md: the paper study's numbers beside Pereira et al.'s, regenerated from the study directory alone.

    python scripts/paper_results.py STUDY_DIR [--docs docs] [--throughput FILE --scaling FILE]
                                    [--no-physics-figures]

Reads the runs of STUDY_DIR (``mtjlab study paper --out studies/paper``) through
:func:`mtjlab.studies.results.collect` and writes ``DOCS/results.md`` with

1. how to regenerate it, and what the study cost (the runs' wall times, the
   study's elapsed time from its files' times, the machine's cores);
2. the paper's three claims (Iris on real devices, Iris and MNIST in
   simulation) beside ours: the analog method on the typical and the harsh
   simulated chip, mean ± std over the chip seeds, the software baseline beside
   each, every number labelled with what it is;
3. the study's tables (:func:`mtjlab.studies.report.markdown_tables`) and figures
   (:mod:`mtjlab.studies.figures`), drawn again into ``DOCS/images/paper-*.png``;
4. two figures of the chips themselves (``scripts/paper_figures.py``): the
   activation family and the analog against the numeric derivative;
5. what the numbers show and what they do not, every statement computed from them;
6. the speed benchmarks' tables, when their outputs are given.

Nothing is hard-coded but the paper's own figures: a task the study did not run
is reported as missing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mtjlab.config.loading import read_yaml
from mtjlab.errors import DataFileError, MtjlabError
from mtjlab.studies.report import aggregate, duration, roles, show
from mtjlab.studies.results import axis_columns, collect
from mtjlab.training.records import atomic_write_text

sys.path.insert(0, str(Path(__file__).resolve().parent))  # paper_figures sits beside this file, in no package
from paper_figures import TRAINING_DEFAULTS, chip_section, study_section  # noqa: E402

PAPER = ('Pereira et al., "Trainable Neuromorphic Spintronic Hardware Via Analog Finite-Difference Gradient '
         'Methods", arXiv 2603.03947')
REGENERATE = ("mtjlab study paper --out studies/paper", "python scripts/paper_results.py studies/paper")
#: The two simulated chips every claim is answered on: (bench label in the study, name in the text).
CHIPS = (("model:typical", "typical"), ("model:harsh", "harsh"))
OUR_METHOD = "analog"  # the paper's method: the lock-in's first harmonic as each neuron's derivative
#: Full MNIST, for saying how much smaller our subset is.
FULL_MNIST_IMAGES = 70_000


@dataclass(frozen=True)
class Claim:
    """One number of the paper, and the tasks of our study that answer it."""

    name: str
    paper: str
    paper_percent: float
    what: str
    tasks: tuple[str, ...]
    caveat: str  # what a difference between the paper's number and ours compares


CLAIMS = (
    Claim("Iris, real devices", "93.3 %", 93.3, "measured MTJs, device-in-the-loop backpropagation with analogue "
          "finite-difference derivatives, despite pronounced device variability", ("iris-1",),
          "A difference sets our simulated chips beside the paper's measured junctions."),
    Claim("Iris, simulation", "95 %+", 95.0, "physical simulation of MTJ neurons", ("iris-1", "iris-2"),
          "A difference sets two device models and two training set-ups side by side, on the same data."),
    Claim("MNIST, simulation", "97.9 %", 97.9, f"physical simulation, full MNIST ({FULL_MNIST_IMAGES:,} images)",
          ("mnist",), "A difference sets our MNIST subset beside the full data set, and two device models."),
)


# --------------------------------------------------------------------------- what the study holds
@dataclass
class Study:
    directory: Path
    name: str
    runs: pd.DataFrame  # collect(): one row per run
    groups: pd.DataFrame  # aggregate(): one row per group of replicate runs

    @property
    def finished(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] == "finished"]

    def has(self, axis: str) -> bool:
        return axis in axis_columns(self.runs)

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(show(t) for t in self.runs["task"])) if self.has("task") else []

    def group(self, task: str, method: str, bench: str) -> pd.Series | None:
        """The aggregated row of (task, method, bench) when one of its runs finished; else None."""
        if not all(self.has(a) for a in ("task", "method", "bench")):
            return None
        g = self.groups
        rows = g[(g["task"].map(show) == task) & (g["method"].map(show) == method) & (g["bench"].map(show) == bench)]
        return rows.iloc[0] if len(rows) and rows.iloc[0]["finished"] > 0 else None

    def replicates(self) -> str:
        """What the ± is over, in words."""
        axes = roles(axis_columns(self.runs)).replicates
        if not axes:
            return "no replicate axis: ± over the runs that repeat the same values"
        counts = [f"{self.runs[a].nunique()} {a.replace('_', ' ')}s" for a in axes]
        return "mean ± sample std (n − 1) over " + " × ".join(counts)

    def first_chip_seed(self) -> int | None:
        """The chip seed of the study's first finished run: the physics figures draw that chip (None: the
        presets' own chips, when the study varies no chip seed)."""
        if not self.has("chip_seed") or not len(self.finished):
            return None
        value = self.finished["chip_seed"].iloc[0]
        return None if value is None or value != value else int(value)

    def config_of(self, task: str | None = None) -> dict:
        """The training config of a finished run of ``task`` (None: of any task); empty when unreadable."""
        finished = self.finished
        if self.has("task") and task is not None:
            finished = finished[finished["task"].map(show) == task]
        for run_dir in finished["run_dir"]:
            try:
                document = read_yaml(self.directory / str(run_dir) / "config.yaml", what="a run's config",
                                     error_class=DataFileError)
            except MtjlabError:
                continue
            if isinstance(document, dict):
                return document
        return {}


def load_study(directory: Path) -> Study:
    runs = collect(directory)
    name = directory.resolve().name
    try:
        document = read_yaml(directory / "study.yaml", what="a study file", error_class=DataFileError)
        name = str(document.get("name", name)) if isinstance(document, dict) else name
    except MtjlabError:
        pass  # a study folder without its study.yaml is still a set of runs
    return Study(directory, name, runs, aggregate(runs) if len(runs) else pd.DataFrame())


def _finished_of(study: Study, task: str) -> pd.DataFrame:
    return study.finished[study.finished["task"].map(show) == task] if study.has("task") else study.finished


def architecture_of(study: Study, task: str) -> str:
    """The layer sizes of the task's network, ``4-4-3`` (``?`` when no run of it finished)."""
    rows = _finished_of(study, task)
    return str(rows["architecture"].mode().iloc[0]) if len(rows) else "?"


def describe_task(study: Study, task: str) -> str:
    """What one task's numbers are: data set (and split), network, epochs."""
    rows = _finished_of(study, task)
    if not len(rows):
        return "not run"
    config = study.config_of(task)
    architecture = architecture_of(study, task)
    folds = int(rows["folds"].dropna().iloc[0])
    dataset = str(config.get("dataset", "")) or task
    if config.get("train_samples"):
        train, images = int(config["train_samples"]), _images_in(config.get("dataset_path"))
        split = f"first {train:,} train, " + (f"last {images - train:,} test" if images else "the rest test")
        if dataset == "mnist" and images is not None and images < FULL_MNIST_IMAGES:
            data = f"MNIST subset of {images:,} images (not the full {FULL_MNIST_IMAGES:,}), {split}"
        else:
            data = f"{dataset}, {split}"
    else:
        data = f"{dataset}, {folds}-fold cross-validation"
    epochs = config.get("epochs", rows["epochs"].dropna().iloc[0])
    return f"{data}, network {architecture}, {epochs} epochs"


def _images_in(path: object) -> int | None:
    """How many images an MNIST npz file holds (None when it cannot be read here)."""
    if not isinstance(path, str) or not path.endswith(".npz"):
        return None
    try:
        with np.load(path) as data:  # allow_pickle stays False: the file is data, not code
            return int(data["labels"].shape[0])
    except (OSError, KeyError, ValueError):
        return None


# --------------------------------------------------------------------------- numbers as text
def percent(mean: float, sd: float) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:.1f} %" if math.isnan(sd) else f"{mean:.1f} ± {sd:.1f} %"


def points(value: float) -> str:
    return f"{round(value, 1) + 0.0:+.1f} pp"  # + 0.0: a difference of -1e-15 reads +0.0, not -0.0


def _cosine(row: pd.Series) -> str:
    return "–" if math.isnan(row["cosine"]) else f"{row['cosine']:.4f}"


def standing(row: pd.Series) -> str:
    """``within``, ``above`` or ``below`` the software baseline, judged against the larger of the two spreads
    over the replicate runs; ``unknown`` for a single run (no spread is known)."""
    spread = max(row["accuracy_sd"], row["baseline_sd"])
    if math.isnan(row["difference"]) or math.isnan(spread):
        return "unknown"
    if abs(row["difference"]) <= spread:
        return "within"
    return "above" if row["difference"] > 0 else "below"


# --------------------------------------------------------------------------- the sections
def header(study: Study) -> list[str]:
    runs = study.runs
    counts = runs["status"].value_counts() if len(runs) else pd.Series(dtype=int)
    finished = study.finished
    wall = pd.to_numeric(finished["wall_time_s"]).astype(float)
    elapsed = study_elapsed_s(study.directory, float(wall.max()) if len(wall) else 0.0)
    status = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("finished", "failed", "unfinished", "damaged")
                       if counts.get(s, 0) or s == "finished")
    axes = ", ".join(f"{a} ({runs[a].nunique()})" for a in axis_columns(runs)) or "none"
    return [
        "# Results: the paper reproduced on simulated chips", "",
        f"Our numbers beside those of {PAPER}. Every number, table and figure below is written by "
        "`scripts/paper_results.py` from the study's run directories and from the simulated chips; to "
        "regenerate this page, from the repository root:", "",
        "```sh", *REGENERATE, "```", "",
        f"**The study.** `{study.name}`: {len(runs)} runs ({status}) over the axes {axes}.",
        (f"The runs' own wall times add up to {duration(float(wall.sum()))} (the longest run "
         f"{duration(float(wall.max()))}); the study took "
         + (f"{duration(elapsed)} from its first file to its last run's summary" if elapsed is not None
            else "an unknown time (its files' times do not span its runs: the folder was copied)")
         if len(wall) else "No run has finished yet")
        + f", on a machine of {os.cpu_count()} cores (`mtjlab study` runs one worker per core).", "",
        "Every method on all four chip presets (ideal and drifting too) and a network of bump-shaped "
        "neurons: `docs/gradient-methods.md`. How studies run: `docs/studies.md`.", ""]


def study_elapsed_s(directory: Path, longest_run_s: float) -> float | None:
    """From study.yaml (written before the first run) to the newest summary.json; None when the file times
    cannot be the study's (a copy without them)."""
    try:
        start = (directory / "study.yaml").stat().st_mtime
        ends = [p.stat().st_mtime for p in (directory / "runs").glob("*/summary.json")]
    except OSError:
        return None
    if not ends or max(ends) - start < longest_run_s:
        return None
    return max(ends) - start


def _claim_cell(study: Study, task: str, bench: str) -> str:
    row = study.group(task, OUR_METHOD, bench)
    if row is None:
        return "not run"
    runs = f"{int(row['finished'])} run{'s' if row['finished'] != 1 else ''}"
    return (f"**{percent(row['accuracy'], row['accuracy_sd'])}** "
            f"(software {percent(row['baseline'], row['baseline_sd'])}; {runs})")


def comparison(study: Study) -> list[str]:
    lines = ["## Our figures beside the paper's", "",
             f"Ours: the `{OUR_METHOD}` method (the paper's: the lock-in's first harmonic as each neuron's "
             "derivative) on two simulated chips of the physics model with measurement noise, `typical` (a "
             "well-made lab array) and `harsh` (an early process), "
             f"{study.replicates()}; the software baseline is the same network trained in software on the "
             "chip's datasheet curve. We have no real devices: every number of ours is a simulation.", "",
             "| claim | paper | what the paper's number is | our task | analog, typical chip | analog, harsh chip "
             "| what ours is |", "|---|---|---|---|---|---|---|"]
    known = set(study.tasks())
    for claim in CLAIMS:
        for task in claim.tasks:
            if task in known and study.group(task, OUR_METHOD, CHIPS[0][0]) is None \
                    and study.group(task, OUR_METHOD, CHIPS[1][0]) is None:
                ours, cells = "no finished analog run", ["not run", "not run"]
            elif task in known:
                ours, cells = describe_task(study, task), [_claim_cell(study, task, b) for b, _ in CHIPS]
            else:
                ours, cells = f"not in this study (no task `{task}`)", ["not run", "not run"]
            lines.append(f"| {claim.name} | {claim.paper} | {claim.what} | `{task}` | {' | '.join(cells)} | "
                         f"simulated chips; {ours} |")
    lines += ["", "The paper's network sizes are not restated here; ours are in the last column. Its MNIST figure "
              "is on the full data set, ours on the subset named there.", ""]
    return lines


def speed(throughput: Path | None, scaling: Path | None) -> list[str]:
    lines = ["## Speed", ""]
    for path, command, what in ((throughput, "python benchmarks/physics_throughput.py",
                                 "the physics model against numpy tanh"),
                                (scaling, "python benchmarks/study_scaling.py", "a study on 1, 2 and N workers")):
        lines += [f"{what[0].upper()}{what[1:]}: `{command}`", ""]
        if path is None:
            lines += [f"(not given: run `{command} > FILE` and pass the file to this script)", ""]
        else:
            lines += ["```", path.read_text(encoding="utf-8").rstrip("\n"), "```", ""]
    return lines


def problems(study: Study) -> list[str]:
    """The runs the tables leave out (failed, damaged, unfinished), each with its one-line cause."""
    left_out = study.runs[study.runs["status"] != "finished"]
    if not len(left_out):
        return []
    causes = [f"- `{r['run_id']}` ({r['status']})" + ("" if r["status"] == "unfinished" else f": {show(r['error'])}")
              for _, r in left_out.iterrows()]
    return ["## Runs left out", "", *causes, ""]


# --------------------------------------------------------------------------- what the numbers show
def _groups_of(study: Study, task: str) -> pd.DataFrame:
    g = study.groups
    return g[(g["task"].map(show) == task) & (g["finished"] > 0)] if study.has("task") else g[g["finished"] > 0]


def _standings(block: pd.DataFrame) -> str:
    """Each method's difference from the baseline, grouped by where it stands against the spread."""
    words = {"within": "within the replicates' spread of the software baseline",
             "below": "below it by more than that spread", "above": "above it by more than that spread",
             "unknown": "a single run each (no spread to judge by)"}
    parts = []
    for kind, phrase in words.items():
        methods = [f"{show(r.get('method', 'MTJ network'))} ({points(r['difference'])})"
                   for _, r in block.iterrows() if standing(r) == kind]
        if methods:
            parts.append(f"{phrase}: {', '.join(methods)}")
    return "; ".join(parts)


def _method_lines(study: Study) -> list[str]:
    lines = []
    for task in study.tasks():
        block = _groups_of(study, task)
        if not len(block):
            lines.append(f"- **{task}**: no finished run, nothing to say.")
            continue
        for bench in dict.fromkeys(block["bench"].map(show)) if study.has("bench") else [None]:
            rows = block if bench is None else block[block["bench"].map(show) == bench]
            where = f"**{task}** ({architecture_of(study, task)})"
            lines.append(f"- {where} on `{bench}`: {_standings(rows)}." if bench else f"- {where}: {_standings(rows)}.")
    return lines


def _pair_lines(study: Study, physics) -> list[str]:
    """Perturbation's gap, and the analog method against the numeric one."""
    g = study.groups
    lines = []
    if study.has("method") and (g["method"].map(show) == "perturbation").any():
        gaps = [f"{show(r['task'])} on `{show(r['bench'])}` {points(r['difference'])}"
                + (f" (gradient cosine {_cosine(r)})" if not math.isnan(r["cosine"]) else "")
                for _, r in g[(g["method"].map(show) == "perturbation") & (g["finished"] > 0)].iterrows()]
        lines.append("- **Perturbation** (SPSA, zeroth order), against its software baseline: " + "; ".join(gaps) + ".")
    else:
        lines.append("- Perturbation (SPSA) was not run in this study: its gap is not measured here.")
    pairs = []
    for task in study.tasks():
        for bench, _ in CHIPS:
            analog, numeric = study.group(task, "analog", bench), study.group(task, "numeric", bench)
            if analog is None or numeric is None:
                continue
            gap = analog["accuracy"] - numeric["accuracy"]
            spread = max(analog["accuracy_sd"], numeric["accuracy_sd"])
            verdict = ("within the spread" if abs(gap) <= spread else "beyond the spread") if not math.isnan(spread) \
                else "one run each"
            pairs.append(f"{task} on `{bench}` {points(gap)} ({verdict}; gradient cosines {_cosine(analog)} "
                         f"and {_cosine(numeric)})")
    if pairs:
        lines.append("- **Analog against numeric** (accuracy of analog − numeric): " + "; ".join(pairs) + ".")
    if physics is not None:
        lines.append(f"- {physics.derivative_finding}")
    return lines


def _paper_lines(study: Study) -> list[str]:
    lines = []
    for claim in CLAIMS:
        ours = []
        for task in claim.tasks:
            for bench, chip in CHIPS:
                row = study.group(task, OUR_METHOD, bench)
                if row is not None:
                    gap = row["accuracy"] - claim.paper_percent
                    ours.append(f"{task} on the {chip} chip {row['accuracy']:.1f} % ({abs(gap):.1f} pp "
                                f"{'above' if gap > 0 else 'below'} it)")
        missing = [f"`{t}`" for t in claim.tasks if all(study.group(t, OUR_METHOD, b) is None for b, _ in CHIPS)]
        if ours:
            lines.append(f"- {claim.name}: the paper's {claim.paper} against our {OUR_METHOD} runs: "
                         + "; ".join(ours) + (f" ({', '.join(missing)}: no finished run)" if missing else "")
                         + ". " + claim.caveat)
        else:
            lines.append(f"- {claim.name}: not run in this study ({', '.join(f'`{t}`' for t in claim.tasks)} missing): "
                         f"no number of ours to set beside the paper's {claim.paper}.")
    return lines


def findings(study: Study, physics) -> list[str]:
    """"What this shows / what it does not", every statement computed from the study's numbers."""
    if not len(study.finished):
        return ["## What this shows", "", "Nothing yet: no run of the study has finished.", ""]
    axes = axis_columns(study.runs)
    chip_seeds = study.runs["chip_seed"].nunique() if "chip_seed" in axes else 1
    not_shown = [
        "- **Real devices.** Every number of ours comes from the physics model's simulated chips, built on "
        "literature ranges (docs/chip_realism.md), not fitted to the paper's junctions: the row \"Iris, real "
        "devices\" sets a simulation beside a measurement.",
        f"- **Chip-to-chip spread.** The ± is over {chip_seeds} chip{'s' if chip_seeds != 1 else ''} per preset"
        + ("" if "seed" in axes else " and one training seed (splits and initial weights fixed)")
        + ": a small Monte Carlo, which does not resolve differences smaller than that spread.",
        "- **Lab time.** The physics model charges the time its bench would take (the lock-in planned from the "
        "noise budget, hardware-timed lists where the instruments allow: docs/bench.md, \"The physics model's lab "
        "time\"), within about 1 % of the simulated bench on Iris; it is an estimate, not a real bench's clock.",
    ]
    if "mnist" in study.tasks():
        not_shown.insert(1, f"- **Full MNIST.** `mnist` is {describe_task(study, 'mnist')}; the paper's 97.9 % is "
                            f"on the full {FULL_MNIST_IMAGES:,} images.")
    return ["## What this shows", "", *_method_lines(study), *_pair_lines(study, physics), "",
            "Beside the paper:", "", *_paper_lines(study), "", "## What it does not show", "", *not_shown, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path, help="the paper study's directory (mtjlab study paper --out DIR)")
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="where results.md and images/ go")
    parser.add_argument("--throughput", type=Path, help="the output of benchmarks/physics_throughput.py")
    parser.add_argument("--scaling", type=Path, help="the output of benchmarks/study_scaling.py")
    parser.add_argument("--no-physics-figures", action="store_true",
                        help="leave out the figures measured on the simulated chips (a few seconds)")
    args = parser.parse_args(argv)
    for path in (args.throughput, args.scaling):
        if path is not None and not path.is_file():
            parser.error(f"{path}: no such file")
    try:
        study = load_study(args.study)
    except MtjlabError as exc:
        print(f"paper_results: {exc.one_line()}", file=sys.stderr)
        return 2
    image_dir = args.docs / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    physics = None
    if not args.no_physics_figures:
        config = study.config_of()  # the chips are drawn as the study's runs drew them
        physics = chip_section(image_dir, study.first_chip_seed(),
                               float(config.get("pre_activation_limit", TRAINING_DEFAULTS.pre_activation_limit)),
                               float(config.get("finite_difference_step_a",
                                                TRAINING_DEFAULTS.finite_difference_step_a)))
    lines = [*header(study), *comparison(study), *study_section(study.runs, study.directory, image_dir)]
    lines += physics.lines if physics is not None else []
    lines += [*findings(study, physics), *speed(args.throughput, args.scaling), *problems(study)]
    target = args.docs / "results.md"
    atomic_write_text(target, "\n".join(lines).rstrip("\n") + "\n")
    print(f"wrote {target} and {image_dir}/paper-*.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
