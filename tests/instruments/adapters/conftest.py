"""Fixtures of the adapter tests: a recording fake clock and a virtual lab."""

from __future__ import annotations

import pytest
from adapter_helpers import FakeClock

from mtjlab.config import load_default_bench


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lab():
    from mtjlab.instruments.sim.lab import VirtualLab

    return VirtualLab(load_default_bench())
