"""What every measurement procedure shares: a Bench, its snapshot, safe shutdown.

Procedures are pymeasure :class:`~pymeasure.experiment.Procedure` subclasses, so
they run in pymeasure's ``Worker`` (and later in the GUI's queue) and write
pymeasure ``Results`` CSV files point by point: the header carries the
procedure, its parameters and, as metadata, the bench snapshot (instrument
identities, settings, calibration, limits). Column names carry their units.

A procedure opens the bench of its ``bench_file`` parameter (empty: the
packaged simulated bench) in ``startup()`` and makes it safe in
``shutdown()``, which pymeasure's Worker calls on every exit: finished,
stopped, or failed. A bench handed in with :meth:`BenchProcedure.use_bench`
(the GUI's connected bench, or a test's) is made safe but left connected.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pymeasure.experiment import Metadata, Parameter, Procedure

log = logging.getLogger(__name__)


class BenchProcedure(Procedure):
    """A procedure that measures on a Bench (simulated or real)."""

    bench_file = Parameter("Bench file", default="")
    bench_snapshot = Metadata("Bench", fget="snapshot_json")

    #: Data columns that hold text (all others are numbers with their unit in the name).
    TEXT_COLUMNS: tuple[str, ...] = ()

    _bench: Any = None
    _owns_bench = False

    def use_bench(self, bench: Any) -> "BenchProcedure":
        """Measure on an already connected bench (made safe, not disconnected, at the end)."""
        self._bench, self._owns_bench = bench, False
        return self

    @property
    def bench(self) -> Any:
        if self._bench is None:
            raise RuntimeError("the procedure has no bench before startup()")
        return self._bench

    def startup(self) -> None:
        if self._bench is None:
            from ..config import load_bench, load_default_bench
            from ..instruments.bench import Bench

            config = load_bench(Path(self.bench_file)) if self.bench_file else load_default_bench()
            self._bench, self._owns_bench = Bench.open(config), True
        log.info("%s on bench %s", type(self).__name__, self._bench.config.name)

    def snapshot_json(self) -> str:
        """The bench snapshot, one line of JSON for the file header."""
        return json.dumps(self.bench.snapshot(), separators=(",", ":"), default=str)

    def shutdown(self) -> None:
        if self._bench is not None:
            self._bench.shutdown(raise_errors=False)
            log.info("%s: bench ramped down and safe", type(self).__name__)
