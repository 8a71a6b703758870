"""The pieces of the Sweeps tab that hold no tab state: one kind's form and sequencer,
a queued sweep's record, and the next free data file name (never an existing one)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pymeasure.display.widgets import InputsWidget, SequencerWidget
from PyQt5.QtWidgets import QLabel, QTreeWidgetItem, QVBoxLayout, QWidget

from ..experiments.catalog import SWEEPS
from .sweep_jobs import SweepJob

#: The parameter every procedure has that the tab fills itself (the connected bench).
BENCH_PARAMETER = "bench_file"
#: Where sweeps go unless the user chooses: relative to the current directory, like the CLI's --out.
DEFAULT_FOLDER = "sweeps"


def free_data_file(folder: Path, kind: str, taken: set[Path]) -> Path:
    """``folder/<date>-<kind>-<n>.csv`` with the first n whose file (and figure) is not there nor queued."""
    stem = f"{datetime.date.today():%Y%m%d}-{kind}"
    n = 1
    while True:
        path = folder / f"{stem}-{n}.csv"
        if path not in taken and not path.exists() and not path.with_suffix(".png").exists():
            return path
        n += 1


class KindPanel(QWidget):
    """One kind's form and sequencer; the host pymeasure's SequencerWidget expects."""

    def __init__(self, kind: str, queue: Callable[[Any], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.procedure_class = SWEEPS[kind].procedure
        self._queue = queue
        parameters = self.procedure_class().parameter_objects()
        # the order the procedure declares them (start before stop), not pymeasure's alphabetical one
        declared = [n for n in vars(self.procedure_class) if n in parameters]
        self.names = [n for n in declared + sorted(parameters) if n != BENCH_PARAMETER]
        self.names = list(dict.fromkeys(self.names))
        self.inputs = InputsWidget(self.procedure_class, self.names, parent=self)
        self.sequencer = SequencerWidget(inputs=self.names, parent=self)
        self.sequencer.setToolTip("a parameter series: each combination is queued as its own sweep")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.inputs)
        layout.addWidget(QLabel("Parameter series (pymeasure sequencer):"))
        layout.addWidget(self.sequencer)

    def make_procedure(self) -> Any:
        """The procedure of the form's values (what SequencerWidget asks its parent for)."""
        return self.inputs.get_procedure()

    def queue(self, procedure: Any = None) -> None:
        """Queue one procedure (SequencerWidget's hook; the tab checks it first)."""
        self._queue(procedure if procedure is not None else self.make_procedure())

    def values(self) -> dict[str, Any]:
        return {n: getattr(self.inputs, n).parameter.value for n in self.names}


@dataclass
class QueuedSweep:
    """A sweep in the queue: what it measures, where, and its line in the queue list."""

    kind: str
    parameters: dict[str, Any]
    data_file: Path
    item: QTreeWidgetItem
    job: SweepJob | None = None

    def set_state(self, state: str) -> None:
        self.item.setText(2, state)
