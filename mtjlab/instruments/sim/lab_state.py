"""The virtual lab's state: the clock, what each instrument drives, and the records.

Plain data shared by :mod:`.lab` and the tests; no physics here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class VirtualClock:
    """Lab time in simulation: advances only when told to (implements ``Clock``)."""

    def __init__(self) -> None:
        self._now_s = 0.0

    def now_s(self) -> float:
        return self._now_s

    def sleep(self, duration_s: float) -> None:
        if duration_s > 0:
            self._now_s += float(duration_s)

    advance = sleep


@dataclass
class SourceState:
    """What a source-meter is doing: a sourced current, compliance, output state."""

    level_a: float = 0.0
    compliance_v: float = 21.0
    output_on: bool = False

    @property
    def driving_a(self) -> float:
        return self.level_a if self.output_on else 0.0


@dataclass
class LockInState:
    """The lock-in's sine output and output filter."""

    sine_v_rms: float = 0.004
    frequency_hz: float = 1013.0
    time_constant_s: float = 0.03
    slope_db_per_oct: int = 24


@dataclass
class CoilState:
    """Coil current relaxing towards the supply set-point with tau = L/R."""

    setpoint_a: float = 0.0
    start_a: float = 0.0
    since_s: float = 0.0
    output_on: bool = False
    last_direction: float = 0.0


@dataclass(frozen=True)
class Conditions:
    """What the routed junction and its row are exposed to (None: nothing routed)."""

    device: int | None
    read_a: float
    input_a: float
    modulation_a: float
    field_oe: float
    generation: int  # bumped when the devices' parameters change

    @property
    def setting(self) -> tuple:
        """What must stay fixed for a group of inputs to be evaluated together."""
        return (self.device, self.read_a, self.modulation_a, self.field_oe, self.generation)


@dataclass
class Change:
    """A moment the conditions changed, and the chip's noiseless answer to them."""

    time_s: float
    conditions: Conditions
    dc_v: float | None = None
    x_v: float = 0.0  # first harmonic, peak
    y_v: float = 0.0
    slope_v_per_a: float = float("nan")  # true dV/dI at the DC input (for judging measured derivatives)


@dataclass
class MaximaSeen:
    """The largest values ever applied, per device and for the coil (for tests)."""

    device_current_a: dict[str, float] = field(default_factory=dict)
    device_voltage_v: dict[str, float] = field(default_factory=dict)
    row_input_a: dict[int, float] = field(default_factory=dict)
    coil_field_oe: float = 0.0
    coil_current_a: float = 0.0

    def note(self, table: dict, key: Any, value: float) -> None:
        table[key] = max(table.get(key, 0.0), abs(float(value)))

    def note_exposure(self, conditions: Conditions, row: int, device_id: str) -> None:
        """What a routed junction and its row carry now (A): known without the chip's physics."""
        self.note(self.row_input_a, row, abs(conditions.input_a) + conditions.modulation_a)
        if conditions.read_a:
            self.note(self.device_current_a, device_id, conditions.read_a)

    def note_coil(self, start_a: float, target_a: float, target_field_oe: float) -> None:
        """A new coil segment (A, Oe): the current moves monotonically from its start to its
        target, so its extremes are the two ends."""
        self.coil_current_a = max(self.coil_current_a, abs(target_a), abs(start_a))
        self.coil_field_oe = max(self.coil_field_oe, abs(target_field_oe))
