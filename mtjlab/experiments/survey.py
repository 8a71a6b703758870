"""Array survey: every junction of the crossbar, its resistance, TMR and neuron slope.

Each device is measured completely, then its row is written, so a survey
stopped at any point keeps a full row for every device it measured. For each
device, with the coil at zero field (a bias field would tilt the saturated
moment off the reference): the read current is applied and the junction is
held parallel then antiparallel by a saturating field-line input (its
reference lies along the field line's field), giving R_P, R_AP and the TMR at
the read bias, TMR = R_AP/R_P - 1 (docs/physics.md, eq. T1), and the output
span between the saturated states, the neuron's range. Then the coil resets
the junction's easy-axis state and settles at the bias field (the saturation
just left that state undefined), and the resistance and lock-in derivative at
zero input give the neuron's resting point and small-signal slope; the coil
returns to zero for the next device. A reading at the junction-bias
compliance is an open junction, one below ``SHORT_BELOW_OHM`` a short: both
are marked dead (their other columns are zero, not data).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pymeasure.experiment import FloatParameter

from ..instruments.bench_array import SHORT_BELOW_OHM, BenchNeuronArray
from .base import BenchProcedure

log = logging.getLogger(__name__)


class ArraySurveyProcedure(BenchProcedure):
    """Resistance, TMR, slope and range of every device of the chip."""

    read_current_a = FloatParameter("Read current", units="A", default=1e-4)
    saturating_input_a = FloatParameter("Saturating input current", units="A", default=0.015)
    bias_field_oe = FloatParameter("Bias field", units="Oe", default=20.0)
    modulation_amplitude_a = FloatParameter("Modulation amplitude (peak)", units="A", default=2e-4)

    TEXT_COLUMNS = ("Device",)
    DATA_COLUMNS = ["Device", "Row", "Column", "Resistance (ohm)", "Resistance P (ohm)", "Resistance AP (ohm)",
                    "TMR", "Slope (V/A)", "Output span (V)", "Dead"]

    def execute(self) -> None:
        bench = self.bench
        array = BenchNeuronArray(bench, read_current_a=self.read_current_a,
                                 modulation_amplitude_a=self.modulation_amplitude_a, bias_field_oe=0.0)
        bench.limits.check_input_current(self.saturating_input_a, self.modulation_amplitude_a)
        bench.limits.check_field(self.bias_field_oe)
        array.prepare()
        ids = bench.config.chip.ids()
        for n, device in enumerate(ids):
            if self.should_stop():
                log.info("survey stopped after %d of %d devices", n, len(ids))
                return
            if n:
                bench.set_field(0.0)  # the saturated states are measured without a bias field
            p = array.measure_point(device, self.saturating_input_a)
            ap = array.measure_point(device, -self.saturating_input_a) if not p.dead else p
            bench.set_input_current(0.0)
            rest = ap
            if not ap.dead:
                array.set_bias_field(self.bias_field_oe)  # reset the easy-axis state, then the bias field
                rest = array.measure_point(device, 0.0)
            self.emit("results", self._record(device, p, ap, rest))
            self.emit("progress", 100.0 * (n + 1) / len(ids))

    def _record(self, device: str, p, ap, rest) -> dict:
        row, col = self.bench.device_position(device)
        dead = p.dead or ap.dead or rest.dead
        record = {"Device": device, "Row": row, "Column": col,
                  "Resistance (ohm)": abs(rest.output_v) / self.read_current_a,
                  "Resistance P (ohm)": 0.0, "Resistance AP (ohm)": 0.0, "TMR": 0.0, "Slope (V/A)": 0.0,
                  "Output span (V)": 0.0, "Dead": int(dead)}
        if not dead:
            r_p, r_ap = p.output_v / self.read_current_a, ap.output_v / self.read_current_a
            record.update({"Resistance P (ohm)": r_p, "Resistance AP (ohm)": r_ap, "TMR": r_ap / r_p - 1.0,
                           "Slope (V/A)": rest.derivative_v_per_a, "Output span (V)": abs(ap.output_v - p.output_v)})
        return record


def survey_summary(data: pd.DataFrame) -> list[str]:
    """A few lines: how many devices live, and the spread of each figure over them."""
    if data.empty:
        return ["no device measured"]
    live = data[data["Dead"] == 0]
    dead = data[data["Dead"] != 0]["Device"].tolist()
    lines = [f"{len(live)} of {len(data)} devices live" + (f"; dead: {', '.join(dead)}" if dead else "")]
    for column, scale, unit in (("Resistance P (ohm)", 1.0, "ohm"), ("TMR", 100.0, "%"), ("Slope (V/A)", 1.0, "V/A"),
                                ("Output span (V)", 1e3, "mV")):
        values = scale * live[column].to_numpy()
        if values.size:
            spread = 100 * np.std(values) / abs(np.mean(values)) if np.mean(values) else 0.0
            lines.append(f"{column.split(' (')[0]}: mean {np.mean(values):.4g} {unit}, spread {spread:.1f} %")
    lines.append(f"{'device':<8}{'R_P ohm':>10}{'TMR %':>8}{'slope V/A':>11}{'span mV':>9}")
    for _, d in data.iterrows():
        if d["Dead"]:
            lines.append(f"{d['Device']:<8}{'dead (' + format(d['Resistance (ohm)'], '.3g') + ' ohm)':>38}")
        else:
            lines.append(f"{d['Device']:<8}{d['Resistance P (ohm)']:>10.1f}{100 * d['TMR']:>8.1f}"
                         f"{d['Slope (V/A)']:>11.3f}{1e3 * d['Output span (V)']:>9.2f}")
    return lines


def plot_survey(data: pd.DataFrame, path) -> None:
    """Maps of the chip: TMR and slope per (row, column); dead devices crossed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = int(data["Row"].max()) + 1, int(data["Column"].max()) + 1
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, column in zip(axes, ("TMR", "Slope (V/A)")):
        grid = np.full((rows, cols), np.nan)
        for _, d in data.iterrows():
            if not d["Dead"]:
                grid[int(d["Row"]), int(d["Column"])] = d[column]
        image = ax.imshow(grid, cmap="viridis")
        for _, d in data[data["Dead"] != 0].iterrows():
            ax.text(d["Column"], d["Row"], "x", ha="center", va="center", color="red", fontsize=16)
        ax.set_xticks(range(cols))
        ax.set_yticks(range(rows))
        ax.set_title(column)
        ax.set_xlabel("column")
        ax.set_ylabel("row")
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["ArraySurveyProcedure", "SHORT_BELOW_OHM", "plot_survey", "survey_summary"]
