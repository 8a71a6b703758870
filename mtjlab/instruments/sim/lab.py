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
current, voltage and input each device saw and the largest coil field, and its
:attr:`VirtualLab.monitor` checks the bench's limits at every change.

The physics is evaluated lazily: each change of the conditions (routing, source
levels, modulation, field) is appended to a timeline, and the chip answers for
all pending changes at once, in order, when something is read (a ramp of fifty
steps costs one vectorised evaluation, and the junction still follows the whole
history). The lock-in output is the exact response of its linear filter to the
piecewise-constant first harmonic: ``sum_i (u_i - u_{i-1}) S(t - t_i)``, with S
the step response above.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import transport
from .lab_lockin import SQRT2, LockinFilterView
from .lab_state import Change, CoilState, Conditions, LockInState, MaximaSeen, SourceState, VirtualClock
from .macrospin import select_branch
from .mtj import MTJChip
from .safety_monitor import SafetyMonitor
from .trigger_cable import TriggerCable

#: Resistance of a chip's field line (ohm): a ~1 mm long, 1 um x 0.2 um Al line.
FIELD_LINE_RESISTANCE_OHM = 50.0
#: After this many L/R time constants the coil current is at its set-point to
#: double precision (exp(-40) = 4e-18), so the field is exactly constant.
COIL_SETTLED_TAU = 40.0
#: Largest group of inputs evaluated point by point before building tables.
EXACT_GROUP_LIMIT = 64
#: A setting (field, read current, modulation) used this many times is worth
#: tabulating (~0.3 s once); before that each point is evaluated exactly (~15 ms).
TABULATE_AFTER_USES = 3


