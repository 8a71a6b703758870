"""Jobs for GUI tests: a measurement that runs until it is told to stop."""

from __future__ import annotations

import threading

from mtjlab.gui.bench_worker import Job
from mtjlab.instruments.bench_array import BenchNeuronArray


class EndlessMeasurement(Job):
    """Measures one device over and over until stopped (a sweep that never ends by itself)."""

    name = "endless measurement"

    def __init__(self) -> None:
        self.running = threading.Event()
        self._stop = threading.Event()

    def run(self, bench):
        array = BenchNeuronArray(bench)
        while not self._stop.is_set():
            array.measure(["r0c1"], [[2e-3, 4e-3]])
            self.running.set()
        return "stopped"

    def stop(self) -> None:
        self._stop.set()
