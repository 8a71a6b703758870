"""Macrospin (Stoner–Wohlfarth) free layer with thermal fluctuations.

The free layer is a single in-plane moment at angle ``theta`` from its easy axis
(x). In units of the anisotropy energy ``K V`` and with the field reduced by the
anisotropy field, ``h = H / Hk``, its energy is (docs/physics.md, eq. E1)::

    e(theta) = sin^2(theta) - 2 (h_x cos(theta) + h_y sin(theta))

Stationary points solve ``g(theta) = e'(theta)/2 = 0`` with::

    g  = sin(theta) cos(theta) + h_x sin(theta) - h_y cos(theta)
    g' = cos(2 theta) + h_x cos(theta) + h_y sin(theta)

A uniaxial macrospin has at most two minima, one on each side of the hard axis;
the side (sign of m_x) is the *branch* ``+1`` or ``-1`` and is the state that makes
the junction hysteretic. At temperature the moment fluctuates in its basin with
Boltzmann weight ``exp(-Delta (e - e_min))`` where ``Delta = K V / (k_B T)`` is
the stability factor (eq. E2). A basin whose barrier is lower than
``ln(t_dwell / tau_0) / Delta`` is left within the dwell time (Néel–Arrhenius,
eq. E3); the moment is then in thermal equilibrium over the whole circle.

Everything is vectorised: fields and stability factors broadcast against each
other and the result has their broadcast shape.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass

import numpy as np

_NEWTON_ITERATIONS = 48
_MAX_NEWTON_STEP_RAD = 0.5
_DESCENT_STEP_RAD = 0.25
_SAME_MINIMUM_RAD = 1e-6
#: Half-width of the thermal quadrature window in units of the basin's
#: fluctuation width; the Boltzmann weight beyond it is below exp(-70).
_WINDOW_WIDTHS = 12.0
#: Gauss–Legendre nodes per basin in u, where theta = theta_min + sigma sinh(u):
#: dense at the minimum, sparse in the tails. 48 nodes give <1e-8 relative
#: error in the field response at Delta = 2000 (1e-5 at Delta = 30) where the
#: basin is harmonic; at the saturation field, where e'' -> 0 and the basin is
#: quartic, the error of d<sin>/dh_y rises to ~3e-4 relative (a tiny region).
_QUADRATURE_NODES = 48
_CHUNK_POINTS = 16384


def energy(theta, h_x, h_y):
    """Reduced free-layer energy e(theta) in units of K V (eq. E1)."""
    return np.sin(theta) ** 2 - 2.0 * (h_x * np.cos(theta) + h_y * np.sin(theta))


def _g(theta, h_x, h_y):
    s, c = np.sin(theta), np.cos(theta)
    return s * c + h_x * s - h_y * c


def _g_prime(theta, h_x, h_y):
    return np.cos(2.0 * theta) + h_x * np.cos(theta) + h_y * np.sin(theta)


def _newton_stationary(seed, h_x, h_y, *, minimum):
    """Newton iteration on g from ``seed`` towards a minimum (or maximum) of e (``minimum``: a bool,
    or an array of them broadcast with ``seed``).

    Where the curvature has the wrong sign for the wanted kind of point the
    step is a fixed move downhill (uphill), so the iteration cannot stall on a
    saddle; at an exact unstable equilibrium it is kicked towards +theta.
    """
    theta = np.array(seed, dtype=float, copy=True)
    want = np.where(minimum, 1.0, -1.0)  # per point where ``minimum`` is an array
    for _ in range(_NEWTON_ITERATIONS):
        s, c = np.sin(theta), np.cos(theta)
        g = s * c + h_x * s - h_y * c
        gp = c * c - s * s + h_x * c + h_y * s
        good_curvature = want * gp > 1e-12
        newton = np.clip(-g / np.where(good_curvature, gp, 1.0), -_MAX_NEWTON_STEP_RAD, _MAX_NEWTON_STEP_RAD)
        direction = -want * np.sign(g)
        direction[direction == 0.0] = 1.0
        step = np.where(good_curvature, newton, _DESCENT_STEP_RAD * direction)
        theta += step
        if np.abs(step).max(initial=0.0) < 1e-15:
            break
    return theta


def _wrap(angle):
    """Wrap an angle to [-pi, pi)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


