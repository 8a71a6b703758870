"""Replay: the digital twin reproduces recorded devices; bad files are refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab import cli
from mtjlab.config import load_default_bench
from mtjlab.errors import DataFileError, MtjlabError
from mtjlab.experiments.activation import ActivationMapProcedure
from mtjlab.experiments.iv import IVProcedure
from mtjlab.experiments.replay import ReplayNeuronArray, load_sweep, recorded_scatter
from mtjlab.experiments.runner import run_procedure
from mtjlab.instruments.bench import Bench
from mtjlab.instruments.interfaces import NeuronArray
from mtjlab.instruments.model_array import ModelNeuronArray

DEVICES = ("r0c1", "r3c0")  # r3c0 is an open junction


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recorded")
    config = load_default_bench()
    files = {}
    with Bench(config) as bench:
        for device in DEVICES:
            procedure = ActivationMapProcedure(device_id=device, bias_fields_oe="20", input_min_a=-0.008,
                                               input_max_a=0.008, points=17)
            files[device] = folder / f"{device}.csv"
            run_procedure(procedure.use_bench(bench), files[device])
        files["iv"] = folder / "iv.csv"
        run_procedure(IVProcedure(device_id="r0c1", points=5).use_bench(bench), files["iv"])
    return files


def test_the_twin_reproduces_the_recording_exactly_at_the_recorded_inputs(recorded):
    twin = ReplayNeuronArray.from_files([recorded[d] for d in DEVICES])
    assert isinstance(twin, NeuronArray)
    _, data = load_sweep(recorded["r0c1"])
    inputs = data["Input current (A)"].to_numpy()
    result = twin.measure(["r0c1", "r3c0"], np.vstack([inputs, inputs]))
    np.testing.assert_allclose(result.output_v[0], data["Output voltage (V)"], rtol=1e-12)
    np.testing.assert_allclose(result.derivative_v_per_a[0], data["Derivative (V/A)"], rtol=1e-9)
    assert result.dead.tolist() == [False, True] and np.all(np.isnan(result.output_v[1]))
    assert twin.dead_ids == {"r3c0"}


def test_between_recorded_inputs_it_follows_the_device_smoothly(recorded):
    twin = ReplayNeuronArray.from_files([recorded["r0c1"]])
    midpoints = np.linspace(-0.0075, 0.0075, 16)  # halfway between the 1 mA-spaced recorded inputs
    replayed = twin.measure(["r0c1"], [midpoints])
    model = ModelNeuronArray.from_bench(load_default_bench(), noise=False)
    truth = model.measure(["r0c1"], [midpoints])
    span = np.ptp(truth.output_v)
    assert np.max(np.abs(replayed.output_v - truth.output_v)) < 0.01 * span
    relative = np.abs(replayed.derivative_v_per_a - truth.exact_derivative_v_per_a) / np.abs(truth.exact_derivative_v_per_a)
    assert np.median(relative) < 0.03


def test_requests_the_recording_cannot_answer_are_refused(recorded):
    twin = ReplayNeuronArray.from_files([recorded["r0c1"]])
    with pytest.raises(MtjlabError, match="outside what r0c1 was recorded"):
        twin.measure(["r0c1"], [[0.009]])
    with pytest.raises(MtjlabError, match="'r2c2' was not recorded"):
        twin.measure(["r2c2"], [[0.0]])
    with pytest.raises(MtjlabError, match="bias field 35 Oe was not recorded"):
        twin.set_bias_field(35.0)


def test_recorded_scatter_comes_back_as_noise(recorded):
    quiet = np.linspace(0, 1, 200) ** 2
    noisy = quiet + 0.01 * np.random.default_rng(1).standard_normal(200)
    assert recorded_scatter(noisy) == pytest.approx(0.01, rel=0.15)
    twin = ReplayNeuronArray.from_files([recorded["r0c1"]], noise=True, seed=3)
    draws = np.array([twin.measure(["r0c1"], [[0.001]]).output_v[0, 0] for _ in range(200)])
    assert np.std(draws) > 0


def test_replay_command_summarises_like_the_measurement(recorded, capsys):
    assert cli.main(["replay", str(recorded["r0c1"]), str(recorded["iv"])]) == 0
    out = capsys.readouterr().out
    assert "activation, 17 points" in out and "bias 20 Oe: output span" in out and "R_P" in out
    assert (recorded["r0c1"].parent / "r0c1-replay.png").exists()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _corrupt(recorded, tmp_path, name, change):
    text = recorded["r0c1"].read_text()
    return _write(tmp_path, name, change(text))


BAD_FILES = {
    "missing": (lambda r, t: t / "nothing.csv", "no such file"),
    "binary": (lambda r, t: (t / "b.csv").write_bytes(b"\x00\xff\xfe" * 50) and t / "b.csv", "not a text file"),
    "plain csv": (lambda r, t: _write(t, "p.csv", "a,b\n1,2\n"), "not an mtjlab sweep file"),
    "foreign procedure": (lambda r, t: _write(t, "f.csv", "#Procedure: <os.system>\n#Data:\na\n1\n"),
                          "not an mtjlab sweep file"),
    "other procedure": (lambda r, t: r["iv"], "holds a IVProcedure, not a ActivationMapProcedure or CalibrationProcedure"),
    "missing column": (lambda r, t: _corrupt(r, t, "m.csv", lambda s: s.replace(",Dead\n", "\n", 1)),
                       "missing column 'Dead'"),
    "wrong unit": (lambda r, t: _corrupt(r, t, "u.csv", lambda s: s.replace("Output voltage (V)", "Output voltage (mV)")),
                   "missing column 'Output voltage (V)'"),
    "nan": (lambda r, t: _corrupt(r, t, "n.csv", lambda s: s.rstrip("\n") + "\n20.0,20.0,0.009,nan,1,1,1,0\n"),
            "data row 18 is truncated or not a number"),
    "truncated": (lambda r, t: _corrupt(r, t, "t.csv", lambda s: s.rstrip("\n") + "\n20.0,20.0,0.0"),
                  "data row 18 is truncated or not a number"),
    "no rows": (lambda r, t: _corrupt(r, t, "e.csv", lambda s: s[: s.index("\n", s.index("Bias field (Oe),")) + 1]),
                "has no data rows"),
    "text in numbers": (lambda r, t: _corrupt(r, t, "x.csv", lambda s: s.rstrip("\n") + "\n20.0,20.0,abc,0.1,1,1,1,0\n"),
                        "data row 18 is truncated or not a number"),
    "1e999": (lambda r, t: _corrupt(r, t, "o.csv", lambda s: s.rstrip("\n") + "\n20.0,20.0,0.009,1e999,1,1,1,0\n"),
              "data row 18, column 'Output voltage (V)': not a finite number within +/-1e+30 (got inf)"),
    "-inf derivative": (lambda r, t: _corrupt(r, t, "d.csv", lambda s: s.rstrip("\n") + "\n20.0,20.0,0.009,0.1,1,1,-inf,0\n"),
                        "data row 18, column 'Derivative (V/A)': not a finite number"),
    "1e31": (lambda r, t: _corrupt(r, t, "h.csv", lambda s: s.rstrip("\n") + "\n20.0,20.0,1e31,0.1,1,1,1,0\n"),
             "data row 18, column 'Input current (A)': not a finite number within +/-1e+30 (got 1e+31)"),
    "nan parameter": (lambda r, t: _corrupt(r, t, "p.csv", lambda s: s.replace("Input start: -0.008 A", "Input start: nan A")),
                      "parameter 'Input start' is not a finite number"),
    "snapshot not json": (lambda r, t: _corrupt(r, t, "j.csv", lambda s: _replace_line(s, "#\tBench: ", "#\tBench: {not json")),
                          "bench snapshot (header 'Bench') is not a JSON object"),
    "snapshot infinity": (lambda r, t: _corrupt(r, t, "i.csv", lambda s: s.replace('"source_nplc":0.1', '"source_nplc":Infinity')),
                          "bench snapshot (header 'Bench') is not a JSON object"),
    "not a sweep procedure": (lambda r, t: _corrupt(r, t, "w.csv", lambda s: s.replace(
        "<mtjlab.experiments.activation.ActivationMapProcedure>", "<mtjlab.experiments.runner.Worker>", 1)),
                              "its header names no mtjlab sweep procedure"),
    "folder": (lambda r, t: t, "is a folder, not a file"),
    "fifo": (lambda r, t: _fifo(t / "pipe.csv"), "is a named pipe (FIFO), not a regular file"),
    "too large": (lambda r, t: _sparse(t / "big.csv"), "larger than the 512 MiB limit for a sweep file"),
}


def _replace_line(text, start, new):
    return "".join(new + "\n" if line.startswith(start) else line for line in text.splitlines(keepends=True))


def _fifo(path):
    import os

    os.mkfifo(path)  # reading it would block for ever without a writer
    return path


def _sparse(path):
    from mtjlab.safe_files import SWEEP_MAX_BYTES

    with open(path, "wb") as stream:
        stream.truncate(SWEEP_MAX_BYTES + 1)  # no disk used
    return path


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_malformed_files_are_refused_in_one_line(recorded, tmp_path, kind):
    make, message = BAD_FILES[kind]
    path = make(recorded, tmp_path)
    with pytest.raises(DataFileError) as info:
        ReplayNeuronArray.from_files([path])
    line = info.value.one_line()
    assert message in line and str(path) in line and "\n" not in str(info.value)


def test_a_calibration_sweep_makes_a_twin_of_every_device(tmp_path):
    from mtjlab.experiments.calibration import CalibrationProcedure

    path = tmp_path / "calibrate.csv"
    with Bench(load_default_bench()) as bench:
        run_procedure(CalibrationProcedure(points=5).use_bench(bench), path)
    twin = ReplayNeuronArray.from_files([path])
    assert len(twin.device_ids) == 14 and twin.bias_field_oe == 20.0
    _, data = load_sweep(path)
    first = data[data["Device"] == "r2c3"].sort_values("Input current (A)")
    result = twin.measure(["r2c3"], [first["Input current (A)"].to_numpy()])
    np.testing.assert_allclose(result.output_v[0], first["Output voltage (V)"], rtol=1e-12)
