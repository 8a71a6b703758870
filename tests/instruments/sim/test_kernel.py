"""The compiled measurement loop against the numpy path: same values, same branches, same state.

The chip tests drive twin chips (the same devices) through the same history,
one measuring through the loop and one through the numpy path, and compare what
they return and the state they keep; one test runs the loop on random tables
against the numpy pieces. The loop is checked both compiled (when numba is
available) and as plain Python (always).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mtjlab.config import ChipPhysics
from mtjlab.instruments.sim import kernel, macrospin
from mtjlab.instruments.sim.mtj import MTJChip
from mtjlab.instruments.sim.response_tables import TableEvaluator, _Table

ROWS, COLS = 3, 4
READ_A, MODULATION_A = 1e-4, 2e-4
EVERYONE = np.arange(ROWS * COLS)
#: Inside the zero-field hysteresis window of every device: the branch is what history left.
INSIDE_WINDOW = np.linspace(-0.003, 0.003, 7)
#: Out to saturation and back: each device switches to the branch its Néel offset prefers.
#: The ramp across the window's edge is finer than the table grid, so the switching point
#: is resolved to the grid (which node is nearest) and lands in a cell that still holds
#: both branches (which branch that point reads).
EXCURSION = np.concatenate([[0.0], np.linspace(0.003, 0.008, 201), [0.012, 0.004, 0.0, -0.012, -0.001]])


@pytest.fixture(params=["compiled", "python"])
def loop(request, monkeypatch):
    """Which form of the loop the kernel chip runs."""
    if request.param == "compiled":
        pytest.importorskip("numba")
    else:
        monkeypatch.setattr(kernel, "compiled_loop", kernel.python_loop)
    return request.param


def twin_chips(bias_oe: float = 0.0) -> tuple[MTJChip, MTJChip]:
    """``(through the loop, through numpy)``: the same devices in the same state."""
    chips = []
    for compiled in (True, False):
        chip = MTJChip.from_physics(ChipPhysics(), ROWS, COLS, compiled=False)
        chip.compiled = compiled  # set directly: the plain-Python loop needs no numba
        chip.set_bias_field(bias_oe)
        chips.append(chip)
    return chips[0], chips[1]


def all_on_minus_branch(*chips: MTJChip) -> None:
    """Through the coil's history: +20 Oe, then -20 Oe, then back to 0 Oe.

    The field lines carry 3 mA meanwhile: outside the -20 Oe window (so the coil
    forces every device onto -1), inside the 0 Oe one (so they stay there).
    """
    for chip in chips:
        for row in range(ROWS):
            chip.apply_row_input(row, 0.003)
        for field in (20.0, -20.0, 0.0):
            chip.set_bias_field(field)
        assert np.all(chip.branch == -1)


def measure_both(chips, index, inputs, modulation_a):
    """The two chips' responses; their kept state (branches, row inputs) must agree exactly."""
    through_loop, through_numpy = (c.measure(index, inputs, READ_A, modulation_a) for c in chips)
    np.testing.assert_array_equal(chips[0].branch, chips[1].branch)
    np.testing.assert_array_equal(chips[0].row_input_a, chips[1].row_input_a)
    for name in ("dc_voltage_v", "x_v", "y_v", "lockin_derivative_v_per_a", "exact_derivative_v_per_a"):
        np.testing.assert_allclose(getattr(through_loop, name), getattr(through_numpy, name),
                                   rtol=1e-12, atol=1e-15, err_msg=name)
    np.testing.assert_array_equal(through_loop.dead, through_numpy.dead)
    return through_numpy


@pytest.mark.parametrize("modulation_a", [0.0, MODULATION_A])
def test_same_values_over_the_whole_table(loop, modulation_a):
    chips = twin_chips(bias_oe=20.0)
    reach = chips[1]._grid.range_a
    step = chips[1]._grid.step_a
    rng = np.random.default_rng(3)
    # Random points, the table's ends, exact nodes (a cell's start) and points half a step off them.
    inputs = np.concatenate([rng.uniform(-reach, reach, (EVERYONE.size, 40)),
                             np.tile([-reach, reach, 0.0, 3 * step, -7.5 * step, reach - step / 3], (EVERYONE.size, 1))],
                            axis=1)
    response = measure_both(chips, EVERYONE, inputs, modulation_a)
    assert np.all(np.isfinite(response.dc_voltage_v))
    assert (np.count_nonzero(response.x_v) > 0) == (modulation_a > 0)


@pytest.mark.parametrize("modulation_a", [0.0, MODULATION_A])
def test_hysteresis_is_kept_across_calls(loop, modulation_a):
    chips = twin_chips()
    all_on_minus_branch(*chips)
    before = measure_both(chips, EVERYONE, np.tile(INSIDE_WINDOW, (EVERYONE.size, 1)), modulation_a)
    assert np.all(chips[1].branch == -1)  # the window keeps what the coil left
    measure_both(chips, EVERYONE, np.tile(EXCURSION, (EVERYONE.size, 1)), modulation_a)
    switched = chips[1].branch == 1
    assert switched.any() and not switched.all()
    after = measure_both(chips, EVERYONE, np.tile(INSIDE_WINDOW, (EVERYONE.size, 1)), modulation_a)
    # Same inputs, other branch: the junctions that switched now answer differently.
    changed = np.any(before.dc_voltage_v != after.dc_voltage_v, axis=1)
    np.testing.assert_array_equal(changed, switched)


