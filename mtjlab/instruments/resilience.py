"""Bounded retries and garbled-reply detection for pymeasure drivers.

Instruments occasionally miss a reply (a VISA timeout) or return a corrupted
one (a bus glitch). ``resilient(DriverClass, role=...)`` makes a subclass of a
pymeasure driver whose every query (``ask``, and ``values`` behind every
property) and write is retried a bounded number of times on a timeout or a
garbled reply, with the input buffer flushed before each retry, and which then
raises one :class:`~mtjlab.errors.InstrumentError` line naming the role, the
command and what went wrong. A lost connection is not retried: it raises
:class:`~mtjlab.errors.ConnectionLostError` at once, so the run can stop and
the Bench can reconnect to make the instrument safe. The same layer serves real
VISA instruments and the emulators.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar

from pyvisa import constants
from pyvisa.errors import VisaIOError

from .. import foreground
from ..errors import ConnectionLostError, InstrumentError

log = logging.getLogger(__name__)
T = TypeVar("T")


class GarbledReply(Exception):
    """A reply that is not what the instrument could have sent."""


def _garbled(reply: str) -> bool:
    return any(not (ch.isprintable() or ch in "\t\r\n") for ch in reply)


class ResilientMixin:
    """Retry logic placed before a pymeasure driver class in the MRO."""

    role = "instrument"
    retries = 2
    _depth = 0  # values() -> ask() -> write(): only the outermost call retries

    _out_of_step = False  # an exchange was cut short: a reply may still be on its way

    def _attempt(self, command: str, action: Callable[[], T]) -> T:
        if self._depth:
            return action()
        # Between whole exchanges: where the lab window may go first (see mtjlab.foreground).
        foreground.checkpoint()
        if self._out_of_step:
            self.clear_interface()
        self._depth += 1
        try:
            result = self._retrying(command, action)
        except BaseException:
            # A Ctrl-C between a query's write and its read leaves the reply
            # pending: read next, it would answer the wrong question.
            self._out_of_step = True
            raise
        finally:
            self._depth -= 1
        return result

    def clear_interface(self) -> None:
        """Discard whatever the instrument still has to say (device clear, then the read buffer).

        On VISA this is ``viClear`` (GPIB selected device clear, USBTMC
        INITIATE_CLEAR): the instrument's output queue is emptied without
        resetting its settings. Used before the next exchange after an
        interrupted one, and by the Bench before every shutdown.
        """
        connection = getattr(self.adapter, "connection", None)
        clear = getattr(connection, "clear", None)
        try:
            if clear is not None:
                clear()
        except Exception as exc:  # noqa: BLE001 - not every interface supports a device clear
            log.debug("%s: device clear not available: %s", self.role, exc)
        self._flush()
        self._out_of_step = False

    def _retrying(self, command: str, action: Callable[[], T]) -> T:
        reason = ""
        for attempt in range(self.retries + 1):
            try:
                return action()
            except VisaIOError as exc:
                if exc.error_code != constants.StatusCode.error_timeout:
                    raise ConnectionLostError(f"{self.role}: connection lost during {command!r} ({exc.abbreviation})") from exc
                timeout = getattr(getattr(self.adapter, "connection", None), "timeout", None)
                reason = "no reply" + (f" (timeout {timeout / 1000:g} s)" if isinstance(timeout, (int, float)) else " (timeout)")
            except GarbledReply as exc:
                reason = f"garbled reply {str(exc)[:40]!r}"
            except OSError as exc:
                raise ConnectionLostError(f"{self.role}: connection lost during {command!r} ({exc})") from exc
            if attempt < self.retries:
                log.warning("%s: %s to %r; retrying (%d of %d)", self.role, reason, command, attempt + 1, self.retries)
                self._flush()
        raise InstrumentError(f"{self.role}: {reason} to {command!r} after {self.retries + 1} tries")

    def _flush(self) -> None:
        try:
            self.adapter.flush_read_buffer()
        except Exception:  # noqa: BLE001 - a flush that fails changes nothing
            pass

    def write(self, command: str, **kwargs: Any) -> None:
        self._attempt(command, lambda: super(ResilientMixin, self).write(command, **kwargs))

    def ask(self, command: str, query_delay: float | None = None) -> str:
        def once() -> str:
            reply = super(ResilientMixin, self).ask(command, query_delay)
            if _garbled(reply):
                raise GarbledReply(reply)
            return reply

        return self._attempt(command, once)

    def values(self, command: str, separator: str = ",", cast: Callable = float, preprocess_reply=None,
               maxsplit: int = -1, **kwargs: Any) -> list:
        # Text that does not cast is legitimate in pymeasure (mapped words, error
        # messages), so only characters no instrument sends mark a reply garbled.
        return self._attempt(command, lambda: super(ResilientMixin, self).values(
            command, separator, cast, preprocess_reply, maxsplit, **kwargs))


_CACHE: dict[tuple[type, str, int], type] = {}


def resilient(driver_class: type, *, role: str, retries: int = 2) -> type:
    """A subclass of ``driver_class`` with bounded retries, labelled ``role`` in errors."""
    key = (driver_class, role, retries)
    if key not in _CACHE:
        _CACHE[key] = type(f"Resilient{driver_class.__name__}", (ResilientMixin, driver_class),
                           {"role": role, "retries": retries})
    return _CACHE[key]
