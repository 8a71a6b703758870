"""Emulated Stanford Research lock-in amplifiers: SR830 and SR860.

They answer what pymeasure's ``SR830`` and ``SR860`` drivers send, and what the
application sends for hardware-timed acquisition, as the manuals describe it:

- :mod:`.lockin_base`: what both share (status bytes, settings, readings);
- :mod:`.lockin_sr830`: the SR830, with its data buffer (:mod:`.lockin_buffer`)
  and front-end overloads (:mod:`.lockin_overload`);
- :mod:`.lockin_sr860`: the SR860, with its capture buffer (:mod:`.lockin_capture`).

Both listen on the lab's trigger cable (line 1 is wired to their rear TRIG IN).
"""

from __future__ import annotations

from .lockin_base import (
    ESR_COMMAND_ERROR, ESR_EXECUTION_ERROR, LIAS_FILTER_OVERLOAD, LIAS_INPUT_OVERLOAD, LIAS_OUTPUT_OVERLOAD,
    LIAS_STORAGE_TRIGGERED, OVERLOAD_SATURATION, SLOPES_DB_PER_OCT, SR830_SENSITIVITIES_V, SR830_TIME_CONSTANTS_S,
    SR860_SENSITIVITIES_V, SR860_TIME_CONSTANTS_S,
)
from .lockin_sr830 import SR830Emulator
from .lockin_sr860 import SR860Emulator

__all__ = [
    "ESR_COMMAND_ERROR", "ESR_EXECUTION_ERROR", "LIAS_FILTER_OVERLOAD", "LIAS_INPUT_OVERLOAD", "LIAS_OUTPUT_OVERLOAD",
    "LIAS_STORAGE_TRIGGERED", "OVERLOAD_SATURATION", "SLOPES_DB_PER_OCT", "SR830_SENSITIVITIES_V",
    "SR830_TIME_CONSTANTS_S", "SR830Emulator", "SR860_SENSITIVITIES_V", "SR860_TIME_CONSTANTS_S", "SR860Emulator",
]
