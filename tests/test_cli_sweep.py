"""``mtjlab sweep``: a Results file, a figure and a one-screen summary; bad options in one line."""

from __future__ import annotations

from pymeasure.experiment import Results

from mtjlab import cli


def test_sweep_iv_writes_data_figure_and_summary(tmp_path, capsys):
    assert cli.main(["sweep", "iv", "--device-id", "r2c3", "--points", "9", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "iv: 16 points (finished)" in out and "R_P" in out and "TMR0" in out
    assert (tmp_path / "iv.png").stat().st_size > 10_000
    assert len(Results.load(str(tmp_path / "iv.csv")).data) == 16  # zero current is skipped


def test_sweep_activation_summarises_each_bias_field(tmp_path, capsys):
    args = ["sweep", "activation", "--points", "5", "--bias-fields-oe", "10, 40", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "bias 10 Oe: output span" in out and "bias 40 Oe: output span" in out


def test_sweep_refuses_to_overwrite_and_names_bad_options(tmp_path, capsys):
    (tmp_path / "derivative.csv").write_text("kept")
    assert cli.main(["sweep", "derivative", "--out", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "derivative.csv").read_text() == "kept"
    assert cli.main(["sweep", "iv", "--points", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--points 1" in err


def test_a_sweep_beyond_a_safety_limit_is_refused_and_the_bench_left_safe(tmp_path, capsys):
    status = cli.main(["sweep", "iv", "--read-current-max-a", "0.01", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and "limits.max_read_current_a" in err


def test_sweep_calibrate_writes_the_calibration_file_the_trainer_reads(tmp_path, capsys):
    from mtjlab.experiments.calibration import load_calibration

    assert cli.main(["sweep", "calibrate", "--points", "7", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "14 devices calibrated" in out and f"calibration: {tmp_path / 'calibration.yaml'}" in out
    calibrations, dead, field_oe = load_calibration(tmp_path / "calibration.yaml")
    assert len(calibrations) == 14 and field_oe == 20.0


def test_sweep_survey_lists_the_dead(tmp_path, capsys):
    assert cli.main(["sweep", "survey", "--out", str(tmp_path)]) == 0
    assert "14 of 16 devices live; dead: r1c2, r3c0" in capsys.readouterr().out
