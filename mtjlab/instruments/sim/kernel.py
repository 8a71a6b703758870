"""The tabulated measurement of the chip as one compiled loop.

:meth:`.mtj.MTJChip.measure` on response tables (:mod:`.response_tables`)
answers, for every requested device and input point, which branch the junction
is on and the cubic Hermite interpolation of its tables on that branch. The
numpy path does this in vectorised passes (locate, forced branch, forward fill,
one gather per table). This module does it in a single loop per point: the cell
is located once for all tables, the branch is carried from point to point (the
junction's hysteresis), and the other devices of a driven row only look for
their last forced branch, scanning back from the end of the sequence. The
arithmetic is that of the numpy path in the same order, so the results agree
with it to rounding and the branches exactly.

The loop is compiled with numba when it can be imported; :func:`use_compiled`
is the one place that decides, and the numpy path stays the reference and the
fallback. Numba is imported and the loop compiled at first use, not at import.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np


def _build(jit: Callable) -> Callable:
    """The measurement loop, with ``jit`` applied to it and its helpers.

    ``jit`` is numba's compiler or, to run the same loop as plain Python, the identity.
    """

    @jit
    def nearest_branch(forced, row_offset, start_a, step_a, n_nodes, current_a):
        # Same operations as ``_Table.nearest``: round half to even, then clip.
        node = int(np.rint((current_a - start_a) / step_a))
        node = min(max(node, 0), n_nodes - 1)
        return int(forced[row_offset + node])

    @jit
    def locate(current_a, start_a, inverse_step, step_a, n_nodes):
        # Same operations, in the same order, as ``_Table.locate``: the results agree bit for bit.
        position = (current_a - start_a) * inverse_step
        position = min(max(position, 0.0), n_nodes - 1.0)
        cell = min(int(position), n_nodes - 2)
        t = position - cell
        t2 = t * t
        t3 = t2 * t
        h01 = 3.0 * t2 - 2.0 * t3
        h00 = 1.0 - h01
        h11 = t3 - t2
        h10 = ((h11 - t2) + t) * step_a
        return cell, h00, h10, h01, h11 * step_a

    @jit
    def hermite(values, slopes, base, w0, w1, w2, w3):
        return w0 * values[base] + w1 * slopes[base] + w2 * values[base + 1] + w3 * slopes[base + 1]

    @jit
    def measure(index, inputs, device_row, row_first, row_members, branch, row_input_a,
                forced, forced_start_a, forced_nodes,
                static, static_start_a, static_nodes,
                cycle, cycle_start_a, cycle_nodes,
                step_a, inverse_step, n_devices, modulated,
                dc, x, y, slope):
        n_points = inputs.shape[1]
        for j in range(index.size):
            device = index[j]
            row = device_row[device]
            # Every device of the row sees the field line's history; those not measured
            # only need the branch it leaves them on: the last forced one, if any.
            for m in range(row_first[row], row_first[row + 1]):
                other = row_members[m]
                if other == device:
                    continue
                for i in range(n_points - 1, -1, -1):
                    found = nearest_branch(forced, other * forced_nodes, forced_start_a, step_a, forced_nodes,
                                           inputs[j, i])
                    if found != 0:
                        branch[other] = found
                        break
            state = branch[device]
            for i in range(n_points):
                current = inputs[j, i]
                entered_on = state
                found = nearest_branch(forced, device * forced_nodes, forced_start_a, step_a, forced_nodes, current)
                if found != 0:
                    state = found
                # A modulated point is the cycle entered on the branch the previous point left;
                # a static one is read on the branch the point leaves.
                used = entered_on if modulated else state
                plane_row = device + (n_devices if used < 0 else 0)
                cell, w0, w1, w2, w3 = locate(current, static_start_a, inverse_step, step_a, static_nodes)
                base = plane_row * static_nodes + cell
                slope[j, i] = hermite(static[2], static[3], base, w0, w1, w2, w3)
                if modulated:
                    cell, w0, w1, w2, w3 = locate(current, cycle_start_a, inverse_step, step_a, cycle_nodes)
                    base = plane_row * cycle_nodes + cell
                    dc[j, i] = hermite(cycle[0], cycle[1], base, w0, w1, w2, w3)
                    x[j, i] = hermite(cycle[2], cycle[3], base, w0, w1, w2, w3)
                    y[j, i] = hermite(cycle[4], cycle[5], base, w0, w1, w2, w3)
                else:
                    dc[j, i] = hermite(static[0], static[1], base, w0, w1, w2, w3)
                    x[j, i] = 0.0
                    y[j, i] = 0.0
            branch[device] = state
            row_input_a[row] = inputs[j, n_points - 1]

    return measure


@functools.lru_cache(maxsize=1)
def compiled_loop() -> Callable | None:
    """The loop compiled by numba (on its first call), or None without numba.

    No ``fastmath``: it would let the compiler reorder and fuse the arithmetic and
    the results would no longer match the numpy path. No on-disk cache: the
    package may be installed read-only, and compiling takes about a second.
    """
    try:
        import numba
    except ImportError:
        return None
    return _build(numba.njit(nogil=True))


def available() -> bool:
    """Whether the compiled loop can be used (numba imports)."""
    return compiled_loop() is not None


def use_compiled(requested: bool | None) -> bool:
    """Whether a chip measures through the compiled loop: ``None`` for whenever
    numba is available, ``False`` for the numpy path."""
    if requested is None:
        return available()
    if requested and not available():
        raise RuntimeError("the compiled measurement loop needs numba, which cannot be imported")
    return bool(requested)


@functools.lru_cache(maxsize=1)
def python_loop() -> Callable:
    """The same loop as plain Python (slow; for checking the loop itself without numba)."""
    return _build(lambda function: function)


def run(loop: Callable, tables: Any, index: np.ndarray, inputs: np.ndarray, device_row: np.ndarray,
        branch: np.ndarray, row_input_a: np.ndarray):
    """Measure ``inputs`` (n, k) on devices ``index`` through ``loop`` and ``tables``.

    ``tables`` is a :class:`.response_tables.KernelTables`. ``branch`` and
    ``row_input_a`` (the chip's state) are updated in place. Returns ``(dc, x, y,
    slope)``, each (n, k).
    """
    index = np.ascontiguousarray(index, np.intp)
    inputs = np.ascontiguousarray(inputs, np.float64)
    device_row = np.ascontiguousarray(device_row, np.intp)
    # The devices of each row, listed row after row (row r: row_members[row_first[r]:row_first[r + 1]]).
    row_members = np.argsort(device_row, kind="stable")
    row_first = np.zeros(row_input_a.size + 1, np.intp)
    np.cumsum(np.bincount(device_row, minlength=row_input_a.size), out=row_first[1:])
    dc, x, y, slope = (np.empty(inputs.shape) for _ in range(4))
    loop(index, inputs, device_row, row_first, row_members, branch, row_input_a,
         tables.forced, tables.forced_start_a, tables.forced_nodes,
         tables.static, tables.static_start_a, tables.static_nodes,
         tables.cycle, tables.cycle_start_a, tables.cycle_nodes,
         tables.step_a, 1.0 / tables.step_a, tables.n_devices, tables.modulated,
         dc, x, y, slope)
    return dc, x, y, slope


__all__ = ["available", "compiled_loop", "python_loop", "run", "use_compiled"]