def _fluctuation_width(theta, h_x, h_y, delta):
    """Angular width of the Boltzmann weight around a minimum (rad).

    Gaussian width ``1/sqrt(Delta e'')`` or, where the energy is flatter than
    quadratic (at saturation, e'' -> 0), the quartic width
    ``(24 / (Delta e''''))^(1/4)``; the smaller one where both apply.
    """
    s, c = np.sin(theta), np.cos(theta)
    zeeman = h_x * c + h_y * s
    e2 = 2.0 * np.cos(2.0 * theta) + 2.0 * zeeman
    e4 = -8.0 * np.cos(2.0 * theta) - 2.0 * zeeman
    with np.errstate(divide="ignore", invalid="ignore"):
        gaussian = np.where(e2 > 0.0, 1.0 / np.sqrt(delta * np.maximum(e2, 1e-300)), np.inf)
        quartic = np.where(e4 > 0.0, (24.0 / (delta * np.maximum(e4, 1e-300))) ** 0.25, np.inf)
    width = np.where(e4 > 0.0, np.minimum(gaussian, quartic), gaussian)
    return np.where(np.isfinite(width), width, np.pi)


@dataclass(frozen=True)
class BasinMoments:
    """Thermal moments of one basin (arrays of the broadcast shape).

    ``log_z`` is the log of the basin's partition function relative to its own
    minimum energy; ``mean_*`` are <cos theta>, <sin theta>; ``cov_*_sin`` are
    the covariances of cos and sin with sin theta, which give the response to a
    field along y (fluctuation–dissipation, eq. E4).
    """

    log_z: np.ndarray
    mean_cos: np.ndarray
    mean_sin: np.ndarray
    cov_cos_sin: np.ndarray
    cov_sin_sin: np.ndarray
    cov_cos_cos: np.ndarray


@functools.lru_cache(maxsize=8)
def _quadrature_rule(n: int):
    """Gauss–Legendre nodes and weights on [0, 1] (exponentially convergent for
    the smooth Boltzmann integrands, whatever their values at the basin edges).
    Cached: the rule depends on n alone, and computing it (an eigenproblem) cost
    more than the integrals it serves."""
    x, w = np.polynomial.legendre.leggauss(n)
    nodes, weights = 0.5 * (x + 1.0), 0.5 * w
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def _basin_moments(theta_min, lower_rad, upper_rad, h_x, h_y, delta) -> BasinMoments:
    """Boltzmann moments over the basin [theta_min - lower, theta_min + upper].

    Deviations are taken from the minimum with trigonometric identities, so the
    covariances keep their precision even when the basin is extremely narrow.
    """
    sigma = _fluctuation_width(theta_min, h_x, h_y, delta)
    reach = _WINDOW_WIDTHS * sigma
    u_lo = -np.arcsinh(np.minimum(lower_rad, reach) / sigma)
    u_hi = np.arcsinh(np.minimum(upper_rad, reach) / sigma)
    nodes, weights = _quadrature_rule(_QUADRATURE_NODES)
    u = u_lo[..., None] + (u_hi - u_lo)[..., None] * nodes
    offset = sigma[..., None] * np.sinh(u)
    jacobian = sigma[..., None] * np.cosh(u) * (u_hi - u_lo)[..., None] * weights
    t0 = theta_min[..., None]
    hx, hy = np.asarray(h_x)[..., None], np.asarray(h_y)[..., None]
    half = 0.5 * offset
    # cos(t0 + d) - cos(t0) and sin(t0 + d) - sin(t0), free of cancellation.
    d_cos = -2.0 * np.sin(t0 + half) * np.sin(half)
    d_sin = 2.0 * np.cos(t0 + half) * np.sin(half)
    s0, c0 = np.sin(t0), np.cos(t0)
    # e(t0 + d) - e(t0) expressed through the same small deviations.
    d_energy = d_sin * (2.0 * s0 + d_sin) - 2.0 * (hx * d_cos + hy * d_sin)
    weight = np.exp(-np.asarray(delta)[..., None] * np.maximum(d_energy, 0.0)) * jacobian
    z = weight.sum(axis=-1)
    p = weight / z[..., None]
    m_cos = (p * d_cos).sum(axis=-1)
    m_sin = (p * d_sin).sum(axis=-1)
    dc = d_cos - m_cos[..., None]
    ds = d_sin - m_sin[..., None]
    return BasinMoments(
        log_z=np.log(z),
        mean_cos=np.cos(theta_min) + m_cos,
        mean_sin=np.sin(theta_min) + m_sin,
        cov_cos_sin=(p * dc * ds).sum(axis=-1),
        cov_sin_sin=(p * ds * ds).sum(axis=-1),
        cov_cos_cos=(p * dc * dc).sum(axis=-1),
    )


