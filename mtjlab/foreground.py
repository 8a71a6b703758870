"""Foreground priority: the lab window's thread goes first for Python's interpreter lock.

Why this exists. The simulated bench and the model backend are pure Python, and
they run in a worker thread next to the window's thread. CPython lets one thread
run Python at a time (the GIL) and, when two want it, hands it over only every
``sys.getswitchinterval()``. A Qt call gives the GIL up and takes it back, so a
redraw of a few hundred calls waits a few hundred turns behind a busy worker:
measured with ``benchmarks/gui_latency.py``, a training run's redraws stalled the
window for 150 to 250 ms at a 0.1 ms interval and over a second at 1 ms.

The cure is cooperative and costs nothing when nobody asks for it:

- the window wraps its drawing (its paint pass and its views' redraws) in
  :func:`first`;
- the worker calls :func:`checkpoint` at natural pauses (before every bus
  exchange, at every training step): while the foreground is held by another
  thread it waits there, the GIL released, until the foreground is done.

A hold lasts at most :data:`MAX_WAIT_S` as far as a checkpoint is concerned, so
a holder that forgot to let go slows the worker down and never stops it. No
output is left in an unsafe state by a wait: a checkpoint sits between whole
bus exchanges, and a ramp step that lands late moves the ramp's schedule with it
(``adapters.ramps.run_ramp``), so a pause never makes a ramp faster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Longest a checkpoint waits for one hold (s): a drawing pass takes tens of ms;
#: anything longer is a holder that is stuck, and the worker goes on.
MAX_WAIT_S = 0.5

_free = threading.Event()
_free.set()
_lock = threading.Lock()
_holder: int | None = None  # the thread id holding the foreground
_depth = 0  # nested holds by the holder


def hold() -> None:
    """Take the foreground for this thread (nests; pair with :func:`release`)."""
    global _holder, _depth
    with _lock:
        me = threading.get_ident()
        if _holder == me:
            _depth += 1
            return
        _holder, _depth = me, 1
        _free.clear()


def release() -> None:
    """Give the foreground back (the outermost release lets waiting checkpoints go)."""
    global _holder, _depth
    with _lock:
        if _holder != threading.get_ident():
            return
        _depth -= 1
        if _depth <= 0:
            _holder, _depth = None, 0
            _free.set()


@contextmanager
def first() -> Iterator[None]:
    """Run the block with the foreground held by this thread."""
    hold()
    try:
        yield
    finally:
        release()


def held() -> bool:
    """Whether some thread holds the foreground now."""
    return not _free.is_set()


def checkpoint() -> float:
    """Wait here while another thread holds the foreground (at most :data:`MAX_WAIT_S`); the seconds waited.

    Free when nothing is held: one flag read.
    """
    if _free.is_set() or _holder == threading.get_ident():
        return 0.0
    began = time.perf_counter()
    _free.wait(MAX_WAIT_S)
    return time.perf_counter() - began
