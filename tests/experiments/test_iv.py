"""I–V sweeps: R_P, TMR0 and the half-bias voltage against the virtual chip's truth."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.experiment import Results

from mtjlab.config import load_default_bench
from mtjlab.experiments.iv import IVProcedure, analyse_iv
from mtjlab.experiments.runner import run_procedure
from mtjlab.instruments.bench import Bench


def test_iv_extracts_the_junction_truth(tmp_path):
    with Bench(load_default_bench()) as bench:
        run_procedure(IVProcedure(device_id="r2c3").use_bench(bench), tmp_path / "iv.csv")
        truth = bench.lab.chip.devices
        index = truth.device_ids.index("r2c3")
        assert bench.lab.everything_safe()
    data = Results.load(str(tmp_path / "iv.csv")).data
    summary = analyse_iv(data["State"], data["Read current (A)"], data["Voltage (V)"], data["In compliance"])
    assert summary.resistance_p_ohm == pytest.approx(truth.resistance_p_ohm[index], rel=0.01)
    assert summary.tmr0 == pytest.approx(truth.tmr0[index], rel=0.03)
    assert summary.tmr_half_bias_v == pytest.approx(truth.tmr_half_bias_v[index], rel=0.05)


def test_the_analysis_recovers_a_closed_form_junction():
    r_p, tmr0, vh = 1200.0, 1.1, 0.35
    currents = np.linspace(-2e-4, 2e-4, 41)
    v_p = currents * r_p
    # antiparallel: V = I R_P (1 + TMR(V)), solved by fixed-point iteration
    v_ap = currents * r_p * (1 + tmr0)
    for _ in range(200):
        v_ap = currents * r_p * (1 + tmr0 / (1 + (v_ap / vh) ** 2))
    state = np.array(["P"] * 41 + ["AP"] * 41)
    current = np.concatenate([currents, currents])
    voltage = np.concatenate([v_p, v_ap])
    in_compliance = np.abs(voltage) > 0.5
    summary = analyse_iv(state, current, voltage, in_compliance)
    assert summary.resistance_p_ohm == pytest.approx(r_p, rel=1e-9)
    assert summary.tmr0 == pytest.approx(tmr0, rel=1e-6) and summary.tmr_half_bias_v == pytest.approx(vh, rel=1e-6)
    assert summary.points_used == int((~in_compliance & (current != 0)).sum())


def test_too_few_points_out_of_compliance_are_refused():
    with pytest.raises(ValueError, match="at least 2 parallel and 3 antiparallel"):
        analyse_iv(np.array(["P", "AP"]), np.array([1e-4, 1e-4]), np.array([0.1, 0.5]), np.array([0, 1]))
