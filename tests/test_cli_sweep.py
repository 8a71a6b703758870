"""``mtjlab sweep``: a Results file, a figure and a one-screen summary; bad options in one line.

Every kind with its default options ends cleanly, and so does the replay of what it wrote;
short, stopped and failing sweeps end in a summary of what there is and one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
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
    for kept in ("iv.png", "calibration.yaml"):  # a figure or a product of the sweep is not overwritten either
        (tmp_path / kept).write_text("kept")
    assert cli.main(["sweep", "iv", "--out", str(tmp_path)]) == 2
    assert cli.main(["sweep", "calibrate", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "iv.png: already exists" in err and "calibration.yaml: already exists" in err
    assert not (tmp_path / "iv.csv").exists() and not (tmp_path / "calibrate.csv").exists()
    assert cli.main(["sweep", "iv", "--points", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--points: 1 is out of range (3 to 10001)" in err


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




DEFAULT_SUMMARIES = {  # what each kind's summary must say with the default options
    "rh": "transition", "iv": "TMR0", "activation": "bias 40 Oe: output span", "derivative": "lock-in vs DC slope",
    "survey": "14 of 16 devices live; dead: r1c2, r3c0", "calibrate": "14 devices calibrated",
}


@pytest.mark.parametrize("kind", list(DEFAULT_SUMMARIES))
def test_each_kind_with_default_options_ends_cleanly_and_so_does_its_replay(tmp_path, capsys, kind):
    assert cli.main(["sweep", kind, "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert f"({'finished'})" in captured.out and DEFAULT_SUMMARIES[kind] in captured.out, captured.out
    assert "not made" not in captured.out and "Traceback" not in captured.err
    assert cli.main(["replay", str(tmp_path / f"{kind}.csv")]) == 0
    replayed = capsys.readouterr().out
    assert DEFAULT_SUMMARIES[kind] in replayed and "not made" not in replayed
    assert (tmp_path / f"{kind}-replay.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, says", [
    (["iv", "--points", "3"], "TMR0 and half-bias voltage: not extracted (TMR0 and the half-bias voltage need 3"),
    (["derivative", "--points", "4"], "lock-in vs DC slope: not extracted (the derivative check needs at least 5"),
    (["activation", "--points", "2", "--bias-fields-oe", "20"], "bias 20 Oe: output span"),
])
def test_short_sweeps_summarise_what_they_can(tmp_path, capsys, args, says):
    assert cli.main(["sweep", *args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert says in out, out
    assert cli.main(["replay", str(next(tmp_path.glob("*.csv")))]) == 0
    assert says in capsys.readouterr().out


def _one_line(err: str) -> str:
    """The one line a sweep ends with (log warnings about the data aside; an ERROR record is not aside)."""
    lines = [line for line in err.replace("\r", "\n").splitlines()
             if line.startswith("mtjlab: ") and not line.startswith(("mtjlab: WARNING: ", "mtjlab: INFO: "))]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _ctrl_c_at(monkeypatch, percent: float) -> None:
    """A Ctrl-C in the main thread once the sweep's progress reaches ``percent``."""
    from mtjlab.experiments import runner

    follow = runner._follow
    state = {"percent": 0.0, "sent": False}

    def following(worker, on_progress, timeout_s):
        def seen(value):
            state["percent"] = value
            if on_progress is not None:
                on_progress(value)

        follow(worker, seen, timeout_s)
        if state["percent"] >= percent and not state["sent"]:
            state["sent"] = True
            raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_follow", following)


def test_a_survey_stopped_early_keeps_a_row_for_every_device_it_measured(tmp_path, monkeypatch, capsys):
    _ctrl_c_at(monkeypatch, 6.0)  # after the first device (the old survey was then in its first pass)
    assert cli.main(["sweep", "survey", "--out", str(tmp_path)]) == 130
    captured = capsys.readouterr()
    rows = len(Results.load(str(tmp_path / "survey.csv")).data)
    assert 1 <= rows < 16 and f"survey: {rows} points (stopped)" in captured.out
    line = _one_line(captured.err)
    assert f"stopped by Ctrl-C after {rows} points" in line and str(tmp_path / "survey.csv") in line
    assert "rerun with a new --out" in line
    assert cli.main(["replay", str(tmp_path / "survey.csv")]) == 0
    assert f"of {rows} devices live" in capsys.readouterr().out


def test_an_iv_stopped_before_three_antiparallel_points_gives_r_p_and_says_what_is_missing(tmp_path, monkeypatch,
                                                                                       capsys):
    _ctrl_c_at(monkeypatch, 52.0)  # the parallel sweep and one or two antiparallel points
    assert cli.main(["sweep", "iv", "--out", str(tmp_path)]) == 130
    out = capsys.readouterr().out
    assert "R_P" in out and "TMR0 and half-bias voltage: not extracted" in out, out


