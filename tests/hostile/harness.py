"""The machinery of the hostile-file corpus: making inputs, running mtjlab on them, checking the end.

Used by ``tests/test_hostile_files.py``; see ``README.md`` beside this file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from mtjlab import cli

HOSTILE = Path(__file__).parent
#: A command that has not ended after this long is taken as hung (the cases take milliseconds).
HANG_S = 60.0

Setup = Callable[[Path], str]
"""Puts the hostile input into the working folder; returns its path as given on the command line."""


# ------------------------------------------------------------------ inputs
def copy_in(relative: str) -> Setup:
    """A file or folder of the corpus, copied into the working folder."""
    def setup(work: Path) -> str:
        target = work / Path(relative).name
        if (HOSTILE / relative).is_dir():
            shutil.copytree(HOSTILE / relative, target)
        else:
            shutil.copyfile(HOSTILE / relative, target)
        return target.name
    return setup


def fifo(name: str) -> Setup:
    """A named pipe with no writer."""
    def setup(work: Path) -> str:
        os.mkfifo(work / name)  # no writer: a plain open() for reading blocks for ever
        return name
    return setup


def device(work: Path) -> str:
    """A character device in place of a file."""
    return "/dev/zero"  # endless: reading it whole ends in MemoryError


def folder(name: str) -> Setup:
    """An empty folder where a file is expected."""
    def setup(work: Path) -> str:
        (work / name).mkdir()
        return name
    return setup


def sparse(name: str, size: int) -> Setup:
    """A file of ``size`` bytes (zeros) that takes no disk."""
    def setup(work: Path) -> str:
        with open(work / name, "wb") as stream:
            stream.truncate(size)  # one byte over the limit, and no disk used
        return name
    return setup


def text(name: str, content: str) -> Setup:
    """A text file made at test time."""
    def setup(work: Path) -> str:
        (work / name).write_text(content, encoding="utf-8")
        return name
    return setup


# ------------------------------------------------------------------ running and checking
def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``: its kind, and size, hash and time of each regular file."""
    entries = {}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISREG(mode):
            size = path.stat().st_size
            digest = hashlib.sha1(path.read_bytes()).hexdigest() if size < 1 << 20 else "large"
            entries[str(path.relative_to(root))] = f"file {size} {digest} {path.stat().st_mtime_ns}"
        else:
            entries[str(path.relative_to(root))] = stat.filemode(mode)[0]
    return entries


def unblock(root: Path) -> None:
    """Open every pipe under ``root`` for writing, so a reader stuck on one gets end-of-file."""
    for path in root.rglob("*"):
        if stat.S_ISFIFO(path.lstat().st_mode):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass


@dataclass
class Outcome:
    status: int
    out: str
    err: str


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], work: Path) -> Outcome:
    """``mtjlab ARGS`` in this process, in a thread, failing the test if it does not end in HANG_S."""
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["status"] = cli.main(args)
        except BaseException as exc:  # noqa: BLE001 - reported below as the test's failure
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_S)
    if thread.is_alive():
        unblock(work)
        pytest.fail(f"mtjlab {' '.join(args)} hung (still running after {HANG_S:.0f} s)")
    if "error" in result:
        raise AssertionError(f"mtjlab {' '.join(args)} raised") from result["error"]  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    return Outcome(int(result["status"]), out, err)  # type: ignore[call-overload]


def assert_clean(outcome: Outcome, names: str, before: dict[str, str], work: Path) -> str:
    """Exit 2, one stderr line naming ``names``, no traceback, the working folder untouched."""
    assert "Traceback" not in outcome.err, outcome.err
    assert outcome.status == 2, (outcome.status, outcome.err)
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("mtjlab: ") and names in lines[0], lines[0]
    assert snapshot(work) == before, "the command wrote or changed files"
    return lines[0]


def check(args_of: Callable[[str], list[str]], setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str], names: str | None = None) -> str:
    """Set the case up in a fresh working folder, run it, and check it ended cleanly."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    given = setup(work)
    before = snapshot(work)
    outcome = run_cli(args_of(given), capsys, work)
    return assert_clean(outcome, names or given, before, work)


def call_guarded(function: Callable[..., object], *args: object, work: Path) -> BaseException | None:
    """Call ``function(*args)`` in a thread; what it raised (None if nothing); fail if it hangs."""
    caught: list[BaseException] = []

    def target() -> None:
        try:
            function(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            caught.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_S)
    if thread.is_alive():
        unblock(work)
        pytest.fail(f"{getattr(function, '__name__', function)} hung (still running after {HANG_S:.0f} s)")
    return caught[0] if caught else None
