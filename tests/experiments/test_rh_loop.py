"""R–H loops against the virtual chip's truth: a sensor junction with the coil along its reference."""

from __future__ import annotations

import pytest
from pymeasure.experiment import Results

from mtjlab.config import load_bench
from mtjlab.experiments.rh_loop import RHLoopProcedure, analyse_rh
from mtjlab.experiments.runner import run_procedure
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.sim import transport


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    config = load_bench("ideal").model_copy(deep=True)
    config.wiring.bias_field_angle_deg = 90.0  # the coil along the reference: the sensor's own R-H geometry
    # a reference tilted off 90 deg lets the easy-axis branch shift the crossing by +/- Hk cot(phi_p)
    config.chip.physics.reference_angle_spread_deg = 0.0
    path = tmp_path_factory.mktemp("rh") / "rh.csv"
    with Bench(config) as bench:
        run_procedure(RHLoopProcedure(device_id="r2c3", points=41).use_bench(bench), path)
        truth = bench.lab.chip.devices
        assert bench.lab.everything_safe()
    return analyse_rh(Results.load(str(path)).data), truth, truth.device_ids.index("r2c3")


def test_resistances_and_tmr(loop):
    summary, truth, i = loop
    assert summary.resistance_p_ohm == pytest.approx(truth.resistance_p_ohm[i], rel=0.01)
    v_ap = summary.resistance_ap_ohm * RHLoopProcedure().read_current_a
    assert summary.tmr == pytest.approx(float(transport.tmr_at_bias(truth.tmr0[i], v_ap, truth.tmr_half_bias_v[i])),
                                        rel=0.02)


def test_the_loop_is_shifted_by_the_offset_field_and_closed_on_the_hard_axis(loop):
    summary, truth, i = loop
    assert summary.centre_oe == pytest.approx(-truth.offset_field_oe[i], abs=0.5)
    assert summary.coercive_oe < 0.5  # a hard-axis curve has no hysteresis


def test_the_slope_gives_the_anisotropy_field(loop):
    summary, truth, i = loop
    assert summary.hard_axis_hk_oe == pytest.approx(truth.anisotropy_field_oe[i], rel=0.06)
