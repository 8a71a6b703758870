"""Leaving a Bench by any path leaves every output at zero and off, every relay open.

Checked in the virtual lab, which sees what the instruments really do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mtjlab.instruments.bench import Bench, SIGTERM_EXIT_STATUS
from mtjlab.instruments.bench_array import BenchNeuronArray


def _busy(bench: Bench) -> None:
    """Everything on: a routed junction with read current, input, modulation and field."""
    array = BenchNeuronArray(bench)
    array.measure(["r0c1"], [[2e-3, 4e-3]])
    lab = bench.lab
    assert lab.read.output_on and lab.input.output_on and lab.closed and abs(lab.field_oe()) > 5
    assert not lab.everything_safe()


def test_normal_exit_makes_everything_safe(sim_config):
    with Bench(sim_config) as bench:
        _busy(bench)
    assert bench.lab.everything_safe()


@pytest.mark.parametrize("error", [RuntimeError("analysis bug"), KeyboardInterrupt()])
def test_an_exception_or_ctrl_c_makes_everything_safe(sim_config, error):
    with pytest.raises(type(error)):
        with Bench(sim_config) as bench:
            _busy(bench)
            raise error
    assert bench.lab.everything_safe()


def test_outputs_come_down_by_ramps_not_jumps(sim_config):
    with Bench(sim_config) as bench:
        _busy(bench)
        level = bench.lab.input.level_a
        started = bench.clock.now_s()
    elapsed = bench.clock.now_s() - started
    assert elapsed >= abs(level) / sim_config.limits.max_input_ramp_a_per_s


SWEEP_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from mtjlab.config import load_default_bench
    from mtjlab.instruments.bench import Bench
    from mtjlab.instruments.bench_array import BenchNeuronArray

    ready, report = Path(sys.argv[1]), Path(sys.argv[2])
    bench = Bench(load_default_bench())
    try:
        with bench:
            array = BenchNeuronArray(bench)
            while True:  # a sweep that never ends by itself
                array.measure(["r0c1", "r2c3"], [[-3e-3, 3e-3], [1e-3, 5e-3]])
                ready.touch()
    finally:
        lab = bench.lab
        report.write_text(json.dumps({"safe": lab.everything_safe(), "closed": sorted(lab.closed),
                                      "read_on": lab.read.output_on, "input_on": lab.input.output_on}))
""")


def test_sigterm_to_a_running_sweep_makes_everything_safe(tmp_path: Path):
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP_SCRIPT)
    ready, report = tmp_path / "ready", tmp_path / "report.json"
    process = subprocess.Popen([sys.executable, str(script), str(ready), str(report)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(1200):  # wait until the sweep is running (a few seconds)
            if ready.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        assert ready.exists(), process.communicate()[1].decode()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == SIGTERM_EXIT_STATUS, stderr.decode()
    outcome = json.loads(report.read_text())
    assert outcome == {"safe": True, "closed": [], "read_on": False, "input_on": False}


def test_a_bench_used_again_after_a_shutdown_is_made_safe_again(sim_config):
    with Bench(sim_config) as bench:
        _busy(bench)
        bench.shutdown()
        assert bench.lab.everything_safe()
        _busy(bench)  # a second procedure on the same bench
    assert bench.lab.everything_safe()
