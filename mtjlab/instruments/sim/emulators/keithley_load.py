"""The load a source-meter sees, for voltage sourcing on a lab that is driven by currents.

The virtual lab takes source currents (:meth:`VirtualLab.set_read_source`,
:meth:`VirtualLab.set_input_source`). A voltage source is emulated by the current its load would
draw: ``I = V / R_load``, clamped at the current compliance, and that current goes to the lab
through the same setters, so the lab's physics (junction state, field line, safety monitor) sees
exactly what a current source of that value would do. The load is read from the lab, never
modelled here:

- read source: the routed junction, at its present state and bias (its resistance depends on
  the current through it, so ``I = V / R(I)`` is solved by a few fixed-point steps);
- input source: the routed row's field line, :data:`~..lab.FIELD_LINE_RESISTANCE_OHM`;
- nothing routed: an open circuit, no current.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..lab import FIELD_LINE_RESISTANCE_OHM
from ..macrospin import select_branch

#: Current used to probe a junction's resistance before the source has any (A).
PROBE_CURRENT_A = 1e-6
#: Fixed-point steps for ``I = V / R(I)``: the junction's bias dependence is mild (its TMR halves
#: over a few hundred mV), so a few steps converge to well below the source resolution.
FIXED_POINT_STEPS = 6


def junction_resistance_ohm(lab: Any, current_a: float) -> float:
    """The routed junction's resistance at ``current_a`` in its present state (ohm; inf if open)."""
    index = lab.device_index()
    if index is None:
        return math.inf
    lab.maxima  # let the chip answer every pending change first (its state is the present one)
    chip = lab.chip
    probe_a = current_a if current_a else PROBE_CURRENT_A
    rows = np.array([index])
    _, voltage, _ = chip.static_response(rows, np.array([[lab.input_current_a()]]), probe_a)
    voltage_v = float(select_branch(voltage, chip.branch[rows][:, None])[0, 0])
    return abs(voltage_v / probe_a) if voltage_v else math.inf


def load_resistance_ohm(lab: Any, role: str, current_a: float) -> float:
    """What the source of ``role`` drives, at ``current_a`` (ohm; inf for an open circuit)."""
    if role == "read_source":
        return junction_resistance_ohm(lab, current_a)
    return FIELD_LINE_RESISTANCE_OHM if lab.device_index() is not None else math.inf


def voltage_source_current_a(lab: Any, role: str, level_v: float, compliance_a: float) -> tuple[float, bool]:
    """The current a voltage source at ``level_v`` drives into its load, clamped at the current
    compliance, and whether it is in compliance."""
    limit_a = abs(compliance_a)
    current_a = 0.0
    for _ in range(FIXED_POINT_STEPS):
        resistance = load_resistance_ohm(lab, role, current_a)
        if not math.isfinite(resistance) or level_v == 0.0:
            return 0.0, False
        wanted_a = level_v / resistance
        if abs(wanted_a) >= limit_a:
            return math.copysign(limit_a, level_v), True
        if current_a and abs(wanted_a - current_a) <= 1e-9 * abs(current_a):
            break
        current_a = wanted_a
    return current_a, False
