"""The simulated MTJ chip: a crossbar of sensor-type junctions with memory.

Each junction is a macrospin free layer (:mod:`.macrospin`) read through its
tunnelling conductance (:mod:`.transport`); :mod:`.junction` has its static
response. The fields on device ``i`` are (docs/physics.md eq. F1, with the
easy-axis tilt of docs/chip_realism.md eq. R1)::

    H_x = H_b cos(psi) + H_N cos(phi_p)
    H_y = H_b sin(psi) + H_N sin(phi_p) + kappa * I_in

with H_b the coil bias field at in-plane angle psi from the easy axis, H_N the
Néel offset field (along the reference layer), kappa (Oe/mA) the coupling of the
device to its row's field line and I_in the row's input current (the field line
runs along the row, so every device of the row sees it). The junctions'
parameters follow the chip's temperature, their Joule heating and the drift
over lab time (:mod:`.thermal`, eqs. R4-R6): :attr:`MTJChip.lab_time_s` is the
bench's clock, set by whoever drives the chip. The chip keeps each junction's branch
(which side of the hard axis its moment is on) between calls: that is its
hysteresis.

A measurement applies an input sequence to a device's row with an optional
sinusoidal modulation of peak amplitude ``d`` and returns what a source-meter
(cycle-averaged DC voltage at the read current) and a lock-in (first harmonic
X, Y) would see, plus the model's exact derivative dV/dI_in.

For speed, responses are tabulated per device on a uniform grid of input
current at the present bias field, read current and modulation (cubic Hermite
interpolation with exact slopes for the static response); the tables are
rebuilt when any of these change. ``exact=True`` evaluates the physics at every
point instead (switching fields then resolved exactly rather than to the grid
spacing). Tabulated measurements run through the compiled loop of
:mod:`.kernel` when it is available, else through the numpy path (the
reference; both agree to rounding).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from . import harmonics, junction, kernel, macrospin, transport
from .parameters import OPEN, SHORT, DeviceParameters, sample_devices
from .response_tables import ResponseTables, TableGrid
from .thermal import EffectiveDevices, ThermalModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChipEnvironment:
    """Conditions shared by every junction of the chip (units in the names).

    ``dwell_time_s`` is how long the moment sits at each point, which sets the
    thermal switching threshold ln(dwell/attempt) (eq. E3).
    """

    temperature_k: float = 300.0
    attempt_time_s: float = 1e-9
    dwell_time_s: float = 0.01
    flicker_noise_hooge: float = 1e-9
    short_resistance_ohm: float = 20.0
    open_resistance_ohm: float = 1e9

    @property
    def escape_log_ratio(self) -> float:
        return float(np.log(self.dwell_time_s / self.attempt_time_s))


@dataclass(frozen=True)
class NoiseSettings:
    """The instrument settings that set the noise bandwidths (eqs. N3, N4)."""

    integration_time_s: float = 0.02
    lockin_frequency_hz: float = 1013.0
    lockin_time_constant_s: float = 0.03
    lockin_slope_db_per_oct: int = 24


@dataclass(frozen=True)
class ChipResponse:
    """What the instruments see, arrays of shape ``(n_devices, n_inputs)``.

    ``x_v``/``y_v`` are peak first-harmonic amplitudes (a lock-in displays rms =
    peak / sqrt(2)); ``lockin_derivative_v_per_a = x_v / d`` (NaN without
    modulation); ``exact_derivative_v_per_a`` is dV/dI_in of the static
    response on the branch the junction is on.
    """

    dc_voltage_v: np.ndarray
    x_v: np.ndarray
    y_v: np.ndarray
    lockin_derivative_v_per_a: np.ndarray
    exact_derivative_v_per_a: np.ndarray
    dead: np.ndarray


class MTJChip:
    """A simulated crossbar of MTJs with state, tabulated for speed."""

    def __init__(
        self,
        devices: DeviceParameters,
        rows: int,
        cols: int,
        environment: ChipEnvironment | None = None,
        *,
        noise_seed: int = 0,
        bias_field_angle_deg: float = 0.0,
        input_table_range_a: float = 0.02,
        table_points: int = 513,
        thermal: ThermalModel | None = None,
        compiled: bool | None = None,
    ) -> None:
        if devices.n_devices != rows * cols:
            raise ValueError(f"{devices.n_devices} devices do not fill a {rows} x {cols} chip")
        #: The junctions' truth at the reference temperature (what a datasheet would list).
        self.devices = devices
        #: Bumped whenever the truth is replaced: response tables are keyed by it.
        self.generation = 0
        #: Lab time (s) on the bench's clock: drift follows it (eq. R6).
        self.lab_time_s = 0.0
        self.thermal = thermal or ThermalModel()
        self._effective = EffectiveDevices(self.thermal)
        self.rows, self.cols = rows, cols
        self.environment = environment or ChipEnvironment()
        self.bias_field_oe = 0.0
        self.bias_field_angle_deg = float(bias_field_angle_deg)
        self.branch = np.ones(devices.n_devices, np.int8)
        #: The DC current each row's field line carries now (A): the last input applied.
        self.row_input_a = np.zeros(rows)
        self.rng = np.random.default_rng(noise_seed)
        self._grid = TableGrid.covering(input_table_range_a, table_points)
        self._tables = ResponseTables(self, self._grid)
        #: Whether tabulated measurements run through the compiled loop (``compiled=None``:
        #: whenever numba is available) or the numpy path.
        self.compiled = kernel.use_compiled(compiled)

    # ---------------------------------------------------------------- building
    @classmethod
    def from_physics(cls, physics: Any, rows: int, cols: int, device_ids: Sequence[str] | None = None, **kwargs: Any) -> "MTJChip":
        """A chip drawn from a bench file's ``chip.physics`` section."""
        environment = ChipEnvironment(
            temperature_k=physics.temperature_k,
            attempt_time_s=physics.attempt_time_s,
            dwell_time_s=physics.dwell_time_s,
            flicker_noise_hooge=physics.flicker_noise_hooge,
            short_resistance_ohm=physics.short_resistance_ohm,
            open_resistance_ohm=physics.open_resistance_ohm,
        )
        double_rows = kwargs.pop("double_rows", ())
        devices = sample_devices(physics, rows, cols, device_ids, double_rows)
        return cls(devices, rows, cols, environment, noise_seed=physics.seed + 1,
                   thermal=ThermalModel.from_physics(physics), **kwargs)

    @classmethod
    def from_bench(cls, bench: Any) -> "MTJChip":
        """The chip of a bench file (which must have a ``chip.physics`` section)."""
        chip = bench.chip
        if chip.physics is None:
            raise ValueError(f"bench {bench.name!r} has no chip.physics section to simulate")
        margin = 1.25  # tables reach a little beyond the safe input range
        return cls.from_physics(
            chip.physics, chip.rows, chip.cols, chip.ids(),
            bias_field_angle_deg=bench.wiring.bias_field_angle_deg,
            input_table_range_a=margin * bench.limits.max_input_current_a,
            double_rows=chip.double_reference_rows,
        )

    @property
    def device_ids(self) -> tuple[str, ...]:
        return self.devices.device_ids

    def set_bias_field(self, field_oe: float, angle_deg: float | None = None) -> None:
        """Set the coil's in-plane bias field (Oe) and optionally its angle (deg).

        The coil field reaches every junction, measured or not: each one whose
        energy no longer holds it on its branch (at its row's present input)
        switches now.
        """
        angle = self.bias_field_angle_deg if angle_deg is None else float(angle_deg)
        if (float(field_oe), angle) == (self.bias_field_oe, self.bias_field_angle_deg):
            return
        self.bias_field_oe, self.bias_field_angle_deg = float(field_oe), angle
        self._relax(np.arange(self.devices.n_devices))

    def apply_row_input(self, row: int, input_current_a: float) -> None:
        """Leave ``input_current_a`` (A) in field line ``row``: its junctions follow it."""
        self.row_input_a[int(row)] = float(input_current_a)
        self._relax(np.flatnonzero(self.devices.row == int(row)))

    def replace_devices(self, devices: DeviceParameters) -> None:
        """New truth for the junctions (a junction died or drifted); state is kept."""
        if devices.n_devices != self.devices.n_devices:
            raise ValueError("replacement devices do not fill the same chip")
        self.devices = devices
        self.generation += 1  # response tables are keyed by it
        self._relax(np.arange(devices.n_devices))

    def tables_ready(self, read_current_a: float, amplitude_a: float) -> bool:
        """Whether the response tables for this setting are already built."""
        return self._tables.ready(read_current_a, amplitude_a)

    def _relax(self, index: np.ndarray) -> None:
        """Junctions ``index`` take the branch their energy forces at their row's input."""
        if index.size == 0:
            return
        inputs = self.row_input_a[self.devices.row[index]][:, None]
        forced = self.static_response(index, inputs, 0.0)[0][:, 0]
        self.branch[index] = np.where(forced != 0, forced, self.branch[index])

    # ----------------------------------------------------------------- physics
    def devices_at(self, read_current_a: float) -> DeviceParameters:
        """The junctions' parameters now (lab time, chip temperature, heating by ``read_current_a``)."""
        return self._effective.at(self.devices, self.parameters_key(read_current_a), self.lab_time_s,
                                  read_current_a)

    def parameters_key(self, read_current_a: float) -> tuple:
        """What the junctions' parameters depend on now (response tables are keyed by it)."""
        return (self.generation,) + (self.thermal.key(self.lab_time_s, read_current_a) if self.thermal.active else ())

    def reduced_fields(self, index: np.ndarray, input_current_a: np.ndarray, read_current_a: float = 0.0):
        """``(h_x, h_y)`` = H / Hk on devices ``index`` (eqs. F1, R1); inputs broadcast on trailing axes."""
        return junction.reduced_fields(self.devices_at(read_current_a), index, input_current_a,
                                       self.bias_field_oe, self.bias_field_angle_deg)

    def static_response(self, index: np.ndarray, input_current_a: np.ndarray, read_current_a: float):
        """Exact static response of devices ``index`` at inputs (``(n, m)``, A).

        Returns ``(forced, voltage_v, dvoltage_dinput_v_per_a)``: ``forced`` is
        (n, m) (see :class:`.macrospin.Equilibrium`); the others are
        ``(2, n, m)``, one per branch (:func:`.junction.static_response`).
        """
        env = self.environment
        return junction.static_response(
            self.devices_at(read_current_a), index, input_current_a, read_current_a, self.bias_field_oe,
            self.bias_field_angle_deg, env.escape_log_ratio, env.short_resistance_ohm, env.open_resistance_ohm)

    def cycle_response(self, static, index: np.ndarray, input_current_a: np.ndarray, amplitude_a: float):
        """Steady-state modulated response for each starting branch.

        ``static(index, currents)`` gives ``(forced, voltage, slope)`` as
        :meth:`static_response`. Two periods are run from each starting branch
        (the first lets a hysteretic junction settle); the second is projected.
        Returns ``(dc, x, y, end_branch)``, each ``(2, n, k)``.
        """
        n_per = harmonics.SAMPLES_PER_PERIOD
        samples = harmonics.modulated_inputs(input_current_a, amplitude_a, periods=2)
        n, k = np.shape(input_current_a)
        forced, voltage, _ = static(index, samples.reshape(n, k * 2 * n_per))
        forced = forced.reshape(n, k, 2 * n_per)
        voltage = voltage.reshape(2, n, k, 2 * n_per)
        out = []
        for start in (1, -1):
            branch = macrospin.follow_branches(forced, start)
            v = macrospin.select_branch(voltage, branch)
            dc, x, y = harmonics.project_period(v[..., n_per:])
            out.append((dc, x, y, branch[..., -1]))
        return tuple(np.stack([out[0][j], out[1][j]]) for j in range(4))

    # ------------------------------------------------------------- measurement
    def measure(
        self,
        index: Sequence[int] | np.ndarray,
        input_current_a: np.ndarray,
        read_current_a: float,
        modulation_amplitude_a: float = 0.0,
        noise: NoiseSettings | None = None,
        exact: bool = False,
    ) -> ChipResponse:
        """Apply input sequences and return what the instruments would see.

        ``index`` selects ``n`` devices; ``input_current_a`` is ``(n, k)``:
        device ``index[j]``'s row receives ``input_current_a[j]`` in order.
        Devices sharing a row are driven one after another (in request order);
        every device of a driven row follows the field history (its branch).
        ``noise`` adds Johnson and 1/f noise for those instrument settings.
        """
        index = np.asarray(index, int)
        inputs = np.atleast_2d(np.asarray(input_current_a, float))
        if inputs.shape[0] != index.size:
            raise ValueError(f"{index.size} devices but {inputs.shape[0]} input rows")
        amplitude = float(modulation_amplitude_a)
        use_tables = not exact and self._tables.covers(inputs, amplitude)
        if not exact and not use_tables:
            log.info("inputs beyond the response tables: evaluating the physics exactly")
        shape = inputs.shape
        if use_tables and self.compiled and self._kernel_can_take(index, shape):
            dc, x, y, slope = kernel.run(
                kernel.compiled_loop(), self._tables.evaluator(read_current_a, amplitude).kernel_tables(),
                index, inputs, self.devices.row, self.branch, self.row_input_a)
        else:
            dc, x, y, slope = self._measure_in_rounds(index, inputs, read_current_a, amplitude, use_tables)
        if noise is not None:
            dc, x, y = self._add_noise(index, dc, x, y, read_current_a, noise)
        with np.errstate(invalid="ignore", divide="ignore"):
            lockin = x / amplitude if amplitude > 0 else np.full(shape, np.nan)
        return ChipResponse(dc, x, y, lockin, slope, self.devices.dead[index])

    def _kernel_can_take(self, index: np.ndarray, shape: tuple) -> bool:
        # Negative or out-of-range indices and empty sequences keep numpy's handling (and errors).
        n_devices = self.devices.n_devices
        return len(shape) == 2 and shape[1] > 0 and (index.size == 0 or (index.min() >= 0 and index.max() < n_devices))

    def _measure_in_rounds(self, index, inputs, read_current_a, amplitude, use_tables):
        """The numpy path of :meth:`measure`: ``(dc, x, y, slope)``, each like ``inputs``."""
        dc, x, y, slope = (np.empty(inputs.shape) for _ in range(4))
        for round_devices in self._rounds(index):
            sel = index[round_devices]
            seq = inputs[round_devices]
            affected = np.flatnonzero(np.isin(self.devices.row, self.devices.row[sel]))
            driver = {r: j for j, r in enumerate(self.devices.row[sel])}
            affected_seq = seq[[driver[r] for r in self.devices.row[affected]]]
            f_dc, f_x, f_y, f_slope, new_branch = self._run(sel, seq, affected, affected_seq, read_current_a, amplitude, use_tables)
            dc[round_devices], x[round_devices], y[round_devices], slope[round_devices] = f_dc, f_x, f_y, f_slope
            self.branch[affected] = new_branch
            self.row_input_a[self.devices.row[sel]] = seq[:, -1]
        return dc, x, y, slope

    def _rounds(self, index: np.ndarray):
        """Split requests into rounds in which no two devices share a row."""
        seen: dict[int, int] = {}
        rounds: list[list[int]] = []
        for j, device in enumerate(index):
            r = int(self.devices.row[device])
            k = seen.get(r, 0)
            seen[r] = k + 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(j)
        return [np.array(r, int) for r in rounds]

    def _evaluator(self, read_current_a: float, amplitude: float, use_tables: bool):
        if use_tables:
            return self._tables.evaluator(read_current_a, amplitude)
        return ExactEvaluator(self, read_current_a, amplitude)

    def _run(self, sel, seq, affected, affected_seq, read_current_a, amplitude, use_tables):
        """One round: outputs of ``sel`` and new branches of every ``affected`` device.

        With modulation the output of a point is that of the cycle entered on
        the branch left by the previous point; without, that of the branch the
        point leaves the junction on.
        """
        evaluator = self._evaluator(read_current_a, amplitude, use_tables)
        forced = evaluator.end_forced(affected, affected_seq)
        branches = macrospin.follow_branches(forced, self.branch[affected])
        position = {int(a): j for j, a in enumerate(affected)}
        after = branches[[position[int(s)] for s in sel]]
        if amplitude > 0:
            used = np.concatenate([self.branch[sel][:, None], after[:, :-1]], axis=1)
        else:
            used = after
        dc, x, y, slope = evaluator.values(sel, seq, used)
        return dc, x, y, slope, branches[:, -1]

    def _add_noise(self, index, dc, x, y, read_current_a, noise: NoiseSettings):
        env = self.environment
        resistance = np.abs(dc / read_current_a) if read_current_a else np.full_like(dc, 1e3)
        dc_std = transport.dc_noise_std_v(dc, resistance, env.temperature_k, env.flicker_noise_hooge, noise.integration_time_s)
        li_std = transport.lockin_noise_std_v(
            dc, resistance, env.temperature_k, env.flicker_noise_hooge,
            noise.lockin_frequency_hz, noise.lockin_time_constant_s, noise.lockin_slope_db_per_oct,
        )
        draw = self.rng.standard_normal((3,) + dc.shape)
        return dc + dc_std * draw[0], x + li_std * draw[1], y + li_std * draw[2]


