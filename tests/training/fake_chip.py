"""A small synthetic NeuronArray whose every response is a closed form the test chooses.

``FakeArray`` has what the trainer uses of a NeuronArray (device_ids, dead_ids,
input_range_a, bias_field_oe, set_bias_field, measure returning a
NeuronMeasurement, state/restore) plus the per-layer additions: device_kinds
and nominal_sweep. ``patched_array`` makes run_training / resume_training open it.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import numpy as np
import pytest

from mtjlab.instruments.interfaces import NeuronMeasurement

RANGE_A = 0.01
MA = 1e-3


def sigmoid(offset_a: float = 0.0, width_a: float = 2 * MA, base_v: float = 0.1, half_v: float = 0.02):
    """V = base + half tanh((I - offset) / width), and its dV/dI."""
    def response(current_a: np.ndarray):
        t = np.tanh((current_a - offset_a) / width_a)
        return base_v + half_v * t, half_v / width_a * (1 - t * t)
    return response


def bump(centre_a: float = 0.0, width_a: float = 1.5 * MA, base_v: float = 0.1, height_v: float = 0.03):
    """V = base + height exp(-(I - centre)^2 / 2 width^2), and its dV/dI."""
    def response(current_a: np.ndarray):
        e = np.exp(-0.5 * ((current_a - centre_a) / width_a) ** 2)
        return base_v + height_v * e, -height_v * (current_a - centre_a) / width_a ** 2 * e
    return response


class FakeArray:
    """Devices with chosen closed-form responses.

    ``responses``: device id -> f(I, field_oe, calls) -> (V, dV/dI); ``kinds``: device id ->
    "single"/"double" (None: the array has no device_kinds); ``nominal``: f(I, field_oe, kind)
    -> (V, dV/dI) or None (no datasheet: the array has no nominal_sweep at all when None).
    ``calls`` counts measure() calls (saved and restored with the checkpoint).
    """

    def __init__(self, responses: dict[str, Callable], kinds: dict[str, str] | None = None,
                 nominal: Callable | None = None, bias_field_oe: float = 20.0, dead: tuple[str, ...] = ()) -> None:
        self.responses = responses
        self._kinds = kinds
        self._nominal = nominal
        self.bias_field_oe = float(bias_field_oe)
        self._dead = frozenset(dead)
        self.calls = 0
        self.switches: list[float] = []
        self.measured: list[tuple[float, tuple[str, ...]]] = []
        self.columns: list[int] = []  # inputs per device of each measure() call

    def __getattr__(self, name):  # device_kinds / nominal_sweep exist only where given
        if name == "device_kinds" and self.__dict__.get("_kinds") is not None:
            return dict(self._kinds)
        if name == "nominal_sweep" and self.__dict__.get("_nominal") is not None:
            return lambda inputs_a, field_oe, kind: self._nominal(np.asarray(inputs_a, float), field_oe, kind)
        raise AttributeError(name)

    @property
    def device_ids(self) -> tuple[str, ...]:
        return tuple(self.responses)

    @property
    def dead_ids(self) -> frozenset[str]:
        return self._dead

    @property
    def input_range_a(self) -> tuple[float, float]:
        return (-RANGE_A, RANGE_A)

    def set_bias_field(self, field_oe: float) -> None:
        self.bias_field_oe = float(field_oe)
        self.switches.append(float(field_oe))

    def measure(self, device_ids, input_current_a, derivative: bool = True) -> NeuronMeasurement:
        ids = tuple(device_ids)
        inputs = np.array(np.broadcast_to(np.asarray(input_current_a, float), (len(ids), np.shape(input_current_a)[-1])))
        assert np.all(np.abs(inputs) <= RANGE_A), "beyond the safe range"
        output, slope = np.empty_like(inputs), np.empty_like(inputs)
        for j, d in enumerate(ids):
            output[j], slope[j] = self.responses[d](inputs[j], self.bias_field_oe, self.calls)
        self.calls += 1
        self.measured.append((self.bias_field_oe, ids))
        self.columns.append(inputs.shape[1])
        return NeuronMeasurement(ids, inputs, output, slope if derivative else np.full_like(slope, np.nan),
                                 np.zeros(len(ids), bool), 1e-3 * inputs.size, slope.copy())

    def state(self) -> dict[str, np.ndarray]:
        return {"calls": np.array(self.calls), "bias_field_oe": np.array(self.bias_field_oe)}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.calls = int(state["calls"])
        self.bias_field_oe = float(state["bias_field_oe"])


def fixed(response: Callable) -> Callable:
    """A response that ignores the field and the call count."""
    return lambda current_a, field_oe, calls: response(current_a)


@pytest.fixture
def patched_array(monkeypatch):
    """``use(array)``: run_training / resume_training measure on ``array`` (a FakeArray)."""
    from mtjlab.training import session

    def use(array: FakeArray) -> FakeArray:
        @contextlib.contextmanager
        def open_array(config, bench=None):
            yield array, {"bench": "fake", "measurement": {"bias_field_oe": 20.0}}
        monkeypatch.setattr(session, "open_array", open_array)
        return array
    return use
