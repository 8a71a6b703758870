"""Fixtures of the training tests: ``patched_array`` (see fake_chip.py)."""

from fake_chip import patched_array  # noqa: F401 (a fixture)
