"""A simulated bench for the Bench tests, with its virtual lab at hand."""

from __future__ import annotations

import pytest

from mtjlab.config import load_default_bench


@pytest.fixture(scope="session")
def sim_config():
    return load_default_bench()


@pytest.fixture
def bench(sim_config):
    from mtjlab.instruments.bench import Bench

    with Bench(sim_config) as bench:
        yield bench
