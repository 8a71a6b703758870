"""Emulated field hardware: the coil's bipolar supply and the gaussmeter.

- :class:`KepcoBOPEmulator` (:mod:`.field_kepco`): a Kepco BOP 36-6M with the
  BIT 4886 interface, answering what pymeasure's ``KepcoBOP3612`` sends.
- :class:`LakeShore425Emulator` (:mod:`.field_lakeshore`): a Lake Shore 425
  gaussmeter answering what pymeasure's ``LakeShore425`` sends.

Each lives in its own module with the manual sections it follows; this module
keeps the names importable from one place.
"""

from __future__ import annotations

from .field_kepco import (
    BOP_CURRENT_RESOLUTION_EXP,
    BOP_MAX_CURRENT_A,
    BOP_MAX_VOLTAGE_V,
    BOP_VOLTAGE_RESOLUTION_EXP,
    KepcoBOPEmulator,
    kepco_number,
)
from .field_lakeshore import (
    LS425_COUNTS,
    LS425_RANGES_G,
    LS425_UNITS,
    PROBE_NOISE_OE,
    LakeShore425Emulator,
    lakeshore_number,
)

__all__ = [
    "BOP_CURRENT_RESOLUTION_EXP",
    "BOP_MAX_CURRENT_A",
    "BOP_MAX_VOLTAGE_V",
    "BOP_VOLTAGE_RESOLUTION_EXP",
    "KepcoBOPEmulator",
    "kepco_number",
    "LS425_COUNTS",
    "LS425_RANGES_G",
    "LS425_UNITS",
    "PROBE_NOISE_OE",
    "LakeShore425Emulator",
    "lakeshore_number",
]
