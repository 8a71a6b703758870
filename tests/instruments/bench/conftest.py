"""A simulated bench for the Bench tests, with its virtual lab at hand."""

from __future__ import annotations

import pytest

from mtjlab.config import load_default_bench


@pytest.fixture(scope="session")
def sim_config():
    return load_default_bench()


@pytest.fixture(scope="session")
def stepped_config(sim_config):
    """The packaged bench measured point by point with the wiring's lock-in settings: what the
    model array's timing model (stepped) describes."""
    measurement = sim_config.measurement.model_copy(update={"acquisition": "stepped", "lockin_settings": "bench"})
    return sim_config.model_copy(update={"measurement": measurement})


@pytest.fixture
def bench(sim_config):
    from mtjlab.instruments.bench import Bench

    with Bench(sim_config) as bench:
        yield bench
