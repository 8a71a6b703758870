"""Keithley 2400 with its source list: pymeasure's driver plus the list-sweep commands it lacks.

pymeasure's ``Keithley2400`` drives the trigger model (arm and trigger
layers, Trigger Link lines, delays) and the reading buffer, but not the source
list. The list is what lets the instrument step through a sorted batch of
levels on its own, one per trigger-model cycle, with no bus exchange per
point (Keithley 2400 SourceMeter User's Manual, 2400S-900-01 Rev. K:
section 10, "Sweep operation": ``:SOURce:CURRent:MODE LIST`` and
``:SOURce:LIST:CURRent``; section 18, "SOURce subsystem"). A list holds at most
:data:`MAX_LIST_POINTS` values.

Added here, in pymeasure's style:

- :attr:`Keithley2400.source_current_mode`: ``fixed``, ``list`` or ``sweep``;
- :meth:`Keithley2400.set_current_list` and :attr:`Keithley2400.current_list_points`;
- :attr:`Keithley2400.buffer_points_stored`: readings in the data store now
  (``:TRACe:POINts:ACTual?``, section 18, "TRACe subsystem");
- :attr:`Keithley2400.trigger_input_event`: which action waits for an input
  trigger (``:TRIGger:INPut``, section 11, "Trigger model");
- :attr:`Keithley2400.trigger_direction`: whether the trigger layer's event
  detector is bypassed on the first pass (``:TRIGger:DIRection``, section 11,
  "Event detector bypass").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400 as _PymeasureKeithley2400
from pymeasure.instruments.validators import strict_discrete_set

#: Most values one source list holds (2400 manual, section 18, ":SOURce:LIST:CURRent").
MAX_LIST_POINTS = 100
#: How list values are written: the driver's own ``source_current`` format (%g), so a
#: level checked "as sent" by the Bench is the level the list holds.
LIST_NUMBER_FORMAT = "%g"


class Keithley2400(_PymeasureKeithley2400):
    """pymeasure's Keithley 2400 with the source list (see the module docstring)."""

    source_current_mode = Instrument.control(
        ":SOURce:CURRent:MODE?",
        ":SOURce:CURRent:MODE %s",
        """Control how the current source level is set (str, strictly 'fixed', 'list' or 'sweep'):
        a fixed level, the source list, or a staircase sweep.""",
        validator=strict_discrete_set,
        values={"fixed": "FIX", "list": "LIST", "sweep": "SWE"},
        map_values=True,
    )

    current_list_points = Instrument.measurement(
        ":SOURce:LIST:CURRent:POINts?",
        """Get the number of values in the current source list (int).""",
        cast=int,
    )

    buffer_points_stored = Instrument.measurement(
        ":TRACe:POINts:ACTual?",
        """Get the number of readings the data store holds now (int).""",
        cast=int,
    )

    trigger_input_event = Instrument.control(
        ":TRIGger:INPut?",
        ":TRIGger:INPut %s",
        """Control which action of the trigger layer waits for an input trigger
        (str, strictly 'source', 'delay', 'sense' or 'none').""",
        validator=strict_discrete_set,
        values={"source": "SOUR", "delay": "DEL", "sense": "SENS", "none": "NONE"},
        map_values=True,
    )

    trigger_direction = Instrument.control(
        ":TRIGger:DIRection?",
        ":TRIGger:DIRection %s",
        """Control the trigger layer's event detector bypass (str, strictly 'acceptor' or 'source'):
        'source' lets the first pass after :INIT go around the detector, 'acceptor' waits every time.""",
        validator=strict_discrete_set,
        values={"acceptor": "ACC", "source": "SOUR"},
        map_values=True,
    )

    def set_current_list(self, levels: Sequence[float]) -> None:
        """Write the current source list (A): 1 to MAX_LIST_POINTS finite values."""
        values = [float(v) for v in levels]
        if not 1 <= len(values) <= MAX_LIST_POINTS:
            raise ValueError(f"a source list holds 1 to {MAX_LIST_POINTS} values, not {len(values)}")
        if not all(math.isfinite(v) and abs(v) <= 1.05 for v in values):
            raise ValueError("source list values must be finite currents within +/-1.05 A")
        self.write(":SOURce:LIST:CURRent " + ",".join(LIST_NUMBER_FORMAT % v for v in values))

    def current_list(self) -> list[float]:
        """The current source list as the instrument holds it (A)."""
        return [float(v) for v in self.values(":SOURce:LIST:CURRent?")]
