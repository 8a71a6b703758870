"""The small typed interfaces everything above ``instruments`` talks to.

No SCPI string and no driver class appears above this layer: experiments, the
trainer, the CLI and the GUI see only these protocols. Quantities carry their
unit in their name (``current_a``, ``field_oe``, ``time_constant_s``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Clock(Protocol):
    """Lab time: the wall clock on hardware, a virtual clock in simulation."""

    def now_s(self) -> float:
        """Seconds since an arbitrary origin."""

    def sleep(self, duration_s: float) -> None:
        """Let ``duration_s`` of lab time pass."""


@runtime_checkable
class SourceMeter(Protocol):
    """A source-measure unit sourcing current (or voltage) with a compliance."""

    def source_current(self, compliance_v: float) -> None:
        """Configure as a current source with voltage compliance ``compliance_v`` (V)."""

    def source_voltage(self, compliance_a: float) -> None:
        """Configure as a voltage source with current compliance ``compliance_a`` (A)."""

    @property
    def level(self) -> float:
        """The sourced value now (A or V)."""

    def ramp_to(self, level: float, rate_per_s: float) -> None:
        """Move the sourced value to ``level`` in steps no faster than ``rate_per_s``."""

    def measure_voltage_v(self) -> float:
        """One voltage reading (V), integrated over the configured NPLC."""

    def measure_current_a(self) -> float:
        """One current reading (A)."""

    def set_output(self, enabled: bool) -> None:
        """Turn the output on or off (off only at zero level)."""

    def list_sweep_voltage_v(self, levels: Sequence[float]) -> np.ndarray:
        """Source each level in turn and read the voltage (buffered where the model can)."""


@runtime_checkable
class LockIn(Protocol):
    """A lock-in amplifier whose sine output modulates the neuron's input."""

    modulation_amplitude_v: float
    frequency_hz: float
    time_constant_s: float
    slope_db_per_oct: int

    @property
    def sensitivity_v(self) -> float:
        """Full-scale sensitivity (V rms)."""

    def auto_range(self) -> None:
        """Pick the smallest sensitivity that does not overload."""

    def read_xy_v(self) -> tuple[float, float]:
        """In-phase and quadrature outputs X, Y (V rms)."""

    def read_r_theta(self) -> tuple[float, float]:
        """Magnitude R (V rms) and phase theta (deg)."""

    def settle_time_s(self) -> float:
        """Time to wait after a step for the output to settle (from tau and slope)."""


@runtime_checkable
class FieldSource(Protocol):
    """Closed-loop field control: coil supply plus gaussmeter."""

    ramp_rate_oe_per_s: float

    def set_field_oe(self, field_oe: float) -> None:
        """Ramp to ``field_oe`` (Oe) at the ramp rate and settle within tolerance."""

    def read_field_oe(self) -> float:
        """The field the gaussmeter reads (Oe)."""

    def zero(self) -> None:
        """Ramp the coil to zero current and turn the supply output off."""


@runtime_checkable
class Switch(Protocol):
    """The switch matrix that routes the instruments to one crossbar device."""

    def connect(self, row: int, col: int) -> None:
        """Close the relays of device (row, col), after opening any other route."""

    def open_all(self) -> None:
        """Open every relay."""

    @property
    def connected(self) -> tuple[int, int] | None:
        """The device connected now, or None."""


@dataclass(frozen=True)
class NeuronMeasurement:
    """What a NeuronArray measured: arrays of shape ``(n_devices, n_inputs)``.

    ``output_v`` is the junction's DC voltage at the read current (the neuron's
    activation) and ``derivative_v_per_a`` its analogue derivative with respect
    to the input current (lock-in first harmonic / modulation amplitude). Rows
    of dead junctions are NaN and flagged in ``dead``. ``instrument_time_s`` is
    the lab time the measurement takes (or would take on a real bench).
    ``exact_derivative_v_per_a`` is set only by simulated arrays, which know
    the true derivative of their devices.
    """

    device_ids: tuple[str, ...]
    input_current_a: np.ndarray
    output_v: np.ndarray
    derivative_v_per_a: np.ndarray
    dead: np.ndarray
    instrument_time_s: float
    exact_derivative_v_per_a: np.ndarray | None = field(default=None)


@runtime_checkable
class NeuronArray(Protocol):
    """The MTJ chip as a layer of neurons (on a Bench, on the model, or replayed)."""

    @property
    def device_ids(self) -> tuple[str, ...]:
        """Every device of the chip, row-major."""

    @property
    def dead_ids(self) -> frozenset[str]:
        """Devices known to be dead."""

    @property
    def input_range_a(self) -> tuple[float, float]:
        """The safe range of input current (A)."""

    def measure(self, device_ids: Sequence[str], input_current_a: np.ndarray,
                derivative: bool = True) -> NeuronMeasurement:
        """Apply ``input_current_a[j]`` (a sequence) to ``device_ids[j]``; measure output and derivative.

        ``derivative=False`` reads the DC outputs only: no lock-in settling or
        reading (a forward pass that needs no derivative is that much quicker);
        ``derivative_v_per_a`` is then NaN.
        """
