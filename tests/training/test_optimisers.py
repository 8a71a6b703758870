"""Tests of mtjlab.training.optimisers against closed forms (not recorded numbers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtjlab.config.training import OptimiserConfig
from mtjlab.errors import DataFileError
from mtjlab.training.optimisers import Adam, SGD, learning_rate_at, make_optimiser

SHAPES = [(3, 4), (4,), (4, 2), (2,)]


def _arrays(rng: np.random.Generator, scale: float = 1.0) -> list[np.ndarray]:
    return [scale * rng.normal(size=s) for s in SHAPES]


def _config(name: str, **kw) -> OptimiserConfig:
    return OptimiserConfig(name=name, **kw)


# --- SGD -------------------------------------------------------------------------

def test_sgd_without_momentum_is_exactly_p_minus_lr_g():
    rng = np.random.default_rng(0)
    params, lr = _arrays(rng), 0.037
    opt = make_optimiser(_config("sgd", momentum=0.0), SHAPES)
    for _ in range(3):
        grads = _arrays(rng)
        expected = [p - lr * g for p, g in zip(params, grads)]
        originals = list(params)
        opt.step(params, grads, lr)
        for p, original, e in zip(params, originals, expected):
            assert p is original                  # updated in place
            assert np.array_equal(p, e)


def test_sgd_momentum_on_a_constant_gradient_tends_to_lr_g_over_one_minus_mu():
    mu, lr, g = 0.9, 0.01, np.array([2.0, -0.5, 3.0])
    opt = SGD([(3,)], momentum=mu)
    p = np.zeros(3)
    for k in range(1, 301):
        before = p.copy()
        opt.step([p], [g], lr)
        # geometric sum: step k is lr*g*(1 - mu**k)/(1 - mu)
        np.testing.assert_allclose(before - p, lr * g * (1 - mu**k) / (1 - mu), rtol=1e-10)
    np.testing.assert_allclose(before - p, lr * g / (1 - mu), rtol=1e-12)


def test_sgd_weight_decay_shrinks_by_one_minus_lr_wd_per_step_on_zero_gradient():
    rng = np.random.default_rng(1)
    lr, wd = 0.1, 0.5
    params = _arrays(rng)
    start = [p.copy() for p in params]
    opt = make_optimiser(_config("sgd", momentum=0.0, weight_decay=wd), SHAPES)
    zeros = [np.zeros(s) for s in SHAPES]
    for k in range(1, 21):
        opt.step(params, zeros, lr)
        for p, p0 in zip(params, start):
            np.testing.assert_allclose(p, (1 - lr * wd) ** k * p0, rtol=1e-12)


# --- Adam ------------------------------------------------------------------------

@pytest.mark.parametrize("beta1", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("magnitude", [1e-3, 1.0, 1e6])
def test_adam_first_step_moves_every_parameter_by_lr_times_sign_of_g(beta1, magnitude):
    rng = np.random.default_rng(2)
    lr = 0.02
    params = _arrays(rng)
    start = [p.copy() for p in params]
    grads = [magnitude * np.sign(rng.normal(size=s)) * rng.uniform(1, 10, size=s)
             for s in SHAPES]
    opt = make_optimiser(_config("adam", momentum=beta1), SHAPES)
    opt.step(params, grads, lr)
    for p, p0, g in zip(params, start, grads):
        np.testing.assert_allclose(p0 - p, lr * np.sign(g), rtol=1e-4)


def test_adam_weight_decay_pulls_parameters_to_zero_on_zero_gradient():
    rng = np.random.default_rng(3)
    lr = 0.01
    params = [p + np.sign(p) for p in _arrays(rng)]      # every |p| > 1 >> lr
    start = [p.copy() for p in params]
    opt = make_optimiser(_config("adam", weight_decay=0.1), SHAPES)
    zeros = [np.zeros(s) for s in SHAPES]
    opt.step(params, zeros, lr)
    for p, p0 in zip(params, start):   # first step: the decay term wd*p has sign(p)
        np.testing.assert_allclose(p, p0 - lr * np.sign(p0), rtol=1e-6)
    previous = [np.abs(p) for p in params]
    for _ in range(50):
        opt.step(params, zeros, lr)
        for p, p0, prev in zip(params, start, previous):
            assert np.all(np.sign(p) == np.sign(p0)) and np.all(np.abs(p) < prev)
        previous = [np.abs(p) for p in params]


# --- both ------------------------------------------------------------------------

@pytest.mark.parametrize("config", [
    _config("sgd", momentum=0.5, learning_rate=0.03),
    _config("adam", momentum=0.9, learning_rate=0.05, schedule="cosine"),
], ids=["sgd", "adam"])
def test_both_minimise_a_quadratic_to_the_least_squares_solution(config):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=30)
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    x = np.zeros(4)
    opt = make_optimiser(config, [(4,)])
    steps = 3000
    for k in range(steps):        # gradient of 0.5*||a x - b||^2
        opt.step([x], [a.T @ (a @ x - b)], learning_rate_at(config, k, steps))
    np.testing.assert_allclose(x, solution, atol=1e-4, rtol=0)


def test_make_optimiser_passes_the_config_through():
    sgd = make_optimiser(_config("sgd", momentum=0.7, weight_decay=0.01), SHAPES)
    assert isinstance(sgd, SGD) and (sgd.momentum, sgd.weight_decay) == (0.7, 0.01)
    adam = make_optimiser(_config("adam", momentum=0.8, weight_decay=0.02), SHAPES)
    assert isinstance(adam, Adam)
    assert (adam.beta1, adam.beta2, adam.eps, adam.weight_decay) == (0.8, 0.999, 1e-8, 0.02)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_state_round_trip_through_npz_resumes_bitwise(tmp_path, name):
    config = _config(name, momentum=0.9, weight_decay=0.01)
    rng = np.random.default_rng(5)
    grads = [_arrays(rng) for _ in range(10)]
    params = _arrays(rng)
    uninterrupted = make_optimiser(config, SHAPES)
    for g in grads[:5]:
        uninterrupted.step(params, g, 0.01)
    np.savez(tmp_path / "state.npz", **uninterrupted.state())
    with np.load(tmp_path / "state.npz", allow_pickle=False) as saved:
        loaded = {key: saved[key] for key in saved.files}
    resumed, fresh = make_optimiser(config, SHAPES), make_optimiser(config, SHAPES)
    resumed.load_state(loaded)
    params_resumed = [p.copy() for p in params]
    params_fresh = [p.copy() for p in params]
    for g in grads[5:]:
        uninterrupted.step(params, g, 0.01)
        resumed.step(params_resumed, g, 0.01)
        fresh.step(params_fresh, g, 0.01)
    assert all(np.array_equal(p, q) for p, q in zip(params, params_resumed))
    assert not all(np.array_equal(p, q) for p, q in zip(params, params_fresh))
    final, final_resumed = uninterrupted.state(), resumed.state()
    assert final.keys() == final_resumed.keys()
    assert all(np.array_equal(final[k], final_resumed[k]) for k in final)


@pytest.mark.parametrize("name, key", [("sgd", "sgd.velocity.2"), ("adam", "adam.m.1"),
                                       ("adam", "adam.v.3"), ("adam", "adam.t")])
def test_load_state_names_a_missing_key(name, key):
    state = make_optimiser(_config(name), SHAPES).state()
    del state[key]
    with pytest.raises(DataFileError, match=rf"missing key '{key}'") as info:
        make_optimiser(_config(name), SHAPES).load_state(state)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name, key", [("sgd", "sgd.velocity.0"), ("adam", "adam.v.2"),
                                       ("adam", "adam.t")])
def test_load_state_names_a_key_of_the_wrong_shape(name, key):
    opt = make_optimiser(_config(name), SHAPES)
    state = opt.state()
    state[key] = np.zeros((5, 5))
    before = opt.state()
    with pytest.raises(DataFileError, match=rf"key '{key}' has shape \(5, 5\)") as info:
        opt.load_state(state)
    assert "\n" not in str(info.value)
    assert all(np.array_equal(before[k], opt.state()[k]) for k in before)   # unchanged


def test_load_state_of_the_other_optimiser_is_refused():
    with pytest.raises(DataFileError, match="missing key 'adam.m.0'"):
        make_optimiser(_config("adam"), SHAPES).load_state(
            make_optimiser(_config("sgd"), SHAPES).state())


# --- schedules -------------------------------------------------------------------

def test_constant_schedule():
    config = _config("adam", learning_rate=0.05, schedule="constant")
    assert all(learning_rate_at(config, e, 60) == 0.05 for e in range(60))


def test_cosine_schedule_endpoints():
    config = _config("adam", learning_rate=0.05, schedule="cosine")
    assert learning_rate_at(config, 0, 60) == 0.05
    assert learning_rate_at(config, 30, 60) == pytest.approx(0.025, rel=1e-12)
    assert learning_rate_at(config, 45, 60) == pytest.approx(0.05 * (1 - math.sqrt(0.5)) / 2)
    rates = [learning_rate_at(config, e, 60) for e in range(60)]
    assert all(a > b for a, b in zip(rates, rates[1:]))


@pytest.mark.parametrize("epochs", [60, 9, 30])
def test_step_schedule_divides_by_ten_at_each_third(epochs):
    config = _config("sgd", learning_rate=0.2, schedule="step")
    third = epochs // 3
    for e in range(epochs):
        expected = 0.2 / 10 ** (e // third)
        assert learning_rate_at(config, e, epochs) == pytest.approx(expected, rel=1e-12)
    assert learning_rate_at(config, third - 1, epochs) == 0.2
    assert learning_rate_at(config, third, epochs) == pytest.approx(0.02, rel=1e-12)
    assert learning_rate_at(config, 2 * third, epochs) == pytest.approx(0.002, rel=1e-12)