@dataclass(frozen=True)
class Equilibrium:
    """The free layer's state at given fields, for each branch.

    Index 0 of the leading axis of the ``*_by_branch`` arrays is branch +1
    (m_x > 0), index 1 is branch -1. ``forced`` is the branch the moment must
    be on after this point whatever its history (+1 or -1), or 0 where both
    branches are stable and the history decides. The response to a field is per
    unit of *reduced* field h; divide by Hk for per oersted.
    """

    forced: np.ndarray
    mean_cos_by_branch: np.ndarray
    mean_sin_by_branch: np.ndarray
    dcos_dhx_by_branch: np.ndarray
    dcos_dhy_by_branch: np.ndarray
    dsin_dhx_by_branch: np.ndarray
    dsin_dhy_by_branch: np.ndarray


def _sharp_moments(theta) -> BasinMoments:
    zero = np.zeros_like(theta)
    return BasinMoments(zero, np.cos(theta), np.sin(theta), zero, zero, zero)


def _zero_temperature(theta, h_x, h_y):
    """Moments of a sharp minimum: the mean is the minimum, the response follows
    from the implicit-function theorem: d theta/dh_y = cos/e''*2, d theta/dh_x = -sin/e''*2."""
    gp = np.maximum(_g_prime(theta, h_x, h_y), 1e-300)
    dtheta_dhy = np.cos(theta) / gp
    dtheta_dhx = -np.sin(theta) / gp
    s, c = np.sin(theta), np.cos(theta)
    return c, s, -s * dtheta_dhx, -s * dtheta_dhy, c * dtheta_dhx, c * dtheta_dhy


def _thermal_response(moments: BasinMoments, delta):
    """Means and field responses from moments (eq. E4: d<f>/dh = 2 Delta Cov(f, m.h_dir))."""
    two_delta = 2.0 * delta
    return (
        moments.mean_cos,
        moments.mean_sin,
        two_delta * moments.cov_cos_cos,
        two_delta * moments.cov_cos_sin,
        two_delta * moments.cov_cos_sin,
        two_delta * moments.cov_sin_sin,
    )


def _mixture(moments_a: BasinMoments, moments_b: BasinMoments, energy_a, energy_b, delta):
    """Moments of the full-circle equilibrium made of two basins."""
    log_wa = moments_a.log_z - delta * energy_a
    log_wb = moments_b.log_z - delta * energy_b
    top = np.maximum(log_wa, log_wb)
    wa, wb = np.exp(log_wa - top), np.exp(log_wb - top)
    pa = wa / (wa + wb)
    pb = 1.0 - pa

    def mix_mean(a, b):
        return pa * a + pb * b

    mc = mix_mean(moments_a.mean_cos, moments_b.mean_cos)
    ms = mix_mean(moments_a.mean_sin, moments_b.mean_sin)
    dca, dcb = moments_a.mean_cos - mc, moments_b.mean_cos - mc
    dsa, dsb = moments_a.mean_sin - ms, moments_b.mean_sin - ms
    return BasinMoments(
        log_z=top + np.log(wa + wb),
        mean_cos=mc,
        mean_sin=ms,
        cov_cos_sin=mix_mean(moments_a.cov_cos_sin + dca * dsa, moments_b.cov_cos_sin + dcb * dsb),
        cov_sin_sin=mix_mean(moments_a.cov_sin_sin + dsa * dsa, moments_b.cov_sin_sin + dsb * dsb),
        cov_cos_cos=mix_mean(moments_a.cov_cos_cos + dca * dca, moments_b.cov_cos_cos + dcb * dcb),
    ), pa


