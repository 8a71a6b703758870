"""What a lock-in and a source-meter see of a sinusoidally modulated response.

The input is ``x(t) = x0 + d sin(2 pi t / T)``. Sampling ``n`` points uniformly
over a period, the first-harmonic components (peak amplitude) and the cycle
average are (docs/physics.md eq. L1)::

    X  = (2/n) sum_k f(x_k) sin(phi_k)      (in phase with the reference)
    Y  = (2/n) sum_k f(x_k) cos(phi_k)      (quadrature)
    DC = (1/n) sum_k f(x_k)

These discrete sums are exact for any polynomial response of degree below
``n - 1``, so the finite-modulation effects (curvature error ~ d^2, smoothing)
are those of the true response, not of an analytic derivative. For
``f = a x^3``: X = 3 a x0^2 d + (3/4) a d^3.
"""

from __future__ import annotations

import numpy as np

#: Samples per modulation period: exact for polynomial responses up to degree 30.
SAMPLES_PER_PERIOD = 32


def modulation_phases(samples_per_period: int = SAMPLES_PER_PERIOD) -> np.ndarray:
    """Reference phases phi_k = 2 pi k / n (rad)."""
    return 2.0 * np.pi * np.arange(samples_per_period) / samples_per_period


def modulated_inputs(x0, amplitude, periods: int = 1, samples_per_period: int = SAMPLES_PER_PERIOD) -> np.ndarray:
    """Input samples over ``periods`` periods: shape ``x0.shape + (periods * n,)``."""
    phases = np.tile(modulation_phases(samples_per_period), periods)
    return np.asarray(x0, float)[..., None] + np.asarray(amplitude, float)[..., None] * np.sin(phases)


def project_period(samples: np.ndarray):
    """``(dc, x, y)`` of one period of samples (last axis, length n)."""
    n = samples.shape[-1]
    phases = modulation_phases(n)
    dc = samples.mean(axis=-1)
    x = (2.0 / n) * (samples * np.sin(phases)).sum(axis=-1)
    y = (2.0 / n) * (samples * np.cos(phases)).sum(axis=-1)
    return dc, x, y


def first_harmonic(response, x0, amplitude, samples_per_period: int = SAMPLES_PER_PERIOD):
    """``(dc, x, y)`` of a memoryless ``response(x)`` modulated around ``x0``.

    ``response`` must be vectorised; ``x / amplitude`` is the lock-in's
    finite-difference estimate of the derivative.
    """
    return project_period(response(modulated_inputs(x0, amplitude, 1, samples_per_period)))
