"""``ModelNeuronArray``: the NeuronArray implemented directly on the physics model.

The fast path for large simulation studies: no instruments, no SCPI, no
virtual clock; the chip's physics gives each device's output (DC voltage at the
read current) and analogue derivative (lock-in first harmonic / modulation
amplitude) with the noise of the bench's default settings, and the lab time the
same measurement would take on a bench (:class:`.timing.MeasurementTiming`).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from ..errors import MtjlabError, SafetyLimitError
from .interfaces import NeuronMeasurement
from .sim.mtj import MTJChip, NoiseSettings
from .timing import MeasurementTiming, integration_time_s


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

    @classmethod
    def from_bench(cls, bench: Any, *, noise: bool = True) -> "ModelNeuronArray":
        """The model array of a bench file's simulated chip, with its default settings."""
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
        return cls(
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
        )

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
        measured = int(live.size)
        spent_s = self._uncounted_s + self.timing.measurement_time_s(
            measured, measured * inputs.shape[1], self.timing.ramp_time_s(inputs[live]), lockin=want_derivative)
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

    # ------------------------------------------------------------ resumable state
    def state(self) -> dict[str, np.ndarray]:
        """Everything that makes the next measurement what it will be: the noise
        generator, each junction's branch, each row's input and the bias field.
        Plain arrays (the generator state as JSON text), for an npz checkpoint."""
        chip = self.chip
        return {"noise_rng": np.array(json.dumps(chip.rng.bit_generator.state)),
                "branch": chip.branch.copy(), "row_input_a": chip.row_input_a.copy(),
                "bias_field_oe": np.array(chip.bias_field_oe), "lab_time_s": np.array(self.lab_time_s)}

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

    def _noise_settings(self) -> NoiseSettings:
        t = self.timing
        return NoiseSettings(
            integration_time_s=integration_time_s(t.nplc, t.line_frequency_hz),
            lockin_frequency_hz=self.lockin_frequency_hz,
            lockin_time_constant_s=t.lockin_time_constant_s,
            lockin_slope_db_per_oct=t.lockin_slope_db_per_oct,
        )
