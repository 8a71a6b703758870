"""Study-file model (``kind: study``): a base training config and the axes to vary.

A study is a set of training runs. ``base`` is the training config every run
starts from (a training file, or its keys inline); each run changes some keys:

- ``grid``: every combination of the axes' values. An axis named after a
  training key (``method``, ``bench``, ``chip_seed``, or a nested one such as
  ``optimiser.learning_rate``) takes a list of values; any other name is a
  *labelled* axis whose values are named sets of training keys
  (``task: {iris: {dataset: iris}, digits: {dataset: digits, hidden: [16]}}``).
- ``runs``: an explicit list, each item the training keys of one run.

What the axes mean for the training config (unknown keys, bad values, real
benches, duplicate runs) is checked when the study is planned
(:mod:`mtjlab.studies.plan`), before anything is made.
"""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, Field, model_validator

from mtjlab.config.fields import STRICT, fail

Scalar = Union[bool, int, float, str, None]
AxisValues = Union[list[Any], dict[str, dict[str, Any]]]


class StudyConfig(BaseModel):
    """A whole study file (``kind: study``)."""

    model_config = STRICT
    kind: str = Field("study", description="File kind; always 'study'.")
    name: str = Field("study", min_length=1, max_length=100, description="Study name, used in the study "
                      "directory's name (runs go to studies/<date>-<name> unless --out says otherwise).")
    base: str | dict[str, Any] = Field(
        default_factory=dict, description="The training config every run starts from: a training file "
        "(relative to paths_relative_to) or its keys inline; empty: the defaults of mtjlab train.")
    grid: dict[str, AxisValues] | None = Field(
        None, description="Axes to cross: training key -> list of values, or label -> training keys "
        "(a labelled axis). Every combination is one run.")
    runs: list[dict[str, Any]] | None = Field(
        None, description="Instead of a grid: one mapping of training keys per run.")
    paths_relative_to: str | None = Field(
        None, description="Folder that relative paths (base, dataset_path, bench files) are resolved against; "
        "null: the study file's own folder (the working folder for a packaged study).")

    @model_validator(mode="after")
    def _one_plan(self) -> StudyConfig:
        if self.kind != "study":
            fail(("kind",), "must be study", self.kind)
        if (self.grid is None) == (self.runs is None):
            fail((), "give either grid (axes to cross) or runs (an explicit list), not "
                 + ("both" if self.grid is not None else "neither"))
        if self.grid is not None and not self.grid:
            fail(("grid",), "is empty: no axis, so no runs")
        if self.runs is not None and not self.runs:
            fail(("runs",), "is empty: no runs")
        for axis, values in (self.grid or {}).items():
            if not values:
                fail(("grid", axis), "has no values, so the grid has no runs")
        return self


__all__ = ["StudyConfig"]
