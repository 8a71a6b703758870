"""``BenchNeuronArray``: the MTJ chip as a layer of neurons, measured on a Bench.

For each requested device the switch routes it; then for each input the input
source ramps to the input current, the lock-in settles, the source-meter reads
the junction's DC voltage (the neuron's output) and the lock-in its first
harmonic X (the analogue derivative, ``dV/dI = sqrt(2) X_rms / I_mod,peak``).
Work is grouped by device (relays are slow and wear) and each device's inputs
are visited in sorted order starting from the end nearer the present input, so
steps stay small. A dead junction (known, or found open by a compliance reading
or shorted by a resistance below ``short_below_ohm``) is reported as dead, not
as data. The instrument time is what the bench clock advanced.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import InstrumentError, MtjlabError, SafetyLimitError, StopRequested
from .bench_state import PointReading
from .drivers.keithley2400_list import MAX_LIST_POINTS
from .bench_lifetime import INPUT_RAMP_STEP_A
from .hardware_timed import ListInterrupted
from .list_paths import list_chunks
from .interfaces import NeuronMeasurement

log = logging.getLogger(__name__)

#: A junction reading below this resistance (ohm) is a short: a working MgO
#: junction of the sizes we use is several hundred ohm or more.
SHORT_BELOW_OHM = 100.0


@dataclass(frozen=True)
class NeuronPoint:
    """One measured point: output (V), analogue derivative (V/A), lock-in X and Y (V rms)."""

    output_v: float
    derivative_v_per_a: float
    x_v_rms: float
    y_v_rms: float
    dead: bool


class MeasurementInterrupted(InstrumentError):
    """An instrument fault stopped a measurement; ``partial`` holds what was measured."""

    def __init__(self, message: str, partial: NeuronMeasurement) -> None:
        super().__init__(message)
        self.partial = partial


class BenchNeuronArray:
    """A NeuronArray on a connected :class:`~.bench.Bench`.

    ``read_current_a``, ``modulation_amplitude_a`` (peak, A) and
    ``bias_field_oe`` default to the bench file's ``measurement`` section; they
    are applied at the first measurement (or by :meth:`prepare`). With
    ``measurement.lockin_settings: auto`` and no modulation given, :meth:`prepare`
    also chooses the lock-in's settings from the noise budget
    (:mod:`.lockin_planning`); points are taken as hardware-timed lists where the
    bench can (:meth:`.Bench.acquisition`).
    """

    def __init__(self, bench: Any, *, read_current_a: float | None = None,
                 modulation_amplitude_a: float | None = None, bias_field_oe: float | None = None,
                 short_below_ohm: float = SHORT_BELOW_OHM, probe_device: str | None = None) -> None:
        m = bench.config.measurement
        self.bench = bench
        self.read_current_a = float(read_current_a if read_current_a is not None else m.read_current_a)
        self.modulation_amplitude_a = float(modulation_amplitude_a if modulation_amplitude_a is not None
                                            else m.modulation_amplitude_a)
        self.bias_field_oe = float(bias_field_oe if bias_field_oe is not None else m.bias_field_oe)
        self.reset_field_oe = float(m.reset_field_oe)
        self.short_below_ohm = short_below_ohm
        self._known_dead = frozenset(bench.config.chip.known_dead)
        self._found_dead: set[str] = set()
        self._prepared = False
        #: The lock-in settings chosen from the noise budget when prepared, or None. Planned with
        #: ``measurement.lockin_settings: auto`` unless the caller set the modulation (a sweep's own parameter).
        self.lockin_plan: Any = None
        self._plan_lockin = modulation_amplitude_a is None and m.lockin_settings == "auto"
        self._probe_device = probe_device  # the device the plan's probe sweep measures first
        #: Set (from any thread) to end a measurement before its next point with StopRequested:
        #: a point on a real bench takes about a second, a layer's batch minutes.
        self.stop: threading.Event | None = None
        # on a simulated bench, the virtual lab's true dV/dI (device_id, input_a) -> V/A
        self._truth = getattr(getattr(bench, "lab", None), "exact_derivative_v_per_a", None)
        # lab time spent between measurements (a bias field changed): charged to the next one
        self._uncounted_s = 0.0

    # --------------------------------------------------------- NeuronArray API
    @property
    def device_ids(self) -> tuple[str, ...]:
        return tuple(self.bench.config.chip.ids())

    @property
    def dead_ids(self) -> frozenset[str]:
        return self._known_dead | self._found_dead

    @property
    def input_range_a(self) -> tuple[float, float]:
        limit = self.bench.limits.max_input_current_a - self.modulation_amplitude_a
        return (-limit, limit)

    @property
    def device_kinds(self) -> dict[str, str]:
        """Each device's kind, 'single' or 'double' (``chip.double_reference_rows``)."""
        return self.bench.config.chip.kinds()

    def nominal_sweep(self, inputs_a: np.ndarray, bias_field_oe: float,
                      device_kind: str = "single") -> tuple[np.ndarray, np.ndarray] | None:
        """Output (V) and dV/dI (V/A) of the chip's average device from its datasheet values
        (``chip.physics``), at this array's read current; None without a ``chip.physics`` section."""
        physics = self.bench.config.chip.physics
        if physics is None:
            return None
        from .sim.nominal import nominal_sweep

        return nominal_sweep(physics, inputs_a, read_current_a=self.read_current_a, bias_field_oe=bias_field_oe,
                             bias_field_angle_deg=self.bench.config.wiring.bias_field_angle_deg,
                             device_kind=device_kind)

    def prepare(self) -> None:
        """Apply the bias field and the modulation (refused requests raise before anything moves)."""
        limits = self.bench.limits
        limits.check_read_current(self.read_current_a)
        limits.check_field(self.bias_field_oe)
        self.reset_states()
        self.bench.set_modulation(self.modulation_amplitude_a)
        self._prepared = True
        if self._plan_lockin and self.lockin_plan is None:
            from .lockin_planning import apply_plan, plan_on_bench

            live = [d for d in self.device_ids if d not in self.dead_ids]
            if self._probe_device in live:
                live.remove(self._probe_device)
                live.insert(0, self._probe_device)
            self.lockin_plan = plan_on_bench(self, live)
            apply_plan(self.bench, self.lockin_plan)
            self.modulation_amplitude_a = self.bench.settings.modulation_peak_a

    def reset_states(self) -> None:
        """Set every junction's easy-axis state: the coil to ``reset_field_oe`` along the
        bias field (beyond Hk: one state left), then back to the bias field, below Hk,
        where the states are kept (hysteresis)."""
        if self.reset_field_oe > 0:
            self.bench.set_field(math.copysign(self.reset_field_oe, self.bias_field_oe or 1.0))
        self.bench.set_field(self.bias_field_oe)

    def set_bias_field(self, field_oe: float) -> None:
        """Change the coil bias field (Oe), the tuning knob of every neuron, from a fresh reset.

        The lab time it takes (the coil's ramps and settling) is charged to the next measurement."""
        started_s = self.bench.clock.now_s()
        self.bias_field_oe = float(field_oe)
        self.reset_states()
        self._uncounted_s += self.bench.clock.now_s() - started_s

    def measure(self, device_ids: Sequence[str], input_current_a: np.ndarray,
                derivative: bool = True) -> NeuronMeasurement:
        """Measure output and analogue derivative of each device at its inputs (see module doc);
        ``derivative=False`` reads the DC outputs only, without waiting for the lock-in."""
        want_derivative = derivative
        ids, inputs = self._check_request(device_ids, input_current_a)
        if not self._prepared:
            self.prepare()
        clock = self.bench.clock
        started_s, self._uncounted_s = clock.now_s() - self._uncounted_s, 0.0
        output = np.full(inputs.shape, np.nan)
        derivative = np.full(inputs.shape, np.nan)
        # a simulated bench knows its devices' true derivatives (for judging the measured ones)
        exact = np.full(inputs.shape, np.nan) if self._truth is not None else None
        dead = np.array([d in self.dead_ids for d in ids], bool)

        def result() -> NeuronMeasurement:
            return NeuronMeasurement(ids, np.array(inputs), output, derivative, dead.copy(), clock.now_s() - started_s,
                                     None if exact is None else exact.copy())

        try:
            for device in dict.fromkeys(ids):  # first-appearance order, each device once
                if device in self.dead_ids:
                    continue
                for j in (k for k, d in enumerate(ids) if d == device):
                    row_exact = exact[j] if exact is not None else None
                    if not self._measure_device(device, inputs[j], output[j], derivative[j], row_exact,
                                                want_derivative):
                        dead[[k for k, d in enumerate(ids) if d == device]] = True
                        output[j] = derivative[j] = np.nan
                        break
            if self.bench.settings.input_current_a != 0.0:
                self.bench.set_input_current(0.0)  # the field line rests between measurements
        except (InstrumentError, KeyboardInterrupt) as exc:
            message = exc.one_line() if isinstance(exc, MtjlabError) else "interrupted"
            raise MeasurementInterrupted(f"measurement stopped: {message}", result()) from exc
        return result()

    # ----------------------------------------------------------------- details
    def _check_request(self, device_ids: Sequence[str], input_current_a: np.ndarray):
        ids = tuple(device_ids)
        known = set(self.device_ids)
        missing = [d for d in ids if d not in known]
        if missing:
            raise MtjlabError(f"device {missing[0]!r} is not on the chip (devices: {', '.join(self.device_ids)})")
        inputs = np.asarray(input_current_a, float)
        if inputs.ndim == 1:
            inputs = np.broadcast_to(inputs, (len(ids), inputs.size))
        if inputs.ndim != 2 or inputs.shape[0] != len(ids):
            raise MtjlabError(f"{len(ids)} devices but input currents of shape {np.shape(input_current_a)}")
        if not np.all(np.isfinite(inputs)):
            raise MtjlabError("input currents contain NaN or infinity")
        largest = float(np.max(np.abs(inputs), initial=0.0))
        self.bench.limits.check_input_current(largest, self.modulation_amplitude_a)  # refuse before moving
        return ids, inputs

    def _visit_order(self, inputs: np.ndarray) -> np.ndarray:
        """Sorted inputs, starting from the end nearer the input current now."""
        order = np.argsort(inputs, kind="stable")
        now = self.bench.settings.input_current_a
        if abs(inputs[order[-1]] - now) < abs(inputs[order[0]] - now):
            order = order[::-1]
        return order

    def _routed(self, device: str) -> Any:
        """The bench with ``device`` routed (if it is not already) at the read current (prepared first)."""
        if not self._prepared:
            self.prepare()
        bench = self.bench
        bench.route(device)
        if bench.settings.read_current_a != self.read_current_a:
            bench.set_read_current(self.read_current_a)
        return bench

    @property
    def _settle_s(self) -> float | None:
        """The wait after each step: the plan's, or None for the lock-in's own settling time."""
        return None if self.lockin_plan is None else self.lockin_plan.settle_s

    def measure_point(self, device: str, input_current_a: float, derivative: bool = True) -> NeuronPoint:
        """One point of one device, leaving its input where it is (for sweeps).

        Routes the device (if it is not already), sets the read current, ramps
        the input to ``input_current_a`` (A), waits for the lock-in and reads.
        """
        bench = self._routed(device)
        bench.set_input_current(float(input_current_a))
        point = bench.read_point(lockin=derivative, settle_s=self._settle_s)
        dead = self._is_dead(device, point)
        derivative = math.sqrt(2.0) * point.x_v_rms / bench.settings.modulation_peak_a
        return NeuronPoint(point.voltage_v, derivative, point.x_v_rms, point.y_v_rms, dead)

    def _measure_device(self, device: str, inputs: np.ndarray, output: np.ndarray, derivative: np.ndarray,
                        exact: np.ndarray | None = None, with_derivative: bool = True) -> bool:
        """Measure one device's inputs into ``output``/``derivative`` (and the simulation's
        true derivative into ``exact``); False if it is dead."""
        order = self._visit_order(inputs)
        if len(order) >= 2 and self.bench.acquisition(with_derivative).hardware_timed:
            return self._measure_device_in_lists(device, inputs, order, output, derivative, exact, with_derivative)
        alive = True
        for k in order:
            if self.stop is not None and self.stop.is_set():
                raise StopRequested(f"stopped on request before a point of {device}")
            point = self.measure_point(device, float(inputs[k]), with_derivative)
            if point.dead:
                alive = False
                break
            output[k], derivative[k] = point.output_v, point.derivative_v_per_a
            if exact is not None:
                # at the level the source really applies (its resolution), as the lab knows it
                exact[k] = self._truth(device, self.bench.settings.input_current_a)
        self.bench.set_input_current(0.0)  # the field line rests between devices
        return alive

    def _measure_device_in_lists(self, device: str, inputs: np.ndarray, order: np.ndarray, output: np.ndarray,
                                 derivative: np.ndarray, exact: np.ndarray | None, with_derivative: bool) -> bool:
        """As :meth:`_measure_device`, each run of sorted inputs as one hardware-timed list (Bench.measure_list)."""
        bench = self._routed(device)
        settle_s = self._settle_s
        alive = True
        for chunk in self._list_chunks(inputs, order):
            if self.stop is not None and self.stop.is_set():
                raise StopRequested(f"stopped on request before a list of {device}")
            try:
                reading = bench.measure_list(inputs[chunk], lockin=with_derivative, settle_s=settle_s)
            except ListInterrupted as exc:  # keep what was measured, then report the fault
                self._store_list(device, inputs, chunk, exc.partial, output, derivative, exact, with_derivative)
                raise
            alive = self._store_list(device, inputs, chunk, reading, output, derivative, exact, with_derivative)
            if not alive:
                break
        return alive  # measure() rests the field line after the last device (a ramp from here to the next)

    def _list_chunks(self, inputs: np.ndarray, order: np.ndarray) -> list[np.ndarray]:
        """The visit order cut into runs whose lists fit the input source."""
        return [order[run] for run in list_chunks(inputs[order], INPUT_RAMP_STEP_A, MAX_LIST_POINTS)]

    def _store_list(self, device: str, inputs: np.ndarray, chunk: np.ndarray, reading: Any, output: np.ndarray,
                    derivative: np.ndarray, exact: np.ndarray | None, with_derivative: bool) -> bool:
        """Put a list's points in place; False at the first point that shows the device dead."""
        peak_a = self.bench.settings.modulation_peak_a
        for j, k in enumerate(chunk[:reading.measured]):
            point = PointReading(float(reading.voltage_v[j]), float(reading.x_v_rms[j]), float(reading.y_v_rms[j]),
                                 bool(reading.in_compliance[j]))
            if self._is_dead(device, point):
                return False
            output[k] = point.voltage_v
            derivative[k] = math.sqrt(2.0) * point.x_v_rms / peak_a if with_derivative else math.nan
            if exact is not None:
                exact[k] = self._truth(device, self.bench.applied_input_a(float(inputs[k])))
        return True

    def _is_dead(self, device: str, point: Any) -> bool:
        resistance = abs(point.voltage_v / self.read_current_a)
        kind = "open (reading at compliance)" if point.in_compliance else (
            f"shorted ({resistance:.3g} ohm)" if resistance < self.short_below_ohm else None)
        if kind is None:
            return False
        log.warning("%s looks %s: reported dead, not as data", device, kind)
        self._found_dead.add(device)
        return True


__all__ = ["BenchNeuronArray", "MeasurementInterrupted", "NeuronPoint", "SafetyLimitError"]
