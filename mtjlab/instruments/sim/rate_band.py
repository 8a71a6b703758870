"""A rate limit on a quantity that moves by discrete jumps, checked in O(1) per change
(used by :mod:`.safety_monitor` for every ramp of the bench)."""

from __future__ import annotations

#: Relative tolerance of every comparison with a limit: float rounding only
#: (a value formatted or quantised upward beyond a limit is a violation).
REL_TOL = 1e-9


class RateBand:
    """A rate limit on a quantity that moves by discrete jumps (a ramp's steps).

    The quantity may not move away from any value it held earlier by more than
    the rate allows over the time since, plus one step's ``allowance``:

        |x(t) - x(s)| <= rate * (t - s) + allowance    for every s <= t

    It is kept in O(1): ``x`` is constant between changes, so the worst earlier
    moment for a rise is the end of some held value, and the running extremes

        floor = min_s (x(s) - rate s),   ceiling = max_s (x(s) + rate s)

    give ``rise = (x - rate t) - floor`` and ``fall = ceiling - (x + rate t)``;
    a change breaks the rate when ``max(rise, fall) > allowance``.

    A ramp of steps ``d <= rate * dt``, each followed by a wait ``d / rate``,
    stays exactly one step (``d``) above the line of slope ``rate`` through its
    start, so it passes with ``allowance - d`` to spare; a jump of more than the
    allowance, two steps without the wait between them, or steps that keep
    coming faster than the rate (they drift above the line) fail. Unlike a
    token bucket counting ``|delta|``, a step back right after a step (a ramp
    reversed by an interruption) leaves the quantity within one step of where
    it was, and passes. After a violation the history restarts at the new
    value, so one jump is reported once.
    """

    __slots__ = ("rate_per_s", "allowance", "value", "floor", "ceiling", "worst_use")

    def __init__(self, rate_per_s: float, allowance: float, value: float = 0.0, time_s: float = 0.0) -> None:
        self.rate_per_s = float(rate_per_s)
        self.allowance = float(allowance)
        self.value = float(value)
        self._restart(float(time_s))
        #: Largest ``max(rise, fall) / allowance`` so far (1 is the edge of a violation).
        self.worst_use = 0.0

    def _restart(self, time_s: float) -> None:
        self.floor = self.value - self.rate_per_s * time_s
        self.ceiling = self.value + self.rate_per_s * time_s

    def move(self, value: float, time_s: float) -> float | None:
        """Move the quantity to ``value`` at lab time ``time_s`` (s); the excess over the rate if it breaks it."""
        drift = self.rate_per_s * time_s
        self.floor = min(self.floor, self.value - drift)  # the value held until now counts up to now
        self.ceiling = max(self.ceiling, self.value + drift)
        self.value = float(value)
        excess = max(self.value - drift - self.floor, self.ceiling - self.value - drift)
        self.worst_use = max(self.worst_use, excess / self.allowance)
        if excess > self.allowance * (1.0 + REL_TOL):
            self._restart(time_s)
            return excess
        return None


__all__ = ["REL_TOL", "RateBand"]
