"""How long measurements take on a bench: settling and integration times.

Shared by the simulated NeuronArray (to report the lab time a measurement would
take) and by the bench (to wait the right time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Equivalent noise bandwidth of a lock-in low-pass filter, times its time
#: constant, by roll-off slope in dB/octave: n identical RC poles give
#: ENBW * tau = C(2n-2, n-1) / 4^n (SR830 manual, "Noise measurements").
ENBW_TIMES_TAU = {6: 1.0 / 4.0, 12: 1.0 / 8.0, 18: 3.0 / 32.0, 24: 5.0 / 64.0}


def step_response_remaining(elapsed_tau: float, slope_db_per_oct: int) -> float:
    """What an n-pole low-pass still lacks of a step ``elapsed_tau`` time constants after it:
    ``1 - S(x) = exp(-x) sum_{k<n} x^k / k!`` (n = slope / 6 dB/oct)."""
    poles = int(slope_db_per_oct) // 6
    x = max(float(elapsed_tau), 0.0)
    return math.exp(-x) * sum(x**k / math.factorial(k) for k in range(poles))


#: Time constants to wait after a step for a lock-in output to settle to 99 %,
#: by filter slope in dB/octave (SR830 manual, "Time constants").
SETTLE_TIME_CONSTANTS = {6: 5.0, 12: 7.0, 18: 9.0, 24: 10.0}


def lockin_settle_time_s(time_constant_s: float, slope_db_per_oct: int) -> float:
    """Wait after an input step before reading the lock-in (s)."""
    return SETTLE_TIME_CONSTANTS[int(slope_db_per_oct)] * time_constant_s


def integration_time_s(nplc: float, line_frequency_hz: float) -> float:
    """A source-meter reading integrates over ``nplc`` power-line cycles (s)."""
    return nplc / line_frequency_hz


@dataclass(frozen=True)
class MeasurementTiming:
    """The timing of a neuron measurement with the bench's default settings.

    Per device: the sources are read back at zero (``relay_check_s``) and the
    switch routes it (``relay_settle_s``). Per input point: the
    lock-in settles after the step, then the source-meter integrates one
    reading and the lock-in is read (``reading_overhead_s`` for the bus
    round trips of the two reads). With ``source_ramp_a_per_s`` set, the
    ramps a Bench makes are counted too (:meth:`ramp_distance_a`): the read
    current down and up around each relay move, and the input current along
    each device's sorted inputs and back to zero before the next route.
    """

    nplc: float = 1.0
    line_frequency_hz: float = 50.0
    lockin_time_constant_s: float = 0.03
    lockin_slope_db_per_oct: int = 24
    relay_settle_s: float = 0.005
    #: Before relays move, the Bench reads both sources' level and output state
    #: back (four queries of two bus transactions, 1 ms each), s.
    relay_check_s: float = 0.008
    reading_overhead_s: float = 0.004
    source_ramp_a_per_s: float | None = None
    read_current_a: float = 0.0

    @property
    def point_time_s(self) -> float:
        """Lab time of one input point (s)."""
        return (
            lockin_settle_time_s(self.lockin_time_constant_s, self.lockin_slope_db_per_oct)
            + integration_time_s(self.nplc, self.line_frequency_hz)
            + self.reading_overhead_s
        )

    @property
    def dc_point_time_s(self) -> float:
        """Lab time of one input point read by the source-meter only (no lock-in) (s)."""
        return integration_time_s(self.nplc, self.line_frequency_hz) + self.reading_overhead_s / 2

    def measurement_time_s(self, n_devices: int, n_points_total: int, ramp_distance_a: float = 0.0,
                           lockin: bool = True) -> float:
        """Lab time of measuring ``n_points_total`` points spread over ``n_devices`` devices (s).

        ``ramp_distance_a`` is the total distance the sources ramp (A), charged
        at ``source_ramp_a_per_s`` when that is set.
        """
        ramps_s = ramp_distance_a / self.source_ramp_a_per_s if self.source_ramp_a_per_s else 0.0
        per_point_s = self.point_time_s if lockin else self.dc_point_time_s
        return n_devices * (self.relay_settle_s + self.relay_check_s) + n_points_total * per_point_s + ramps_s

    def ramp_distance_a(self, inputs_a) -> float:
        """How far a Bench ramps its sources to measure each row of ``inputs_a`` on its own device (A).

        Each device: read current down and up around the relays, then the input
        from zero to the nearer end of its sorted inputs, across them, and back
        to zero before the next route.
        """
        total = 0.0
        for row in inputs_a:
            low, high = float(min(row)), float(max(row))
            nearer, farther = (low, high) if abs(low) <= abs(high) else (high, low)
            total += 2 * abs(self.read_current_a) + abs(nearer) + (high - low) + abs(farther)
        return total


class WallClock:
    """Lab time on real hardware: the monotonic wall clock (implements ``Clock``)."""

    def now_s(self) -> float:
        import time

        return time.monotonic()

    def sleep(self, duration_s: float) -> None:
        import time

        if duration_s > 0:
            time.sleep(duration_s)
