"""How a Bench recovers the truth and makes everything safe, whatever happened before.

Two situations need the instruments' own word rather than the Bench's memory:

- **After an interrupted operation** (a Ctrl-C the caller caught, an instrument
  fault in the middle of a ramp), what the Bench believes it has set may be
  wrong. :func:`read_back_settings` clears every interface (a reply left
  pending by a query cut between its write and its read would otherwise be
  read as the answer to the next one) and reads the state back: source levels
  and outputs, the sine amplitude, the coil set-point, the closed relays.
- **Shutdown** (:func:`make_everything_safe`): every interface is cleared
  first, then each output is ramped to zero and turned off, each with a few
  attempts (reconnecting after a dropped connection). The coil's supply is
  never switched off under current (see :meth:`.adapters.ClosedLoopField.zero`).
  The relays are opened last, and only once both sources are confirmed, by
  reading them back, at zero and off: opening a relay under current is what
  must not happen, and a closed relay with a source held at a level is safe.
  What cannot be made safe is reported, not hidden.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from ..errors import ConnectionLostError, MtjlabError
from .bench_state import BenchSettings

if TYPE_CHECKING:  # pragma: no cover
    from .bench import Bench

log = logging.getLogger(__name__)

#: Attempts at making one instrument safe (each after clearing its interface,
#: reconnecting if its connection dropped); the drivers already retry each
#: query twice, so this is up to nine tries per query.
SHUTDOWN_ATTEMPTS = 3


def clear_interfaces(bench: "Bench") -> None:
    """Discard any reply left pending on every connection, and the adapters' cached state."""
    for role, driver in bench._drivers.items():
        clear = getattr(driver, "clear_interface", None)
        if clear is not None:
            try:
                clear()
            except Exception as exc:  # noqa: BLE001 - a dead link shows up at its first real use
                log.warning("%s: could not clear the interface: %s", role, exc)
            except (KeyboardInterrupt, SystemExit) as exc:
                _defer(bench, exc)
    for adapter in (bench._read_source, bench._input_source, bench._field):
        if adapter is not None:
            adapter.forget_cached_state()


def read_back_settings(bench: "Bench") -> BenchSettings:
    """What the instruments have set now (their own word, after clearing every interface)."""
    clear_interfaces(bench)
    settings = BenchSettings()
    if bench._read_source is not None:
        on = bench._read_source.output_enabled
        settings.read_current_a = bench._read_source.level if on else 0.0
    if bench._input_source is not None:
        on = bench._input_source.output_enabled
        settings.input_current_a = bench._input_source.level if on else 0.0
    if bench._lockin is not None:
        settings.modulation_peak_a = bench.limits.modulation_peak_a(bench._lockin.modulation_amplitude_v)
    if bench._field is not None:
        supply = bench._field.supply
        current_a = float(supply.current_setpoint) if supply.output_enabled else 0.0
        settings.field_oe = bench._field.predicted_field_oe(current_a)
    if bench._switch is not None:
        settings.routed = bench._switch.read_route()
    log.info("bench state read back from the instruments: %s", settings)
    return settings


def _attempts(bench: "Bench", roles: tuple[str, ...], action: Callable[[], None]) -> None:
    """Run ``action`` until it succeeds, at most SHUTDOWN_ATTEMPTS times; raise the last error."""
    last: BaseException | None = None
    for attempt in range(SHUTDOWN_ATTEMPTS):
        try:
            if isinstance(last, ConnectionLostError):
                log.warning("%s: connection lost; reconnecting to make it safe", "/".join(roles))
                bench._reconnect(roles)
            elif last is not None:
                for role in roles:
                    clear = getattr(bench._drivers.get(role), "clear_interface", None)
                    if clear is not None:
                        clear()
            action()
            return
        except (KeyboardInterrupt, SystemExit) as exc:  # a Ctrl-C or SIGTERM waits for the ramp-down
            _defer(bench, exc)
            last = exc
            log.warning("%s: interrupted while making it safe; finishing first", "/".join(roles))
            continue
        except Exception as exc:  # noqa: BLE001 - every attempt gets its turn
            last = exc
            log.warning("%s: attempt %d of %d to make it safe failed: %s", "/".join(roles), attempt + 1,
                        SHUTDOWN_ATTEMPTS, exc)
    assert last is not None
    raise last


def _defer(bench: "Bench", interrupt: BaseException) -> None:
    """Keep the first Ctrl-C or SIGTERM that arrives during a shutdown: raised once it is over."""
    if bench._deferred_interrupt is None:
        bench._deferred_interrupt = interrupt


def _describe(exc: BaseException) -> str:
    return exc.one_line() if isinstance(exc, MtjlabError) else (repr(exc) if not str(exc) else str(exc))


def _sources_confirmed_off(bench: "Bench") -> list[str]:
    """Each source not confirmed, by reading it back, at zero with its output off."""
    unconfirmed = []
    for name in ("input_source", "read_source"):
        if getattr(bench, f"_{name}") is None or name not in bench._drivers:
            continue
        state: list[tuple[float, bool]] = []

        def read_back(name: str = name) -> None:
            source = getattr(bench, f"_{name}")  # looked up each time: a reconnect replaces it
            state.append((source.level, source.output_enabled))

        try:
            _attempts(bench, (name,), read_back)
        except BaseException as exc:  # noqa: BLE001 - unknown is not confirmed
            unconfirmed.append(f"{name} unreadable ({_describe(exc)})")
            continue
        level, on = state[-1]
        if level != 0.0 or on:
            unconfirmed.append(f"{name} at {level:g} with output {'on' if on else 'off'}")
    return unconfirmed


def make_everything_safe(bench: "Bench") -> list[str]:
    """Ramp every output to zero and off, then open the relays if that is safe; the failures."""
    clear_interfaces(bench)
    rate, input_rate = bench.limits.max_source_ramp_a_per_s, bench.limits.max_input_ramp_a_per_s
    steps: list[tuple[str, tuple[str, ...], Callable[[], None]]] = [
        ("input_source", ("input_source",), lambda: bench._input_source.shutdown(input_rate)),
        ("read_source", ("read_source",), lambda: bench._read_source.shutdown(rate)),
        ("lockin", ("lockin",), lambda: bench._lockin.shutdown()),
        ("field", ("field_supply", "gaussmeter"), lambda: bench._field.zero()),
    ]
    failures = []
    for name, roles, action in steps:
        if any(role not in bench._drivers for role in roles) or getattr(bench, f"_{name}") is None:
            continue  # never connected: nothing of ours is on
        try:
            _attempts(bench, roles, action)
        except BaseException as exc:  # noqa: BLE001 - every instrument gets its turn
            failures.append(f"{name}: {_describe(exc)}")
    if bench._switch is not None and "switch" in bench._drivers:
        unconfirmed = _sources_confirmed_off(bench)
        if unconfirmed:
            failures.append("switch: relays left closed, since opening them under current is worse: "
                            + ", ".join(unconfirmed))
        else:
            try:
                _attempts(bench, ("switch",), lambda: bench._switch.open_all())
            except BaseException as exc:  # noqa: BLE001
                failures.append(f"switch: {_describe(exc)}")
    return failures


__all__ = ["SHUTDOWN_ATTEMPTS", "clear_interfaces", "make_everything_safe", "read_back_settings"]
