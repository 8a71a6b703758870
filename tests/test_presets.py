"""Every chip preset passes `mtjlab config check`, `mtjlab bench check` and `mtjlab sim curves`, and is
the chip its documentation says."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mtjlab import cli
from mtjlab.config import load_bench, load_default_bench
from mtjlab.config.packaged import PRESETS, default_path


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_passes_config_check_bench_check_and_sim_curves(preset, tmp_path, capsys):
    assert cli.main(["config", "check", str(default_path(f"{preset}.yaml"))]) == 0
    assert f'valid bench "{preset}"' in capsys.readouterr().out
    assert cli.main(["bench", "check", preset]) == 0
    assert "everything ramped to zero and off" in capsys.readouterr().out
    assert cli.main(["sim", "curves", "--bench", preset, "--bias-field-oe", "-20", "20",
                     "--out", str(tmp_path / preset)]) == 0
    with open(tmp_path / preset / "curves.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and (tmp_path / preset / "curves.png").stat().st_size > 10_000


def test_typical_is_the_default_and_each_preset_adds_what_its_documentation_says():
    assert load_default_bench() == load_bench("typical")
    ideal, typical, harsh, drifting = (load_bench(p).chip for p in PRESETS)
    assert not ideal.double_reference_rows and typical.double_reference_rows == [3]
    p = {name: chip.physics for name, chip in zip(PRESETS, (ideal, typical, harsh, drifting))}
    # ideal: no mechanism beyond the independent spreads
    assert p["ideal"].easy_axis_tilt_spread_deg == p["ideal"].size_rel_spread == 0
    assert p["ideal"].joule_heating_k_per_mw == p["ideal"].temperature_drift_k == p["ideal"].offset_drift_oe == 0
    # harsh: wider than typical in every spread, with random dead junctions
    for key in ("resistance_p_rel_spread", "tmr0_rel_spread", "anisotropy_field_rel_spread",
                "field_line_device_rel_spread", "easy_axis_tilt_spread_deg", "size_rel_spread"):
        assert getattr(p["harsh"], key) > getattr(p["typical"], key), key
    assert p["harsh"].dead_probability > 0
    # drifting: the typical chip plus drift, nothing else
    drift = {"temperature_drift_k", "temperature_drift_time_s", "offset_drift_oe", "offset_drift_time_s"}
    assert {k for k in type(p["typical"]).model_fields if getattr(p["typical"], k) != getattr(p["drifting"], k)} == drift


def test_a_typical_chip_is_not_one_sigmoid_after_calibration():
    """What calibration cannot absorb: the calibrated derivatives differ more than on the ideal chip."""
    from mtjlab.experiments.calibration import fit_device
    from mtjlab.instruments.model_array import ModelNeuronArray

    spread = {}
    for preset in ("ideal", "typical"):
        array = ModelNeuronArray.from_bench(load_bench(preset), noise=False)
        singles = [d for d, kind in array.device_kinds.items() if kind == "single" and d not in array.dead_ids]
        inputs = np.linspace(-0.018, 0.018, 145)
        result = array.measure(singles, np.broadcast_to(inputs, (len(singles), inputs.size)))
        z = np.linspace(-1.0, 1.0, 21)
        curves = []
        for j, _ in enumerate(singles):
            c = fit_device(inputs, result.output_v[j], result.derivative_v_per_a[j])
            slope = np.interp(c.input_for(z), inputs, result.derivative_v_per_a[j])
            curves.append(slope * c.input_per_unit_a / c.output_per_unit_v)  # a'(z), eq. N2
        curves = np.array(curves)
        spread[preset] = float(np.sqrt(np.mean((curves - curves.mean(axis=0)) ** 2)))
    assert spread["typical"] > 1.5 * spread["ideal"], spread


@pytest.mark.parametrize("change, message", [
    ({"double_reference_rows": [7]}, r"chip\.double_reference_rows\.0: not a row of the chip \(0 to 3\) \(got 7\)"),
    ({"double_reference_rows": [3, 3]}, r"chip\.double_reference_rows\.1: listed twice \(got 3\)"),
    ({"physics": {"second_barrier_share": 1.0}}, r"chip\.physics\.second_barrier_share: must be < 1"),
    ({"physics": {"easy_axis_tilt_spread_deg": -1}}, r"chip\.physics\.easy_axis_tilt_spread_deg: must be >= 0"),
    ({"physics": {"temperature_drift_time_s": 0}}, r"chip\.physics\.temperature_drift_time_s: must be > 0"),
])
def test_a_bad_chip_realism_value_is_refused_at_its_field(tmp_path, monkeypatch, capsys, change, message):
    import re

    import yaml

    data = yaml.safe_load(default_path("typical.yaml").read_text(encoding="utf-8"))
    for key, value in change.items():
        if isinstance(value, dict):
            data["chip"][key].update(value)
        else:
            data["chip"][key] = value
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["config", "check", "bad.yaml"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_model_with_an_empty_chip_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--bench", "model:", "--no-progress", "--out", "run"]) == 2
    assert "'model:' names no chip" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
