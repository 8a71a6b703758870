"""When the SR830's front end overloads (LIA status bits 0 and 1).

The SR830 manual ("Dynamic Reserve", ch. 3) defines the dynamic reserve as the
ratio of the largest signal the instrument tolerates at its input to the full
scale, in dB: with full scale S and reserve D the input amplifier and the A/D
converter handle signals up to ``S * 10**(D/20)`` before they clip. No reserve
lets the input exceed the largest full scale, 1 V rms (Specifications: full
scale sensitivity 2 nV to 1 V; at 1 V the reserve is 0 dB). The reserve mode
(``RMOD``) sets D; the manual's specifications give more than 100 dB for the
largest reserve.

The criterion emulated here:

- input overload (bit 0): the peak of what the input sees exceeds the peak of
  that range. The input sees the first harmonic of the junction voltage
  (``sqrt(2) * R``) and, when DC coupled (``ICPL 1``), its DC voltage as well;
  AC coupling blocks DC (the manual's AC coupling is a 160 mHz high-pass).
- filter (time-constant) overload (bit 1): the in-band signal R times the
  output expand exceeds ``S * 10**(D/20)``: the low-pass filters' DC gain is
  the reserve plus the expand (SR830 manual, "Time Constants", the minimum
  time constant tables), so their headroom above full scale is the reserve.

Both bits latch, like the output overload, until LIAS? reads them.
"""

from __future__ import annotations

import math

#: The input's largest range, V rms: the largest full scale (SR830 manual, Specifications).
INPUT_RANGE_V_RMS = 1.0
#: Dynamic reserve (dB) per RMOD index: 0 High Reserve, 1 Normal, 2 Low Noise.
#: High Reserve: the manual's specified maximum (>100 dB, Specifications). The
#: manual's per-sensitivity table for Normal and Low Noise is not reproduced;
#: these two are model values below the maximum, capped by the input range.
RESERVE_DB = {0: 100.0, 1: 60.0, 2: 40.0}
SQRT2 = math.sqrt(2.0)


def tolerable_input_v_rms(full_scale_v: float, reserve_mode: int) -> float:
    """The largest signal (V rms) the front end takes at this full scale and reserve mode."""
    reserve_db = RESERVE_DB.get(int(reserve_mode), RESERVE_DB[2])
    return min(INPUT_RANGE_V_RMS, full_scale_v * 10.0 ** (reserve_db / 20.0))


def input_overloaded(dc_v: float, r_v_rms: float, full_scale_v: float, reserve_mode: int, dc_coupled: bool) -> bool:
    """Whether the input's peak (DC if DC coupled, plus the harmonic's peak) clips."""
    peak_v = (abs(dc_v) if dc_coupled else 0.0) + SQRT2 * abs(r_v_rms)
    return peak_v > SQRT2 * tolerable_input_v_rms(full_scale_v, reserve_mode)


def filter_overloaded(r_v_rms: float, full_scale_v: float, reserve_mode: int, expand: float = 1.0) -> bool:
    """Whether the in-band signal (times the expand) exceeds the filters' headroom."""
    reserve_db = RESERVE_DB.get(int(reserve_mode), RESERVE_DB[2])
    return abs(r_v_rms) * expand > full_scale_v * 10.0 ** (reserve_db / 20.0)
