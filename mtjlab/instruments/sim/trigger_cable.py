"""The bench's trigger cable, and what happens when instruments on it overlap in time.

The source-meters' Trigger Link (lines 1-6) and the lock-in's rear TRIG IN share
one cable. An emulator that outputs a trigger pulses a line; every emulator
listening hears it at that instant of the lab clock, in the order they
connected, and does what its own trigger model says before the pulse returns.

Real instruments on the cable run **at the same time**: after a source-meter
pulses a line it goes on with its own actions while the listeners do theirs.
The emulators run one after the other on the one lab clock, so the pulsing
emulator takes the listeners' time back as *overlap credit*: its own next
actions, up to that long, were done while the listeners worked and cost no
further lab time (:class:`~.emulators.trigger_link.TriggerLinkTimeline`).

That is also where a badly synchronised program goes wrong on a real bench: if
the pulsing source changes its level while a listener is still integrating
the previous point (it did not wait for the listener's "done" pulse), the
listener's reading spans the step. Instruments register their integration
windows here (:meth:`TriggerCable.measuring`); a source that steps inside one
(:meth:`TriggerCable.stepped`) disturbs that reading: it becomes the
time-weighted mean of the two levels, as an integrating A/D converter gives.
:attr:`TriggerCable.disturbed` counts them, and a warning says so once. (What
follows such a fault is not emulated faithfully: the pulses the source sends
meanwhile reach the listener when it is idle in lab time, where a real one
would latch one and miss the rest. The count and the warning are the point:
a program that disturbs readings here is wrong on the bench.)
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)

#: How many of the latest integration windows are kept (a step can only land in the last few).
WINDOWS_KEPT = 64


@dataclass
class IntegrationWindow:
    """An instrument integrating over [start_s, end_s]; ``disturb(fraction_after)`` mixes in a step."""

    start_s: float
    end_s: float
    disturb: Callable[[float], None]


class TriggerCable:
    """Connects the instruments' trigger inputs and outputs (see the module docstring)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._listeners: list[Callable[[int], None]] = []
        # the latest windows only: a step lands, at the earliest, an overlap credit (one listener's
        # action) before now, and so inside one of the last few
        self._windows: deque[IntegrationWindow] = deque(maxlen=WINDOWS_KEPT)
        #: Readings a source step landed inside (each one is a wrong value on a real bench).
        self.disturbed = 0

    def connect(self, listener: Callable[[int], None]) -> None:
        """``listener(line)`` is called at every pulse on the cable (any line)."""
        self._listeners.append(listener)

    def pulse(self, line: int) -> None:
        """An output trigger on ``line`` now: every listener reacts before this returns."""
        for listener in list(self._listeners):
            listener(int(line))

    def measuring(self, start_s: float, end_s: float, disturb: Callable[[float], None]) -> None:
        """An instrument integrated (or integrates) over [start_s, end_s] (s, lab clock)."""
        self._windows.append(IntegrationWindow(float(start_s), float(end_s), disturb))

    def stepped(self, at_s: float) -> None:
        """A source changed its level at ``at_s`` (s, at or before now; the change is already made).

        Every window that spans ``at_s`` gets the step mixed into its reading.
        """
        for window in self._windows:
            if window.start_s < at_s < window.end_s:
                fraction_after = (window.end_s - at_s) / (window.end_s - window.start_s)
                window.disturb(fraction_after)
                if not self.disturbed:
                    log.warning("a source stepped while an instrument was still integrating the previous point "
                                "(Trigger Link without a handshake): that reading spans the step")
                self.disturbed += 1


__all__ = ["IntegrationWindow", "TriggerCable", "WINDOWS_KEPT"]
