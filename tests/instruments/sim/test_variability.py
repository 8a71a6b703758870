"""Device-to-device variability: sampled spreads against the configured distributions.

Tolerances come from the sampling distributions (5 standard errors):
standard deviation of n normal draws: sigma / sqrt(2 (n - 1)); mean: sigma / sqrt(n);
median: sigma sqrt(pi / (2 n)); a fraction p of n: sqrt(p (1 - p) / n).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mtjlab.config import ChipPhysics
from mtjlab.instruments.sim.parameters import ALIVE, OPEN, SHORT, sample_devices

ROWS, COLS = 100, 100
N = ROWS * COLS
Z = 5.0


def _physics(**overrides):
    values = dict(
        seed=11,
        resistance_p_ohm=1500.0, resistance_p_rel_spread=0.12,
        tmr0=1.1, tmr0_rel_spread=0.07,
        anisotropy_field_oe=25.0, anisotropy_field_rel_spread=0.15,
        reference_angle_deg=85.0, reference_angle_spread_deg=3.0,
        offset_field_oe=-1.5, offset_field_spread_oe=2.5,
        field_line_oe_per_ma=4.0, field_line_rel_spread=0.09,
        stability_factor=1500.0,
        dead_probability=0.0,
    )
    values.update(overrides)
    return ChipPhysics(**values)


@pytest.fixture(scope="module")
def physics():
    return _physics()


@pytest.fixture(scope="module")
def devices(physics):
    return sample_devices(physics, ROWS, COLS)


def _check_lognormal(values, nominal, rel_spread, n):
    logs = np.log(values)
    assert np.std(logs, ddof=1) == pytest.approx(rel_spread, abs=Z * rel_spread / np.sqrt(2 * (n - 1)))
    assert np.median(values) == pytest.approx(nominal, rel=Z * rel_spread * np.sqrt(np.pi / (2 * n)))
    assert np.all(values > 0)


def _check_normal(values, mean, spread, n):
    assert np.std(values, ddof=1) == pytest.approx(spread, abs=Z * spread / np.sqrt(2 * (n - 1)))
    assert np.mean(values) == pytest.approx(mean, abs=Z * spread / np.sqrt(n))


def test_lognormal_spreads_match_the_configuration(devices, physics):
    assert devices.n_devices == N
    _check_lognormal(devices.resistance_p_ohm, physics.resistance_p_ohm, physics.resistance_p_rel_spread, N)
    _check_lognormal(devices.tmr0, physics.tmr0, physics.tmr0_rel_spread, N)
    _check_lognormal(devices.anisotropy_field_oe, physics.anisotropy_field_oe, physics.anisotropy_field_rel_spread, N)
    np.testing.assert_array_equal(devices.tmr_half_bias_v, physics.tmr_half_bias_v)


def test_normal_spreads_match_the_configuration(devices, physics):
    _check_normal(devices.reference_angle_deg, physics.reference_angle_deg, physics.reference_angle_spread_deg, N)
    _check_normal(devices.offset_field_oe, physics.offset_field_oe, physics.offset_field_spread_oe, N)
    # normal, not lognormal: the offset takes both signs around a negative mean
    assert (devices.offset_field_oe > 0).any() and (devices.offset_field_oe < 0).any()


def test_parameters_are_independent(devices):
    columns = np.vstack([np.log(devices.resistance_p_ohm), np.log(devices.tmr0), np.log(devices.anisotropy_field_oe),
                         devices.reference_angle_deg, devices.offset_field_oe])
    corr = np.corrcoef(columns)
    off_diagonal = corr[~np.eye(len(corr), dtype=bool)]
    assert np.abs(off_diagonal).max() < Z / np.sqrt(N)


def test_field_line_coupling_is_per_row(devices, physics):
    kappa = devices.field_line_oe_per_ma.reshape(ROWS, COLS)
    np.testing.assert_array_equal(kappa, kappa[:, :1] * np.ones((1, COLS)))  # same along a row
    np.testing.assert_array_equal(devices.row.reshape(ROWS, COLS), np.arange(ROWS)[:, None] * np.ones((1, COLS), int))
    np.testing.assert_array_equal(devices.col.reshape(ROWS, COLS), np.ones((ROWS, 1), int) * np.arange(COLS))
    assert len(np.unique(kappa[:, 0])) == ROWS  # but differs between rows
    # the spread across rows: many rows for a precise estimate
    rows = 4000
    tall = sample_devices(physics, rows, 2)
    _check_lognormal(tall.field_line_oe_per_ma[::2], physics.field_line_oe_per_ma, physics.field_line_rel_spread, rows)


def test_stability_factor_scales_with_each_devices_hk(devices, physics):
    np.testing.assert_allclose(devices.stability_factor,
                               physics.stability_factor * devices.anisotropy_field_oe / physics.anisotropy_field_oe,
                               rtol=1e-12)
    assert np.std(devices.stability_factor) > 0


def test_zero_spread_gives_nominal_values():
    flat = _physics(resistance_p_rel_spread=0.0, tmr0_rel_spread=0.0, anisotropy_field_rel_spread=0.0,
                    reference_angle_spread_deg=0.0, offset_field_spread_oe=0.0, field_line_rel_spread=0.0)
    d = sample_devices(flat, 3, 4)
    np.testing.assert_array_equal(d.resistance_p_ohm, 1500.0)
    np.testing.assert_array_equal(d.tmr0, 1.1)
    np.testing.assert_array_equal(d.anisotropy_field_oe, 25.0)
    np.testing.assert_array_equal(d.reference_angle_deg, 85.0)
    np.testing.assert_array_equal(d.offset_field_oe, -1.5)
    np.testing.assert_array_equal(d.field_line_oe_per_ma, 4.0)
    np.testing.assert_array_equal(d.stability_factor, 1500.0)
    assert d.device_ids == tuple(f"r{r}c{c}" for r in range(3) for c in range(4))


def _fields(d):
    return {f.name: getattr(d, f.name) for f in dataclasses.fields(d)}


def test_a_seed_reproduces_a_chip_bit_for_bit():
    physics = _physics(dead_probability=0.2)
    a, b = sample_devices(physics, 20, 30), sample_devices(_physics(dead_probability=0.2), 20, 30)
    for name, value in _fields(a).items():
        other = getattr(b, name)
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype, name
            assert np.array_equal(value, other), name
        else:
            assert value == other, name
    c = sample_devices(_physics(seed=12, dead_probability=0.2), 20, 30)
    for name in ("resistance_p_ohm", "tmr0", "anisotropy_field_oe", "reference_angle_deg", "offset_field_oe",
                 "field_line_oe_per_ma", "stability_factor", "dead_kind"):
        assert not np.array_equal(getattr(a, name), getattr(c, name)), name


def test_random_dead_fraction_and_kinds():
    p, short = 0.1, 0.3
    d = sample_devices(_physics(dead_probability=p, dead_short_fraction=short, seed=3), ROWS, COLS)
    n_dead = int(d.dead.sum())
    assert abs(n_dead - p * N) < Z * np.sqrt(N * p * (1 - p))
    n_short = int((d.dead_kind == SHORT).sum())
    assert abs(n_short / n_dead - short) < Z * np.sqrt(short * (1 - short) / n_dead)
    assert set(np.unique(d.dead_kind)) == {ALIVE, SHORT, OPEN}
    np.testing.assert_array_equal(d.dead, d.dead_kind != ALIVE)
    # certainties
    assert not sample_devices(_physics(dead_probability=0.0), 10, 10).dead.any()
    assert sample_devices(_physics(dead_probability=1.0, dead_short_fraction=1.0), 10, 10).dead_kind.tolist() == [SHORT] * 100
    assert sample_devices(_physics(dead_probability=1.0, dead_short_fraction=0.0), 10, 10).dead_kind.tolist() == [OPEN] * 100


def test_explicit_dead_devices_are_dead_of_their_kind():
    chosen = {"r0c0": "short", "r5c7": "open", "r9c9": "short"}
    d = sample_devices(_physics(dead_devices=chosen), 10, 10)
    kinds = {"short": SHORT, "open": OPEN}
    for device_id, kind in chosen.items():
        assert d.dead_kind[d.index_of([device_id])[0]] == kinds[kind]
    assert int(d.dead.sum()) == len(chosen)
    # the explicit list wins over the random draw, and the other draws are unchanged by it
    plain = sample_devices(_physics(dead_probability=0.5, seed=5), 10, 10)
    forced = sample_devices(_physics(dead_probability=0.5, seed=5, dead_devices=chosen), 10, 10)
    for device_id, kind in chosen.items():
        assert forced.dead_kind[forced.index_of([device_id])[0]] == kinds[kind]
    others = np.ones(100, bool)
    others[forced.index_of(list(chosen))] = False
    np.testing.assert_array_equal(forced.dead_kind[others], plain.dead_kind[others])
    np.testing.assert_array_equal(forced.resistance_p_ohm, plain.resistance_p_ohm)


def test_custom_device_ids_are_kept():
    ids = [f"dev{i}" for i in range(6)]
    d = sample_devices(_physics(dead_devices={"dev4": "open"}), 2, 3, ids)
    assert d.device_ids == tuple(ids)
    np.testing.assert_array_equal(d.index_of(["dev4", "dev0"]), [4, 0])
    assert d.dead_kind[4] == OPEN and d.dead.sum() == 1
    with pytest.raises(KeyError):
        d.index_of(["nope"])
