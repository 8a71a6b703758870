"""The foreground: a held foreground parks other threads at their checkpoints, never for ever."""

from __future__ import annotations

import threading

import pytest

from mtjlab import foreground
from mtjlab.config import load_default_bench
from mtjlab.instruments.bench import Bench

#: Long enough that a thread which was not parked would have finished (s); never a timing claim.
SETTLE_S = 0.3


def _in_thread(action) -> threading.Event:
    done = threading.Event()

    def run() -> None:
        action()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


@pytest.fixture
def patient(monkeypatch):
    """Checkpoints that would wait far longer than any test (the bound is tested on its own)."""
    monkeypatch.setattr(foreground, "MAX_WAIT_S", 60.0)
    yield
    while foreground.held():  # never leave the foreground held for the next test
        foreground.release()


def test_nothing_held_means_a_checkpoint_does_not_wait():
    assert not foreground.held()
    assert foreground.checkpoint() == 0.0


def test_a_held_foreground_parks_another_thread_until_released(patient):
    foreground.hold()
    done = _in_thread(foreground.checkpoint)
    assert not done.wait(SETTLE_S)
    foreground.release()
    assert done.wait(30)
    assert not foreground.held()


def test_the_holder_itself_passes_its_own_checkpoints(patient):
    with foreground.first():
        assert foreground.checkpoint() == 0.0


def test_holds_nest_and_only_the_outermost_release_frees(patient):
    foreground.hold()
    foreground.hold()
    foreground.release()
    assert foreground.held()
    done = _in_thread(foreground.checkpoint)
    assert not done.wait(SETTLE_S)
    foreground.release()
    assert done.wait(30)


def test_another_thread_cannot_release_a_hold_it_does_not_own(patient):
    foreground.hold()
    _in_thread(foreground.release).wait(30)
    assert foreground.held()
    foreground.release()


def test_a_hold_that_is_never_released_only_delays_a_checkpoint(monkeypatch):
    monkeypatch.setattr(foreground, "MAX_WAIT_S", 0.05)
    foreground.hold()
    try:
        waited: list[float] = []
        assert _in_thread(lambda: waited.append(foreground.checkpoint())).wait(30)
        assert waited[0] > 0.0  # it did wait, and then went on
    finally:
        foreground.release()


def test_every_bus_exchange_of_the_bench_is_a_checkpoint(patient):
    """A readout of the simulated bench, from a worker thread, waits while the window draws."""
    bench = Bench.open(load_default_bench())
    try:
        foreground.hold()
        done = _in_thread(bench.readouts)
        assert not done.wait(SETTLE_S)
        foreground.release()
        assert done.wait(60)
    finally:
        bench.shutdown()
