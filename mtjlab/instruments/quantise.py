"""What an instrument will actually apply, given what we ask of it.

A limit checked on the requested value is not a limit: the driver formats the
number into its command (pymeasure's Keithley drivers send ``%g``, six
significant digits; the SR830's sine goes out as ``%0.3f``) and the instrument
then rounds it to its own resolution (the SR830's sine moves in 2 mV steps).
0.4999999 V becomes 0.5 V on the bus; 7.1 mV rms becomes 8 mV rms at the
output. The Bench therefore checks the value these functions return, and sends
exactly that value, so that the check and the instrument agree.
"""

from __future__ import annotations

import math

#: The number format of pymeasure's Keithley 2400/2450 and Kepco BOP level and
#: compliance commands (``:SOUR:CURR %g``, ``:SENS:VOLT:PROT %g``, ``CURR %g``).
KEITHLEY_NUMBER_FORMAT = "%g"
#: The Keithley 2400/2450 current source ranges (A); auto range picks the lowest
#: that holds the level, each reaching 105 % of its nominal value.
KEITHLEY_CURRENT_RANGES_A = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
KEITHLEY_RANGE_HEADROOM = 1.05
#: Their programming resolution, a fraction of the range (50 pA on 1 uA ... 5 uA on
#: 100 mA: a 20 mA level moves in 5 uA steps).
KEITHLEY_SOURCE_RESOLUTION = 5e-5


def keithley_current_level(level_a: float) -> float:
    """The current a Keithley 2400/2450 sources for ``level_a`` in auto range, rounded
    toward zero onto its range's resolution (sent so, the instrument keeps it as it is)."""
    range_a = next((r for r in KEITHLEY_CURRENT_RANGES_A if abs(level_a) <= r * KEITHLEY_RANGE_HEADROOM),
                   KEITHLEY_CURRENT_RANGES_A[-1])
    step = range_a * KEITHLEY_SOURCE_RESOLUTION
    on_grid_a = math.copysign(math.floor(abs(level_a) / step + 1e-9) * step, level_a)
    return toward_zero_as_sent(on_grid_a, KEITHLEY_NUMBER_FORMAT)


def as_sent(value: float, number_format: str) -> float:
    """The value the instrument receives when ``value`` is formatted with ``number_format``."""
    return float(number_format % value)


def at_most_as_sent(limit: float, number_format: str) -> float:
    """The largest value not above ``limit`` that survives ``number_format`` unchanged.

    For a compliance at the limit: ``%g`` would send 0.4999999 as 0.5; this
    gives 0.499999 instead, which the instrument receives as it is.
    """
    value = as_sent(limit, number_format)
    while value > limit:
        # step down one unit in the last digit the format keeps
        value = as_sent(math.nextafter(value, -math.inf) - _last_digit(value, number_format), number_format)
    return value


def toward_zero_as_sent(value: float, number_format: str) -> float:
    """The value nearest ``value`` that survives the format, no larger in magnitude."""
    sent = as_sent(value, number_format)
    if abs(sent) <= abs(value):
        return sent
    return math.copysign(at_most_as_sent(abs(value), number_format), value)


def _last_digit(value: float, number_format: str) -> float:
    """The size of one unit in the last digit ``number_format`` keeps of ``value``."""
    if number_format == "%g":
        exponent = math.floor(math.log10(abs(value))) if value else 0
        return 10.0 ** (exponent - 5)
    if number_format.endswith("f"):
        decimals = int(number_format.rstrip("f").split(".")[-1])
        return 10.0 ** -decimals
    if number_format.endswith("e"):
        decimals = int(number_format.rstrip("e").split(".")[-1])
        exponent = math.floor(math.log10(abs(value))) if value else 0
        return 10.0 ** (exponent - decimals)
    raise ValueError(f"no rule for the number format {number_format!r}")


def on_grid(value: float, step: float) -> float:
    """``value`` rounded to the nearest multiple of ``step`` (an instrument's resolution)."""
    if step <= 0:
        return value
    return round(round(value / step) * step, 12)
