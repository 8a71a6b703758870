"""Response-table interpolation: exact for cubics, right plane per branch, nearest for flags."""

from __future__ import annotations

import numpy as np

from mtjlab.instruments.sim.response_tables import TableGrid, _Table


def test_hermite_reproduces_a_cubic_exactly_up_to_both_ends():
    grid = np.linspace(-2.0, 2.0, 21)
    cubic = lambda x, a: a * x**3 - x**2 + 0.5  # noqa: E731
    dcubic = lambda x, a: 3 * a * x**2 - 2 * x  # noqa: E731
    values = np.stack([cubic(grid, 1.0), cubic(grid, -2.0)])
    slopes = np.stack([dcubic(grid, 1.0), dcubic(grid, -2.0)])
    table = _Table(-2.0, 0.2, values, slopes)
    queries = np.array([[-2.0, -1.37, 0.0, 0.91, 2.0], [-2.0, -0.05, 0.33, 1.999, 2.0]])
    got = table.hermite(np.array([0, 1]), queries)
    np.testing.assert_allclose(got[0], cubic(queries[0], 1.0), atol=1e-12)
    np.testing.assert_allclose(got[1], cubic(queries[1], -2.0), atol=1e-12)


def test_branch_planes_and_nearest_nodes():
    values = np.zeros((2, 3, 5))
    values[0] = 1.0  # branch +1
    values[1] = -1.0  # branch -1
    table = _Table(0.0, 1.0, values, np.zeros_like(values))
    branch = np.array([[1, -1, 1], [-1, -1, 1]], np.int8)
    got = table.hermite(np.array([2, 0]), np.array([[0.5, 1.5, 3.9], [0.0, 2.2, 4.0]]), branch)
    np.testing.assert_array_equal(got, branch.astype(float))
    flags = _Table(0.0, 1.0, np.array([[0.0, 1.0, 1.0, -1.0, 0.0]]), np.zeros((1, 5)))
    np.testing.assert_array_equal(flags.nearest(np.array([0]), np.array([[0.4, 0.6, 2.6, 3.4, 9.0]])),
                                  [[0, 1, -1, -1, 0]])


def test_grid_pad_covers_the_largest_modulation():
    grid = TableGrid.covering(0.02, 513)
    padded, plain = grid.nodes(True), grid.nodes(False)
    assert plain[0] == -0.02 and np.isclose(plain[-1], 0.02)
    assert np.isclose(padded[0], -0.02 - grid.max_amplitude_a) and np.isclose(padded[-1], 0.02 + grid.max_amplitude_a)
