"""SCPI emulation: the command parser every emulated instrument shares, and the
pymeasure Adapter that puts an emulator where a VISA connection would be.

An emulator declares its commands as SCPI headers in the manuals' notation,
upper case for the short form and lower case for the rest of the long form,
optional nodes in brackets: ``"[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]"``.
Any spelling the real instrument accepts (short, long, optional nodes
present or not, any case) reaches the handler. Several commands in one line are
separated by ``;`` and a leading ``:`` returns to the root, as in SCPI. A
command the instrument does not know, or a value out of its range, puts the
real instrument's error code in the error queue (read with ``:SYSTem:ERRor?``);
it never raises into the caller.

Each command advances the lab's virtual clock by the time the real instrument
would take (a bus transaction, plus what the handler charges: integration,
settling).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Callable

from pymeasure.adapters import Adapter

from ...errors import InstrumentError

#: Time of one bus transaction (GPIB write or read of a short message), s.
BUS_TRANSACTION_S = 0.001

Handler = Callable[[str | None, bool], "str | None"]


class ScpiError(Exception):
    """Raised by a handler: ``code`` goes into the error queue (e.g. -222)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


UNDEFINED_HEADER = ScpiError(-113, "Undefined header")
DATA_OUT_OF_RANGE = ScpiError(-222, "Data out of range")
ILLEGAL_PARAMETER = ScpiError(-224, "Illegal parameter value")
DATA_TYPE_ERROR = ScpiError(-104, "Data type error")


def _node_pattern(node: str) -> str:
    short = "".join(ch for ch in node if ch.isupper() or ch.isdigit() or ch in "*?")
    rest = node[len(short):]
    # the long form is every prefix-complete spelling: SOUR or SOURCE (not SOURC)
    return f"(?:{re.escape(short)}(?:{re.escape(rest.upper())})?)" if rest else re.escape(short)


def header_regex(template: str) -> re.Pattern:
    """Compile a manual-notation header into a case-insensitive regex."""
    pattern = ""
    for optional, node in re.findall(r"(\[?):?([A-Za-z*][A-Za-z0-9]*)\]?", template):
        piece = ":?" + _node_pattern(node) if pattern or template.startswith((":", "[:")) else _node_pattern(node)
        if node.startswith("*"):
            piece = _node_pattern(node)
        pattern += f"(?:{piece})?" if optional else piece
    return re.compile(rf"^:?{pattern}$", re.IGNORECASE)


@dataclass
class _Command:
    regex: re.Pattern
    handler: Handler


class ScpiEmulator:
    """Base of the emulated instruments: parsing, error queue, reply queue, clock."""

    #: The reply to *IDN?
    identity = "mtjlab,emulator,0,0"

    def __init__(self, clock) -> None:
        self.clock = clock
        self._commands: list[_Command] = []
        self.errors: deque[tuple[int, str]] = deque(maxlen=10)
        self.replies: deque[str] = deque()
        self.command(["*IDN"], lambda arg, query: self.identity)
        self.command(["*CLS"], lambda arg, query: self.errors.clear())
        self.command(["*RST"], lambda arg, query: self.reset())
        self.command(["*OPC"], lambda arg, query: "1" if query else None)
        self.command([":SYSTem:ERRor[:NEXT]"], lambda arg, query: self._next_error())

    def command(self, templates: list[str], handler: Handler) -> None:
        """Register ``handler(argument_or_None, is_query) -> reply_or_None``."""
        for template in templates:
            self._commands.append(_Command(header_regex(template), handler))

    def reset(self) -> None:
        """*RST: subclasses return to their power-on state."""

    def _next_error(self) -> str:
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{message}"'

    def push_error(self, code: int, message: str) -> None:
        self.errors.append((code, message))

    def write(self, line: str) -> None:
        """Execute one line (possibly several ``;``-separated commands)."""
        self.clock.sleep(BUS_TRANSACTION_S)
        replies = []
        for part in (p.strip() for p in line.strip().split(";")):
            if not part:
                continue
            header, _, argument = part.partition(" ")
            query = header.endswith("?")
            header = header.rstrip("?")
            for cmd in self._commands:
                if cmd.regex.match(header):
                    try:
                        reply = cmd.handler(argument.strip() or None, query)
                    except ScpiError as exc:
                        self.push_error(exc.code, exc.message)
                        break
                    except ValueError:
                        self.push_error(DATA_TYPE_ERROR.code, DATA_TYPE_ERROR.message)
                        break
                    if query and reply is not None:
                        replies.append(str(reply))
                    break
            else:
                self.push_error(UNDEFINED_HEADER.code, f"{UNDEFINED_HEADER.message}: {header}")
        if replies:
            self.replies.append(";".join(replies))

    def clear_output_queue(self) -> None:
        """A device clear: pending replies are gone (one bus transaction)."""
        self.clock.sleep(BUS_TRANSACTION_S)
        self.replies.clear()

    def read(self) -> str:
        """The oldest pending reply; a read with nothing pending times out."""
        self.clock.sleep(BUS_TRANSACTION_S)
        if not self.replies:
            raise InstrumentError(f"{type(self).__name__}: read timed out (no query pending)")
        return self.replies.popleft()


