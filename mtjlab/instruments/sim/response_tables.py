"""Per-device response tables: the chip's physics, computed once per setting.

At a fixed bias field and read current, a junction's static response depends
only on its input current and its branch. :class:`ResponseTables` evaluates the
exact physics on a uniform grid of input current for every device once, then
answers by cubic Hermite interpolation (exact slopes for the static voltage,
centred-difference slopes for the rest). The modulated (lock-in) response is
tabulated the same way per modulation amplitude. The forced branch is taken at
the nearest node, so switching fields are resolved to half the grid spacing.
Tables are rebuilt whenever the bias field, its angle, the read current, the
modulation amplitude or the device parameters change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

StaticFn = Callable[[np.ndarray, np.ndarray], tuple]


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
    """Values and slopes on a grid for each device (and optionally each branch)."""

    def __init__(self, start_a: float, step_a: float, values: np.ndarray, slopes: np.ndarray | None = None):
        self.start_a, self.step_a = start_a, step_a
        self.values = values
        self.slopes = np.gradient(values, step_a, axis=-1) if slopes is None else slopes

    def _locate(self, currents: np.ndarray):
        position = (currents - self.start_a) / self.step_a
        cell = np.clip(np.floor(position).astype(int), 0, self.values.shape[-1] - 2)
        return cell, position - cell

    def hermite(self, index: np.ndarray, currents: np.ndarray) -> np.ndarray:
        """Cubic Hermite interpolation; leading axes of the table are kept."""
        cell, t = self._locate(currents)
        flat_values = self.values.reshape(self.values.shape[:-2] + (-1,))
        flat_slopes = self.slopes.reshape(flat_values.shape)
        n_nodes = self.values.shape[-1]
        base = (np.asarray(index)[:, None] * n_nodes + cell)
        y0, y1 = flat_values[..., base], flat_values[..., base + 1]
        m0, m1 = flat_slopes[..., base] * self.step_a, flat_slopes[..., base + 1] * self.step_a
        t2, t3 = t * t, t * t * t
        return (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * m0 + (3 * t2 - 2 * t3) * y1 + (t3 - t2) * m1

    def nearest(self, index: np.ndarray, currents: np.ndarray) -> np.ndarray:
        node = np.clip(np.rint((currents - self.start_a) / self.step_a).astype(int), 0, self.values.shape[-1] - 1)
        flat = self.values.reshape(self.values.shape[:-2] + (-1,))
        return flat[..., np.asarray(index)[:, None] * self.values.shape[-1] + node]


class ResponseTables:
    """Lazily built response tables of one chip (see the module docstring)."""

    def __init__(self, chip: Any, grid: TableGrid) -> None:
        self.chip = chip
        self.grid = grid
        self._static: dict[tuple, tuple[_Table, _Table, _Table]] = {}
        self._cycle: dict[tuple, tuple[_Table, ...]] = {}

    def covers(self, inputs: np.ndarray, amplitude_a: float) -> bool:
        """Whether every input (and its modulation) lies inside the tables."""
        return bool(np.max(np.abs(inputs), initial=0.0) <= self.grid.range_a and amplitude_a <= self.grid.max_amplitude_a)

    def _key(self, *extra: float) -> tuple:
        chip = self.chip
        return (chip.bias_field_oe, chip.bias_field_angle_deg, id(chip.devices)) + tuple(float(e) for e in extra)

    def static(self, read_current_a: float) -> StaticFn:
        """``f(index, currents) -> (forced, voltage, slope)`` like ``chip.static_response``."""
        key = self._key(read_current_a)
        if key not in self._static:
            if len(self._static) > 8:
                self._static.clear()
            nodes = self.grid.nodes(padded=True)
            everyone = np.arange(self.chip.devices.n_devices)
            forced, voltage, slope = self.chip.static_response(everyone, np.broadcast_to(nodes, (everyone.size, nodes.size)), read_current_a)
            start = float(nodes[0])
            self._static[key] = (
                _Table(start, self.grid.step_a, forced.astype(float)),
                _Table(start, self.grid.step_a, voltage, slope),
                _Table(start, self.grid.step_a, slope),
            )
        forced_t, voltage_t, slope_t = self._static[key]

        def lookup(index: np.ndarray, currents: np.ndarray):
            return (
                forced_t.nearest(index, currents).astype(np.int8),
                voltage_t.hermite(index, currents),
                slope_t.hermite(index, currents),
            )

        return lookup

    def cycle(self, read_current_a: float, amplitude_a: float):
        """``f(index, currents) -> (dc, x, y, end_branch)`` like ``chip.cycle_response``."""
        key = self._key(read_current_a, amplitude_a)
        if key not in self._cycle:
            if len(self._cycle) > 8:
                self._cycle.clear()
            nodes = self.grid.nodes(padded=False)
            everyone = np.arange(self.chip.devices.n_devices)
            dc, x, y, end = self.chip.cycle_response(
                self.static(read_current_a), everyone, np.broadcast_to(nodes, (everyone.size, nodes.size)), amplitude_a
            )
            start = float(nodes[0])
            self._cycle[key] = tuple(_Table(start, self.grid.step_a, a) for a in (dc, x, y)) + (
                _Table(start, self.grid.step_a, end.astype(float), np.zeros(end.shape)),
            )
        dc_t, x_t, y_t, end_t = self._cycle[key]

        def lookup(index: np.ndarray, currents: np.ndarray):
            return (
                dc_t.hermite(index, currents),
                x_t.hermite(index, currents),
                y_t.hermite(index, currents),
                end_t.nearest(index, currents).astype(np.int8),
            )

        return lookup
