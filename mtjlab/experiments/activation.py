"""Activation map: a neuron's activation and analogue derivative at several bias fields.

For each coil bias field the input current of one device is swept over a
range; at each point the read source-meter gives the DC output voltage (the
activation) and the lock-in the first harmonic X, Y of the modulated input,
whose ``dV/dI = sqrt(2) X_rms / I_mod,peak`` is the analogue derivative. The
map shows how the coil field tunes the neuron: for a sensor-type junction the
small-signal slope falls as 1/(Hk + H_bias) (docs/physics.md).
"""

from __future__ import annotations

import logging

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, Parameter

from ..instruments.bench_array import BenchNeuronArray
from .base import BenchProcedure

log = logging.getLogger(__name__)


def parse_fields_oe(text: str) -> list[float]:
    """``"10, 20 40"`` -> ``[10.0, 20.0, 40.0]`` (Oe); ValueError names a bad entry."""
    fields = []
    for item in text.replace(",", " ").split():
        try:
            fields.append(float(item))
        except ValueError:
            raise ValueError(f"bias fields: {item!r} is not a number of oersted") from None
    if not fields:
        raise ValueError("bias fields: give at least one field in oersted")
    return fields


class ActivationMapProcedure(BenchProcedure):
    """Input-current sweeps of one device at a list of coil bias fields."""

    device_id = Parameter("Device", default="r0c1")
    bias_fields_oe = Parameter("Bias fields (Oe)", default="10, 20, 40")
    input_min_a = FloatParameter("Input start", units="A", default=-0.01)
    input_max_a = FloatParameter("Input stop", units="A", default=0.01)
    points = IntegerParameter("Points per sweep", default=41, minimum=2, maximum=10001)
    read_current_a = FloatParameter("Read current", units="A", default=1e-4)
    modulation_amplitude_a = FloatParameter("Modulation amplitude (peak)", units="A", default=2e-4)

    DATA_COLUMNS = [
        "Bias field (Oe)",
        "Field reading (Oe)",
        "Input current (A)",
        "Output voltage (V)",
        "Lock-in X (V)",
        "Lock-in Y (V)",
        "Derivative (V/A)",
        "Dead",
    ]

    def inputs_a(self) -> np.ndarray:
        return np.linspace(self.input_min_a, self.input_max_a, int(self.points))

    def execute(self) -> None:
        fields = parse_fields_oe(self.bias_fields_oe)
        inputs = self.inputs_a()
        array = BenchNeuronArray(self.bench, read_current_a=self.read_current_a,
                                 modulation_amplitude_a=self.modulation_amplitude_a, bias_field_oe=fields[0])
        self.bench.limits.check_input_current(float(np.max(np.abs(inputs))), self.modulation_amplitude_a)
        array.prepare()
        total, done = len(fields) * inputs.size, 0
        for n, field_oe in enumerate(fields):
            array.set_bias_field(field_oe)
            reading_oe = self.bench.read_field_oe()
            sweep = inputs if n % 2 == 0 else inputs[::-1]  # snake: no jump back between fields
            for input_a in sweep:
                if self.should_stop():
                    log.info("activation map stopped after %d of %d points", done, total)
                    return
                point = array.measure_point(self.device_id, float(input_a))
                self.emit("results", {
                    "Bias field (Oe)": field_oe,
                    "Field reading (Oe)": reading_oe,
                    "Input current (A)": float(input_a),
                    "Output voltage (V)": point.output_v,
                    "Lock-in X (V)": point.x_v_rms,
                    "Lock-in Y (V)": point.y_v_rms,
                    "Derivative (V/A)": point.derivative_v_per_a,
                    "Dead": int(point.dead),
                })
                done += 1
                self.emit("progress", 100.0 * done / total)
                if point.dead:
                    log.warning("%s is dead: the activation map stops", self.device_id)
                    return
            self.bench.set_input_current(0.0)