def test_a_failing_sweep_ends_in_one_line_without_the_workers_traceback(tmp_path, monkeypatch, capsys, caplog):
    from mtjlab.instruments.bench import Bench

    read_point, calls = Bench.read_point, {"n": 0}

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 5:
            raise RuntimeError("analysis bug")
        return read_point(self, *args, **kwargs)

    monkeypatch.setattr(Bench, "read_point", failing)
    assert cli.main(["sweep", "rh", "--points", "5", "--out", str(tmp_path)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "RuntimeError: analysis bug; the points measured so far are in" in line and "rh.csv" in line
    assert not [r for r in caplog.records if r.exc_info]  # pymeasure's Worker logged no traceback
    calls["n"] = 0
    assert cli.main(["-vv", "sweep", "rh", "--points", "5", "--out", str(tmp_path / "again")]) == 1
    assert [r for r in caplog.records if r.exc_info]  # at -vv it is there


def test_a_sweep_failing_before_its_first_point_leaves_nothing_and_names_cause_and_file(tmp_path, monkeypatch,
                                                                                       capsys):
    from mtjlab.errors import InstrumentError
    from mtjlab.instruments.bench import Bench

    def unreachable(config, *args, **kwargs):
        raise InstrumentError("read_source: cannot connect to GPIB0::24::INSTR (Keithley2400): timeout")

    monkeypatch.setattr(Bench, "open", unreachable)
    out = tmp_path / "run"
    assert cli.main(["sweep", "iv", "--out", str(out)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "cannot connect to GPIB0::24::INSTR" in line and f"{out / 'iv.csv'} was not kept" in line
    assert not out.exists()


@pytest.mark.parametrize("args, says", [
    (["rh", "--read-current-a", "0"], "--read-current-a 0: must be a positive number"),
    (["survey", "--read-current-a", "0"], "--read-current-a 0: must be a positive number"),
    (["iv", "--read-current-max-a", "0"], "--read-current-max-a 0: must be a positive number"),
    (["rh", "--device-id", "r9c9"], "--device-id r9c9: not on the chip of bench 'typical'"),
    (["activation", "--bias-fields-oe", "20, x"], "--bias-fields-oe: bias fields: 'x' is not a number"),
    (["activation", "--bias-fields-oe", "20 500"], "--bias-fields-oe 500: refused: field 500 Oe"),
    (["calibrate", "--input-max-a", "0.0199"], "--input-max-a 0.0199: refused: input current plus modulation"),
    (["rh", "--bench", "broken.yaml"], ("broken.yaml: ", "not valid YAML")),  # names the file and the cause
])
def test_refused_requests_and_broken_bench_files_leave_nothing_behind(tmp_path, monkeypatch, capsys, args, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text("kind: bench\nname: [oops\n")
    assert cli.main(["sweep", *args, "--out", "run"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert all(fragment in line for fragment in ((says,) if isinstance(says, str) else says)), line
    assert not (tmp_path / "run").exists()


def test_replay_never_overwrites_a_figure_and_says_which_it_wrote(tmp_path, capsys):
    assert cli.main(["sweep", "iv", "--points", "5", "--out", str(tmp_path)]) == 0
    (tmp_path / "iv-replay.png").write_bytes(b"someone's figure")
    for n in (2, 3):
        assert cli.main(["replay", str(tmp_path / "iv.csv")]) == 0
        assert f"figure: {tmp_path / f'iv-replay-{n}.png'} (written)" in capsys.readouterr().out
        assert (tmp_path / f"iv-replay-{n}.png").stat().st_size > 10_000
    assert (tmp_path / "iv-replay.png").read_bytes() == b"someone's figure"


@pytest.mark.parametrize("signum, status, name", [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signalled_survey_keeps_every_measured_point_and_exits_with_the_signals_status(tmp_path, signum, status,
                                                                                         name):
    from mtjlab.experiments.replay import load_sweep
    from mtjlab.experiments.survey import ArraySurveyProcedure

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    for attempt in range(3):  # on a loaded machine the 16 devices may all be done before the signal lands
        out_dir = tmp_path / f"attempt{attempt}"
        data_file = out_dir / "survey.csv"
        # as at a terminal: Ctrl-C's default action (a test runner's worker may ignore SIGINT, and
        # an ignored signal stays ignored in its children)
        process = subprocess.Popen([sys.executable, "-m", "mtjlab", "sweep", "survey", "--out", str(out_dir)],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            text = data_file.read_text() if data_file.exists() else ""
            if sum(1 for line in text.splitlines() if line and not line.startswith("#")) >= 3:  # labels + 2 rows
                break
            time.sleep(0.05)
        assert process.poll() is None, "the survey ended before it could be stopped"
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
        if not (process.returncode == 0 and "points (finished)" in out):
            break  # the signal landed while the survey measured: that is what is checked below
        # the file lags the measurement on a loaded machine: the survey was done when the signal came
    assert process.returncode == status, err
    _, data = load_sweep(data_file, ArraySurveyProcedure)  # a valid file, no half-written row
    assert 2 <= len(data) < 16
    line = _one_line(err)
    assert line == (f"mtjlab: sweep survey stopped by {name} after {len(data)} points; the points so far are in "
                    f"{data_file}; rerun with a new --out to measure again")
    assert f"survey: {len(data)} points (stopped)" in out
