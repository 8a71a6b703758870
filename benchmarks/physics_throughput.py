"""Throughput of the MTJ physics model against numpy tanh, side by side.

Output plus first-harmonic (lock-in) derivative for 100 devices x 10,000 inputs
on the physics model, against ``tanh`` and its derivative on the same array.
Every row is measured in this one run and reported as a ratio to tanh. The
model rows use the compiled loop when numba is available; the numpy path (the
reference) is timed on the same warm chips beside it.

    python benchmarks/physics_throughput.py [--repeats N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mtjlab.config import ChipPhysics
from mtjlab.instruments.sim import kernel
from mtjlab.instruments.sim.mtj import MTJChip

DEVICES, INPUTS = 100, 10_000
READ_CURRENT_A, MODULATION_A, BIAS_OE = 1e-4, 2e-4, 20.0


def best_time(fn, repeats: int) -> float:
    """Fastest of ``repeats`` runs (s): the least disturbed by the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def chip(rows: int, cols: int) -> MTJChip:
    c = MTJChip.from_physics(ChipPhysics(), rows, cols, input_table_range_a=0.02)
    c.set_bias_field(BIAS_OE)
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    inputs = rng.uniform(-0.015, 0.015, (DEVICES, INPUTS))
    scale = 1.0 / 0.005

    def tanh_pair():
        y = np.tanh(inputs * scale)
        return y, scale * (1.0 - y * y)

    one_per_line = chip(DEVICES, 1)  # each device on its own field line
    crossbar = chip(10, 10)  # a 10 x 10 crossbar: rows share a field line
    everyone = np.arange(DEVICES)

    def model(c, exact=False, n_inputs=INPUTS, compiled=kernel.available()):
        def run():
            c.compiled = compiled  # the same chip and tables, measured either way
            return c.measure(everyone, inputs[:, :n_inputs], READ_CURRENT_A, MODULATION_A, exact=exact)
        return run

    def first_use_of_the_loop() -> float:
        """Seconds the first compiled measurement takes beyond a warm numpy one (the compiling)."""
        one = chip(1, 1)
        one.compiled = False
        one.measure([0], inputs[:1, :10], READ_CURRENT_A, MODULATION_A)  # builds its tables
        one.compiled = kernel.available()
        start = time.perf_counter()
        one.measure([0], inputs[:1, :10], READ_CURRENT_A, MODULATION_A)
        return time.perf_counter() - start

    compile_s = first_use_of_the_loop()

    cold_chip = chip(DEVICES, 1)
    start = time.perf_counter()
    model(cold_chip)()
    cold_s = time.perf_counter() - start
    model(crossbar)()  # build the crossbar's tables before timing it warm

    exact_inputs = 20
    rows = [
        ("numpy tanh + derivative", best_time(tanh_pair, args.repeats), INPUTS),
        ("model, 100 field lines, tables warm", best_time(model(one_per_line), args.repeats), INPUTS),
        ("model, 10 x 10 crossbar, tables warm", best_time(model(crossbar), args.repeats), INPUTS),
        ("numpy path, 100 field lines, warm", best_time(model(one_per_line, compiled=False), args.repeats), INPUTS),
        ("numpy path, 10 x 10 crossbar, warm", best_time(model(crossbar, compiled=False), args.repeats), INPUTS),
        ("model, first call (builds tables)", cold_s, INPUTS),
        ("model, exact physics per point", best_time(model(one_per_line, True, exact_inputs), 1), exact_inputs),
    ]
    reference = rows[0][1] / INPUTS
    print(f"{DEVICES} devices x {INPUTS} inputs, output + lock-in first harmonic ({MODULATION_A * 1e3:g} mA modulation)")
    path = "compiled loop" if kernel.available() else "numpy path (numba not available)"
    print(f"model rows: {path}; compiling the loop took {compile_s:.2f} s, once per process")
    print(f"{'case':<40} {'time for 1e6 points (s)':>24} {'ratio to tanh':>14}")
    for name, seconds, n_inputs in rows:
        per_million = seconds / n_inputs * INPUTS
        print(f"{name:<40} {per_million:>24.4f} {per_million / (reference * INPUTS):>14.1f}")
    print("(exact physics timed on 20 inputs per device and scaled; tables are built once per bias field,")
    print(" read current and modulation, then reused by every measurement at that setting)")


if __name__ == "__main__":
    main()
