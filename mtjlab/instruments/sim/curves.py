"""Activation and derivative curves of every device of the simulated chip.

For each bias field, each live device's input current is swept across the safe
range and the model array reports the DC output voltage, the lock-in
derivative (with the bench's default modulation and noise) and the model's
exact derivative. Written as ``curves.csv`` (units in the column names) and
``curves.png`` (one panel per device laid out like the crossbar).
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ...errors import MtjlabError
from ..model_array import ModelNeuronArray

COLUMNS = (
    "device",
    "bias_field_oe",
    "input_current_a",
    "output_voltage_v",
    "lockin_derivative_v_per_a",
    "exact_derivative_v_per_a",
)
POINTS = 121


def _default_bias_fields(bench: Any) -> list[float]:
    nominal = bench.measurement.bias_field_oe
    return [0.5 * nominal, nominal, 2.0 * nominal] if nominal else [0.0, 10.0, 20.0]


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            write(handle)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a data file's usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


Progress = Callable[[Iterable[float]], Iterable[float]]


def measure_curves(bench: Any, bias_fields_oe: Sequence[float], progress: Progress | None = None) -> tuple[np.ndarray, dict]:
    """Sweep every device at each bias field; returns the input grid and results.

    ``results[field]`` is the NeuronMeasurement of the live devices at that
    field. ``progress`` wraps the loop over fields (a progress bar, say).
    """
    limit = bench.limits.max_input_current_a
    for field in bias_fields_oe:
        if abs(field) > bench.limits.max_field_oe:
            raise MtjlabError(f"--bias-field-oe {field:g}: beyond the bench limit of {bench.limits.max_field_oe:g} Oe")
    array = ModelNeuronArray.from_bench(bench, noise=True)
    span = limit - array.modulation_amplitude_a
    inputs = np.linspace(-span, span, POINTS)
    live = [d for d in array.device_ids if d not in array.dead_ids]
    results = {}
    for field in (progress or iter)(bias_fields_oe):
        array.set_bias_field(field)
        results[field] = array.measure(live, inputs)
    return inputs, results


def _write_csv(path: Path, results: dict) -> None:
    def write(handle):
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for field, m in results.items():
            for j, device in enumerate(m.device_ids):
                if m.dead[j]:
                    continue
                for k in range(m.input_current_a.shape[1]):
                    writer.writerow([
                        device, f"{field:.6g}", f"{m.input_current_a[j, k]:.8g}", f"{m.output_v[j, k]:.8g}",
                        f"{m.derivative_v_per_a[j, k]:.8g}", f"{m.exact_derivative_v_per_a[j, k]:.8g}",
                    ])

    _atomic_write(path, write)


def _plot(path: Path, bench: Any, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = bench.chip.rows, bench.chip.cols
    ids = bench.chip.ids()
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, sharex=True)
    colours = plt.cm.viridis(np.linspace(0.1, 0.85, len(results)))
    for position, device in enumerate(ids):
        ax = axes[divmod(position, cols)]
        ax.set_title(device, fontsize=9)
        twin = ax.twinx()
        for colour, (field, m) in zip(colours, results.items()):
            if device not in m.device_ids or m.dead[m.device_ids.index(device)]:
                continue
            j = m.device_ids.index(device)
            current_ma = 1e3 * m.input_current_a[j]
            ax.plot(current_ma, 1e3 * m.output_v[j], color=colour, lw=1.4, label=f"{field:g} Oe")
            twin.plot(current_ma, 1e-3 * m.derivative_v_per_a[j], color=colour, lw=0.9, ls="--")
        if all(device not in m.device_ids or m.dead[m.device_ids.index(device)] for m in results.values()):
            ax.text(0.5, 0.5, "dead", transform=ax.transAxes, ha="center", va="center", color="crimson")
            ax.set_yticks([])
            twin.set_yticks([])
        ax.tick_params(labelsize=7)
        twin.tick_params(labelsize=7)
        if position % cols == 0:
            ax.set_ylabel("output (mV)", fontsize=8)
        if position % cols == cols - 1:
            twin.set_ylabel("lock-in dV/dI (V/mA), dashed", fontsize=8)
        if position // cols == rows - 1:
            ax.set_xlabel("input current (mA)", fontsize=8)
    axes[0, 0].legend(fontsize=7, title="bias field", title_fontsize=7)
    fig.suptitle(f"{bench.name}: activation (solid) and lock-in derivative (dashed) per device", fontsize=11)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def write_curves(bench: Any, bias_fields_oe: Sequence[float] | None, out_dir: Path, progress: Progress | None = None) -> str:
    """Write ``curves.csv`` and ``curves.png`` into ``out_dir``; return a summary.

    Refuses to overwrite curves already in ``out_dir``.
    """
    out_dir = Path(out_dir)
    fields = list(bias_fields_oe) if bias_fields_oe else _default_bias_fields(bench)
    csv_path, png_path = out_dir / "curves.csv", out_dir / "curves.png"
    for existing in (csv_path, png_path):
        if existing.exists():
            raise MtjlabError(f"{existing}: already exists; choose another --out folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise MtjlabError(f"{out_dir}: exists and is not a folder")
    inputs, results = measure_curves(bench, fields, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(csv_path, results)
    _plot(png_path, bench, results)
    return _summary(bench, inputs, results, csv_path, png_path)


def _summary(bench: Any, inputs: np.ndarray, results: dict, csv_path: Path, png_path: Path) -> str:
    lines = [f"{bench.name}: {len(bench.chip.ids())} devices, input {1e3 * inputs[0]:+.1f} to {1e3 * inputs[-1]:+.1f} mA"]
    lines.append(f"{'bias (Oe)':>10} {'live':>5} {'output span (mV)':>18} {'peak |dV/dI| (V/A)':>20} {'lock-in vs exact':>17}")
    for field, m in results.items():
        live = ~m.dead
        span = np.nanmedian(np.ptp(m.output_v[live], axis=1)) * 1e3
        peak = np.nanmedian(np.nanmax(np.abs(m.exact_derivative_v_per_a[live]), axis=1))
        big = np.abs(m.exact_derivative_v_per_a[live]) > 0.2 * peak
        error = np.nanmedian(np.abs(m.derivative_v_per_a[live][big] / m.exact_derivative_v_per_a[live][big] - 1.0))
        lines.append(f"{field:>10.3g} {int(live.sum()):>5} {span:>18.2f} {peak:>20.3g} {100 * error:>15.2f} %")
    dead = [d for d in bench.chip.ids() if any(d in m.device_ids and m.dead[m.device_ids.index(d)] for m in results.values())]
    dead += [d for d in bench.chip.known_dead if d not in dead]
    lines.append(f"dead: {', '.join(dead) if dead else 'none'}   (medians over live devices; lock-in error where |dV/dI| > 20 % of peak)")
    lines.append(f"wrote {csv_path} and {png_path}")
    return "\n".join(lines)
