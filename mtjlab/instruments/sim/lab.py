"""The virtual lab: one chip, one coil, the wiring, the switch routing and a clock.

The instrument emulators change the lab's state (source levels, sine
amplitude, coil current, closed relays) and read it back; the lab answers with
the physics of the chip (:class:`.mtj.MTJChip`). The wiring follows the bench
file (docs/physics.md and DESIGN.md):

- the switch connects one crossbar device (row, col): the read source-meter then
  forces its current through that junction and the lock-in input sits across
  it; the input source-meter and the lock-in's sine output (through the
  modulation resistor) drive the field line of that row. With nothing routed,
  no current flows anywhere: a current source meets an open circuit and sits at
  its compliance voltage.
- the coil current follows the supply's set-point with the coil's L/R time
  constant; the field is ``coil_oe_per_a * I + remanence`` (remanence along the
  last direction the coil was driven).
- the lock-in output approaches its new value after any change with the step
  response of its n-pole filter, ``1 - exp(-x) sum_{k<n} x^k/k!``, x = t/tau.

Time is virtual: emulators advance :attr:`VirtualLab.clock` by what each command
would take on the real instrument. For tests, the lab records the largest
current, voltage and input each device saw and the largest coil field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import transport
from .mtj import MTJChip, NoiseSettings

#: Resistance of a chip's field line (ohm): a ~1 mm long, 1 um x 0.2 um Al line.
FIELD_LINE_RESISTANCE_OHM = 50.0
SQRT2 = math.sqrt(2.0)


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


class VirtualLab:
    """The simulated bench behind every emulator of one bench file."""

    def __init__(self, bench: Any, chip: MTJChip | None = None) -> None:
        self.bench = bench
        self.wiring = bench.wiring
        self.chip = chip if chip is not None else MTJChip.from_bench(bench)
        self.clock = VirtualClock()
        self.read = SourceState()
        self.input = SourceState()
        self.lockin = LockInState(
            frequency_hz=self.wiring.lockin_frequency_hz,
            time_constant_s=self.wiring.lockin_time_constant_s,
            slope_db_per_oct=self.wiring.lockin_slope_db_per_oct,
        )
        self.coil = CoilState()
        self.closed: set[tuple[int, int]] = set()
        self.nplc = self.wiring.source_nplc
        self.maxima = MaximaSeen()
        self._lockin_from = (0.0, 0.0)
        self._lockin_target = (0.0, 0.0)
        self._lockin_changed_s = 0.0

    # ------------------------------------------------------------------ setters
    # Emulators change the lab only through these, so the lock-in filter starts
    # settling and the exposure of the routed device is recorded at each change.
    def set_read_source(self, level_a: float | None = None, output_on: bool | None = None,
                        compliance_v: float | None = None) -> None:
        self._change(self.read, level_a, output_on, compliance_v)

    def set_input_source(self, level_a: float | None = None, output_on: bool | None = None,
                         compliance_v: float | None = None) -> None:
        self._change(self.input, level_a, output_on, compliance_v)

    def _change(self, source: SourceState, level_a, output_on, compliance_v) -> None:
        self.state_changes()
        if level_a is not None:
            source.level_a = float(level_a)
        if output_on is not None:
            source.output_on = bool(output_on)
        if compliance_v is not None:
            source.compliance_v = float(compliance_v)
        self.note_exposure()

    def set_sine(self, v_rms: float) -> None:
        """The lock-in's sine output amplitude (V rms), driving the modulation resistor."""
        self.state_changes()
        self.lockin.sine_v_rms = float(v_rms)
        self.note_exposure()

    def set_lockin(self, frequency_hz: float | None = None, time_constant_s: float | None = None,
                   slope_db_per_oct: int | None = None) -> None:
        """The lock-in's reference frequency (Hz), time constant (s) and filter slope (dB/oct)."""
        self.state_changes()
        if frequency_hz is not None:
            self.lockin.frequency_hz = float(frequency_hz)
        if time_constant_s is not None:
            self.lockin.time_constant_s = float(time_constant_s)
        if slope_db_per_oct is not None:
            self.lockin.slope_db_per_oct = int(slope_db_per_oct)

    def close_relay(self, row: int, col: int) -> None:
        self.state_changes()
        self.closed.add((int(row), int(col)))
        self.note_exposure()

    def open_relay(self, row: int, col: int) -> None:
        self.state_changes()
        self.closed.discard((int(row), int(col)))

    def open_all_relays(self) -> None:
        self.state_changes()
        self.closed.clear()

    # ------------------------------------------------------------------ routing
    @property
    def routed_device(self) -> tuple[int, int] | None:
        """The device the switch connects, or None (none, or an ambiguous route)."""
        return next(iter(self.closed)) if len(self.closed) == 1 else None

    def device_index(self) -> int | None:
        routed = self.routed_device
        return None if routed is None else routed[0] * self.chip.cols + routed[1]

    # -------------------------------------------------------------------- coil
    @property
    def coil_tau_s(self) -> float:
        return self.wiring.coil_inductance_h / self.wiring.coil_resistance_ohm

    def coil_current_a(self) -> float:
        c = self.coil
        target = c.setpoint_a if c.output_on else 0.0
        elapsed = self.clock.now_s() - c.since_s
        return target + (c.start_a - target) * math.exp(-elapsed / self.coil_tau_s)

    def set_coil(self, setpoint_a: float, output_on: bool) -> None:
        """The supply's new set-point (A) and output state, from now on."""
        self.state_changes()
        self.coil.start_a = self.coil_current_a()
        self.coil.since_s = self.clock.now_s()
        self.coil.setpoint_a, self.coil.output_on = float(setpoint_a), bool(output_on)
        if output_on and setpoint_a:
            self.coil.last_direction = math.copysign(1.0, setpoint_a)
        target = setpoint_a if output_on else 0.0
        # The current moves monotonically between set-points: its extremes are the ends.
        self.maxima.coil_current_a = max(self.maxima.coil_current_a, abs(target), abs(self.coil.start_a))
        self.maxima.coil_field_oe = max(self.maxima.coil_field_oe, abs(self.field_for_current(target)))

    def field_for_current(self, current_a: float) -> float:
        return self.wiring.coil_oe_per_a * current_a + self.wiring.coil_remanence_oe * self.coil.last_direction

    def field_oe(self) -> float:
        """The field at the chip (and at the gaussmeter's probe) now (Oe)."""
        return self.field_for_current(self.coil_current_a())

    # ----------------------------------------------------------------- physics
    def modulation_peak_a(self) -> float:
        return self.lockin.sine_v_rms * SQRT2 / self.wiring.modulation_resistor_ohm

    def input_current_a(self) -> float:
        """DC current in the routed row's field line (A): zero when nothing is routed."""
        if self.routed_device is None:
            return 0.0
        return self.input.driving_a

    def _respond(self, noise: bool):
        index = self.device_index()
        if index is None or not self.read.output_on or self.read.level_a == 0.0:
            return None
        self.chip.set_bias_field(self.field_oe())
        settings = NoiseSettings(
            integration_time_s=self.nplc / self.wiring.line_frequency_hz,
            lockin_frequency_hz=self.lockin.frequency_hz,
            lockin_time_constant_s=self.lockin.time_constant_s,
            lockin_slope_db_per_oct=self.lockin.slope_db_per_oct,
        )
        return self.chip.measure(
            [index], np.array([[self.input_current_a()]]), self.read.level_a, self.modulation_peak_a(),
            noise=settings if noise else None,
        )

    def read_voltage_v(self, noisy: bool = True) -> tuple[float, bool]:
        """The read source-meter's voltage reading and whether it is in compliance."""
        response = self._respond(noise=noisy)
        if response is None:  # open circuit: a current source rises to its compliance
            return (math.copysign(self.read.compliance_v, self.read.level_a or 1.0) if self.read.output_on else 0.0,
                    self.read.output_on and self.read.level_a != 0.0)
        voltage = float(response.dc_voltage_v[0, 0])
        if abs(voltage) > self.read.compliance_v:
            return math.copysign(self.read.compliance_v, voltage), True
        return voltage, False

    def input_voltage_v(self) -> tuple[float, bool]:
        """The input source-meter's voltage across the field line, and compliance."""
        if not self.input.output_on:
            return 0.0, False
        if self.routed_device is None:
            return (math.copysign(self.input.compliance_v, self.input.level_a or 1.0), self.input.level_a != 0.0)
        voltage = self.input.level_a * FIELD_LINE_RESISTANCE_OHM
        if abs(voltage) > self.input.compliance_v:
            return math.copysign(self.input.compliance_v, voltage), True
        return voltage, False

    def state_changes(self) -> None:
        """Call before any change of the lab's conditions: the lock-in starts settling."""
        self._lockin_from = self.lockin_xy_v_rms(noise=False)
        self._lockin_changed_s = self.clock.now_s()
        self._lockin_target = None  # recomputed at the next read

    def lockin_xy_v_rms(self, noise: bool = True) -> tuple[float, float]:
        """X and Y (V rms) the lock-in shows now, including its filter's settling."""
        if self._lockin_target is None:
            response = self._respond(noise=False)
            self._lockin_target = (0.0, 0.0) if response is None else (
                float(response.x_v[0, 0]) / SQRT2, float(response.y_v[0, 0]) / SQRT2)
        poles = {6: 1, 12: 2, 18: 3, 24: 4}[int(self.lockin.slope_db_per_oct)]
        x = (self.clock.now_s() - self._lockin_changed_s) / self.lockin.time_constant_s
        settled = 1.0 - math.exp(-x) * sum(x**k / math.factorial(k) for k in range(poles))
        x_v, y_v = (a + (b - a) * settled for a, b in zip(self._lockin_from, self._lockin_target))
        if noise and self.device_index() is not None:
            voltage, _ = self.read_voltage_v(noisy=False)
            resistance = abs(voltage / self.read.level_a) if self.read.level_a else 1e9
            env = self.chip.environment
            std_peak = transport.lockin_noise_std_v(
                voltage, resistance, env.temperature_k, env.flicker_noise_hooge,
                self.lockin.frequency_hz, self.lockin.time_constant_s, self.lockin.slope_db_per_oct)
            x_v += std_peak / SQRT2 * self.chip.rng.standard_normal()
            y_v += std_peak / SQRT2 * self.chip.rng.standard_normal()
        return x_v, y_v

    def note_exposure(self) -> None:
        """Record what the routed device and its row are exposed to now."""
        routed = self.routed_device
        if routed is None:
            return
        row, col = routed
        device = self.chip.device_ids[row * self.chip.cols + col]
        self.maxima.note(self.maxima.row_input_a, row, abs(self.input.driving_a) + self.modulation_peak_a())
        if self.read.output_on:
            self.maxima.note(self.maxima.device_current_a, device, self.read.level_a)
            response = self._respond(noise=False)
            if response is not None:
                self.maxima.note(self.maxima.device_voltage_v, device, min(abs(float(response.dc_voltage_v[0, 0])), self.read.compliance_v))

    def everything_safe(self) -> bool:
        """Every output off at zero, the coil at zero, every relay open."""
        return (
            not self.read.output_on and self.read.level_a == 0.0
            and not self.input.output_on and self.input.level_a == 0.0
            and self.lockin.sine_v_rms <= 0.004 + 1e-12
            and (not self.coil.output_on or self.coil.setpoint_a == 0.0) and abs(self.coil_current_a()) < 1e-3
            and not self.closed
        )
