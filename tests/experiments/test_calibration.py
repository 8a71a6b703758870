"""Calibration makes devices with different responses comparable neurons."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.experiment import Results

from mtjlab.config import load_bench
from mtjlab.errors import DataFileError
from mtjlab.experiments.calibration import (CalibrationProcedure, fit_calibration, fit_device, load_calibration,
                                            write_calibration)
from mtjlab.experiments.runner import run_procedure
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.bench_array import BenchNeuronArray


def test_calibrated_devices_agree_in_small_signal_gain_within_5_percent(tmp_path):
    # the ideal chip: every spread is one an affine calibration absorbs (the typical chip's are not)
    with Bench(load_bench("ideal")) as bench:
        run_procedure(CalibrationProcedure().use_bench(bench), tmp_path / "calibrate.csv")
        data = Results.load(str(tmp_path / "calibrate.csv")).data
        calibrations, dead = fit_calibration(data)
        assert sorted(calibrations) == sorted(d for d in bench.config.chip.ids() if d not in ("r1c2", "r3c0"))
        array = BenchNeuronArray(bench)
        raw_gain, calibrated_gain = [], []
        for device, c in calibrations.items():
            dz = 0.05
            points = [array.measure_point(device, float(c.input_for(z))) for z in (-dz, 0.0, dz)]
            raw_gain.append(points[1].derivative_v_per_a)
            # the normalised activation's slope against the pre-activation, from the lock-in and from the DC points
            calibrated_gain.append(points[1].derivative_v_per_a * c.input_per_unit_a / c.output_per_unit_v)
            dc_gain = (c.activation_of(points[2].output_v) - c.activation_of(points[0].output_v)) / (2 * dz)
            assert dc_gain == pytest.approx(1.0, abs=0.05)
    raw_gain, calibrated_gain = np.array(raw_gain), np.array(calibrated_gain)
    assert np.std(raw_gain) / abs(np.mean(raw_gain)) > 0.04  # the chip's variability shows before
    np.testing.assert_allclose(calibrated_gain, 1.0, atol=0.05)


def test_fit_of_a_closed_form_neuron():
    x = np.linspace(-0.01, 0.01, 41)
    v = 0.15 - 0.04 * np.tanh((x - 0.001) / 0.005)
    dv = -0.04 / 0.005 / np.cosh((x - 0.001) / 0.005) ** 2
    c = fit_device(x, v, dv)
    assert c.input_offset_a == pytest.approx(0.001, abs=1e-4)
    assert c.output_offset_v == pytest.approx(0.15, abs=1e-4)
    z = np.array([-1e-3, 1e-3])
    a = c.activation_of(0.15 - 0.04 * np.tanh((c.input_for(z) - 0.001) / 0.005))
    assert (a[1] - a[0]) / 2e-3 == pytest.approx(1.0, rel=0.01)


def test_the_calibration_file_round_trips_and_is_never_overwritten(tmp_path):
    c = fit_device(np.linspace(-1, 1, 11), np.linspace(-1, 1, 11) ** 3 + np.linspace(-1, 1, 11), 3 * np.linspace(-1, 1, 11) ** 2 + 1)
    path = tmp_path / "calibration.yaml"
    write_calibration(path, {"r0c0": c}, ["r3c0"], "sim-bench", 20.0)
    loaded, dead, field_oe = load_calibration(path)
    assert loaded == {"r0c0": c} and dead == ["r3c0"] and field_oe == 20.0
    with pytest.raises(DataFileError, match="already exists"):
        write_calibration(path, {}, [], "sim-bench", 20.0)
    (tmp_path / "bad.yaml").write_text("kind: bench\n")
    with pytest.raises(DataFileError, match="bad.yaml: not a calibration file"):
        load_calibration(tmp_path / "bad.yaml")
