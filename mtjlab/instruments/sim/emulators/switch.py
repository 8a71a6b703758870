"""Keithley 707B switching matrix emulator (TSP command set) over the virtual lab.

The 707B speaks TSP, not SCPI: each line is a Lua statement such as
``channel.close("1A01")`` or ``print(channel.getclose("allslots"))``. This
emulator answers the statements mtjlab's driver
(:mod:`mtjlab.instruments.drivers.keithley707b`) sends. Crossbar device (row,
col) of the chip is crosspoint slot 1, row letter ``A + row``, column
``col + 1``; closing it closes that device's relays in the lab. Crosspoints
beyond the chip (or in other slots) are remembered but connect nothing.

Errors go to the TSP error queue as the instrument reports them: a bad channel
name is error 1115 "Parameter error" (the 707B's parameter error code), an
unknown statement -285 "Program syntax error".
"""

from __future__ import annotations

import re
from typing import Any

from ...drivers.keithley707b import COLUMNS, ROW_LETTERS, ROWS, SLOTS
from ..scpi import BUS_TRANSACTION_S, ScpiEmulator

PARAMETER_ERROR = (1115, "Parameter error")
SYNTAX_ERROR = (-285, "Program syntax error")
_NAME = re.compile(r"^([1-6])([A-H])(0[1-9]|1[0-2])$", re.IGNORECASE)
_STATEMENTS = [
    (re.compile(r'^channel\.(close|open)\("([^"]*)"\)$'), "_switch"),
    (re.compile(r'^print\(channel\.getclose\("([^"]*)"\)\)$'), "_getclose"),
    (re.compile(r"^print\(errorqueue\.count\)$"), "_error_count"),
    (re.compile(r"^print\(errorqueue\.next\(\)\)$"), "_error_next"),
    (re.compile(r"^errorqueue\.clear\(\)$"), "_error_clear"),
    (re.compile(r"^reset\(\)$"), "_reset"),
]


def _crosspoints(item: str) -> list[tuple[int, int, int]] | None:
    """(slot, row, col) of a channel name, range ``1A01:1A03``, ``slotN`` or ``allslots``."""
    item = item.strip()
    lower = item.lower()
    if lower == "allslots":
        return [(s, r, c) for s in range(1, SLOTS + 1) for r in range(ROWS) for c in range(COLUMNS)]
    if re.fullmatch(r"slot[1-6]", lower):
        slot = int(lower[-1])
        return [(slot, r, c) for r in range(ROWS) for c in range(COLUMNS)]
    ends = item.split(":")
    parsed = [_NAME.match(e) for e in ends]
    if len(ends) > 2 or not all(parsed):
        return None
    (s0, r0, c0), (s1, r1, c1) = ((int(m[1]), ROW_LETTERS.index(m[2].upper()), int(m[3]) - 1)
                                   for m in (parsed[0], parsed[-1]))
    if s0 != s1:
        return None
    return [(s0, r, c) for r in range(min(r0, r1), max(r0, r1) + 1) for c in range(min(c0, c1), max(c0, c1) + 1)]


class Keithley707BEmulator(ScpiEmulator):
    """A 707B mainframe with 7174A 8 x 12 matrix cards, routing the lab's crossbar."""

    identity = "Keithley Instruments Inc., Model 707B, 04312345, 1.6.0a"

    def __init__(self, lab: Any) -> None:
        super().__init__(lab.clock)
        self.lab = lab
        self.closed: set[tuple[int, int, int]] = set()

    # ----------------------------------------------------------------- TSP
    def write(self, line: str) -> None:
        """Run one Lua statement (the 707B takes one per line from the driver)."""
        self.clock.sleep(BUS_TRANSACTION_S)
        statement = line.strip()
        if statement in ("*IDN?",):
            self.replies.append(self.identity)
            return
        for pattern, method in _STATEMENTS:
            match = pattern.match(statement)
            if match:
                getattr(self, method)(*match.groups())
                return
        self.push_error(*SYNTAX_ERROR)

    def _switch(self, action: str, channels: str) -> None:
        points: list[tuple[int, int, int]] = []
        for item in channels.split(","):
            found = _crosspoints(item)
            if found is None or not item.strip():
                self.push_error(PARAMETER_ERROR[0], f"{PARAMETER_ERROR[1]}: invalid channel {item.strip()!r}")
                return  # the instrument rejects the whole command
            points.extend(found)
        closing = action == "close"
        # the relays are the lab's (the chip's crosspoints) or the card's own (the rest)
        changed = [p for p in points if (self._is_closed(p)) != closing]
        for point in changed:
            (self.closed.add if closing else self.closed.discard)(point)
            slot, row, col = point
            if self._on_chip(point):
                (self.lab.close_relay if closing else self.lab.open_relay)(row, col)
        if changed:  # relays operate together, then settle
            self.clock.sleep(self.lab.wiring.relay_settle_s)

    def _on_chip(self, point: tuple[int, int, int]) -> bool:
        slot, row, col = point
        return slot == 1 and row < self.lab.chip.rows and col < self.lab.chip.cols

    def _is_closed(self, point: tuple[int, int, int]) -> bool:
        return (point[1], point[2]) in self.lab.closed if self._on_chip(point) else point in self.closed

    def _getclose(self, scope: str) -> None:
        wanted = _crosspoints(scope)
        if wanted is None:
            self.push_error(PARAMETER_ERROR[0], f"{PARAMETER_ERROR[1]}: invalid channel {scope!r}")
            self.replies.append("nil")
            return
        names = [f"{s}{ROW_LETTERS[r]}{c + 1:02d}" for s, r, c in sorted(set(wanted)) if self._is_closed((s, r, c))]
        self.replies.append(";".join(names) if names else "nil")

    def _error_count(self) -> None:
        self.replies.append(f"{len(self.errors):.5e}")

    def _error_next(self) -> None:
        code, message = self.errors.popleft() if self.errors else (0, "Queue Is Empty")
        self.replies.append(f"{code:.5e}\t{message}\t{0 if code == 0 else 2:.5e}\t{0:.5e}")

    def _error_clear(self) -> None:
        self.errors.clear()

    def _reset(self) -> None:
        self.reset()

    def reset(self) -> None:
        """reset(): every channel opens."""
        self._switch("open", "allslots")