class VirtualLab(LockinFilterView):
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
        #: Injected faults (:class:`.faults.Faults`), or None.
        self.faults: Any = None
        self._maxima = MaximaSeen()
        self._generation = 0
        self._setting_uses: dict[tuple, int] = {}
        self._timeline: list[Change] = [Change(0.0, self.conditions(), 0.0)]
        self._lockin_base = (0.0, 0.0)  # output the filter had fully settled to before the timeline
        #: Checks the bench's limits at every change, independently of the Bench (safety_monitor.py).
        self.monitor = SafetyMonitor(self)
        #: The trigger cable between the instruments (trigger_cable.py).
        self.cable = TriggerCable(self.clock)

    # ------------------------------------------------------------------ setters
    # Emulators change the lab only through these, so that every change enters
    # the timeline (the chip's history, the lock-in filter, the exposure record).
    def set_read_source(self, level_a: float | None = None, output_on: bool | None = None,
                        compliance_v: float | None = None) -> None:
        self._change(self.read, level_a, output_on, compliance_v)

    def set_input_source(self, level_a: float | None = None, output_on: bool | None = None,
                         compliance_v: float | None = None) -> None:
        self._change(self.input, level_a, output_on, compliance_v)

    def _change(self, source: SourceState, level_a, output_on, compliance_v) -> None:
        if level_a is not None:
            source.level_a = float(level_a)
        if output_on is not None:
            source.output_on = bool(output_on)
        if compliance_v is not None:
            source.compliance_v = float(compliance_v)
        self._mark()

    def set_sine(self, v_rms: float) -> None:
        """The lock-in's sine output amplitude (V rms), driving the modulation resistor."""
        self.lockin.sine_v_rms = float(v_rms)
        self._mark()

    def set_lockin(self, frequency_hz: float | None = None, time_constant_s: float | None = None,
                   slope_db_per_oct: int | None = None) -> None:
        """The lock-in's reference frequency (Hz), time constant (s) and filter slope (dB/oct)."""
        if frequency_hz is not None:
            self.lockin.frequency_hz = float(frequency_hz)
        if time_constant_s is not None:
            self.lockin.time_constant_s = float(time_constant_s)
        if slope_db_per_oct is not None:
            self.lockin.slope_db_per_oct = int(slope_db_per_oct)

    def close_relay(self, row: int, col: int) -> None:
        self.closed.add((int(row), int(col)))
        self._mark()

    def open_relay(self, row: int, col: int) -> None:
        self.closed.discard((int(row), int(col)))
        self._mark()

    def open_all_relays(self) -> None:
        self.closed.clear()
        self._mark()

    def set_device_parameters(self, device_id: str, **values: float) -> None:
        """Change one junction's truth from now on (a fault: it dies or drifts).

        ``values`` are :class:`.parameters.DeviceParameters` fields, e.g.
        ``dead_kind=OPEN`` or ``offset_field_oe=3.5``.
        """
        self._evaluate()
        index = self.chip.devices.index_of([device_id])[0]
        arrays = {}
        for name, value in values.items():
            array = np.array(getattr(self.chip.devices, name))
            array[index] = value
            arrays[name] = array
        self.chip.replace_devices(self.chip.devices.with_values(**arrays))
        self._generation += 1
        self._mark()

    # ------------------------------------------------------------- trigger link
    def connect_trigger_input(self, listener: Callable[[int], None]) -> None:
        """``listener(line)`` is called at every pulse on the trigger cable (:mod:`.trigger_cable`)."""
        self.cable.connect(listener)

    def pulse_trigger_line(self, line: int) -> None:
        """An output trigger on ``line`` (1-6) now: every listener reacts before this returns."""
        self.cable.pulse(line)

    # ------------------------------------------------------------------ routing
    @property
    def routed_device(self) -> tuple[int, int] | None:
        """The device the switch connects, or None (none, or an ambiguous route)."""
        return next(iter(self.closed)) if len(self.closed) == 1 else None

    def device_index(self) -> int | None:
        routed = self.routed_device
        if routed is None or routed[0] >= self.chip.rows or routed[1] >= self.chip.cols:
            return None
        return routed[0] * self.chip.cols + routed[1]

    # -------------------------------------------------------------------- coil
    @property
    def coil_tau_s(self) -> float:
        return self.wiring.coil_inductance_h / self.wiring.coil_resistance_ohm

    def coil_current_a(self) -> float:
        c = self.coil
        target = c.setpoint_a if c.output_on else 0.0
        elapsed = self.clock.now_s() - c.since_s
        if elapsed >= COIL_SETTLED_TAU * self.coil_tau_s:
            return target
        return target + (c.start_a - target) * math.exp(-elapsed / self.coil_tau_s)

    def set_coil(self, setpoint_a: float, output_on: bool) -> None:
        """The supply's new set-point (A) and output state, from now on."""
        self._mark()  # the field so far, at the moment it starts to move
        self.coil.start_a = self.coil_current_a()
        self.coil.since_s = self.clock.now_s()
        self.coil.setpoint_a, self.coil.output_on = float(setpoint_a), bool(output_on)
        if output_on and setpoint_a:
            self.coil.last_direction = math.copysign(1.0, setpoint_a)
        target = setpoint_a if output_on else 0.0
        self._maxima.note_coil(self.coil.start_a, target, self.field_for_current(target))
        self.monitor.check()

    def field_for_current(self, current_a: float) -> float:
        return self.wiring.coil_oe_per_a * current_a + self.wiring.coil_remanence_oe * self.coil.last_direction

    def field_oe(self) -> float:
        """The field at the chip (and at the gaussmeter's probe) now (Oe)."""
        return self.field_for_current(self.coil_current_a())

    # -------------------------------------------------------------- conditions
    def modulation_peak_a(self) -> float:
        return self.lockin.sine_v_rms * SQRT2 / self.wiring.modulation_resistor_ohm

    def input_current_a(self) -> float:
        """DC current in the routed row's field line (A): zero when nothing is routed."""
        return self.input.driving_a if self.device_index() is not None else 0.0

    def conditions(self) -> Conditions:
        device = self.device_index()
        routed = device is not None
        return Conditions(
            device=device,
            read_a=self.read.driving_a if routed else 0.0,
            input_a=self.input.driving_a if routed else 0.0,
            modulation_a=self.modulation_peak_a() if routed else 0.0,
            field_oe=self.field_oe(),
            generation=self._generation,
        )

    def _mark(self) -> None:
        """Enter the present conditions in the timeline (if they changed)."""
        now = self.conditions()
        if now != self._timeline[-1].conditions:
            self._timeline.append(Change(self.clock.now_s(), now))
        if now.device is not None:  # what needs no physics is recorded at once
            self._maxima.note_exposure(now, now.device // self.chip.cols, self.chip.device_ids[now.device])
        self.monitor.check()

    # ----------------------------------------------------------------- physics
    def _evaluate(self) -> None:
        """Let the chip answer every pending change, in order, in as few calls as possible."""
        self._mark()  # the coil may have moved since the last change
        pending = [c for c in self._timeline if c.dc_v is None]
        if not pending:
            return
        start = self._timeline.index(pending[0])
        previous = self._timeline[start - 1].conditions if start else None
        essential = self._essential(pending, previous)
        group: list[Change] = []
        for change in essential:
            if group and change.conditions.setting != group[0].conditions.setting:
                self._evaluate_group(group)
                group = []
            if previous is not None and previous.device is not None and previous.device != change.conditions.device:
                # the old row's field line is released: its junctions see zero input
                self._flush_group(group)
                group = []
                self.chip.lab_time_s = change.time_s
                self.chip.set_bias_field(change.conditions.field_oe)
                self.chip.apply_row_input(previous.device // self.chip.cols, 0.0)
            group.append(change)
            previous = change.conditions
        self._evaluate_group(group)
        answer = None
        for change in reversed(pending):  # a step inside a field ramp reads like the ramp's next kept point
            if change.dc_v is None:
                change.dc_v, change.x_v, change.y_v, change.slope_v_per_a = answer
            answer = (change.dc_v, change.x_v, change.y_v, change.slope_v_per_a)
        self._forget_settled()

    @staticmethod
    def _essential(pending: list[Change], previous: Conditions | None) -> list[Change]:
        """The changes the chip must answer: a coil ramp's intermediate steps are dropped.

        Where only the field moves from one change to the next, the junctions'
        state after a monotonic stretch depends only on its end (switching
        thresholds are crossed in order), so only turning points are kept.
        """
        kept = []
        for k, change in enumerate(pending):
            if k + 1 < len(pending):
                here, after = change.conditions, pending[k + 1].conditions
                before = pending[k - 1].conditions if k else previous
                only_field = (here.device, here.read_a, here.input_a, here.modulation_a, here.generation) == (
                    after.device, after.read_a, after.input_a, after.modulation_a, after.generation)
                turning = before is not None and (here.field_oe - before.field_oe) * (after.field_oe - here.field_oe) < 0
                if only_field and not turning:
                    continue
            kept.append(change)
        return kept

    def _flush_group(self, group: list[Change]) -> None:
        if group:
            self._evaluate_group(group)

    def _evaluate_group(self, group: list[Change]) -> None:
        first = group[0].conditions
        self.chip.lab_time_s = group[0].time_s  # the chip drifts on the lab's clock (eq. R6)
        self.chip.set_bias_field(first.field_oe)
        if first.device is None:
            for change in group:
                change.dc_v = 0.0
            return
        inputs = np.array([[c.conditions.input_a for c in group]])
        uses = self._setting_uses[first.setting[1:]] = self._setting_uses.get(first.setting[1:], 0) + 1
        exact = (not self.chip.tables_ready(first.read_a, first.modulation_a)
                 and len(group) <= EXACT_GROUP_LIMIT and uses < TABULATE_AFTER_USES)
        response = self.chip.measure([first.device], inputs, first.read_a, first.modulation_a, exact=exact)
        device_id = self.chip.device_ids[first.device]
        for j, change in enumerate(group):
            change.dc_v = float(response.dc_voltage_v[0, j]) if first.read_a else 0.0
            change.x_v = float(response.x_v[0, j]) if first.read_a else 0.0
            change.y_v = float(response.y_v[0, j]) if first.read_a else 0.0
            change.slope_v_per_a = float(response.exact_derivative_v_per_a[0, j])
            if first.read_a:
                seen = min(abs(change.dc_v), self.read.compliance_v)
                self._maxima.note(self._maxima.device_voltage_v, device_id, seen)
                self.monitor.junction_voltage(seen, change.time_s, device_id)

    @property
    def maxima(self) -> MaximaSeen:
        """The largest values every device and the coil have seen so far."""
        self._evaluate()
        return self._maxima

    # ---------------------------------------------------------------- readings
    def read_voltage_v(self, noisy: bool = True) -> tuple[float, bool]:
        """The read source-meter's voltage reading and whether it is in compliance."""
        self._evaluate()
        now = self._timeline[-1]
        if not self.read.output_on:
            return 0.0, False
        if now.conditions.device is None or self.read.level_a == 0.0:
            # open circuit: a current source rises to its compliance
            return math.copysign(self.read.compliance_v, self.read.level_a or 1.0), self.read.level_a != 0.0
        voltage = now.dc_v
        if noisy:
            env = self.chip.environment
            std = transport.dc_noise_std_v(voltage, self._resistance_ohm(), env.temperature_k,
                                           env.flicker_noise_hooge, self.nplc / self.wiring.line_frequency_hz)
            voltage += float(std) * self.chip.rng.standard_normal()
        if abs(voltage) > self.read.compliance_v:
            return math.copysign(self.read.compliance_v, voltage), True
        return voltage, False

    def exact_derivative_v_per_a(self, device_id: str, input_current_a: float) -> float:
        """The true dV/dI (V/A) of a junction at a DC input, in its present state, at the read
        current now (the simulation's truth, for judging measured derivatives; no state changes)."""
        self._evaluate()
        now = self._timeline[-1]
        index = self.chip.devices.index_of([device_id])
        if (now.conditions.device == int(index[0]) and math.isclose(now.conditions.input_a, float(input_current_a), rel_tol=1e-5, abs_tol=1e-9)
                and now.conditions.read_a == self.read.level_a):
            return now.slope_v_per_a  # computed with the reading, on the branch the reading used
        _, _, slope = self.chip.static_response(index, np.array([[float(input_current_a)]]), self.read.level_a)
        return float(select_branch(slope, self.chip.branch[index][:, None])[0, 0])

    def _resistance_ohm(self) -> float:
        now = self._timeline[-1]
        return abs(now.dc_v / now.conditions.read_a) if now.conditions.read_a else 1e9

    def input_voltage_v(self) -> tuple[float, bool]:
        """The input source-meter's voltage across the field line, and compliance."""
        if not self.input.output_on:
            return 0.0, False
        if self.device_index() is None:
            return (math.copysign(self.input.compliance_v, self.input.level_a or 1.0), self.input.level_a != 0.0)
        voltage = self.input.level_a * FIELD_LINE_RESISTANCE_OHM
        if abs(voltage) > self.input.compliance_v:
            return math.copysign(self.input.compliance_v, voltage), True
        return voltage, False

    def everything_safe(self) -> bool:
        """Every output off at zero, the coil at zero, every relay open."""
        return (
            not self.read.output_on and self.read.level_a == 0.0
            and not self.input.output_on and self.input.level_a == 0.0
            and self.lockin.sine_v_rms <= 0.004 + 1e-12
            and (not self.coil.output_on or self.coil.setpoint_a == 0.0) and abs(self.coil_current_a()) < 1e-3
            and not self.closed
        )


__all__ = ["Change", "CoilState", "Conditions", "LockInState", "MaximaSeen", "SourceState", "VirtualClock", "VirtualLab"]
