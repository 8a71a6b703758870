"""The chip's average device: its response from the datasheet values alone.

The ``nominal`` gradient method and the software baseline use the activation of
a junction with every parameter at its nominal value (``chip.physics``: no
spread, no dead junctions, the mean easy-axis tilt), at the chip's stage
temperature ``temperature_k`` with the Joule heating of the read current, no
drift, at the layer's bias field and the bench's coil angle. It is what a
physicist would compute from the chip's datasheet before measuring anything;
each real device's own curve differs from it by everything the spreads,
misalignment and drift add.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import junction, macrospin
from .parameters import uniform_devices
from .thermal import ThermalModel

_NOMINAL_FIELDS = ("resistance_p_ohm", "tmr0", "tmr_half_bias_v", "anisotropy_field_oe", "reference_angle_deg",
                   "offset_field_oe", "field_line_oe_per_ma", "stability_factor")


def nominal_sweep(physics: Any, inputs_a: np.ndarray, *, read_current_a: float, bias_field_oe: float,
                  bias_field_angle_deg: float, device_kind: str = "single") -> tuple[np.ndarray, np.ndarray]:
    """Output voltage (V) and exact dV/dI (V/A) of the average ``device_kind`` junction at ``inputs_a``.

    The inputs are visited in the order given, starting on the branch the bench's
    reset field (along the bias field) leaves the junction on.
    """
    if device_kind not in ("single", "double"):
        raise ValueError(f"unknown device kind {device_kind!r} (single or double)")
    values = {name: float(getattr(physics, name)) for name in _NOMINAL_FIELDS}
    values["easy_axis_tilt_deg"] = float(physics.easy_axis_tilt_deg)
    if device_kind == "double":
        values["second_reference_angle_deg"] = float(physics.second_reference_angle_deg)
        values["second_barrier_share"] = float(physics.second_barrier_share)
    devices = uniform_devices(1, 1, **values)
    devices = ThermalModel.from_physics(physics).effective(devices, 0.0, read_current_a)
    inputs = np.asarray(inputs_a, float).reshape(1, -1)
    escape = float(np.log(physics.dwell_time_s / physics.attempt_time_s))
    forced, voltage, slope = junction.static_response(
        devices, np.array([0]), inputs, read_current_a, bias_field_oe, bias_field_angle_deg, escape,
        physics.short_resistance_ohm, physics.open_resistance_ohm)
    start = 1 if bias_field_oe >= 0 else -1
    branch = macrospin.follow_branches(forced, np.array([start], np.int8))
    return macrospin.select_branch(voltage, branch)[0], macrospin.select_branch(slope, branch)[0]
