"""Per-device response tables: the chip's physics, computed once per setting.

At a fixed bias field and read current, a junction's static response depends
only on its input current and its branch. :class:`ResponseTables` evaluates the
exact physics on a uniform grid of input current for every device once, then
answers by cubic Hermite interpolation (exact slopes for the static voltage,
centred-difference slopes for the rest). The modulated (lock-in) response is
tabulated the same way per modulation amplitude. The forced branch is taken at
the nearest node, so switching fields are resolved to half the grid spacing.
Tables are rebuilt whenever the bias field, its angle, the read current, the
modulation amplitude or the device parameters change (the chip's temperature
and drift included, at the resolutions of :mod:`.thermal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

StaticFn = Callable[[np.ndarray, np.ndarray], tuple]


#: Fields closer than this (Oe) share response tables (see ``ResponseTables._key``):
#: a tenth of the gaussmeter's 0.01 Oe noise, and 3e-5 of the junctions' anisotropy
#: field, so the response it shifts is far below the chip's own noise.
FIELD_KEY_RESOLUTION_OE = 1e-3
#: Response tables kept (per kind), the least recently used dropped first: a survey
#: visits some 18 settings per device (zero field, the coil's decay back to it, the
#: reset and bias fields, each with and without read current and modulation).
TABLES_KEPT = 32


def bias_field_key(field_oe: float) -> float:
    """``field_oe`` rounded to :data:`FIELD_KEY_RESOLUTION_OE`, for keys of per-field caches."""
    return round(float(field_oe) / FIELD_KEY_RESOLUTION_OE) * FIELD_KEY_RESOLUTION_OE



def _make_room(tables: dict) -> None:
    """Drop the least recently used tables once :data:`TABLES_KEPT` are kept (dicts keep order)."""
    while len(tables) >= TABLES_KEPT:
        tables.pop(next(iter(tables)))


@dataclass(frozen=True)
class TableGrid:
    """A uniform input-current grid: ``points`` nodes over +/- ``range_a`` for
    the modulated tables, extended by ``pad`` nodes on each side for the static
    table, so a modulation up to ``pad * step_a`` stays inside it."""

    range_a: float
    points: int
    pad: int

    @classmethod
    def covering(cls, range_a: float, points: int) -> "TableGrid":
        return cls(float(range_a), int(points), max((int(points) - 1) // 8, 1))

    @property
    def step_a(self) -> float:
        return 2.0 * self.range_a / (self.points - 1)

    @property
    def max_amplitude_a(self) -> float:
        return self.pad * self.step_a

    def nodes(self, padded: bool) -> np.ndarray:
        extra = self.pad if padded else 0
        return -self.range_a + self.step_a * np.arange(-extra, self.points + extra)


class _Table:
    """Values and slopes on a grid, per device or per (branch, device)."""

    def __init__(self, start_a: float, step_a: float, values: np.ndarray, slopes: np.ndarray | None = None):
        self.start_a, self.step_a = start_a, step_a
        # Contiguous, so the flat views every lookup takes are views, never copies.
        self.values = np.ascontiguousarray(values)
        self.slopes = np.ascontiguousarray(np.gradient(values, step_a, axis=-1) if slopes is None else slopes)
        self.n_nodes = values.shape[-1]
        self.n_devices = values.shape[-2]

    def _rows(self, index: np.ndarray, branch: np.ndarray | None) -> np.ndarray:
        rows = np.asarray(index)[:, None]
        if branch is not None:  # branch +1 is the first plane, -1 the second
            rows = (branch < 0) * self.n_devices + rows
        return rows

    def locate(self, index: np.ndarray, currents: np.ndarray, branch: np.ndarray | None = None):
        """Where ``currents`` fall on the grid: flat node indices and Hermite weights.

        Tables on the same grid share a location, so it is computed once for all.
        """
        # In-place arithmetic: this is the hot path of every tabulated measurement.
        position = np.subtract(currents, self.start_a)
        position *= 1.0 / self.step_a
        np.clip(position, 0.0, self.n_nodes - 1, out=position)
        cell = position.astype(np.intp)  # truncation = floor for the clipped, non-negative positions
        np.minimum(cell, self.n_nodes - 2, out=cell)  # the last node is the end (t = 1) of the last cell
        t = position
        t -= cell
        t2 = t * t
        t3 = t2 * t
        h01 = 3.0 * t2
        h01 -= 2.0 * t3
        h00 = 1.0 - h01
        h11 = t3 - t2
        h10 = h11 - t2
        h10 += t
        h10 *= self.step_a
        h11 *= self.step_a
        weights = (h00, h10, h01, h11)
        return self._rows(index, branch) * self.n_nodes + cell, weights

    def at(self, location) -> np.ndarray:
        """Cubic Hermite interpolation at a location from :meth:`locate`."""
        base, (w0, w1, w2, w3) = location
        values, slopes = self.values.reshape(-1), self.slopes.reshape(-1)
        return w0 * values[base] + w1 * slopes[base] + w2 * values[base + 1] + w3 * slopes[base + 1]

    def hermite(self, index: np.ndarray, currents: np.ndarray, branch: np.ndarray | None = None) -> np.ndarray:
        """Cubic Hermite interpolation at ``currents`` (n, k) of devices ``index``."""
        return self.at(self.locate(index, currents, branch))

    def nearest(self, index: np.ndarray, currents: np.ndarray) -> np.ndarray:
        node = np.clip(np.rint((currents - self.start_a) / self.step_a).astype(int), 0, self.n_nodes - 1)
        return self.values.reshape(-1)[self._rows(index, None) * self.n_nodes + node]


class TableEvaluator:
    """Answers a chip's questions at one setting from its tables.

    ``end_forced(index, currents)``: the branch each point leaves the junction
    on whatever its history (+1/-1), or 0 where history decides.
    ``values(index, currents, branch)``: ``(dc_v, x_v, y_v, slope_v_per_a)`` on
    the given branches (x = y = 0 without modulation).
    ``kernel_tables()``: the same tables as flat arrays for :mod:`.kernel`.
    """

    def __init__(self, static: tuple["_Table", "_Table", "_Table"], cycle: tuple["_Table", ...] | None):
        self._voltage, self._slope, self._forced = static
        self._cycle = cycle

    def end_forced(self, index: np.ndarray, currents: np.ndarray) -> np.ndarray:
        table = self._forced if self._cycle is None else self._cycle[3]
        return table.nearest(index, currents).astype(np.int8)

    def values(self, index: np.ndarray, currents: np.ndarray, branch: np.ndarray):
        static_location = self._slope.locate(index, currents, branch)
        slope = self._slope.at(static_location)
        if self._cycle is None:
            zero = np.zeros(np.shape(currents))
            return self._voltage.at(static_location), zero, zero, slope
        cycle_location = self._cycle[0].locate(index, currents, branch)
        dc, x, y = (t.at(cycle_location) for t in self._cycle[:3])
        return dc, x, y, slope

    def kernel_tables(self) -> "KernelTables":
        static_grid, forced = self._slope, self._forced if self._cycle is None else self._cycle[3]
        flat = [(t.values.reshape(-1), t.slopes.reshape(-1)) for t in (self._voltage, self._slope)]
        if self._cycle is None:
            cycle, cycle_start, cycle_nodes = (np.empty(0),) * 6, static_grid.start_a, static_grid.n_nodes
        else:
            cycle = tuple(a for t in self._cycle[:3] for a in (t.values.reshape(-1), t.slopes.reshape(-1)))
            cycle_start, cycle_nodes = self._cycle[0].start_a, self._cycle[0].n_nodes
        return KernelTables(
            forced.values.reshape(-1), forced.start_a, forced.n_nodes,
            flat[0] + flat[1], static_grid.start_a, static_grid.n_nodes,
            cycle, cycle_start, cycle_nodes,
            static_grid.step_a, static_grid.n_devices, self._cycle is not None,
        )


@dataclass(frozen=True)
class KernelTables:
    """One setting's tables as flat arrays, for the compiled loop of :mod:`.kernel`.

    ``forced``: the branch each node forces (per device; the cycle's end branch
    with modulation). ``static``: voltage values and slopes, then slope values
    and slopes, per (branch, device) on the padded grid. ``cycle``: dc, x, y
    values and slopes on the plain grid (empty arrays without modulation). All
    grids share ``step_a``.
    """

    forced: np.ndarray
    forced_start_a: float
    forced_nodes: int
    static: tuple
    static_start_a: float
    static_nodes: int
    cycle: tuple
    cycle_start_a: float
    cycle_nodes: int
    step_a: float
    n_devices: int
    modulated: bool


class ResponseTables:
    """Lazily built response tables of one chip (see the module docstring)."""

    def __init__(self, chip: Any, grid: TableGrid) -> None:
        self.chip = chip
        self.grid = grid
        self._static: dict[tuple, tuple[_Table, _Table, _Table]] = {}
        self._cycle: dict[tuple, tuple[_Table, ...]] = {}

    def covers(self, inputs: np.ndarray, amplitude_a: float) -> bool:
        """Whether every input (and its modulation) lies inside the tables."""
        # Two reductions rather than a temporary |inputs|; NaN fails both comparisons as before.
        reach = self.grid.range_a
        return bool(np.max(inputs, initial=-np.inf) <= reach and np.min(inputs, initial=np.inf) >= -reach
                    and amplitude_a <= self.grid.max_amplitude_a)

    def ready(self, read_current_a: float, amplitude_a: float) -> bool:
        """Whether the tables for this setting exist already (no build needed)."""
        if self._key(read_current_a) not in self._static:
            return False
        return amplitude_a <= 0.0 or self._key(read_current_a, amplitude_a) in self._cycle

    def _key(self, *extra: float) -> tuple:
        chip = self.chip
        # The closed field loop returns to a field only to within float rounding of its
        # current arithmetic (20.000000012 Oe, then 20.000000011 Oe), and the coil decays
        # back to zero through the same fields every time: keyed exactly, every return
        # rebuilt the tables (0.25 s each).
        # extra[0] is the read current: the junctions' parameters depend on it (Joule heating).
        return (bias_field_key(chip.bias_field_oe), chip.bias_field_angle_deg,
                chip.parameters_key(extra[0] if extra else 0.0)) + tuple(float(e) for e in extra)

    def _static_tables(self, read_current_a: float) -> tuple[_Table, _Table, _Table]:
        """(voltage with exact slopes, slope, forced branch) on the padded grid."""
        key = self._key(read_current_a)
        if key not in self._static:
            _make_room(self._static)
            nodes = self.grid.nodes(padded=True)
            everyone = np.arange(self.chip.devices.n_devices)
            forced, voltage, slope = self.chip.static_response(
                everyone, np.broadcast_to(nodes, (everyone.size, nodes.size)), read_current_a)
            start = float(nodes[0])
            self._static[key] = (
                _Table(start, self.grid.step_a, voltage, slope),
                _Table(start, self.grid.step_a, slope),
                _Table(start, self.grid.step_a, forced.astype(float)),
            )
        self._static[key] = self._static.pop(key)  # most recently used last
        return self._static[key]

    def static(self, read_current_a: float) -> StaticFn:
        """``f(index, currents) -> (forced, voltage, slope)`` like ``chip.static_response``."""
        voltage_t, slope_t, forced_t = self._static_tables(read_current_a)

        def lookup(index: np.ndarray, currents: np.ndarray):
            both = np.array([1, -1], np.int8)[:, None, None] * np.ones((1,) + np.shape(currents), np.int8)
            return (
                forced_t.nearest(index, currents).astype(np.int8),
                np.stack([voltage_t.hermite(index, currents, b) for b in both]),
                np.stack([slope_t.hermite(index, currents, b) for b in both]),
            )

        return lookup

    def evaluator(self, read_current_a: float, amplitude_a: float) -> TableEvaluator:
        """The tables at the chip's present setting, for this read current and modulation."""
        static = self._static_tables(read_current_a)
        if amplitude_a <= 0.0:
            return TableEvaluator(static, None)
        key = self._key(read_current_a, amplitude_a)
        if key not in self._cycle:
            _make_room(self._cycle)
            nodes = self.grid.nodes(padded=False)
            everyone = np.arange(self.chip.devices.n_devices)
            dc, x, y, end = self.chip.cycle_response(
                self.static(read_current_a), everyone, np.broadcast_to(nodes, (everyone.size, nodes.size)), amplitude_a
            )
            forced = np.where(end[0] == end[1], end[0], 0).astype(float)
            start = float(nodes[0])
            self._cycle[key] = tuple(_Table(start, self.grid.step_a, a) for a in (dc, x, y)) + (
                _Table(start, self.grid.step_a, forced, np.zeros(forced.shape)),
            )
        self._cycle[key] = self._cycle.pop(key)  # most recently used last
        return TableEvaluator(static, self._cycle[key])
