"""A sweep interrupted halfway keeps every point measured so far, and the bench is left safe."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from pymeasure.experiment import Procedure, Results, Worker

from mtjlab.config import load_default_bench
from mtjlab.errors import InstrumentError
from mtjlab.experiments.activation import ActivationMapProcedure
from mtjlab.experiments.replay import load_sweep
from mtjlab.experiments.runner import run_procedure
from mtjlab.instruments.bench import Bench


def _data_rows(path) -> int:
    text = path.read_text() if path.exists() else ""
    return sum(1 for line in text.splitlines() if line and not line.startswith("#")) - 1


def test_a_stop_request_ends_the_sweep_with_a_valid_file_and_a_safe_bench(tmp_path):
    path = tmp_path / "map.csv"
    with Bench(load_default_bench()) as bench:
        procedure = ActivationMapProcedure(points=200, bias_fields_oe="20").use_bench(bench)
        worker = Worker(Results(procedure, str(path)))
        worker.start()
        for _ in range(2000):  # until a few points are on disk
            if _data_rows(path) >= 3 or not worker.is_alive():
                break
            time.sleep(0.01)
        worker.stop()
        threading.Thread.join(worker, timeout=60)  # pymeasure's own join does not wait for the thread
        assert procedure.status == Procedure.ABORTED
        assert bench.lab.everything_safe()
    _, data = load_sweep(path, ActivationMapProcedure)  # a valid file, no half-written row
    assert 3 <= len(data) < 200


def test_an_exception_halfway_keeps_the_points_and_names_the_cause(tmp_path, monkeypatch):
    path = tmp_path / "map.csv"
    with Bench(load_default_bench()) as bench:
        calls = {"n": 0}
        read_point = bench.read_point

        def failing_read_point(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] > 5:
                raise RuntimeError("analysis bug")
            return read_point(*args, **kwargs)

        monkeypatch.setattr(bench, "read_point", failing_read_point)
        with pytest.raises(InstrumentError, match="analysis bug; the points measured so far are in"):
            run_procedure(ActivationMapProcedure(points=11, bias_fields_oe="20").use_bench(bench), path)
        assert bench.lab.everything_safe()
    _, data = load_sweep(path, ActivationMapProcedure)
    assert len(data) == 5 and np.all(np.isfinite(data["Derivative (V/A)"]))
