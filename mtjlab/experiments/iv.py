"""I–V: read-current sweeps of one junction in its parallel and antiparallel states.

The junction is held in each state by saturating it with its own field line
(a sensor-type junction's reference lies along the field line's field: a
large positive input current makes it parallel, a large negative one
antiparallel; at zero input it would relax to its easy axis, halfway), with
the coil at zero field. In each state the read current is
swept symmetrically; each point gives V, R = V/I and whether the source-meter
was in compliance (the read source's compliance is the bench's junction-bias
limit, so a point there is not a measurement of the junction and is left out
of the analysis).

Extraction (docs/physics.md, eqs. T1–T2): in the parallel state the
conductance is G_P whatever the bias, so R_P is the mean of R over the P
sweep; in the antiparallel state R_AP(V)/R_P = 1 + TMR(V) with
TMR(V) = TMR0 / (1 + (V/Vh)^2), so 1/TMR is linear in V^2:
1/TMR = 1/TMR0 + V^2 / (TMR0 Vh^2). A straight-line fit gives TMR0 and Vh.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, Parameter

from .base import BenchProcedure

log = logging.getLogger(__name__)

STATES = (("P", +1.0), ("AP", -1.0))


@dataclass(frozen=True)
class IVSummary:
    """What an I–V pair of sweeps says about a junction."""

    resistance_p_ohm: float
    tmr0: float
    tmr_half_bias_v: float
    points_used: int


def _usable(state, current_a, voltage_v, in_compliance) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(parallel, antiparallel, current, voltage)``: masks of the points out of compliance, with a current."""
    state = np.asarray(state).astype(str)
    current_a, voltage_v = np.asarray(current_a, float), np.asarray(voltage_v, float)
    usable = (~np.asarray(in_compliance, bool)) & (np.abs(current_a) > 0) & np.isfinite(voltage_v)
    return usable & (state == "P"), usable & (state == "AP"), current_a, voltage_v


def parallel_resistance(state, current_a, voltage_v, in_compliance) -> float:
    """R_P (ohm): the mean of V/I over the parallel sweep; ValueError if it has no usable point."""
    p, _, current_a, voltage_v = _usable(state, current_a, voltage_v, in_compliance)
    if not p.any():
        raise ValueError("R_P needs a parallel point out of compliance (got none)")
    return float(np.mean(voltage_v[p] / current_a[p]))


def fit_tmr(state, current_a, voltage_v, in_compliance, resistance_p_ohm: float) -> tuple[float, float]:
    """``(TMR0, Vh in V)`` from the antiparallel sweep; ValueError saying what is missing."""
    _, ap, current_a, voltage_v = _usable(state, current_a, voltage_v, in_compliance)
    if ap.sum() < 3:
        raise ValueError(f"TMR0 and the half-bias voltage need 3 antiparallel points out of compliance "
                         f"(got {int(ap.sum())})")
    tmr = voltage_v[ap] / current_a[ap] / resistance_p_ohm - 1.0
    if np.any(tmr <= 0):
        raise ValueError("the antiparallel sweep is not above R_P (no TMR to fit)")
    bias_sq = voltage_v[ap] ** 2
    if np.unique(np.round(bias_sq / max(float(bias_sq.max()), 1e-300), 9)).size < 2:
        raise ValueError("TMR0 and the half-bias voltage need antiparallel points at 2 or more bias magnitudes")
    slope, intercept = np.polyfit(bias_sq, 1.0 / tmr, 1)
    if intercept <= 0:
        raise ValueError("the fit of 1/TMR against V^2 gives no positive TMR0")
    half_bias = math.sqrt(intercept / slope) if slope > 0 else math.inf
    return float(1.0 / intercept), half_bias


def analyse_iv(state: np.ndarray, current_a: np.ndarray, voltage_v: np.ndarray, in_compliance: np.ndarray) -> IVSummary:
    """R_P, TMR0 and Vh from the two sweeps (see the module doc)."""
    p, ap, _, _ = _usable(state, current_a, voltage_v, in_compliance)
    if p.sum() < 2 or ap.sum() < 3:
        raise ValueError("the I-V analysis needs at least 2 parallel and 3 antiparallel points out of compliance")
    resistance_p = parallel_resistance(state, current_a, voltage_v, in_compliance)
    tmr0, half_bias = fit_tmr(state, current_a, voltage_v, in_compliance, resistance_p)
    return IVSummary(resistance_p, tmr0, half_bias, int(p.sum() + ap.sum()))


class IVProcedure(BenchProcedure):
    """Read-current sweeps in the P and AP states of one junction."""

    device_id = Parameter("Device", default="r0c1")
    read_current_max_a = FloatParameter("Largest read current", units="A", default=2e-4)
    points = IntegerParameter("Points per sweep", default=21, minimum=3, maximum=10001)
    saturating_input_a = FloatParameter("Saturating input current", units="A", default=0.015)

    TEXT_COLUMNS = ("State",)
    DATA_COLUMNS = ["State", "Read current (A)", "Voltage (V)", "Resistance (ohm)", "In compliance"]

    def execute(self) -> None:
        bench = self.bench
        currents = np.linspace(-self.read_current_max_a, self.read_current_max_a, int(self.points))
        currents = currents[currents != 0.0]  # no resistance to read at zero current
        for value in (self.read_current_max_a, self.saturating_input_a):
            if value <= 0:
                raise ValueError("the largest read current and the saturating input must be positive")
        bench.limits.check_read_current(self.read_current_max_a)
        bench.limits.check_input_current(self.saturating_input_a, bench.settings.modulation_peak_a)
        bench.set_field(0.0)
        bench.route(self.device_id)
        total, done = 2 * currents.size, 0
        for name, sign in STATES:
            bench.set_read_current(0.0)
            # a sensor junction relaxes to its easy axis at zero input: hold the state by its field
            bench.set_input_current(sign * self.saturating_input_a)
            for current in currents:
                if self.should_stop():
                    log.info("I-V stopped after %d of %d points", done, total)
                    return
                bench.set_read_current(float(current))
                point = bench.read_point(settle=False)  # DC only: no lock-in to wait for
                resistance = point.voltage_v / current
                self.emit("results", {"State": name, "Read current (A)": float(current), "Voltage (V)": point.voltage_v,
                                      "Resistance (ohm)": resistance, "In compliance": int(point.in_compliance)})
                done += 1
                self.emit("progress", 100.0 * done / total)
        bench.set_read_current(0.0)
        bench.set_input_current(0.0)
