"""The device interfaces over real pymeasure drivers.

Each adapter implements a protocol of :mod:`mtjlab.instruments.interfaces`
and talks to its instrument only through the driver's properties and methods
(no command strings here). :data:`DRIVER_CLASSES` names the driver class to
instantiate for each instrument model of a bench file.
"""

from __future__ import annotations

from pymeasure.instruments.kepco import KepcoBOP3612
from pymeasure.instruments.keithley import Keithley2450
from pymeasure.instruments.lakeshore import LakeShore425
from pymeasure.instruments.srs import SR860

from ..drivers.keithley707b import Keithley707B
from ..drivers.keithley2400_list import Keithley2400
from ..drivers.sr830_buffer import SR830
from .field import ClosedLoopField
from .lockin import SRSLockIn
from .source_meter import KeithleySourceMeter
from .switch import MatrixSwitch

#: Bench-file model name -> the driver class to instantiate with an adapter
#: (a VISA connection or an emulator).
DRIVER_CLASSES: dict[str, type] = {
    "Keithley2400": Keithley2400,
    "Keithley2450": Keithley2450,
    "SR830": SR830,
    "SR860": SR860,
    "KepcoBOP": KepcoBOP3612,
    "LakeShore425": LakeShore425,
    "Keithley707B": Keithley707B,
}

__all__ = ["DRIVER_CLASSES", "ClosedLoopField", "KeithleySourceMeter", "MatrixSwitch", "SRSLockIn"]
