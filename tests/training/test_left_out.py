"""Junctions whose working point leaves no room for the pre-activation limit serve no neuron, and say so."""

from __future__ import annotations

import pytest

from mtjlab.config import TrainingConfig
from mtjlab.errors import DeadDeviceError
from mtjlab.training.session import run_training


def test_a_harsh_chip_leaves_out_the_junctions_whose_inputs_would_leave_the_safe_range(tmp_path):
    config = TrainingConfig(bench="model:harsh", dataset="digits", hidden=[16], folds=2, epochs=1,
                            log_measurements=False)
    summary = run_training(config, out=tmp_path / "run").summary
    left_out = summary["left_out"]
    assert left_out, "the harsh chip (seed 2026) has junctions with working points near the range's edge"
    used = {d for layer in summary["neurons"] for d in layer}
    assert not used & set(left_out)
    for device, reason in left_out.items():
        assert "beyond the safe input range" in reason
    assert f"left out: {', '.join(left_out)}" in summary["mapping"]


def test_when_too_few_remain_the_run_is_refused_with_the_limit_that_would_keep_them(tmp_path):
    config = TrainingConfig(bench="model:ideal", pre_activation_limit=3.0, folds=2, epochs=1)
    with pytest.raises(DeadDeviceError, match=r"left out because their inputs would leave the safe range .*"
                                              r"set pre_activation_limit to (\d+\.\d+) or less$") as info:
        run_training(config, out=tmp_path / "run")
    suggested = float(info.value.one_line().rsplit(" to ", 1)[1].split()[0])
    assert not (tmp_path / "run").exists()
    assert run_training(config.model_copy(update={"pre_activation_limit": suggested}),
                        out=tmp_path / "run").summary["accuracy_mean"] > 0.5
