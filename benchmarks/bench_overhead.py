"""Software overhead of a neuron measurement through the full driver stack.

On the simulated bench every measurement goes through the Bench (limits,
ramps), the device adapters, pymeasure's drivers, the emulators' SCPI parsing
and the virtual lab's physics, while the virtual clock charges what the real
instruments would take. This script runs batches of neuron measurements and
prints, side by side in one run, the CPU time the software spent per
measured point against the instrument time charged per point, and their ratio
(target: software under 5 % of instrument time at default settings).

    python benchmarks/bench_overhead.py [--points N]
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from mtjlab.config import load_default_bench
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray


def run_batch(array: BenchNeuronArray, devices: list[str], points: int, rng: np.random.Generator):
    """(cpu_s, instrument_s, n_points) of one batch of random inputs."""
    low, high = array.input_range_a
    inputs = rng.uniform(0.5 * low, 0.5 * high, size=(len(devices), points))
    cpu_start = time.process_time()
    measured = array.measure(devices, inputs)
    cpu_s = time.process_time() - cpu_start
    return cpu_s, measured.instrument_time_s, int(np.count_nonzero(~np.isnan(measured.output_v)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20, help="inputs per device in each batch")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    config = load_default_bench()
    live = [d for d in config.chip.ids() if d not in config.chip.known_dead]
    rng = np.random.default_rng(7)
    with Bench(config) as bench:
        array = BenchNeuronArray(bench)
        array.prepare()
        run_batch(array, live[:1], 10, rng)  # first use builds the response tables: not a steady state
        batches = [
            ("1 device", live[:1], args.points),
            ("4 devices (one per row)", live[::4][:4], args.points),
            (f"all {len(live)} live devices", live, args.points),
            (f"all {len(live)} live devices, 1 input each", live, 1),
        ]
        print(f"{'batch':<34} {'points':>6} {'instrument s/pt':>16} {'CPU ms/pt':>10} {'CPU / instrument':>17}")
        for name, devices, points in batches:
            cpu_s, instrument_s, n = run_batch(array, devices, points, rng)
            print(f"{name:<34} {n:>6} {instrument_s / n:>16.3f} {1e3 * cpu_s / n:>10.2f} "
                  f"{100 * cpu_s / instrument_s:>16.2f}%")


if __name__ == "__main__":
    main()
