"""Keithley 707B switching matrix emulator (TSP command set) over the virtual lab.

The 707B speaks TSP, not SCPI: each line is a Lua statement such as
``channel.close("1A01")`` or ``print(channel.getclose("allslots"))``, so this
emulator matches whole statements instead of SCPI headers. It answers what
mtjlab's driver (:mod:`mtjlab.instruments.drivers.keithley707b`) sends:
``*IDN?``, ``channel.close``/``channel.open``/``channel.exclusiveclose``,
``channel.getclose``, ``channel.getstate``, ``errorqueue.count``/``next()``/
``clear()`` and ``reset()`` (also ``*RST``, ``*CLS``).

Facts from the Models 707B and 708B Switching Matrix Reference Manual
(707B-901-01 Rev. B), each implemented here:

- A channel list names channels (``"1A01"``), ranges within one card
  (``"1A01:1C03"``), ``"slotN"`` or ``"allslots"``, separated by commas or
  semicolons, in single or double quotes (section 2, "Channel list parameter
  for remote commands").
- ``channel.close(list)`` closes without opening anything; a list containing
  ``slotX`` or ``allslots`` is an error, and after an error no channel is closed
  (section 7, ``channel.close()``). ``channel.open`` accepts them
  (``channel.open("allslots")`` is the manual's own example there).
- ``channel.exclusiveclose(list)`` opens every closed channel not in the list
  and closes the listed ones, so that they are the only ones closed; an empty
  (or all-space) list opens everything; ``slotX``/``allslots`` or an invalid
  channel is an error and nothing moves (section 7, ``channel.exclusiveclose()``).
- The default connection rule is break before make: every channel that opens
  does so before any closes, and a command that both opens and closes takes the
  open settle time plus the close settle time (section 2, "Connection methods
  for close operations"; section 7, ``channel.connectrule``).
- ``channel.getstate(list[, indicatorMask])`` returns a string of the
  comma-delimited states of the listed channels; the only state of a switch
  channel is ``channel.IND_CLOSED`` (1) (section 7, ``channel.getstate()``).
  Queries list the lowest slot and channel first (section 2, "Queries that
  return a list of channels").

Crossbar device (row, col) of the chip is crosspoint slot 1, row letter
``A + row``, column ``col + 1`` (device (2, 5) is ``"1C06"``); closing it closes
that device's relay in the lab. Crosspoints of the 8 x 12 card beyond the chip,
or in slots 2-6, are remembered but connect nothing.

Errors go to the TSP error queue as the instrument reports them: a bad channel
list rejects the whole command with 1115 "Parameter error", an unknown
statement is -285 (TSP syntax error). ``errorqueue.next()`` prints code,
message, severity (20, "recoverable": invalid user input) and TSP-Link node
tab-separated, numbers in TSP's default ``%.5e`` format; an empty queue prints
code 0 "Queue Is Empty".
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ...drivers.keithley707b import COLUMNS, ROW_LETTERS, ROWS, SLOTS
from ..scpi import BUS_TRANSACTION_S, ScpiEmulator

#: A channel list the instrument cannot resolve (707B error summary).
PARAMETER_ERROR = (1115, "Parameter error")
#: A statement the Lua parser (or this emulation) does not understand.
SYNTAX_ERROR = (-285, "TSP Syntax error at line 1")
#: Severity of an error caused by user input ("recoverable"); 0 means empty queue.
SEVERITY_RECOVERABLE = 20
#: TSP-Link node number of a stand-alone mainframe.
NODE = 1
#: ``channel.IND_CLOSED``: the state bit of a closed relay (707B manual, ``channel.getstate()``).
IND_CLOSED = 1

Crosspoint = tuple[int, int, int]  #: (slot 1..6, row 0..7, col 0..11)
Handler = Callable[[re.Match[str]], "str | None"]  #: a statement's action; returns what it prints

_NAME = re.compile(r"([1-6])([A-H])(0[1-9]|1[0-2])")  # upper case: items are upper-cased first
# A Lua string literal (either quote) as the one argument of a call.
_QUOTED = r"""(?P<q>["'])(?P<arg>[^"']*)(?P=q)"""
_STRING = rf"\(\s*{_QUOTED}\s*\)"
#: An optional second argument of channel.getstate: the indicator mask.
_MASK = r"(?:\s*,\s*(?P<mask>channel\.IND_CLOSED|\d+))?"
#: Items that name whole slots: valid for open and the queries, refused by close and exclusiveclose.
_SLOT_ITEM = re.compile(r"allslots|slot[1-6]", re.IGNORECASE)


def _tsp_number(value: float) -> str:
    """A number as TSP's ``print`` shows it (format.asciiprecision 6): ``2.00000e+00``."""
    return f"{value:.5e}"


def channel_name(point: Crosspoint) -> str:
    """``(1, 2, 5)`` -> ``"1C06"``."""
    slot, row, col = point
    return f"{slot}{ROW_LETTERS[row]}{col + 1:02d}"


def crosspoints(item: str) -> list[Crosspoint] | None:
    """Crosspoints of one channel-list item, or None if the 707B would refuse it.

    ``"1A01"``, a rectangular range ``"1A01:1C03"`` within one slot, ``"slotN"``
    or ``"allslots"``; in slot, row, column order (the instrument's own order).
    """
    lower = item.strip().lower()
    if lower == "allslots":
        return [(s, r, c) for s in range(1, SLOTS + 1) for r in range(ROWS) for c in range(COLUMNS)]
    if re.fullmatch(r"slot[1-6]", lower):
        return [(int(lower[-1]), r, c) for r in range(ROWS) for c in range(COLUMNS)]
    ends = [_NAME.fullmatch(end) for end in lower.upper().split(":")]
    if not 1 <= len(ends) <= 2 or not all(ends):
        return None
    (s0, r0, c0), (s1, r1, c1) = ((int(m[1]), ROW_LETTERS.index(m[2]), int(m[3]) - 1) for m in (ends[0], ends[-1]))
    if s0 != s1:  # a range spans one card
        return None
    return [(s0, r, c) for r in range(min(r0, r1), max(r0, r1) + 1) for c in range(min(c0, c1), max(c0, c1) + 1)]


class Keithley707BEmulator(ScpiEmulator):
    """A 707B mainframe with 7174A 8 x 12 matrix cards, routing the lab's crossbar.

    The chip's relays live in the lab (``lab.closed``): the emulator reads them
    there, so a relay left closed by anyone is reported and opened like its own.
    """

    identity = "Keithley Instruments Inc., Model 707B, 04312345, 1.6.0a"

    def __init__(self, lab: Any) -> None:
        super().__init__(lab.clock)
        self.lab = lab
        #: Closed crosspoints that are not on the chip (other slots, beyond rows/cols).
        self.off_chip_closed: set[Crosspoint] = set()
        self._statements: list[tuple[re.Pattern[str], Handler]] = [
            (re.compile(r"\*IDN\?"), lambda m: self.identity),
            (re.compile(r"reset\(\s*\)|\*RST"), lambda m: self.reset()),
            (re.compile(r"errorqueue\.clear\(\s*\)|\*CLS"), lambda m: self.errors.clear()),
            (re.compile(rf"channel\.(?P<action>close|open){_STRING}"),
             lambda m: self.switch(m["action"] == "close", m["arg"])),
            (re.compile(rf"channel\.exclusiveclose{_STRING}"), lambda m: self.exclusive_close(m["arg"])),
            (re.compile(rf"print\(\s*channel\.getclose{_STRING}\s*\)"), self._getclose),
            (re.compile(rf"print\(\s*channel\.getstate\(\s*{_QUOTED}{_MASK}\s*\)\s*\)"), self._getstate),
            (re.compile(r"print\(\s*errorqueue\.count\s*\)"), lambda m: _tsp_number(len(self.errors))),
            (re.compile(r"print\(\s*errorqueue\.next\(\s*\)\s*\)"), lambda m: self._error_next()),
        ]

    # ------------------------------------------------------------------- TSP
    def write(self, line: str) -> None:
        """Run one Lua statement (the driver sends one per line); a bus transaction of time."""
        self.clock.sleep(BUS_TRANSACTION_S)
        statement = line.strip().removesuffix(";").strip()  # a trailing ';' is legal Lua
        for pattern, handler in self._statements:
            match = pattern.fullmatch(statement)
            if match:
                reply = handler(match)
                if reply is not None:  # only print() and *IDN? answer
                    self.replies.append(reply)
                return
        self.push_error(SYNTAX_ERROR[0], f"{SYNTAX_ERROR[1]}: cannot run {statement!r}")

    def _resolve(self, channels: str, function: str, *, slots: bool = True) -> list[Crosspoint] | None:
        """Every crosspoint of a channel list; on a bad item, error 1115 and None.

        ``slots=False``: ``slotN``/``allslots`` are refused too (close, exclusiveclose).
        """
        points: list[Crosspoint] = []
        for item in re.split(r"[,;]", channels):
            found = None if not slots and _SLOT_ITEM.fullmatch(item.strip()) else crosspoints(item)
            if found is None:
                self.push_error(PARAMETER_ERROR[0],
                                f"{PARAMETER_ERROR[1]}: {function}: invalid channel {item.strip()!r}")
                return None
            points.extend(found)
        return points

    def _on_chip(self, point: Crosspoint) -> bool:
        slot, row, col = point
        return slot == 1 and row < self.lab.chip.rows and col < self.lab.chip.cols

    def _is_closed(self, point: Crosspoint) -> bool:
        return (point[1], point[2]) in self.lab.closed if self._on_chip(point) else point in self.off_chip_closed

    def _closed_points(self) -> list[Crosspoint]:
        """Every closed crosspoint, the chip's (read from the lab) and the others."""
        return sorted({(1, row, col) for row, col in self.lab.closed} | self.off_chip_closed)

    def switch(self, closing: bool, channels: str) -> None:
        """channel.close/open: the listed relays move together, then settle (relay_settle_s, s)."""
        function = "channel.close" if closing else "channel.open"
        points = self._resolve(channels, function, slots=not closing)
        if points is None:
            return  # the instrument rejects the whole command: nothing moves
        self._move(closing, points)

    def exclusive_close(self, channels: str) -> None:
        """channel.exclusiveclose: open everything else, then close the list (break before make)."""
        if channels.strip():
            points = self._resolve(channels, "channel.exclusiveclose", slots=False)
            if points is None:
                return  # an error: nothing opens or closes
        else:
            points = []  # an empty list opens every channel
        wanted = set(points)
        self._move(False, [p for p in self._closed_points() if p not in wanted])  # open, settle
        self._move(True, points)  # then close, settle

    def _move(self, closing: bool, points: list[Crosspoint]) -> None:
        """Move the listed relays that are not in the wanted state; one settle time if any moved."""
        changed = list(dict.fromkeys(p for p in points if self._is_closed(p) != closing))
        on_chip = [p for p in changed if self._on_chip(p)]
        for point in changed:
            if not self._on_chip(point):
                (self.off_chip_closed.add if closing else self.off_chip_closed.discard)(point)
        if not closing and on_chip and len(on_chip) == len(self.lab.closed):
            # every chip relay opens at once: one lab change, no passing through a
            # one-relay state that would route (and expose) a device for an instant
            self.lab.open_all_relays()
        else:
            # The lab moves one relay per call: closing several from all-open passes
            # through a zero-duration state with only the first one closed.
            for _, row, col in on_chip:
                (self.lab.close_relay if closing else self.lab.open_relay)(row, col)
        if changed:
            # As on the 707B, a relay that does not change state adds no settle time.
            self.clock.sleep(self.lab.wiring.relay_settle_s)

    def _getclose(self, match: re.Match[str]) -> str | None:
        """Closed channels of the list, slot by slot in numeric order, ';'-separated, or ``nil``."""
        wanted = self._resolve(match["arg"], "channel.getclose")
        if wanted is None:
            return None  # a TSP runtime error prints nothing: the read times out
        names = [channel_name(p) for p in sorted(set(wanted)) if self._is_closed(p)]
        return ";".join(names) if names else "nil"

    def _getstate(self, match: re.Match[str]) -> str | None:
        """``channel.IND_CLOSED`` (masked) of each listed channel, comma-delimited, lowest first."""
        wanted = self._resolve(match["arg"], "channel.getstate")
        if wanted is None:
            return None  # a TSP runtime error prints nothing: the read times out
        mask = match["mask"]
        mask = IND_CLOSED if mask is None or not mask.isdigit() else int(mask)
        return ",".join(str(IND_CLOSED * self._is_closed(p) & mask) for p in sorted(set(wanted)))

    def _error_next(self) -> str:
        """code, message, severity, node as ``print`` shows four values: tab-separated."""
        if not self.errors:
            return "\t".join((_tsp_number(0), "Queue Is Empty", _tsp_number(0), _tsp_number(0)))
        code, message = self.errors.popleft()
        return "\t".join((_tsp_number(code), message, _tsp_number(SEVERITY_RECOVERABLE), _tsp_number(NODE)))

    def reset(self) -> None:
        """reset() / *RST: every channel of every slot opens (the error queue stays)."""
        self.switch(False, "allslots")
