"""Keithley 707B switching matrix mainframe (TSP command set) with 7174A cards.

The 707B speaks TSP (Lua): commands are Lua statements such as
``channel.close("1A01")``, and queries print their result, e.g.
``print(channel.getclose("allslots"))``. A 7174A card is an 8 x 12 matrix; a
channel (crosspoint) is named by slot digit, row letter A-H and two-digit
column 01-12, e.g. ``"1A01"``. Several channels go comma-separated in one string.

Rows and columns in this module's helpers are 0-based: row 0 -> ``A``, col 0 -> ``01``.

Facts this driver relies on (Models 707B and 708B Switching Matrix Reference
Manual, 707B-901-01 Rev. B, section 7 "TSP command reference"):
``channel.close()`` and ``channel.exclusiveclose()`` refuse ``slotX`` and
``allslots`` (so :meth:`Keithley707B.close` refuses them before sending), while
``channel.open("allslots")`` opens everything; ``channel.exclusiveclose()``
leaves exactly the listed channels closed; ``channel.getstate()`` returns the
comma-delimited states of the listed channels, bit ``channel.IND_CLOSED`` (1)
set for a closed relay, lowest channel first (section 2, "Queries that return
a list of channels").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

ROWS = 8  #: rows of a 7174A matrix card (A-H)
COLUMNS = 12  #: columns of a 7174A matrix card (01-12)
SLOTS = 6  #: card slots of a 707B mainframe
ROW_LETTERS = "ABCDEFGH"

_CHANNEL_RE = re.compile(r"^([1-6])([A-H])(0[1-9]|1[0-2])$")
# Anything the driver puts between the quotes of a channel list: names, ranges
# ("1A01:1A12"), "slot1", "allslots", user-defined patterns. No quotes, no spaces.
_CHANNEL_LIST_ITEM_RE = re.compile(r"^[A-Za-z0-9_:]+$")
# Whole-slot items: channel.close and channel.exclusiveclose refuse them.
_SLOT_ITEM_RE = re.compile(r"^(allslots|slot[1-6])$", re.IGNORECASE)
#: ``channel.IND_CLOSED``: the state bit of a closed relay.
IND_CLOSED = 1


def _check_index(value: int, limit: int, what: str, first: int = 0) -> int:
    """Return ``value`` as int if it is an integer in ``first..first+limit-1``, else raise."""
    try:
        strict_discrete_set(value, range(first, first + limit))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{what} {value!r} out of range: must be an integer in "
            f"{first}..{first + limit - 1}") from exc
    return int(value)


def channel_name(row: int, col: int, slot: int = 1) -> str:
    """Name of the crosspoint at 0-based ``row`` (0..7) and ``col`` (0..11) in ``slot`` (1..6).

    >>> channel_name(0, 0), channel_name(7, 11, slot=2)
    ('1A01', '2H12')
    """
    row = _check_index(row, ROWS, "row")
    col = _check_index(col, COLUMNS, "col")
    slot = _check_index(slot, SLOTS, "slot", first=1)
    return f"{slot}{ROW_LETTERS[row]}{col + 1:02d}"


def parse_channel(name: str) -> tuple[int, int, int]:
    """Split a channel name like ``"1H12"`` into ``(slot, row, col)``, row/col 0-based.

    Inverse of :func:`channel_name`; raises ValueError for anything else.
    """
    match = _CHANNEL_RE.match(name.strip().upper())
    if match is None:
        raise ValueError(
            f"invalid channel name {name!r}: expected slot 1-6, row A-H, column 01-12, "
            "e.g. '1A01'")
    slot, row, col = match.groups()
    return int(slot), ROW_LETTERS.index(row), int(col) - 1


def _channel_list(channels: str | Iterable[str]) -> str:
    """Join channels into the comma-separated list the 707B expects, checking each item."""
    items = channels.split(",") if isinstance(channels, str) else list(channels)
    items = [item.strip() for item in items]
    if not items or not all(_CHANNEL_LIST_ITEM_RE.match(item) for item in items):
        raise ValueError(f"invalid channel list {channels!r}")
    return ",".join(items)


def _closable_list(channels: str | Iterable[str], function: str) -> str:
    """A channel list for ``function`` (close, exclusiveclose): no whole-slot items."""
    joined = _channel_list(channels)
    slots = [item for item in joined.split(",") if _SLOT_ITEM_RE.match(item)]
    if slots:
        raise ValueError(f"{function} does not accept {', '.join(slots)} (only channel.open does): "
                         "name the channels to close")
    return joined


def _states(value: str) -> list[bool]:
    """``channel.getstate`` reply ``"0,1,0"`` -> ``[False, True, False]``."""
    return [bool(int(float(v)) & IND_CLOSED) for v in value.split(",") if v.strip()]


def _closed_list(value: str) -> list[str]:
    """Single reply of ``channel.getclose``: ``nil`` means nothing is closed."""
    return [] if value in ("nil", "") else [value]


def _error_entry(values: list) -> tuple[int, str]:
    """(code, message) from the tab-separated ``errorqueue.next()`` fields."""
    message = str(values[1]).strip() if len(values) > 1 else ""
    return int(float(values[0])), message


class Keithley707B(Instrument):
    """Keithley 707B switching matrix mainframe, driven through its TSP command set.

    .. code-block:: python

        matrix = Keithley707B("GPIB0::16::INSTR")
        matrix.open_all()
        matrix.connect_crosspoint(row=2, col=5)   # closes "1C06"
        matrix.closed_channels                    # ['1C06']
    """

    def __init__(self, adapter, name: str = "Keithley 707B switching matrix", **kwargs) -> None:
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)

    id = Instrument.measurement(
        "*IDN?",
        """Get the identification string (manufacturer, model, serial, firmware).""",
        cast=str,
        maxsplit=0,
    )

    closed_channels = Instrument.measurement(
        'print(channel.getclose("allslots"))',
        """Get the closed channels of all slots as a list of names, e.g. ``['1A01', '1B03']``.""",
        separator=";",
        cast=str,
        get_process=_closed_list,
        get_process_list=list,
    )

    error_count = Instrument.measurement(
        "print(errorqueue.count)",
        """Get the number of entries in the error queue (int).""",
        cast=str,
        get_process=lambda v: int(float(v)),
    )

    next_error = Instrument.measurement(
        "print(errorqueue.next())",
        """Get and remove the oldest error-queue entry as ``(code, message)``.

        The instrument prints code, message, severity and node separated by tabs;
        an empty queue gives code 0.""",
        separator="\t",
        cast=str,
        get_process=lambda v: _error_entry([v]),
        get_process_list=_error_entry,
    )

    def close(self, channels: str | Iterable[str]) -> None:
        """Close the given channels (``"1A01"``, ``"1A01,1B03"`` or a list of names).

        Nothing else opens. ``"allslots"``/``"slotN"`` raise ValueError before sending:
        the instrument refuses them for a close.
        """
        self.write(f'channel.close("{_closable_list(channels, "channel.close")}")')

    def exclusive_close(self, channels: str | Iterable[str]) -> None:
        """Close the given channels and open every other one, in one command.

        With the instrument's default connection rule (break before make) the
        others open before the given ones close. ``"allslots"``/``"slotN"`` raise
        ValueError before sending.
        """
        self.write(f'channel.exclusiveclose("{_closable_list(channels, "channel.exclusiveclose")}")')

    def channel_states(self, channels: str | Iterable[str]) -> list[bool]:
        """Whether each listed channel is closed, lowest channel first (``channel.getstate``).

        Ranges, ``"slotN"`` and ``"allslots"`` expand to one entry per channel.
        """
        return _states(self.ask(f'print(channel.getstate("{_channel_list(channels)}"))'))

    def open(self, channels: str | Iterable[str]) -> None:
        """Open the given channels (``"1A01"``, ``"1A01,1B03"`` or a list of names)."""
        self.write(f'channel.open("{_channel_list(channels)}")')

    def open_all(self) -> None:
        """Open every channel of every slot."""
        self.write('channel.open("allslots")')

    def connect_crosspoint(self, row: int, col: int, slot: int = 1, *, exclusive: bool = False) -> str:
        """Close the crosspoint at 0-based ``row``/``col`` of ``slot``; return its name.

        ``exclusive=True`` opens every other channel in the same command
        (:meth:`exclusive_close`). Raises ValueError (before anything is sent) if
        row is not 0..7, col not 0..11 or slot not 1..6.
        """
        name = channel_name(row, col, slot)
        (self.exclusive_close if exclusive else self.close)(name)
        return name

    def disconnect_crosspoint(self, row: int, col: int, slot: int = 1) -> str:
        """Open the crosspoint at 0-based ``row``/``col`` of ``slot``; return its name."""
        name = channel_name(row, col, slot)
        self.open(name)
        return name

    def reset(self) -> None:
        """Reset the instrument to its defaults (this opens all channels)."""
        self.write("reset()")

    def clear_errors(self) -> None:
        """Clear the error queue."""
        self.write("errorqueue.clear()")

    def check_errors(self) -> list[tuple[int, str]]:
        """Read all entries of the error queue, log them and return them as (code, message)."""
        errors = []
        for _ in range(self.error_count):
            code, message = self.next_error
            if code == 0:
                break
            log.error("%s: error %d, %s", self.name, code, message)
            errors.append((code, message))
        return errors
