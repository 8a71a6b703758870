"""The path a hardware-timed list takes through its input levels, and how a batch is cut into lists.

A list never steps the input by more than the ramp step: between wanted levels, and from the last back
to the first (where the instrument returns after the list), levels are inserted. The Bench builds the
path; the Bench and the physics model both cut a batch into lists that fit the source's memory.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def _inserted(start: np.ndarray, stop: np.ndarray, largest_step_a: float) -> np.ndarray:
    """Levels a list inserts between ``start`` and ``stop`` so that no step exceeds ``largest_step_a``."""
    return np.maximum(np.ceil(np.abs(stop - start) / largest_step_a - 1e-9) - 1, 0).astype(np.int64)


def list_points(levels: Sequence[float], largest_step_a: float) -> int:
    """How many points :func:`list_path` visits for ``levels`` (the wanted ones, those inserted between
    them and in the tail, and the first level again), counted without building the path."""
    wanted = np.asarray(levels, float)
    if wanted.size == 0:
        return 1
    steps = _inserted(wanted[:-1], wanted[1:], largest_step_a).sum()
    tail = _inserted(wanted[-1:], wanted[:1], largest_step_a).sum()  # back to the first
    return int(wanted.size + steps + tail + 1)


def list_chunks(levels: Sequence[float], largest_step_a: float, max_points: int) -> list[slice]:
    """``levels`` (in the order measured) cut into runs whose lists visit at most ``max_points`` points, each
    as long as it can be (as :class:`.BenchNeuronArray` cuts a device's batch); a single level is a run.

    A run ``[s, e)`` visits ``(e - s) + inserted(s..e-1) + tail(e-1 -> s) + 1`` points; with the steps'
    insertions summed once, each candidate end costs O(1), so a batch of n levels is cut in O(n) (an
    MNIST evaluation hands a device 10,000 levels).
    """
    wanted = np.asarray(levels, float)
    n = wanted.size
    if n == 0:
        return [slice(0, 0)]
    between = np.concatenate([[0], np.cumsum(_inserted(wanted[:-1], wanted[1:], largest_step_a))])
    values = wanted.tolist()

    def points(start: int, end: int) -> int:  # the run [start, end)
        tail = max(math.ceil(abs(values[start] - values[end - 1]) / largest_step_a - 1e-9) - 1, 0)
        return int(end - start + between[end - 1] - between[start] + tail + 1)

    if points(0, n) <= max_points:
        return [slice(0, n)]
    chunks, start = [], 0
    while start < n:
        end = start + 1
        while end < n and points(start, end + 1) <= max_points:
            end += 1
        chunks.append(slice(start, end))
        start = end
    return chunks


def list_path(levels: Sequence[float], largest_step_a: float) -> tuple[np.ndarray, np.ndarray]:
    """The levels the list visits and the indices of the wanted ones.

    Between wanted levels, and from the last back to the first, steps are at
    most ``largest_step_a``; the list ends at the first level, the level the
    instrument returns to after it.
    """
    wanted = [float(v) for v in levels]
    path: list[float] = [wanted[0]]
    index = [0]
    for level in wanted[1:]:
        path.extend(_between(path[-1], level, largest_step_a))
        path.append(level)
        index.append(len(path) - 1)
    path.extend(_between(path[-1], wanted[0], largest_step_a))  # the tail: at most one step from the first
    # The last point is the first level again, measured and dropped: the instrument's return to that
    # (bias) level after the list is then no step at all, so it cannot land in the read source's last
    # reading, which is still integrating when the input source finishes (no handshake after the last).
    path.append(path[0])
    return np.array(path), np.array(index)


def _between(start: float, stop: float, largest_step_a: float) -> list[float]:
    pieces = math.ceil(abs(stop - start) / largest_step_a - 1e-9)
    return [start + (stop - start) * k / pieces for k in range(1, pieces)] if pieces > 1 else []

