"""``ModelNeuronArray``: the NeuronArray implemented directly on the physics model.

The fast path for large simulation studies: no instruments, no SCPI, no
virtual clock; the chip's physics gives each device's output (DC voltage at the
read current) and analogue derivative (lock-in first harmonic / modulation
amplitude) with the noise of the bench's settings, and the lab time the same
measurement would take on that bench.

Built from a bench file (:meth:`ModelNeuronArray.from_bench`) it settles what
the bench would: with ``measurement.lockin_settings: auto`` the lock-in plan of
the noise budget, made from the model's own figures
(:func:`.lockin_planning.plan_on_model`), whose modulation it then measures
with; and the acquisition mode of the bench's instruments
(:func:`.hardware_timed.acquisition_mode`). Lab time follows the Bench's own
steps: a route per device change (:class:`.timing.MeasurementTiming`), the
input's ramps, and each device's sorted batch as hardware-timed lists
(:class:`.hardware_timed.ListCosts`) or point by point (docs/bench.md, "The
physics model's lab time").
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from ..errors import MtjlabError, SafetyLimitError
from .drivers.keithley2400_list import MAX_LIST_POINTS
from .hardware_timed import BUFFERED_LOCKINS, AcquisitionMode, ListCosts, acquisition_mode
from .list_paths import list_chunks
from .interfaces import NeuronMeasurement
from .sim import transport
from .sim.mtj import MTJChip, NoiseSettings
from .timing import LOCKIN_READ_TRANSACTIONS, RESET_SOURCE_DELAY_S, MeasurementTiming, integration_time_s

#: Without instruments named, a model array measures point by point.
STEPPED = AcquisitionMode("stepped", "no instruments named: one point at a time")


class ModelNeuronArray:
    """A NeuronArray on an :class:`MTJChip`.

    Parameters
    ----------
    chip:
        The simulated chip.
    read_current_a:
        Current forced through each junction while its voltage is read (A).
    modulation_amplitude_a:
        Peak amplitude of the lock-in modulation of the input current (A).
    bias_field_oe:
        Coil bias field applied to the chip (Oe).
    input_limit_a:
        Largest input current magnitude allowed (A); requests beyond it are refused.
    timing:
        Instrument settings that set the reported lab time and the noise bandwidths.
    lockin_frequency_hz:
        Modulation frequency (Hz), which sets the lock-in's 1/f noise.
    noise:
        Add Johnson and 1/f noise (True) or return the noiseless model (False).
    known_dead:
        Devices the user knows to be dead (reported dead without measuring).
    instruments, acquisition:
        The bench's instrument models by role and its ``measurement.acquisition``: where
        they can, batches are charged as hardware-timed lists; without them, point by point.
    """

    def __init__(
        self,
        chip: MTJChip,
        *,
        read_current_a: float = 1e-4,
        modulation_amplitude_a: float = 2e-4,
        bias_field_oe: float = 20.0,
        input_limit_a: float = 0.02,
        timing: MeasurementTiming | None = None,
        lockin_frequency_hz: float = 1013.0,
        noise: bool = True,
        known_dead: Sequence[str] = (),
        field_ramp_oe_per_s: float = 100.0,
        device_kinds: dict[str, str] | None = None,
        datasheet: Any = None,
        bias_field_angle_deg: float = 0.0,
        instruments: dict[str, str] | None = None,
        acquisition: str = "auto",
    ) -> None:
        self.chip = chip
        self.field_ramp_oe_per_s = float(field_ramp_oe_per_s)
        self._kinds = dict(device_kinds) if device_kinds is not None else {d: "single" for d in chip.device_ids}
        self._datasheet = datasheet
        self._bias_angle_deg = float(bias_field_angle_deg)
        #: Lab time so far (s): the chip drifts on it (docs/chip_realism.md, eq. R6).
        self.lab_time_s = 0.0
        self._uncounted_s = 0.0
        self.read_current_a = float(read_current_a)
        self.modulation_amplitude_a = float(modulation_amplitude_a)
        self.input_limit_a = float(input_limit_a)
        self.timing = timing or MeasurementTiming()
        self.lockin_frequency_hz = float(lockin_frequency_hz)
        self.noise = noise
        self._known_dead = frozenset(known_dead)
        self._index = {d: i for i, d in enumerate(chip.device_ids)}
        unknown = sorted(self._known_dead - set(self._index))
        if unknown:
            raise MtjlabError(f"known dead device {unknown[0]!r} is not on the chip")
        chip.set_bias_field(bias_field_oe)
        self._modes = {lockin: STEPPED if instruments is None else acquisition_mode(instruments, acquisition, lockin)
                       for lockin in (False, True)}
        #: The lock-in settings a bench would choose from the noise budget (:meth:`from_bench`), or None.
        self.lockin_plan: Any = None
        # What the bench's clock depends on between measurements: the device routed, the input
        # current left on the field line, and the list set-up and settings already sent.
        self._routed: str | None = None
        self._input_level_a = 0.0
        t = self.timing  # with no ramp rate set, ramps cost nothing (as in MeasurementTiming.ramp_time_s)
        self._lists = ListCosts(integration_time_s(t.nplc, t.line_frequency_hz),
                                t.input_ramp_a_per_s or t.source_ramp_a_per_s or float("inf"),
                                t.input_ramp_step_a, (instruments or {}).get("lockin") in BUFFERED_LOCKINS,
                                t.bus_write_s)

    @classmethod
    def from_bench(cls, bench: Any, *, noise: bool = True) -> "ModelNeuronArray":
        """The model array of a bench file's simulated chip, with the settings that bench would use:
        with ``measurement.lockin_settings: auto`` the noise budget's plan (made on the model,
        :func:`.lockin_planning.plan_on_model`), else the wiring's lock-in and ``modulation_amplitude_a``."""
        wiring, m = bench.wiring, bench.measurement
        timing = MeasurementTiming(
            nplc=wiring.source_nplc,
            line_frequency_hz=wiring.line_frequency_hz,
            lockin_time_constant_s=wiring.lockin_time_constant_s,
            lockin_slope_db_per_oct=wiring.lockin_slope_db_per_oct,
            relay_settle_s=wiring.relay_settle_s,
            source_ramp_a_per_s=bench.limits.max_source_ramp_a_per_s,
            input_ramp_a_per_s=bench.limits.max_input_ramp_a_per_s,
            read_current_a=m.read_current_a,
        )
        lockin_reading_s = LOCKIN_READ_TRANSACTIONS[bench.instrument("lockin").model] * timing.bus_write_s
        timing = replace(timing, reading_overhead_s=timing.dc_reading_overhead_s + lockin_reading_s)
        array = cls(
            MTJChip.from_bench(bench),
            read_current_a=m.read_current_a,
            modulation_amplitude_a=m.modulation_amplitude_a,
            bias_field_oe=m.bias_field_oe,
            input_limit_a=bench.limits.max_input_current_a,
            timing=timing,
            lockin_frequency_hz=wiring.lockin_frequency_hz,
            noise=noise,
            known_dead=bench.chip.known_dead,
            field_ramp_oe_per_s=bench.limits.max_field_ramp_oe_per_s,
            device_kinds=bench.chip.kinds(),
            datasheet=bench.chip.physics,
            bias_field_angle_deg=wiring.bias_field_angle_deg,
            instruments={i.role: i.model for i in bench.instruments},
            acquisition=m.acquisition,
        )
        if m.lockin_settings == "auto":
            from .lockin_planning import applied_modulation_peak_a, plan_on_model

            # as BenchNeuronArray.prepare: the probe sweeps the live devices in order until one responds
            plan = plan_on_model(array, bench, [d for d in array.device_ids if d not in array.dead_ids])
            array.lockin_plan = plan
            array.modulation_amplitude_a = applied_modulation_peak_a(bench, plan.modulation_peak_a)
            array.lockin_frequency_hz = plan.frequency_hz
            array.timing = replace(timing, lockin_time_constant_s=plan.time_constant_s, lockin_settle_s=plan.settle_s)
        return array

    # --------------------------------------------------------- NeuronArray API
    @property
    def device_ids(self) -> tuple[str, ...]:
        return self.chip.device_ids

    @property
    def dead_ids(self) -> frozenset[str]:
        return self._known_dead

    @property
    def input_range_a(self) -> tuple[float, float]:
        """The DC inputs allowed (A): the limit less the modulation's peak, as on a bench."""
        limit = self.input_limit_a - self.modulation_amplitude_a
        return (-limit, limit)

    @property
    def device_kinds(self) -> dict[str, str]:
        """Each device's kind, 'single' or 'double'."""
        return dict(self._kinds)

    def acquisition(self, lockin: bool = True) -> AcquisitionMode:
        """Whether the bench's instruments would run a device's batch as a hardware-timed list, and why."""
        return self._modes[bool(lockin)]

    def noiseless_response(self, device: str, inputs_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Output (V) and lock-in derivative (V/A) of ``device`` at ``inputs_a`` with this array's read
        current and modulation, from the noiseless physics; the chip's state (branches, field lines)
        is left as it was and no lab time passes. NaN rows for a dead junction."""
        chip = self.chip
        branch, rows = chip.branch.copy(), chip.row_input_a.copy()
        try:
            response = chip.measure([self._index[device]], np.asarray(inputs_a, float)[None, :],
                                    self.read_current_a, self.modulation_amplitude_a, exact=True)
        finally:
            chip.branch[:], chip.row_input_a[:] = branch, rows
        if device in self._known_dead or response.dead[0]:
            return np.full(np.shape(inputs_a), np.nan), np.full(np.shape(inputs_a), np.nan)
        return response.dc_voltage_v[0], response.lockin_derivative_v_per_a[0]

    def noise_density_v_per_rthz(self, voltage_v: float, frequency_hz: float) -> float:
        """The chip's voltage noise density (V/sqrt(Hz)) across a junction at ``voltage_v`` (V) at
        ``frequency_hz``: Johnson and 1/f (docs/physics.md, eqs. N1, N2), as the chip adds to the lock-in."""
        env = self.chip.environment
        resistance = abs(voltage_v / self.read_current_a) if self.read_current_a else 1e3
        psd = (transport.johnson_psd_v2_per_hz(resistance, env.temperature_k)
               + transport.flicker_psd_v2_per_hz(voltage_v, env.flicker_noise_hooge, frequency_hz))
        return float(np.sqrt(psd))

    def nominal_sweep(self, inputs_a: np.ndarray, bias_field_oe: float,
                      device_kind: str = "single") -> tuple[np.ndarray, np.ndarray] | None:
        """Output (V) and dV/dI (V/A) of the chip's average device from its datasheet values."""
        if self._datasheet is None:
            return None
        from .sim.nominal import nominal_sweep

        return nominal_sweep(self._datasheet, inputs_a, read_current_a=self.read_current_a,
                             bias_field_oe=bias_field_oe, bias_field_angle_deg=self._bias_angle_deg,
                             device_kind=device_kind)

    def set_bias_field(self, field_oe: float) -> None:
        """Change the coil bias field (Oe): the tuning knob of every neuron. The coil's ramp
        (at the bench's field ramp limit) is charged to the next measurement's lab time."""
        self._uncounted_s += abs(float(field_oe) - self.chip.bias_field_oe) / self.field_ramp_oe_per_s
        self.chip.set_bias_field(field_oe)

    def measure(self, device_ids: Sequence[str], input_current_a: np.ndarray,
                derivative: bool = True) -> NeuronMeasurement:
        """Measure output and analogue derivative of each device at its inputs.

        ``input_current_a`` is ``(n_devices, n_inputs)`` or one sequence
        ``(n_inputs,)`` applied to every device; ``derivative=False`` reads DC
        outputs only (derivatives NaN, no lock-in time). Dead devices (known, or found
        dead by their response) come back as NaN rows flagged in ``dead``.
        """
        want_derivative = derivative
        ids = tuple(device_ids)
        missing = [d for d in ids if d not in self._index]
        if missing:
            raise MtjlabError(f"device {missing[0]!r} is not on the chip (devices: {', '.join(self.device_ids)})")
        inputs = np.asarray(input_current_a, float)
        if inputs.ndim == 1:
            inputs = np.broadcast_to(inputs, (len(ids), inputs.size))
        if inputs.shape[0] != len(ids):
            raise MtjlabError(f"{len(ids)} devices but {inputs.shape[0]} rows of input currents")
        if not np.all(np.isfinite(inputs)):
            raise MtjlabError("input currents contain NaN or infinity")
        peak = float(np.max(np.abs(inputs), initial=0.0)) + self.modulation_amplitude_a
        if peak > self.input_limit_a:
            raise SafetyLimitError(
                f"input current {peak:.4g} A (with modulation) exceeds the limit of {self.input_limit_a:.4g} A"
            )
        known = np.array([d in self._known_dead for d in ids], bool)
        live = np.flatnonzero(~known)
        output = np.full(inputs.shape, np.nan)
        derivative = np.full(inputs.shape, np.nan)
        exact = np.full(inputs.shape, np.nan)
        dead = known.copy()
        self.chip.lab_time_s = self.lab_time_s  # the chip drifts on the lab's clock
        if live.size:
            response = self.chip.measure(
                [self._index[ids[j]] for j in live],
                inputs[live],
                self.read_current_a,
                self.modulation_amplitude_a,
                noise=self._noise_settings() if self.noise else None,
            )
            found_dead = response.dead
            ok = live[~found_dead]
            output[ok] = response.dc_voltage_v[~found_dead]
            if want_derivative:
                derivative[ok] = response.lockin_derivative_v_per_a[~found_dead]
            exact[ok] = response.exact_derivative_v_per_a[~found_dead]
            dead[live[found_dead]] = True
        spent_s = self._uncounted_s + self._bench_time_s(ids, inputs, known, want_derivative)
        self.lab_time_s += spent_s
        self._uncounted_s = 0.0
        return NeuronMeasurement(
            device_ids=ids,
            input_current_a=np.array(inputs),
            output_v=output,
            derivative_v_per_a=derivative,
            dead=dead,
            instrument_time_s=spent_s,
            exact_derivative_v_per_a=exact,
        )

    # ------------------------------------------------------------------- lab time
    def _bench_time_s(self, ids: tuple[str, ...], inputs: np.ndarray, known_dead: np.ndarray, lockin: bool) -> float:
        """The lab time a Bench takes for this measurement (s), step by step as BenchNeuronArray.measure
        makes it: each live device in first-appearance order, its rows' inputs sorted from the end
        nearer the present input, as lists or point by point; then the field line back to zero."""
        spent = 0.0
        for device in dict.fromkeys(d for d, dead in zip(ids, known_dead) if not dead):
            for j in (k for k, d in enumerate(ids) if d == device):
                spent += self._device_time_s(device, inputs[j], lockin)
        if self._input_level_a != 0.0:
            spent += self._ramp_input_s(0.0)
        return spent

    def _device_time_s(self, device: str, row: np.ndarray, lockin: bool) -> float:
        """One device's inputs: as lists where the bench would run them (two inputs or more), else stepped."""
        if row.size == 0:
            return 0.0
        levels = np.sort(row, kind="stable")
        if abs(levels[-1] - self._input_level_a) < abs(levels[0] - self._input_level_a):
            levels = levels[::-1]
        if len(levels) >= 2 and self.acquisition(lockin).hardware_timed:
            spent = self._route_s(device)
            for chunk in list_chunks(levels, self.timing.input_ramp_step_a, MAX_LIST_POINTS):
                spent += self._ramp_input_s(float(levels[chunk][0]))  # the list ends at its first level
                spent += self._lists.list_s(levels[chunk], lockin, self.timing.settle_s)
            return spent
        spent = 0.0
        point_s = self.timing.point_time_s if lockin else self.timing.dc_point_time_s
        if self._lists.source_delay_cleared:
            point_s -= RESET_SOURCE_DELAY_S
        for level in levels:
            spent += self._route_s(device) + self._ramp_input_s(float(level)) + self._lists.leave_s() + point_s
        return spent + self._ramp_input_s(0.0)  # the field line rests between devices

    def _route_s(self, device: str) -> float:
        """Routing ``device`` unless it is routed: the input to zero, the relay checks and move, and
        the read current down and up around it."""
        if device == self._routed:
            return 0.0
        self._routed = device
        spent = self.timing.relay_settle_s + self.timing.relay_check_s + self.timing.read_current_ramps_s
        return spent + (self._ramp_input_s(0.0) if self._input_level_a != 0.0 else 0.0)

    def _ramp_input_s(self, level_a: float) -> float:
        spent = self.timing.input_ramp_s(self._input_level_a, level_a)
        self._input_level_a = level_a
        return spent

    # ------------------------------------------------------------ resumable state
    def state(self) -> dict[str, np.ndarray]:
        """Everything that makes the next measurement what it will be: the noise
        generator, each junction's branch, each row's input, the bias field, and the
        lab clock with what its next charge depends on (the device routed, the input
        left on the field line, the list set-up). Plain arrays (the generator state
        and the clock's as JSON text), for an npz checkpoint."""
        chip, lists = self.chip, self._lists
        clock = {"routed": self._routed, "input_level_a": self._input_level_a, "configured": lists.configured,
                 "sent": lists.sent, "source_delay_cleared": lists.source_delay_cleared}
        return {"noise_rng": np.array(json.dumps(chip.rng.bit_generator.state)),
                "branch": chip.branch.copy(), "row_input_a": chip.row_input_a.copy(),
                "bias_field_oe": np.array(chip.bias_field_oe), "lab_time_s": np.array(self.lab_time_s),
                "bench_clock": np.array(json.dumps(clock))}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Return to a :meth:`state`, so a resumed run measures what an uninterrupted one would."""
        chip = self.chip
        try:
            chip.set_bias_field(float(state["bias_field_oe"]))
            chip.rng.bit_generator.state = json.loads(str(state["noise_rng"]))
            branch, rows = np.asarray(state["branch"]), np.asarray(state["row_input_a"])
            if branch.shape != chip.branch.shape or rows.shape != chip.row_input_a.shape:
                raise ValueError("saved for a chip of another size")
        except (KeyError, ValueError, TypeError) as exc:
            raise MtjlabError(f"cannot restore the model chip's state: {exc}") from None
        chip.branch[:] = branch
        chip.row_input_a[:] = rows
        if "lab_time_s" in state:  # saved by versions whose chip drifts on lab time
            self.lab_time_s = float(state["lab_time_s"])
        if "bench_clock" in state:  # saved by versions that charge the bench's steps
            try:
                clock = json.loads(str(state["bench_clock"]))
                routed, level = clock["routed"], float(clock["input_level_a"])
                sent = None if clock["sent"] is None else (int(clock["sent"][0]), *map(float, clock["sent"][1:]))
                configured, cleared = bool(clock["configured"]), bool(clock["source_delay_cleared"])
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise MtjlabError(f"cannot restore the model chip's state: bench clock: {exc}") from None
            self._routed = routed if routed in self._index else None
            self._input_level_a = level
            self._lists.configured, self._lists.sent, self._lists.source_delay_cleared = configured, sent, cleared

    def _noise_settings(self) -> NoiseSettings:
        t = self.timing
        return NoiseSettings(
            integration_time_s=integration_time_s(t.nplc, t.line_frequency_hz),
            lockin_frequency_hz=self.lockin_frequency_hz,
            lockin_time_constant_s=t.lockin_time_constant_s,
            lockin_slope_db_per_oct=t.lockin_slope_db_per_oct,
        )
