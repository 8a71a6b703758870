"""Interrupt a workload at every bus operation, in every way, and the shutdown still ends safe.

For each representative workload (connecting, a sweep, a training step, a field
ramp, a relay change) the number of bus operations it and its shutdown take is
counted once; then, for every k of them and every kind of interruption the
virtual lab can inject (``Faults.OPERATION_FAULTS``: a Ctrl-C or a SIGTERM
before or after the k-th operation reaches its instrument, a timeout, a
garbled reply, a dropped connection), a fresh bench runs the workload with the
interruption at operation k, whatever the workload raises is caught as a
script would, and ``Bench.shutdown()`` must then leave everything safe (the
lab's own view) with no violation recorded by the lab's safety monitor, during
the workload or the shutdown.

The suite runs every k for the cheap workloads and every ``STRIDE``-th k for
the ones that evaluate the chip's physics; ``MTJLAB_INTERRUPTIONS=all`` runs
every k of every workload (over 10,000 sequences; ``benchmarks`` is not the
place for it: it asserts).
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np
import pytest

from mtjlab.errors import InstrumentError
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray
from mtjlab.instruments.sim.faults import OPERATION_FAULTS, Faults
from mtjlab.instruments.sim.lab import VirtualLab
from mtjlab.instruments.sim.mtj import MTJChip

FULL = os.environ.get("MTJLAB_INTERRUPTIONS", "") == "all"
#: Every STRIDE-th operation of the workloads that evaluate the chip (the suite's sample)...
STRIDE = 1 if FULL else 29
#: ...and of the long field ramp, whose hundreds of steps all look alike.
FIELD_RAMP_STRIDE = 1 if FULL else 3


def _connect(bench: Bench) -> None:
    bench.connect()


def _sweep(bench: Bench) -> None:
    """An activation sweep's points: one device, outputs and lock-in derivatives."""
    BenchNeuronArray(bench).measure(["r0c1"], [np.linspace(-3e-3, 3e-3, 4)])


def _training_step(bench: Bench) -> None:
    """A forward pass (DC) on two neurons, then their outputs and derivatives."""
    array = BenchNeuronArray(bench)
    inputs = np.array([[-1e-3, 2e-3], [0.5e-3, -2e-3]])
    array.measure(["r0c1", "r1c2"], inputs, derivative=False)
    array.measure(["r0c1", "r1c2"], inputs)


def _field_ramp(bench: Bench) -> None:
    bench.set_field(60.0)
    bench.set_field(-40.0)


def _relay_change(bench: Bench) -> None:
    bench.route("r0c1")
    bench.set_read_current(1e-4)
    bench.set_input_current(2e-3)
    bench.route("r1c2")
    bench.disconnect()


def _calibration_sweep(bench: Bench) -> None:
    """Three devices, five inputs each, outputs and derivatives (a calibration's pattern)."""
    BenchNeuronArray(bench).measure(["r0c0", "r2c1", "r3c3"], [np.linspace(-4e-3, 4e-3, 5)] * 3)


def _modulation_near_the_limit(bench: Bench) -> None:
    """The input near its limit with the sine raised and lowered around it."""
    limits = bench.limits
    bench.route("r2c3")
    bench.set_modulation(2e-4)
    bench.set_input_current(limits.max_input_current_a - 3e-4)
    bench.set_modulation(1e-4)
    bench.set_input_current(-limits.max_input_current_a + 2e-4)
    bench.set_modulation(1.5e-4)


#: name -> (workload, whether it evaluates the chip's physics: sampled in the suite)
WORKLOADS: dict[str, tuple[Callable[[Bench], None], bool]] = {
    "connect": (_connect, False),
    "sweep": (_sweep, True),
    "training step": (_training_step, True),
    "field ramp": (_field_ramp, False),
    "relay change": (_relay_change, False),
    "calibration sweep": (_calibration_sweep, True),
    "modulation near the limit": (_modulation_near_the_limit, False),
}


@pytest.fixture(scope="module")
def chip(sim_config):
    """One chip for every sequence of a worker: the physics is the same, building it is not free."""
    return MTJChip.from_bench(sim_config)


def _bench(config, chip) -> tuple[Bench, Faults]:
    bench = Bench(config, lab=VirtualLab(config, chip=chip))
    return bench, Faults.attach(bench.lab)


def _operations(config, chip, name: str) -> int:
    """Bus operations of the workload plus its shutdown, uninterrupted."""
    workload, _ = WORKLOADS[name]
    bench, faults = _bench(config, chip)
    if name != "connect":
        bench.connect()
    start = faults.operations
    workload(bench)
    bench.shutdown()
    assert bench.lab.everything_safe() and not bench.lab.monitor.violations
    return faults.operations - start


def _one_sequence(config, chip, name: str, k: int, kind: str) -> str | None:
    """What went wrong when ``kind`` strikes at operation ``k`` of workload ``name`` (None: nothing)."""
    workload, _ = WORKLOADS[name]
    bench, faults = _bench(config, chip)
    if name != "connect":
        bench.connect()
    faults.at_operation(k, kind)
    try:
        workload(bench)
    except (Exception, KeyboardInterrupt, SystemExit):  # noqa: BLE001 - a script catches and leaves
        pass
    try:
        bench.shutdown()
    except InstrumentError as exc:
        return f"shutdown failed: {exc.one_line()}"
    except (KeyboardInterrupt, SystemExit):
        pass  # one that came during the shutdown waits for it, then stops the program
    lab = bench.lab
    if not lab.everything_safe():
        return (f"not safe: read {lab.read}, input {lab.input}, sine {lab.lockin.sine_v_rms} V, "
                f"coil {lab.coil} at {lab.coil_current_a():.4g} A, relays {sorted(lab.closed)}")
    if lab.monitor.violations:
        return f"monitor: {lab.monitor.violations[0]}"
    return None


@pytest.mark.parametrize("kind", OPERATION_FAULTS)
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_an_interruption_at_any_bus_operation_ends_safe(sim_config, chip, name, kind):
    total = _operations(sim_config, chip, name)
    stride = STRIDE if WORKLOADS[name][1] else FIELD_RAMP_STRIDE if name == "field ramp" else 1
    ks = range(1 + OPERATION_FAULTS.index(kind) % stride, total + 1, stride)  # each kind its own sample
    problems = {}
    for k in ks:
        problem = _one_sequence(sim_config, chip, name, k, kind)
        if problem is not None:
            problems[k] = problem
    assert not problems, (f"{len(problems)} of {len(ks)} sequences of {name!r} with {kind!r} ended badly, "
                          f"e.g. at operation {min(problems)} of {total}: {problems[min(problems)]}")