def equilibrium(h_x, h_y, stability_factor, escape_log_ratio) -> Equilibrium:
    """Thermal equilibrium of the free layer on each branch.

    Parameters
    ----------
    h_x, h_y:
        Total in-plane field reduced by the anisotropy field, H / Hk
        (dimensionless), along the easy and hard axes.
    stability_factor:
        Delta = K V / (k_B T) (dimensionless); ``inf`` for zero temperature.
    escape_log_ratio:
        ln(t_dwell / tau_0): a basin whose barrier Delta * (e_max - e_min) is
        below this is left within the dwell time (eq. E3).
    """
    h_x, h_y, delta = np.broadcast_arrays(
        np.asarray(h_x, float), np.asarray(h_y, float), np.asarray(stability_factor, float)
    )
    shape = h_x.shape
    flat = [a.reshape(-1) for a in (h_x, h_y, delta)]
    n = flat[0].size
    parts = [
        _equilibrium_flat(*(a[i : i + _CHUNK_POINTS] for a in flat), escape_log_ratio)
        for i in range(0, max(n, 1), _CHUNK_POINTS)
    ] if n else []
    if not parts:
        empty = np.zeros((2,) + shape)
        return Equilibrium(np.zeros(shape, np.int8), empty, empty, empty, empty, empty, empty)
    fields = {}
    for name in Equilibrium.__dataclass_fields__:
        joined = np.concatenate([getattr(p, name) for p in parts], axis=-1)
        fields[name] = joined.reshape(joined.shape[:-1] + shape)
    return Equilibrium(**fields)