@pytest.mark.parametrize("modulation_a", [0.0, MODULATION_A])
def test_a_rows_other_devices_follow_its_field_history(loop, modulation_a):
    chips = twin_chips()
    all_on_minus_branch(*chips)
    row_of = chips[1].devices.row
    driven = 1
    measure_both(chips, [driven], EXCURSION[None, :], modulation_a)
    same_row = row_of == row_of[driven]
    assert np.any(chips[1].branch[same_row] == 1)  # the excursion switched devices it did not measure
    assert np.all(chips[1].branch[~same_row] == -1)  # other rows saw no field
    # What those devices answer next depends on that history; devices of one row are
    # driven one after another in request order, the same device possibly twice.
    order = [2, 1, 5, 2, 0, 9, 3]
    rng = np.random.default_rng(7)
    inputs = rng.uniform(-0.003, 0.003, (len(order), 9))
    inputs[3, 4] = 0.012  # the second visit of device 2 switches its row mid-sequence
    measure_both(chips, order, inputs, modulation_a)


@pytest.mark.parametrize("modulation_a", [0.0, MODULATION_A])
def test_points_beyond_the_tables_use_the_exact_physics(loop, modulation_a, monkeypatch):
    chips = twin_chips()
    all_on_minus_branch(*chips)
    beyond = 1.2 * chips[1]._grid.range_a
    calls = []
    real_run = kernel.run
    monkeypatch.setattr(kernel, "run", lambda *args: calls.append(args) or real_run(*args))
    index = [0, 6]
    measure_both(chips, index, np.array([[0.001, beyond, 0.0], [-0.001, -beyond, 0.002]]), modulation_a)
    assert calls == []  # the loop answers from tables only
    assert np.any(chips[1].branch[index] == 1)
    measure_both(chips, EVERYONE, np.tile(INSIDE_WINDOW, (EVERYONE.size, 1)), modulation_a)
    assert len(calls) == 1  # back inside the tables, from the state the exact physics left


def synthetic_evaluator(rng, n_devices: int, modulated: bool) -> TableEvaluator:
    """Random tables on a padded and a plain grid, with forced branches of both signs
    along each device's grid (the chip's physics forces one sign per field)."""
    static_start, cycle_start, step, static_nodes, cycle_nodes = -10.0, -8.0, 0.5, 41, 33

    def table(start, nodes, planes=2):
        shape = (planes, n_devices, nodes) if planes else (n_devices, nodes)
        return _Table(start, step, rng.normal(size=shape), rng.normal(size=shape))

    def forced(start, nodes):
        return _Table(start, step, rng.choice([-1.0, 0.0, 0.0, 1.0], (n_devices, nodes)))

    static = (table(static_start, static_nodes), table(static_start, static_nodes), forced(static_start, static_nodes))
    cycle = tuple(table(cycle_start, cycle_nodes) for _ in range(3)) + (forced(cycle_start, cycle_nodes),)
    return TableEvaluator(static, cycle if modulated else None)


def sequential_reference(evaluator, modulated, device_row, index, inputs, branch):
    """The numpy pieces, request after request: ``(dc, x, y, slope)`` and the new branches."""
    branch = branch.copy()
    out = []
    for device, sequence in zip(index, inputs):
        members = np.flatnonzero(device_row == device_row[device])
        followed = macrospin.follow_branches(
            evaluator.end_forced(members, np.broadcast_to(sequence, (members.size, sequence.size))), branch[members])
        left = followed[members == device]
        used = np.concatenate([[[branch[device]]], left[:, :-1]], axis=1) if modulated else left
        out.append(evaluator.values(np.array([device]), sequence[None, :], used))
        branch[members] = followed[:, -1]
    return [np.concatenate([o[q] for o in out]) for q in range(4)], branch


@pytest.mark.parametrize("modulated", [False, True])
def test_the_loop_on_tables_whose_forced_branches_change_sign(loop, modulated):
    rng = np.random.default_rng(11)
    device_row = np.array([0, 0, 0, 1, 1, 2, 0])
    evaluator = synthetic_evaluator(rng, device_row.size, modulated)
    index = np.array([1, 3, 6, 1, 5, 0])
    inputs = rng.uniform(-8.0, 8.0, (index.size, 25))
    inputs[:, :4] = [-8.0, 8.0, 0.25, -9.5]  # both ends, halfway between nodes, beyond the grid (clipped)
    branch = rng.choice(np.array([-1, 1], np.int8), device_row.size)
    expected, expected_branch = sequential_reference(evaluator, modulated, device_row, index, inputs, branch)
    row_input_a = np.zeros(3)
    got = kernel.run(kernel.compiled_loop(), evaluator.kernel_tables(), index, inputs, device_row, branch, row_input_a)
    for name, g, e in zip(("dc", "x", "y", "slope"), got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(branch, expected_branch)
    np.testing.assert_array_equal(row_input_a, [inputs[5, -1], inputs[1, -1], inputs[4, -1]])  # each row's last


def test_the_compiled_loop_is_chosen_in_one_place():
    assert kernel.use_compiled(False) is False
    assert kernel.use_compiled(None) is kernel.available()
    assert MTJChip.from_physics(ChipPhysics(), 1, 2).compiled is kernel.available()
    assert MTJChip.from_physics(ChipPhysics(), 1, 2, compiled=False).compiled is False
    if kernel.available():
        assert kernel.use_compiled(True) is True
    else:
        with pytest.raises(RuntimeError):
            kernel.use_compiled(True)


def test_importing_the_chip_leaves_numba_unimported():
    code = "import sys, mtjlab.instruments.sim.mtj; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
