"""The figures of a study report (matplotlib, drawn off screen, no pyplot state).

- ``accuracy.png``: per method (x) and chip (colour), the MTJ network's accuracy
  (solid) beside the software baseline's (hatched), error bars the std over the
  replicate runs; one panel per task.
- ``gradient_cosine.png``: the median gradient cosine, same layout; a method that
  records none is marked ``n/a``.
- ``cost.png``: lab time and device measurements per method, log scale; one
  column per task.
- ``learning_curves.png``: mean validation accuracy per epoch (over folds and the
  other axes) per method, from the finished runs' metrics.csv; one panel per task.

"method" and "chip" stand for the roles of :func:`mtjlab.studies.report.roles`:
the x axis is the method axis (else the first other axis), the colours every
other non-replicate axis (bench, chip, learning rate, ...).
"""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from ..errors import MtjlabError
from ..safe_files import METRICS_MAX_BYTES, decode_text, read_bytes
from ..training.records import atomic_write_bytes
from .report import Roles, aggregate, roles, show
from .results import axis_columns

log = logging.getLogger(__name__)

_DPI = 110
_ALL = "all runs"


# --------------------------------------------------------------------------- helpers
def _text(value: Any, limit: int = 40) -> str:
    """A label matplotlib draws as written: ``$`` would start mathtext (and may not parse)."""
    text = show(value)
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return text.replace("$", r"\$")


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)  # this figure's own canvas: nothing registered with pyplot
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def _empty(path: Path, title: str, why: str) -> Path:
    fig = Figure(figsize=(6, 2.5), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


def _series_key(row: pd.Series, role: Roles) -> tuple:
    return tuple(show(row[a]) for a in role.series)


def _series_label(key: tuple, role: Roles) -> str:
    if not role.series:
        return "MTJ network"
    if len(role.series) == 1:
        return _text(key[0])
    return _text(", ".join(f"{a}={v}" for a, v in zip(role.series, key)), 60)


class _Layout:
    """Categories (x), series (colours) and panels (tasks) of a study's aggregated table."""

    def __init__(self, table: pd.DataFrame, role: Roles) -> None:
        self.table, self.role = table, role
        self.categories = list(dict.fromkeys(show(v) for v in table[role.x])) if role.x else [_ALL]
        self.series = list(dict.fromkeys(_series_key(r, role) for _, r in table.iterrows()))
        self.tasks = list(dict.fromkeys(show(v) for v in table[role.task])) if role.task else [None]

    def colour(self, key: tuple) -> str:
        return f"C{self.series.index(key) % 10}"

    def block(self, task: str | None) -> pd.DataFrame:
        if task is None:
            return self.table
        return self.table[[show(v) == task for v in self.table[self.role.task]]]

    def category(self, row: pd.Series) -> int:
        return self.categories.index(show(row[self.role.x])) if self.role.x else 0

    def panel_title(self, task: str | None) -> str:
        return f"{self.role.task}: {_text(task)}" if task is not None else _ALL

    def width(self, per_bar: float) -> float:
        return min(16.0, max(4.5, 1.2 + len(self.categories) * len(self.series) * per_bar))

    def legend(self, fig: Figure, styles: list[Patch] | None = None) -> None:
        """One legend below the panels (beside the title it would cover it): the colours, then the
        bar styles; no colour entry when there is one series only (every bar is the MTJ network)."""
        handles = [Patch(color=self.colour(k), label=_series_label(k, self.role)) for k in self.series]
        handles = (handles if self.role.series else []) + (styles or [])
        if handles:
            title = ", ".join(self.role.series)
            fig.legend(handles=handles, loc="outside lower center", fontsize="small", ncols=min(len(handles), 6),
                       title=_text(title, 60) if title else None)

    def ticks(self, ax: Any) -> None:
        rotate = len(self.categories) * max(len(c) for c in self.categories) > 80  # labels would touch
        ax.set_xticks(range(len(self.categories)), [_text(c) for c in self.categories],
                      rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_xlabel(_text(self.role.x) if self.role.x else "")
        ax.set_xlim(-0.5, len(self.categories) - 0.5)  # a category with only "n/a" marks keeps its room


def _bar_layout(df: pd.DataFrame) -> _Layout | None:
    """The replicate groups of ``df`` laid out for a bar figure; None when no run has finished."""
    if not (df["status"] == "finished").any():
        return None
    return _Layout(aggregate(df), roles(axis_columns(df)))


def _slots(layout: _Layout, per_series: int) -> tuple[float, dict[tuple, float]]:
    """Bar width and each series' offset within a category (``per_series`` bars side by side)."""
    width = 0.8 / (len(layout.series) * per_series)
    offsets = {k: -0.4 + width * per_series * n for n, k in enumerate(layout.series)}
    return width, offsets


def _mark(ax: Any, x: float, text: str) -> None:
    """Say why a bar is absent, where it would stand."""
    ax.annotate(text, (x, 0), xytext=(0, 6), textcoords="offset points", xycoords=("data", "axes fraction"),
                rotation=90, ha="center", va="bottom", fontsize="small", color="0.3", style="italic")


def _value(ax: Any, x: float, y: float, text: str, rotate: bool) -> None:
    """The bar's value printed above it (bars near 1 or on a log axis are hard to read off)."""
    ax.annotate(text, (x, y), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                fontsize="x-small", rotation=90 if rotate else 0)


def _log_axis(ax: Any) -> None:
    """Log scale with plain numbers (``3``, ``45,000``, not ``3x10^0``); the minor ticks labelled
    too when the axis spans less than a decade (else it might show no number at all)."""
    ax.set_yscale("log")
    ax.margins(y=0.15)  # room for the value printed above the tallest bar
    plain = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 100 else f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    low, high = ax.get_ylim()
    ax.yaxis.set_minor_formatter(plain if high / low < 10 else NullFormatter())


def _over(role: Roles) -> str:
    return f"over {', '.join(role.replicates)}" if role.replicates else "over the runs of each bar"


# --------------------------------------------------------------------------- accuracy
def accuracy_figure(df: pd.DataFrame, path: Path) -> Path:
    """figures/accuracy.png: MTJ accuracy beside the software baseline, per method and chip."""
    title = "Validation accuracy: MTJ network (solid) beside software baseline (hatched)"
    layout = _bar_layout(df)
    if layout is None:
        return _empty(path, title, "no finished run yet")
    fig = Figure(figsize=(layout.width(0.45) + 2, 1.2 + 3.6 * len(layout.tasks)), layout="constrained")
    axes = fig.subplots(len(layout.tasks), 1, squeeze=False)[:, 0]  # tasks stacked: many bars need width
    width, offsets = _slots(layout, 2)
    low, high = 100.0, 100.0
    for ax, task in zip(axes, layout.tasks):
        for _, row in layout.block(task).iterrows():
            key = _series_key(row, layout.role)
            x = layout.category(row) + offsets[key] + width / 2
            if math.isnan(row["accuracy"]):
                _mark(ax, x + width / 2, "no result")
                continue
            for dx, value, sd, hatch, alpha in ((0, row["accuracy"], row["accuracy_sd"], None, 1.0),
                                                (width, row["baseline"], row["baseline_sd"], "///", 0.45)):
                sd = 0.0 if math.isnan(sd) else sd
                ax.bar(x + dx, value, width, yerr=sd if sd > 0 else None, color=layout.colour(key), alpha=alpha,
                       hatch=hatch, edgecolor="black", linewidth=0.4, capsize=2, error_kw={"elinewidth": 0.8})
                low, high = min(low, value - sd), max(high, value + sd)
        layout.ticks(ax)
        ax.set_title(layout.panel_title(task))
        ax.set_ylabel("validation accuracy (%)")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes:  # one scale for every panel, starting near the lowest bar
        ax.set_ylim(max(0.0, 10 * math.floor((low - 2) / 10)), high + 1)
    fig.suptitle(f"{title}\nmean ± std (n − 1) {_over(layout.role)}", fontsize="medium")
    layout.legend(fig, [Patch(facecolor="white", edgecolor="black", label="solid: MTJ network"),
                        Patch(facecolor="white", edgecolor="black", hatch="///", label="hatched: software baseline")])
    return _save(fig, path)


# --------------------------------------------------------------------------- gradient cosine
def gradient_cosine_figure(df: pd.DataFrame, path: Path) -> Path:
    """figures/gradient_cosine.png: the median gradient cosine per method and chip."""
    title = "Gradient cosine: median over runs of each run's median cosine with the exact gradient"
    layout = _bar_layout(df)
    if layout is None:
        return _empty(path, title, "no finished run yet")
    fig = Figure(figsize=(layout.width(0.3) + 2, 1.2 + 3.4 * len(layout.tasks)), layout="constrained")
    axes = fig.subplots(len(layout.tasks), 1, squeeze=False)[:, 0]
    width, offsets = _slots(layout, 1)
    low, absent = 0.0, False
    for ax, task in zip(axes, layout.tasks):
        for _, row in layout.block(task).iterrows():
            key = _series_key(row, layout.role)
            x = layout.category(row) + offsets[key] + width / 2
            if math.isnan(row["cosine"]):
                absent |= row["finished"] > 0
                _mark(ax, x, "n/a" if row["finished"] > 0 else "no result")
                continue
            ax.bar(x, row["cosine"], width, color=layout.colour(key), edgecolor="black", linewidth=0.4)
            _value(ax, x, row["cosine"], f"{row['cosine']:.3f}", rotate=len(layout.series) > 2)
            low = min(low, row["cosine"])
        layout.ticks(ax)
        ax.set_title(layout.panel_title(task))
        ax.set_ylabel("median gradient cosine")
        ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes:
        ax.set_ylim(min(0.0, low - 0.05), 1.15)  # room for the printed values
    note = "\nn/a: the method records no gradient cosine" if absent else ""
    fig.suptitle(title + note, fontsize="medium")
    layout.legend(fig)
    return _save(fig, path)


# --------------------------------------------------------------------------- cost
def _time_unit(seconds: pd.Series) -> tuple[float, str]:
    top = float(np.nanmax(seconds)) if seconds.notna().any() else 0.0
    if top < 120:
        return 1.0, "s"
    return (60.0, "min") if top < 2 * 3600 else (3600.0, "h")


def cost_figure(df: pd.DataFrame, path: Path) -> Path:
    """figures/cost.png: mean lab time and device measurements per method and chip, log scale."""
    title = "Cost per run: lab time and device measurements (mean over the replicate runs; log scale)"
    layout = _bar_layout(df)
    if layout is None:
        return _empty(path, title, "no finished run yet")
    scale, unit = _time_unit(layout.table["lab_time_s"])
    fig = Figure(figsize=(2 * layout.width(0.22) + 2, 1.0 + 3.4 * len(layout.tasks)), layout="constrained")
    grid = fig.subplots(len(layout.tasks), 2, squeeze=False)  # a row per task: lab time, measurements
    width, offsets = _slots(layout, 1)
    metrics = (("lab_time_s", scale, f"lab time per run ({unit})"), ("measurements", 1.0, "device measurements per run"))
    for task, axes in zip(layout.tasks, grid):
        for ax, (key_name, divide, label) in zip(axes, metrics):
            drawn = False
            for _, row in layout.block(task).iterrows():
                key = _series_key(row, layout.role)
                x = layout.category(row) + offsets[key] + width / 2
                value = row[key_name] / divide
                if not value > 0:  # NaN (no finished run) or 0: nothing to draw on a log axis
                    _mark(ax, x, "no result" if math.isnan(value) else "0")
                    continue
                ax.bar(x, value, width, color=layout.colour(key), edgecolor="black", linewidth=0.4)
                _value(ax, x, value, f"{value:.3g}" if key_name == "lab_time_s" else f"{value:,.0f}",
                       rotate=len(layout.series) > 2)
                drawn = True
            if drawn:
                _log_axis(ax)
            layout.ticks(ax)
            ax.set_ylabel(label)
            ax.grid(axis="y", which="major", alpha=0.3)
            ax.set_title(layout.panel_title(task))
    fig.suptitle(title, fontsize="medium")
    layout.legend(fig)
    return _save(fig, path)


# --------------------------------------------------------------------------- learning curves
def _run_curve(study_dir: Path, run_dir: str) -> pd.DataFrame | None:
    """One run's mean over folds per epoch of val and baseline val accuracy; None if unreadable."""
    path = study_dir / run_dir / "metrics.csv"
    source = f"{run_dir}/metrics.csv"
    try:
        text = decode_text(read_bytes(path, what="a metrics table", max_bytes=METRICS_MAX_BYTES, source=source),
                           source)
        table = pd.read_csv(io.StringIO(text))
    except (MtjlabError, ValueError, pd.errors.ParserError) as exc:
        log.warning("%s: left out of the learning curves (%s)", source, " ".join(str(exc).split())[:200])
        return None
    needed = ["epoch", "val_accuracy", "baseline_val_accuracy"]
    if any(c not in table.columns for c in needed):
        log.warning("%s: left out of the learning curves (not a metrics table)", source)
        return None
    table = table[needed].apply(pd.to_numeric, errors="coerce")
    table = table[np.isfinite(table).all(axis=1) & table["val_accuracy"].between(0, 1)]
    return table.groupby("epoch").mean() if len(table) else None


def learning_curves(df: pd.DataFrame, study_dir: Path, path: Path) -> Path:
    """figures/learning_curves.png: mean validation accuracy per epoch per method, one panel per task.

    The mean is over the folds of each finished run, then over its runs (seeds,
    chips and every other axis but the task and the method).
    """
    role = roles(axis_columns(df))
    others = [a for a in axis_columns(df) if a not in (role.task, role.x)]
    title = f"Learning curves: mean validation accuracy per epoch over folds{''.join(f', {a}' for a in others)}"
    finished = df[(df["status"] == "finished") & (df["run_dir"].astype(str) != "")]
    curves = []
    for _, row in finished.iterrows():
        curve = _run_curve(Path(study_dir), str(row["run_dir"]))
        if curve is not None:
            curves.append((show(row[role.task]) if role.task else None,
                           show(row[role.x]) if role.x else _ALL, curve))
    if not curves:
        return _empty(path, title, "no finished run with a readable metrics.csv")
    tasks = list(dict.fromkeys(t for t, _, _ in curves))
    methods = list(dict.fromkeys(m for _, m, _ in curves))
    columns = min(3, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    fig = Figure(figsize=(5.2 * columns + 2, 0.6 + 3.8 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(tasks):]:
        ax.set_visible(False)
    for ax, task in zip(axes, tasks):
        mine = [(m, c) for t, m, c in curves if t == task]
        for n, method in enumerate(methods):
            runs = [c["val_accuracy"] for m, c in mine if m == method]
            if runs:
                mean = pd.concat(runs, axis=1).mean(axis=1)
                ax.plot(mean.index, 100 * mean.values, color=f"C{n % 10}", lw=1.6, marker=".",
                        label=_text(method) if role.x else "MTJ network")
        baseline = pd.concat([c["baseline_val_accuracy"] for _, c in mine], axis=1).mean(axis=1)
        ax.plot(baseline.index, 100 * baseline.values, color="black", ls="--", lw=1.0,
                label="software baseline")
        ax.set_title(f"{role.task}: {_text(task)}" if task is not None else _ALL)
        ax.set(xlabel="epoch", ylabel="validation accuracy (%)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:  # methods missing from the first panel still get a legend entry
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="outside lower center", fontsize="small", ncols=min(len(labels), 7),
               title=_text(role.x) if role.x else None)
    fig.suptitle(title, fontsize="medium")
    return _save(fig, path)


# --------------------------------------------------------------------------- all of them
def write_figures(df: pd.DataFrame, study_dir: Path, out_dir: Path) -> dict[str, Path]:
    """Every figure of the report into ``out_dir`` (made if missing); their paths by name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "accuracy": accuracy_figure(df, out_dir / "accuracy.png"),
        "gradient_cosine": gradient_cosine_figure(df, out_dir / "gradient_cosine.png"),
        "cost": cost_figure(df, out_dir / "cost.png"),
        "learning_curves": learning_curves(df, Path(study_dir), out_dir / "learning_curves.png"),
    }


__all__ = ["accuracy_figure", "cost_figure", "gradient_cosine_figure", "learning_curves", "write_figures"]