def _equilibrium_flat(h_x, h_y, delta, escape_log_ratio) -> Equilibrium:
    # the two minima (seeded along +/-x) and the two maxima (seeded at +/-pi/2), solved together
    hx4, hy4 = np.broadcast_to(h_x, (4, *np.shape(h_x))), np.broadcast_to(h_y, (4, *np.shape(h_y)))
    seeds = np.stack([np.arctan2(h_y, h_x + 1.0), np.arctan2(h_y, h_x - 1.0),
                      np.full_like(h_x, 0.5 * np.pi), np.full_like(h_x, -0.5 * np.pi)])
    kinds = np.array([True, True, False, False]).reshape((4,) + (1,) * np.ndim(h_x))
    theta_plus, theta_minus, *maxima = _newton_stationary(seeds, hx4, hy4, minimum=kinds)
    monostable = np.abs(_wrap(theta_plus - theta_minus)) < _SAME_MINIMUM_RAD
    # Where the two seeds met, keep one minimum for both branches.
    theta_minus = np.where(monostable, theta_plus, theta_minus)

    e_plus, e_minus = energy(theta_plus, h_x, h_y), energy(theta_minus, h_x, h_y)

    def basin_limits(theta_min):
        """Distances (rad) from a minimum to the nearest maximum on each side."""
        upper = np.full_like(h_x, 2.0 * np.pi)
        lower = np.full_like(h_x, 2.0 * np.pi)
        for theta_max in maxima:
            valid = (_g_prime(theta_max, h_x, h_y) < 0.0) & (np.abs(_g(theta_max, h_x, h_y)) < 1e-9)
            ahead = (theta_max - theta_min) % (2.0 * np.pi)
            upper = np.where(valid, np.minimum(upper, ahead), upper)
            lower = np.where(valid, np.minimum(lower, 2.0 * np.pi - ahead), lower)
        missing = upper >= 2.0 * np.pi  # no valid maximum found: bound by the antipode
        return np.where(missing, np.pi, lower), np.where(missing, np.pi, upper)

    def barrier(theta_min, e_min):
        lowest_max = np.full_like(h_x, np.inf)
        for theta_max in maxima:
            valid = _g_prime(theta_max, h_x, h_y) < 0.0
            lowest_max = np.where(valid, np.minimum(lowest_max, energy(theta_max, h_x, h_y)), lowest_max)
        return lowest_max - e_min

    with np.errstate(invalid="ignore", over="ignore"):
        trap_plus = delta * barrier(theta_plus, e_plus) >= escape_log_ratio
        trap_minus = delta * barrier(theta_minus, e_minus) >= escape_log_ratio
    zero_t = ~np.isfinite(delta)
    finite_delta = np.where(zero_t, 1.0, delta)

    by_branch = []
    if zero_t.all():  # no thermal averaging needed: skip the quadrature
        moments = [_sharp_moments(t) for t in (theta_plus, theta_minus)]
    else:
        moments = [
            _basin_moments(t, *basin_limits(t), h_x, h_y, finite_delta) for t in (theta_plus, theta_minus)
        ]
    mixed, p_plus = _mixture(moments[0], moments[1], e_plus, e_minus, finite_delta)

    free = ~monostable & ~trap_plus & ~trap_minus
    for index, (theta_min, m) in enumerate(zip((theta_plus, theta_minus), moments)):
        basin = _thermal_response(m, finite_delta)
        full = _thermal_response(mixed, finite_delta)
        sharp = _zero_temperature(theta_min, h_x, h_y)
        by_branch.append([
            np.where(zero_t, s, np.where(free, f, b)) for s, f, b in zip(sharp, full, basin)
        ])

    cos_min = np.cos(theta_plus)
    # On the hard axis (saturated along y) the side is undecided: keep history.
    label = np.where(np.abs(cos_min) > 1e-9, np.sign(cos_min), 0)
    forced = np.zeros(h_x.shape, np.int8)
    forced = np.where(monostable, label, forced)
    only_plus = ~monostable & trap_plus & ~trap_minus
    only_minus = ~monostable & trap_minus & ~trap_plus
    forced = np.where(only_plus, 1, forced)
    forced = np.where(only_minus, -1, forced)
    forced = np.where(free & ~zero_t, np.where(p_plus >= 0.5, 1, -1), forced)
    # At zero temperature a basin is a trap as long as it exists.
    forced = np.where(zero_t & ~monostable, 0, forced)

    stacked = [np.stack([by_branch[0][k], by_branch[1][k]]) for k in range(6)]
    return Equilibrium(forced.astype(np.int8), *stacked)


def follow_branches(forced: np.ndarray, initial: np.ndarray | int) -> np.ndarray:
    """Branch after each step of a sequence (last axis), given the forced branches.

    ``b_k = forced_k`` where it is non-zero, else ``b_{k-1}``; ``b_{-1} = initial``.
    This is the hysteresis of the junction, vectorised as a forward fill.
    """
    forced = np.asarray(forced)
    steps = forced.shape[-1]
    index = np.where(forced != 0, np.arange(steps), -1)
    last = np.maximum.accumulate(index, axis=-1)
    initial = np.broadcast_to(np.asarray(initial, np.int8), forced.shape[:-1])
    taken = np.take_along_axis(forced, np.maximum(last, 0), axis=-1)
    return np.where(last >= 0, taken, initial[..., None]).astype(np.int8)


def select_branch(by_branch: np.ndarray, branch: np.ndarray) -> np.ndarray:
    """Pick the branch's value from a ``*_by_branch`` array (branch +1 -> index 0)."""
    return np.where(branch > 0, by_branch[0], by_branch[1])
