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


#: The source delay a 2400 has after *RST (s): the read source waits it before each stepped reading.
RESET_SOURCE_DELAY_S = 1e-3
#: Bus transactions of a lock-in reading: SNAP? written and its reply read, and on an SR830 its
#: status byte (LIAS?) for overloads likewise; pymeasure gives the SR860 none.
LOCKIN_READ_TRANSACTIONS = {"SR830": 4, "SR860": 2}


#: 2400 manual, Appendix A, "Source-delay-measure cycle timing", Case I (auto-zero on, one
#: function, sourcing current): each A/D conversion takes NPLC / f plus this (s) ...
A_D_CONVERSION_OVERHEAD_S = 185e-6
#: ... and the firmware this, per measure action (s).
FIRMWARE_OVERHEAD_AUTO_ZERO_S = 2.15e-3


@dataclass(frozen=True)
class MeasurementTiming:
    """The timing of a neuron measurement with the bench's default settings.

    Per device: the sources are read back at zero (``relay_check_s``) and the
    switch routes it (``relay_settle_s``). Per input point: the
    lock-in settles after the step (``lockin_settle_s`` when a lock-in plan
    set the wait, else 99 % of a step), then the source-meter integrates one
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
    #: The wait after each step (s): a lock-in plan's (noise_budget eq. L4); None: the time
    #: constants a step takes to settle to 99 % (:func:`lockin_settle_time_s`).
    lockin_settle_s: float | None = None
    relay_settle_s: float = 0.005
    #: Before relays move, the Bench reads both sources' level and output state
    #: back (four queries of two bus transactions, 1 ms each), s.
    #: Before and around a relay move, on the simulated bus (1 ms a transaction): both sources'
    #: levels and output states read back (4), the sine to its minimum and back (2), the
    #: switch's open-all and close (6 ms each, the 707B's operate time) and its error check (1),
    #: the read current's level read and step written, down and up (4), s.
    relay_check_s: float = 0.024
    #: Time of the readings of one point beyond its measure action and settling: the 2400's
    #: reading (function set-up 2 transactions, :READ? written and its reply read 2, its source
    #: delay after *RST (:data:`RESET_SOURCE_DELAY_S`), trigger latency 0.1 ms, source
    #: configuration 0.05 ms, transfer 0.1 ms) and the lock-in's (:data:`LOCKIN_READ_TRANSACTIONS`:
    #: an SR830's 4), s. The measure action itself: :meth:`measure_action_s`.
    reading_overhead_s: float = 0.00925
    #: The part of it a DC-only point takes (the 2400's reading alone), s.
    dc_reading_overhead_s: float = 0.00525
    source_ramp_a_per_s: float | None = None
    read_current_a: float = 0.0
    #: Ramp rate of the input line (A/s); None: as ``source_ramp_a_per_s``.
    input_ramp_a_per_s: float | None = None
    #: The input's ramps move in steps of at most this (A), each one bus write of
    #: ``bus_write_s`` besides its wait (the Bench's INPUT_RAMP_STEP_A; one transaction).
    input_ramp_step_a: float = 5e-3
    bus_write_s: float = 0.001
    #: Before a ramp the source's level is read back: a query, written and read (two transactions).
    LEVEL_QUERY_TRANSACTIONS = 2

    @property
    def measure_action_s(self) -> float:
        """One 2400 measure action with auto-zero on, sourcing current (s): three A/D conversions of
        NPLC / f + 185 us and 2.15 ms of firmware overhead (2400 manual, Appendix A, Case I)."""
        return 3 * (integration_time_s(self.nplc, self.line_frequency_hz) + A_D_CONVERSION_OVERHEAD_S) \
            + FIRMWARE_OVERHEAD_AUTO_ZERO_S

    @property
    def settle_s(self) -> float:
        """The wait after each step before the lock-in is read (s)."""
        if self.lockin_settle_s is not None:
            return self.lockin_settle_s
        return lockin_settle_time_s(self.lockin_time_constant_s, self.lockin_slope_db_per_oct)

    @property
    def point_time_s(self) -> float:
        """Lab time of one input point (s)."""
        return self.settle_s + self.measure_action_s + self.reading_overhead_s

    @property
    def dc_point_time_s(self) -> float:
        """Lab time of one input point read by the source-meter only (no lock-in) (s)."""
        return self.measure_action_s + self.dc_reading_overhead_s

    def measurement_time_s(self, n_devices: int, n_points_total: int, ramp_time_s: float = 0.0,
                           lockin: bool = True) -> float:
        """Lab time of measuring ``n_points_total`` points spread over ``n_devices`` devices (s),
        plus ``ramp_time_s`` of ramps (:meth:`ramp_time_s`)."""
        per_point_s = self.point_time_s if lockin else self.dc_point_time_s
        return n_devices * (self.relay_settle_s + self.relay_check_s) + n_points_total * per_point_s + ramp_time_s

    def ramp_time_s(self, inputs_a) -> float:
        """How long a Bench ramps its sources to measure each row of ``inputs_a`` on its own device (s).

        Each device: the read current down and up around the relays (at
        ``source_ramp_a_per_s``), then the input from zero to the nearer end of
        its sorted inputs, across them, and back to zero before the next route
        (at ``input_ramp_a_per_s``, in whole steps of ``input_ramp_step_a``, each
        a bus write). Zero when no rate is set.
        """
        if not self.source_ramp_a_per_s:
            return 0.0
        total = 0.0
        for row in inputs_a:
            levels = sorted(float(v) for v in row)
            if abs(levels[-1]) < abs(levels[0]):
                levels.reverse()  # from the end nearer zero
            total += self.read_current_ramps_s
            for start, stop in zip([0.0, *levels], [*levels, 0.0]):
                total += self.input_ramp_s(start, stop)
        return total

    @property
    def read_current_ramps_s(self) -> float:
        """The read current's ramps down and up around a relay move (s; zero when no rate is set)."""
        if not self.source_ramp_a_per_s:
            return 0.0
        return 2 * abs(self.read_current_a) / self.source_ramp_a_per_s

    def input_ramp_s(self, start_a: float, stop_a: float) -> float:
        """One ramp of the input from ``start_a`` to ``stop_a`` (A) as a Bench makes it (s): the level
        read first, then whole steps of ``input_ramp_step_a``, each a write, at the input rate."""
        if not self.source_ramp_a_per_s:
            return 0.0
        distance = abs(stop_a - start_a)
        steps = math.ceil(distance / self.input_ramp_step_a - 1e-9)
        rate = self.input_ramp_a_per_s or self.source_ramp_a_per_s
        return distance / rate + (self.LEVEL_QUERY_TRANSACTIONS + steps) * self.bus_write_s


class WallClock:
    """Lab time on real hardware: the monotonic wall clock (implements ``Clock``)."""

    def now_s(self) -> float:
        import time

        return time.monotonic()

    def sleep(self, duration_s: float) -> None:
        import time

        if duration_s > 0:
            time.sleep(duration_s)
