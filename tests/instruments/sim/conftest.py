"""Fixtures of the emulator and lab tests."""

from __future__ import annotations

import pytest

from mtjlab.config import load_default_bench
from mtjlab.instruments.sim.lab import VirtualLab


@pytest.fixture
def lab():
    """A virtual lab of the packaged simulated bench, nothing routed (a test module may define its own)."""
    return VirtualLab(load_default_bench())