def number(argument: str | None, low: float, high: float, named: dict[str, float] | None = None) -> float:
    """A numeric SCPI argument within [low, high] (MIN/MAX/DEF and ``named`` accepted)."""
    if argument is None:
        raise DATA_TYPE_ERROR
    words = {"MIN": low, "MINIMUM": low, "MAX": high, "MAXIMUM": high, **(named or {})}
    value = words.get(argument.upper())
    if value is None:
        value = float(argument)
    if not low <= value <= high:
        raise DATA_OUT_OF_RANGE
    return value


def boolean(argument: str | None) -> bool:
    """A SCPI boolean: 1/0/ON/OFF."""
    table = {"1": True, "ON": True, "0": False, "OFF": False}
    if argument is None or argument.upper() not in table:
        raise ILLEGAL_PARAMETER
    return table[argument.upper()]


class EmulatorAdapter(Adapter):
    """A pymeasure Adapter talking to an emulator instead of a VISA resource.

    ``Keithley2400(EmulatorAdapter(emulator))`` runs pymeasure's real driver
    unchanged against the virtual lab.
    """

    def __init__(self, emulator: ScpiEmulator, *, faults=None, role: str | None = None,
                 timeout_s: float = 5.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.emulator = emulator
        self.connection = self  # pymeasure's Adapter.close() closes the connection
        #: Injected faults (:class:`.faults.Faults`) and the role they address.
        self.faults, self.role = faults, role
        self.timeout = timeout_s * 1000.0  # ms, as a VISA resource states it

    def _faults(self):
        """The explicit schedule, else the lab's (faults may be attached after connecting)."""
        if self.faults is not None:
            return self.faults
        return getattr(getattr(self.emulator, "lab", None), "faults", None)

    def _write(self, command: str, **kwargs) -> None:
        faults = self._faults()
        pending = faults.on_write(self, command) if faults is not None else None
        for line in command.splitlines() or [""]:
            self.emulator.write(line)
        if faults is not None:
            faults.after_write(pending)

    def _read(self, **kwargs) -> str:
        faults = self._faults()
        if faults is not None:
            return faults.on_read(self, self.emulator.read)
        return self.emulator.read()

    def flush_read_buffer(self) -> None:
        self.emulator.replies.clear()

    def clear(self) -> None:
        """Device clear (VISA ``viClear``): the instrument's pending replies are discarded."""
        faults = self._faults()
        if faults is not None:
            faults.on_clear(self)
        self.emulator.clear_output_queue()

    def close(self) -> None:  # the emulator has nothing to release
        pass
