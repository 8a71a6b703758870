"""fit_device classifies a sweep: sigmoid (today's fit, unchanged), bump, or refused in one line."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtjlab.errors import DataFileError, MtjlabError
from mtjlab.experiments.calibration import (CalibrationShapeError, DeviceCalibration, fit_device, load_calibration,
                                            write_calibration)

X = np.linspace(-9.5e-3, 9.5e-3, 33)
DX = X[1] - X[0]


def gaussian(centre, width, base, height, x=X):
    e = np.exp(-0.5 * ((x - centre) / width) ** 2)
    return base + height * e, -height * (x - centre) / width ** 2 * e


@pytest.mark.parametrize("height", [0.03, -0.03], ids=["bump", "dip"])
def test_a_gaussian_bump_or_dip_recovers_its_centre_width_baseline_and_height(height):
    v, dv = gaussian(0.8e-3, 1.5e-3, 0.12, height)
    c = fit_device(X, v, dv, "r0c0")
    assert c.shape == "bump"
    assert c.input_offset_a == pytest.approx(0.8e-3, abs=0.05 * DX)
    assert c.input_per_unit_a == pytest.approx(1.5e-3, rel=0.02)  # g = HWHM / sqrt(2 ln 2) = width
    assert c.output_offset_v == pytest.approx(0.12, abs=1e-6)
    assert c.output_per_unit_v == pytest.approx(height, rel=0.01)  # negative for the dip
    # the calibrated neuron is exp(-z^2/2) near its top and at its half height
    z = np.array([-1.1774, -0.5, 0.0, 0.5, 1.1774])
    a = c.activation_of(gaussian(0.8e-3, 1.5e-3, 0.12, height, c.input_for(z))[0])
    np.testing.assert_allclose(a, np.exp(-z ** 2 / 2), atol=0.02)


def test_a_noisy_bump_is_still_a_bump():
    v, dv = gaussian(-1e-3, 2e-3, 0.1, 0.02)
    noise = np.random.default_rng(1).normal(0, 2e-4, X.size)
    c = fit_device(X, v + noise, dv, "r1c1")
    assert c.shape == "bump" and c.input_offset_a == pytest.approx(-1e-3, abs=0.3 * DX)
    assert c.input_per_unit_a == pytest.approx(2e-3, rel=0.1)


def previous_fit(x, v, dv):
    """The fit of every device before shapes existed, verbatim."""
    k = int(np.clip(np.argmax(np.abs(dv)), 1, x.size - 2))
    (a2, a1, a0) = np.polyfit(x[k - 1:k + 2], dv[k - 1:k + 2], 2)
    i0 = float(np.clip(-a1 / (2 * a2), x[k - 1], x[k + 1])) if a2 != 0 else float(x[k])
    slope = float(np.polyval((a2, a1, a0), i0))
    half_span = float(np.ptp(v)) / 2.0
    return (i0, half_span / slope, float(np.interp(i0, x, v)), half_span)


@pytest.mark.parametrize("offset, width, sign, noise", [(1e-3, 3e-3, 1, 0.0), (-2.3e-3, 4e-3, -1, 1e-4),
                                                        (0.0, 1e-3, 1, 5e-5)])
def test_a_sigmoid_gives_exactly_the_previous_numbers(offset, width, sign, noise):
    v = 0.15 + sign * 0.04 * np.tanh((X - offset) / width)
    v = v + np.random.default_rng(2).normal(0, noise, X.size)
    dv = sign * 0.04 / width / np.cosh((X - offset) / width) ** 2
    c = fit_device(X, v, dv, "r0c1")
    assert c.shape == "sigmoid"
    assert c.numbers() == previous_fit(X, v, dv)  # bit for bit


@pytest.mark.parametrize("name, v, reason", [
    ("two bumps", gaussian(-4e-3, 1e-3, 0.1, 0.03)[0] + gaussian(4e-3, 1e-3, 0.0, 0.025)[0], "turning points"),
    ("peak and dip", gaussian(-4e-3, 1e-3, 0.1, 0.03)[0] + gaussian(4e-3, 1e-3, 0.0, -0.03)[0], "turning points"),
    ("edge", gaussian(8.5e-3, 1.5e-3, 0.1, 0.03)[0], "edge"),
    ("flat", 0.1 + np.random.default_rng(3).normal(0, 1e-4, X.size), "flat"),
])
def test_other_responses_are_refused_in_one_line_naming_the_device(name, v, reason):
    with pytest.raises(CalibrationShapeError) as caught:
        fit_device(X, v, np.gradient(v, X), "r2c3")
    message = str(caught.value)
    assert isinstance(caught.value, MtjlabError) and "\n" not in message
    assert message.startswith("device r2c3:") and reason in message and "bias field" in message


def test_a_small_peak_in_the_noise_is_refused():
    v = gaussian(0.0, 1.5e-3, 0.1, 3e-4)[0] + np.random.default_rng(4).normal(0, 1e-4, X.size)
    with pytest.raises(CalibrationShapeError, match="device r0c2: .*(flat|too small)"):
        fit_device(X, v, np.gradient(v, X), "r0c2")


def test_the_calibration_file_keeps_shapes_and_reads_old_files_as_sigmoids(tmp_path):
    dip = DeviceCalibration(1e-3, 1.5e-3, 0.12, -0.03, "bump")
    rise = DeviceCalibration(-1e-3, 2e-3, 0.1, 0.02)
    write_calibration(tmp_path / "c.yaml", {"r0c0": dip, "r0c1": rise}, [], "fake", 20.0)
    loaded, _, _ = load_calibration(tmp_path / "c.yaml")
    assert loaded == {"r0c0": dip, "r0c1": rise} and loaded["r0c0"].shape == "bump"
    old = ("kind: calibration\nbench: fake\nbias_field_oe: 20.0\ndead: []\ndevices:\n  r0c0: {input_offset_a: 0.001, "
           "input_per_unit_a: 0.002, output_offset_v: 0.1, output_per_unit_v: 0.02}\n")
    (tmp_path / "old.yaml").write_text(old)
    assert load_calibration(tmp_path / "old.yaml")[0]["r0c0"] == DeviceCalibration(0.001, 0.002, 0.1, 0.02, "sigmoid")
    (tmp_path / "neg.yaml").write_text(old.replace("0.02}", "-0.02}"))
    with pytest.raises(DataFileError, match="output_per_unit_v must be > 0"):
        load_calibration(tmp_path / "neg.yaml")
    (tmp_path / "neg-bump.yaml").write_text(old.replace("0.02}", "-0.02, shape: bump}"))
    assert load_calibration(tmp_path / "neg-bump.yaml")[0]["r0c0"].output_per_unit_v == -0.02
    (tmp_path / "bad.yaml").write_text(old.replace("0.02}", "0.02, shape: wiggle}"))
    with pytest.raises(DataFileError, match="shape: must be sigmoid or bump"):
        load_calibration(tmp_path / "bad.yaml")


def test_hwhm_relation_is_the_gaussian_one():
    # g = HWHM / sqrt(2 ln 2): at z = sqrt(2 ln 2) the calibrated bump is at half height
    assert math.exp(-(math.sqrt(2 * math.log(2))) ** 2 / 2) == pytest.approx(0.5)
