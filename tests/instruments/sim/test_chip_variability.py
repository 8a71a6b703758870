"""Per-device variability of the simulated chip: spreads, seeds, dead junctions."""

from __future__ import annotations

import numpy as np
import pytest

from mtjlab.config import ChipPhysics
from mtjlab.instruments.sim.parameters import ALIVE, OPEN, SHORT, sample_devices

ROWS, COLS = 100, 120  # 12,000 devices


def std_tolerance(sigma: float, n: int) -> float:
    """Five standard errors of a sample standard deviation."""
    return 5.0 * sigma / np.sqrt(2.0 * (n - 1))


@pytest.fixture(scope="module")
def physics():
    return ChipPhysics(
        seed=11, resistance_p_rel_spread=0.12, tmr0_rel_spread=0.07, anisotropy_field_rel_spread=0.15,
        reference_angle_spread_deg=3.0, offset_field_oe=1.5, offset_field_spread_oe=2.0,
        field_line_rel_spread=0.1, dead_probability=0.03, dead_short_fraction=0.7,
    )


@pytest.fixture(scope="module")
def chip(physics):
    return sample_devices(physics, ROWS, COLS)


@pytest.mark.parametrize(
    "field, nominal, spread",
    [
        ("resistance_p_ohm", "resistance_p_ohm", "resistance_p_rel_spread"),
        ("tmr0", "tmr0", "tmr0_rel_spread"),
        ("anisotropy_field_oe", "anisotropy_field_oe", "anisotropy_field_rel_spread"),
    ],
)
def test_lognormal_spreads_match(chip, physics, field, nominal, spread):
    log_values = np.log(getattr(chip, field))
    n = log_values.size
    sigma = getattr(physics, spread)
    assert np.std(log_values, ddof=1) == pytest.approx(sigma, abs=std_tolerance(sigma, n))
    assert np.mean(log_values) == pytest.approx(np.log(getattr(physics, nominal)), abs=5 * sigma / np.sqrt(n))


@pytest.mark.parametrize(
    "field, nominal, spread",
    [
        ("reference_angle_deg", "reference_angle_deg", "reference_angle_spread_deg"),
        ("offset_field_oe", "offset_field_oe", "offset_field_spread_oe"),
    ],
)
def test_normal_spreads_match(chip, physics, field, nominal, spread):
    values = getattr(chip, field)
    sigma = getattr(physics, spread)
    assert np.std(values, ddof=1) == pytest.approx(sigma, abs=std_tolerance(sigma, values.size))
    assert np.mean(values) == pytest.approx(getattr(physics, nominal), abs=5 * sigma / np.sqrt(values.size))


def test_field_line_coupling_is_per_row(chip, physics):
    kappa = chip.field_line_oe_per_ma.reshape(ROWS, COLS)
    assert np.all(kappa == kappa[:, :1])  # every device of a row sees the same line
    per_row = np.log(kappa[:, 0])
    sigma = physics.field_line_rel_spread
    assert np.std(per_row, ddof=1) == pytest.approx(sigma, abs=std_tolerance(sigma, ROWS))


def test_stability_factor_scales_with_each_devices_hk(chip, physics):
    np.testing.assert_allclose(
        chip.stability_factor, physics.stability_factor * chip.anisotropy_field_oe / physics.anisotropy_field_oe
    )


def test_dead_fraction_and_kinds_match(chip, physics):
    n = chip.n_devices
    p = physics.dead_probability
    dead = chip.dead_kind != ALIVE
    assert dead.sum() == pytest.approx(p * n, abs=5 * np.sqrt(n * p * (1 - p)))
    shorts = (chip.dead_kind == SHORT).sum()
    q = physics.dead_short_fraction
    assert shorts == pytest.approx(q * dead.sum(), abs=5 * np.sqrt(dead.sum() * q * (1 - q)))


def test_explicit_dead_devices_are_dead_of_their_kind():
    physics = ChipPhysics(dead_devices={"r0c1": "open", "r2c2": "short"})
    chip = sample_devices(physics, 3, 3)
    kinds = dict(zip(chip.device_ids, chip.dead_kind))
    assert kinds["r0c1"] == OPEN and kinds["r2c2"] == SHORT
    assert sum(k != ALIVE for k in kinds.values()) == 2


def test_a_seed_reproduces_a_chip_bit_for_bit(physics):
    a = sample_devices(physics, 8, 12)
    b = sample_devices(physics, 8, 12)
    c = sample_devices(physics.model_copy(update={"seed": physics.seed + 1}), 8, 12)
    for name in a.__dataclass_fields__:
        if name == "device_ids":
            continue
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.resistance_p_ohm, c.resistance_p_ohm)
