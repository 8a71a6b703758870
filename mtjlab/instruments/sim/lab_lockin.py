"""The lock-in's view of the virtual lab: its n-pole output filter over the timeline of changes.

The lock-in output is the exact response of its filter (n = slope / 6 dB/oct) to the
piecewise-constant first harmonic of the timeline (docs/bench.md, "The simulated lab");
changes the filter has fully forgotten fold into a settled base value.
"""

from __future__ import annotations

import math
from typing import Any

from ..timing import step_response_remaining
from . import transport

SQRT2 = math.sqrt(2.0)


class LockinFilterView:
    """Mixin of :class:`.lab.VirtualLab`: what the lock-in shows (its state, and ``_evaluate`` and
    ``_resistance_ohm``, live in the lab)."""

    clock: Any
    chip: Any
    lockin: Any
    _timeline: list
    _lockin_base: tuple[float, float]

    def _forget_settled(self) -> None:
        """Fold the changes the lock-in's filter has fully forgotten into its settled base value, so the
        timeline holds only what still shows (a run's history would otherwise grow with every step)."""
        now_s = self.clock.now_s()
        timeline = self._timeline
        forget = 0
        while forget + 1 < len(timeline) and self._step_response(now_s - timeline[forget + 1].time_s) == 1.0:
            forget += 1
        if forget:
            del timeline[:forget]
            self._lockin_base = (timeline[0].x_v / SQRT2, timeline[0].y_v / SQRT2)

    def _step_response(self, elapsed_s: float) -> float:
        return 1.0 - step_response_remaining(elapsed_s / self.lockin.time_constant_s, self.lockin.slope_db_per_oct)

    def lockin_xy_v_rms(self, noise: bool = True) -> tuple[float, float]:
        """X and Y (V rms) the lock-in shows now: its filter's response to the history."""
        self._evaluate()
        now_s = self.clock.now_s()
        x_v, y_v = self._lockin_base
        before = self._lockin_base
        for change in self._timeline:
            target = (change.x_v / SQRT2, change.y_v / SQRT2)
            weight = self._step_response(now_s - change.time_s)
            x_v += (target[0] - before[0]) * weight
            y_v += (target[1] - before[1]) * weight
            before = target
        if noise and self._timeline[-1].conditions.read_a:
            env = self.chip.environment
            std_peak = transport.lockin_noise_std_v(
                self._timeline[-1].dc_v, self._resistance_ohm(), env.temperature_k, env.flicker_noise_hooge,
                self.lockin.frequency_hz, self.lockin.time_constant_s, self.lockin.slope_db_per_oct)
            x_v += float(std_peak) / SQRT2 * self.chip.rng.standard_normal()
            y_v += float(std_peak) / SQRT2 * self.chip.rng.standard_normal()
        return x_v, y_v
