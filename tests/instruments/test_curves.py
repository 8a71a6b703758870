"""``mtjlab sim curves``: the files it writes and how it treats existing ones."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mtjlab import cli
from mtjlab.config import load_default_bench
from mtjlab.instruments.sim.curves import COLUMNS


@pytest.fixture(scope="module")
def curves_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("curves")
    assert cli.main(["sim", "curves", "--bias-field-oe", "10", "30", "--out", str(out)]) == 0
    return out


def read_rows(path):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def test_csv_has_unit_columns_and_every_live_device_at_every_field(curves_dir):
    header, rows = read_rows(curves_dir / "curves.csv")
    assert tuple(header) == COLUMNS
    bench = load_default_bench()
    live = set(bench.chip.ids()) - set(bench.chip.known_dead)
    assert {r["device"] for r in rows} == live
    assert {float(r["bias_field_oe"]) for r in rows} == {10.0, 30.0}
    inputs = np.array([float(r["input_current_a"]) for r in rows])
    assert np.abs(inputs).max() <= bench.limits.max_input_current_a


def test_lockin_derivative_tracks_the_exact_one_and_bias_softens_the_slope(curves_dir):
    _, rows = read_rows(curves_dir / "curves.csv")
    peak = {}
    for field in (10.0, 30.0):
        sel = [r for r in rows if float(r["bias_field_oe"]) == field and r["device"] == "r0c0"]
        lockin = np.array([float(r["lockin_derivative_v_per_a"]) for r in sel])
        exact = np.array([float(r["exact_derivative_v_per_a"]) for r in sel])
        strong = np.abs(exact) > 0.2 * np.abs(exact).max()
        assert np.median(np.abs(lockin[strong] / exact[strong] - 1)) < 0.02
        peak[field] = np.abs(exact).max()
    # the hard-axis susceptibility scales as 1/(Hk + H_b): a larger bias field flattens the neuron
    assert peak[30.0] < peak[10.0]


def test_png_is_a_real_image(curves_dir):
    data = (curves_dir / "curves.png").read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_existing_curves_are_never_overwritten(curves_dir, capsys):
    before = (curves_dir / "curves.csv").read_bytes()
    assert cli.main(["sim", "curves", "--out", str(curves_dir)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and err.count("\n") == 1
    assert (curves_dir / "curves.csv").read_bytes() == before


def test_bias_field_beyond_the_limit_is_refused(tmp_path, capsys):
    assert cli.main(["sim", "curves", "--bias-field-oe", "5000", "--out", str(tmp_path / "x")]) == 2
    assert "limit" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
