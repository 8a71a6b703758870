"""Switch over mtjlab's Keithley 707B driver (one 7174A matrix card in slot 1).

Device (row, col) of the crossbar is crosspoint (row, col) of slot 1, both
0-based. Routing is break before make: every relay is opened before the new
crosspoint closes. After the relays move the adapter waits ``settle_s`` (on
the injected clock) and reads the instrument's error queue; any entry is an
InstrumentError. The route is tracked; :meth:`MatrixSwitch.verify` reads the
closed channels back and compares.
"""

from __future__ import annotations

import logging
from typing import Any

from ...errors import InstrumentError
from ..drivers.keithley707b import COLUMNS, ROWS, channel_name, parse_channel
from ..interfaces import Clock

log = logging.getLogger(__name__)

#: The matrix card's slot.
SLOT = 1


class MatrixSwitch:
    """A Keithley 707B routing the instruments to one device of a rows x cols crossbar."""

    def __init__(self, driver: Any, clock: Clock, *, rows: int, cols: int, settle_s: float) -> None:
        if not (isinstance(rows, int) and 1 <= rows <= ROWS and isinstance(cols, int) and 1 <= cols <= COLUMNS):
            raise ValueError(f"switch: a {rows} x {cols} crossbar does not fit one {ROWS} x {COLUMNS} matrix card")
        if not settle_s >= 0:
            raise ValueError(f"switch: settle_s must be >= 0, not {settle_s!r}")
        self.driver = driver
        self.clock = clock
        self.rows, self.cols = rows, cols
        self.settle_s = float(settle_s)
        self._connected: tuple[int, int] | None = None

    @property
    def identity(self) -> str:
        """The instrument's *IDN reply."""
        return str(self.driver.id).strip()

    @property
    def connected(self) -> tuple[int, int] | None:
        """The device connected now (as routed by this adapter), or None."""
        return self._connected

    def _check_position(self, row: int, col: int) -> tuple[int, int]:
        for what, value, count in (("row", row, self.rows), ("col", col, self.cols)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
                raise ValueError(f"switch: {what} {value!r} is not on the chip (0..{count - 1})")
        return row, col

    def connect(self, row: int, col: int) -> None:
        """Open every relay, close device (row, col), wait for the relays, check the error queue."""
        row, col = self._check_position(row, col)
        self._connected = None
        self.driver.open_all()
        self.driver.connect_crosspoint(row, col, slot=SLOT)
        self.clock.sleep(self.settle_s)
        self._raise_on_errors(f"connecting device ({row}, {col})")
        self._connected = (row, col)
        log.debug("switch: routed device (%d, %d)", row, col)

    def open_all(self) -> None:
        """Open every relay."""
        self.driver.open_all()
        self._connected = None
        self.clock.sleep(self.settle_s)
        log.debug("switch: all relays open")

    def _closed_channels(self) -> tuple[list[str], list[tuple[int, int, int]]]:
        """The closed crosspoints as the instrument names them, and as sorted (slot, row, col)."""
        names = [n.strip() for item in self.driver.closed_channels for n in str(item).split(",") if n.strip()]
        try:
            return names, sorted(parse_channel(n) for n in names)
        except ValueError as exc:
            raise InstrumentError(f"switch: unexpected closed-channel reply {names!r}: {exc}") from exc

    def read_route(self) -> tuple[int, int] | None:
        """The device the closed relays connect, read from the instrument (adopted as the route).

        Several closed crosspoints are no route: None is returned (the next
        routing opens every relay first, break before make).
        """
        names, closed = self._closed_channels()
        self._connected = closed[0][1:] if len(closed) == 1 and closed[0][0] == SLOT else None
        if closed and self._connected is None:
            log.warning("switch: closed channels %s are not one route", ", ".join(names))
        return self._connected

    def verify(self) -> tuple[int, int] | None:
        """Read the closed crosspoints back; InstrumentError unless they are exactly the tracked route."""
        names, closed = self._closed_channels()
        expected = [] if self._connected is None else [(SLOT, *self._connected)]
        if closed != expected:
            shown = ", ".join(names) or "none"
            want = channel_name(*self._connected, slot=SLOT) if self._connected else "none"
            raise InstrumentError(f"switch: closed channels are {shown}, expected {want}")
        return self._connected

    def _raise_on_errors(self, doing: str) -> None:
        errors = self.driver.check_errors()
        if errors:
            described = "; ".join(f"{code}: {message}" for code, message in errors)
            raise InstrumentError(f"switch: the 707B reported errors {doing}: {described}")