class ExactEvaluator:
    """The chip's physics evaluated at every point (the reference for the tables).

    Same questions as :class:`.response_tables.TableEvaluator`.
    """

    def __init__(self, chip: MTJChip, read_current_a: float, amplitude_a: float) -> None:
        self.chip, self.read_current_a, self.amplitude_a = chip, read_current_a, amplitude_a

    def _static(self, index, currents):
        return self.chip.static_response(index, currents, self.read_current_a)

    def end_forced(self, index, currents):
        if self.amplitude_a <= 0.0:
            return self._static(index, currents)[0]
        end = self.chip.cycle_response(self._static, index, currents, self.amplitude_a)[3]
        return np.where(end[0] == end[1], end[0], 0).astype(np.int8)

    def values(self, index, currents, branch):
        _, voltage, slope = self._static(index, currents)
        slope = macrospin.select_branch(slope, branch)
        if self.amplitude_a <= 0.0:
            zero = np.zeros(np.shape(currents))
            return macrospin.select_branch(voltage, branch), zero, zero, slope
        dc, x, y, _ = self.chip.cycle_response(self._static, index, currents, self.amplitude_a)
        return (*(macrospin.select_branch(a, branch) for a in (dc, x, y)), slope)


__all__ = ["ChipEnvironment", "ChipResponse", "MTJChip", "NoiseSettings", "OPEN", "SHORT"]
