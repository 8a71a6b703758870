"""What every ``mtjlab`` command shares: exit statuses, one-line usage errors,
range-checked option values, the output-folder check, and how a stop is named.

Exit statuses (documented in the README, relied on by scripts):

====  ==========================================================
0     finished
1     failed: an instrument fault or an unexpected error
2     refused or bad input (a usage error, a bad file, a request beyond a limit)
130   stopped by Ctrl-C (SIGINT)
143   stopped by SIGTERM
====  ==========================================================
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterator, NoReturn

from .errors import ConfigError, InstrumentError, MtjlabError

EXIT_FINISHED = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM

#: How each stop status is named in the one line a stopped command prints.
STOP_NAMES = {EXIT_INTERRUPTED: "Ctrl-C", EXIT_TERMINATED: "SIGTERM"}


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit status 2.

    argparse hands its own class to every subparser it creates, so the root
    parser being one of these makes every ``mtjlab ...`` subcommand one too.
    """

    def error(self, message: str) -> NoReturn:
        command = self.prog.split(None, 1)[1] if " " in self.prog else ""
        where = f"{command}: " if command else ""
        self.exit(EXIT_REFUSED, f"mtjlab: {where}{' '.join(message.split())} (see {self.prog} --help)\n")


# --------------------------------------------------------------------------- option values
def int_option(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse ``type`` for an integer in ``[minimum, maximum]`` (argparse's ``int`` has no range)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not minimum <= value <= maximum:
            shown = text if len(text) <= 24 else text[:20] + "..."
            raise argparse.ArgumentTypeError(f"{shown} is out of range ({minimum} to {maximum})")
        return value

    parse.__name__ = "integer"  # argparse names the type in its message
    return parse


def float_option(minimum: float = -math.inf, maximum: float = math.inf) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number in ``[minimum, maximum]`` (no NaN, no infinity)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({minimum:g} to {maximum:g})")
        return value

    parse.__name__ = "number"
    return parse


def check_out_dir(path: Path, option: str = "--out") -> None:
    """Refuse (ConfigError, one line) an output folder that cannot be one, before anything is made.

    ``path`` may exist (then it must be a writable folder) or not (then the
    nearest existing ancestor must be a writable folder, not a file). Writing
    is tried with a probe folder, made and removed at once: permission bits say
    nothing to root, and a read-only file system refuses root too.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ConfigError(f"{path}: is a file, not a folder; choose another {option}")
        base = path
    else:
        base = path.absolute().parent
        while not base.exists() and base != base.parent:
            base = base.parent
        if not base.is_dir():
            raise ConfigError(f"{path}: {base} is a file, so no folder can be made under it; choose another {option}")
    try:
        probe = tempfile.mkdtemp(prefix=".mtjlab-probe-", dir=base)
    except OSError as exc:
        where = "the folder is not writable" if base == path else f"cannot create it under {base}"
        raise ConfigError(f"{path}: {where} ({exc.strerror or type(exc).__name__}); "
                          f"choose another {option}") from None
    os.rmdir(probe)


def make_out_dir(path: Path, option: str = "--out") -> None:
    """Create the output folder (and its parents); a refusal by the system is one line too."""
    check_out_dir(path, option)
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create it ({exc.strerror or exc}); choose another {option}") from None


# --------------------------------------------------------------------------- errors and stops
def error_status(exc: MtjlabError) -> int:
    """Exit status of an MtjlabError: 1 for an instrument fault, 2 for a refusal or bad input."""
    return EXIT_FAILED if isinstance(exc, InstrumentError) else EXIT_REFUSED


def stop_status(exc: BaseException | None) -> int | None:
    """130 or 143 if ``exc`` is (or was caused by) a Ctrl-C or a SIGTERM; else None.

    A measurement that catches the Ctrl-C to save what it measured re-raises it
    as an MtjlabError with the KeyboardInterrupt as its cause, so the chain is
    followed.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt):
            return EXIT_INTERRUPTED
        if isinstance(exc, SystemExit) and exc.code == EXIT_TERMINATED:
            return EXIT_TERMINATED
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return None


class Terminated(SystemExit):
    """Raised in the main thread when a command receives SIGTERM (exit status 143).

    A SystemExit like the Bench's own, so that code which lets the Bench's
    pass lets this one pass too.
    """

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (a clean stop, exit 143)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["EXIT_FAILED", "EXIT_FINISHED", "EXIT_INTERRUPTED", "EXIT_REFUSED", "EXIT_TERMINATED", "OneLineParser",
           "STOP_NAMES", "Terminated", "check_out_dir", "error_status", "float_option", "int_option",
           "make_out_dir", "sigterm_raises", "stop_status"]
