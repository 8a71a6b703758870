"""R–H loop: a junction's resistance as the coil field sweeps up and down.

The coil field is ramped (at the bench's rate limit) from -max to +max (the
"up" branch) and back (the "down" branch), after a first excursion to -max
that puts every junction on a known branch; at each step the read
source-meter gives the junction's resistance. The field reading of the
gaussmeter, not the set-point, is what the analysis uses.

Extraction (on either geometry: a memory junction with the coil along its easy
axis shows a square loop, a sensor junction with the coil along its reference
a hard-axis curve):

- R_P and R_AP are the loop's lowest and highest resistance, TMR = R_AP/R_P - 1
  at the read bias (docs/physics.md, eq. T1);
- each branch's transition field is where the conductance crosses
  (G_P + G_AP)/2 (interpolated), i.e. where the free layer is at 90 degrees to
  the reference (G is linear in that cosine, R is not): the switching fields
  of a square loop;
- the loop's centre, (H_up + H_down)/2, is the shift by the Néel offset field
  (the loop moves by -H_N, docs/physics.md), and half their difference its
  coercive field;
- the slope dG/dH at the crossing is the Hk-related figure: for a sensor
  junction m_y = (H + H_N)/Hk there, and dG/dcos = G_P T / (2 (1 + T)), so
  Hk = G_P T / (2 (1 + T) |dG/dH|). A small read current (the default) keeps
  the TMR's bias dependence out of this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pymeasure.experiment import FloatParameter, IntegerParameter, Parameter

from .base import BenchProcedure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RHSummary:
    """The figures of an R–H loop; a figure the data cannot give is None, and ``missing`` says why."""

    resistance_p_ohm: float
    resistance_ap_ohm: float
    tmr: float
    up_transition_oe: float | None
    down_transition_oe: float | None
    centre_oe: float | None
    coercive_oe: float | None
    slope_s_per_oe: float | None
    hard_axis_hk_oe: float | None
    missing: tuple[str, ...] = ()


def _crossing(field: np.ndarray, value: np.ndarray, level: float) -> tuple[float, float] | None:
    """First field where ``value`` crosses ``level`` along the sweep, and its slope there (None: no crossing)."""
    above = value >= level
    changes = np.flatnonzero(above[1:] != above[:-1])
    if changes.size == 0:
        return None
    k = int(changes[0])
    h0, h1, v0, v1 = field[k], field[k + 1], value[k], value[k + 1]
    if h1 == h0 or v1 == v0:  # two readings at one field: no slope to interpolate along
        return float(h0), float("nan")
    return float(h0 + (level - v0) * (h1 - h0) / (v1 - v0)), float((v1 - v0) / (h1 - h0))


def analyse_rh(data: pd.DataFrame) -> RHSummary:
    """The figures of an R–H loop (see the module doc).

    Raises ValueError when not even R_P and R_AP can be had (no point out of
    compliance, or no resistance change); a branch that is missing or never
    crosses the mid-conductance level leaves its transition (and what follows
    from it) None, with the reason in ``missing``.
    """
    usable = data[data["In compliance"] == 0]
    r = usable["Resistance (ohm)"].to_numpy(float)
    r = r[np.isfinite(r) & (r > 0)]
    if r.size < 2:
        raise ValueError(f"an R-H loop needs at least 2 positive resistances out of compliance (got {r.size})")
    r_p, r_ap = float(r.min()), float(r.max())
    if r_ap <= r_p:
        raise ValueError("the loop shows no resistance change")
    level = 0.5 * (1.0 / r_p + 1.0 / r_ap)
    crossings: dict[str, tuple[float, float] | None] = {}
    missing = []
    for branch in ("up", "down"):
        part = usable[usable["Branch"] == branch]
        if len(part) < 2:
            crossings[branch] = None
            missing.append(f"{branch} branch: {len(part)} point{'s' if len(part) != 1 else ''}, no transition")
            continue
        crossings[branch] = _crossing(part["Field reading (Oe)"].to_numpy(float),
                                      1.0 / part["Resistance (ohm)"].to_numpy(float), level)
        if crossings[branch] is None:
            missing.append(f"{branch} branch never crosses the mid conductance (R {1 / level:.2f} ohm): "
                           "no transition")
    tmr = r_ap / r_p - 1.0
    up, down = crossings["up"], crossings["down"]
    h_up = up[0] if up else None
    h_down = down[0] if down else None
    slopes = [abs(c[1]) for c in (up, down) if c is not None and np.isfinite(c[1])]
    slope = float(np.mean(slopes)) if slopes else None
    both = h_up is not None and h_down is not None
    return RHSummary(r_p, r_ap, tmr, h_up, h_down,
                     0.5 * (h_up + h_down) if both else None, 0.5 * abs(h_up - h_down) if both else None,
                     slope, tmr / (2 * (1 + tmr) * r_p * slope) if slope else None, tuple(missing))


class RHLoopProcedure(BenchProcedure):
    """Resistance of one junction over a coil field loop (both branches)."""

    device_id = Parameter("Device", default="r0c1")
    max_field_oe = FloatParameter("Largest field", units="Oe", default=100.0)
    points = IntegerParameter("Points per branch", default=81, minimum=5, maximum=10001)
    read_current_a = FloatParameter("Read current", units="A", default=2e-5)

    TEXT_COLUMNS = ("Branch",)
    DATA_COLUMNS = ["Branch", "Field (Oe)", "Field reading (Oe)", "Voltage (V)", "Resistance (ohm)", "In compliance"]

    def execute(self) -> None:
        bench = self.bench
        bench.limits.check_field(self.max_field_oe)
        bench.limits.check_read_current(self.read_current_a)
        fields = np.linspace(-self.max_field_oe, self.max_field_oe, int(self.points))
        bench.set_field(-self.max_field_oe)  # every junction onto a known branch
        bench.route(self.device_id)
        bench.set_read_current(self.read_current_a)
        total, done = 2 * fields.size, 0
        for branch, sweep in (("up", fields), ("down", fields[::-1])):
            for field_oe in sweep:
                if self.should_stop():
                    log.info("R-H loop stopped after %d of %d points", done, total)
                    return
                bench.set_field(float(field_oe))
                reading_oe = bench.read_field_oe()
                point = bench.read_point(settle=False)
                self.emit("results", {"Branch": branch, "Field (Oe)": float(field_oe), "Field reading (Oe)": reading_oe,
                                      "Voltage (V)": point.voltage_v,
                                      "Resistance (ohm)": point.voltage_v / self.read_current_a,
                                      "In compliance": int(point.in_compliance)})
                done += 1
                self.emit("progress", 100.0 * done / total)
