"""A 2400's own timeline on the Trigger Link: latched input triggers and overlap with the listeners.

Two facts of the 2400 manual (section 11, "Trigger model" and "Trigger Link";
section 18, ``:TRIGger:CLEar`` and ``:TRIGger:DIRection``) that a handshake
between two instruments depends on:

- an input trigger that arrives while the 2400 is busy with an action is not
  lost: it is *pending* at the detector until the model gets there
  (``:TRIGger:CLEar`` clears it); in idle, the model is not running and a
  pulse goes unseen;
- with ``:TRIGger:DIRection SOURce`` the trigger layer's event detector is
  bypassed on the first pass after :INIT (``ACCeptor``, the *RST value, waits
  every time).

And one of emulation (:mod:`..trigger_cable`): after this instrument pulses a
line, the listeners' actions run inside the pulse and move the lab clock; on
the bench they run alongside this instrument's own next actions. The time they
took is kept as overlap credit, spent by this instrument's own waits
(:meth:`TriggerLinkTimeline.sleep_own`) until it is gone or the instrument
waits for a pulse. A source change made while credit is left happened, on the
bench, that long ago: :meth:`TriggerLinkTimeline.source_changed` tells the
cable when, so a listener still integrating sees the step.
"""

from __future__ import annotations

from typing import Any


class TriggerLinkTimeline:
    """Mixin of the 2400 emulator: pending input triggers and overlap credit (see the module docstring)."""

    clock: Any
    lab: Any

    def _init_timeline(self) -> None:
        self._pending: dict[int, float] = {}  # Trigger Link line -> when its pulse came
        self._credit_s = 0.0

    def own_now_s(self) -> float:
        """Where this instrument is on its own timeline (s): the lab clock less the overlap credit."""
        return self.clock.now_s() - self._credit_s

    def sleep_own(self, duration_s: float) -> None:
        """An action of this instrument that lasts ``duration_s``: overlap credit first, then lab time."""
        spent = min(self._credit_s, max(duration_s, 0.0))
        self._credit_s -= spent
        self.clock.sleep(duration_s - spent)

    def pulse_out(self, line: int) -> None:
        """Pulse ``line``; the listeners' time becomes overlap credit."""
        pulse = getattr(self.lab, "pulse_trigger_line", None)
        if pulse is None:
            return
        started = self.clock.now_s()
        pulse(line)
        self._credit_s += self.clock.now_s() - started

    def latch(self, line: int) -> None:
        """A pulse on ``line`` while busy: pending until the model reaches its detector."""
        self._pending[int(line)] = self.clock.now_s()

    def clear_pending(self) -> None:
        """``:TRIGger:CLEar``; also what going idle or :INIT does to the timeline."""
        self._pending.clear()

    def take_pending(self, line: int) -> bool:
        """At a detector for ``line``: True (and the timeline moves on to the pulse) if one is pending."""
        came_s = self._pending.pop(int(line), None)
        if came_s is None:
            return False
        now = self.clock.now_s()
        self._credit_s = max(0.0, now - max(self.own_now_s(), came_s))
        return True

    def joined(self) -> None:
        """The instrument waited for a pulse that came now: its timeline is the lab clock's again."""
        self._credit_s = 0.0

    def source_changed(self) -> None:
        """Call after a source change made inside the model: tell the cable when it really happened."""
        cable = getattr(self.lab, "cable", None)
        if cable is not None and self._credit_s > 0:
            cable.stepped(self.own_now_s())

    def integrated(self, start_s: float, end_s: float, disturb) -> None:
        """Register a measure action's window on the cable (for steps that land inside it)."""
        cable = getattr(self.lab, "cable", None)
        if cable is not None:
            cable.measuring(start_s, end_s, disturb)


__all__ = ["TriggerLinkTimeline"]
