"""Running a procedure in pymeasure's Worker, into a Results CSV file.

The Worker writes each point as it is measured (append-only), so a stopped or
crashed sweep leaves a valid file holding every point measured so far; the
procedure's ``shutdown()`` leaves the bench safe on every path.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pymeasure.experiment import Procedure, Results, Worker

from ..errors import DataFileError, InstrumentError

log = logging.getLogger(__name__)

STATUS_NAMES = {Procedure.FINISHED: "finished", Procedure.ABORTED: "stopped", Procedure.FAILED: "failed"}


def run_procedure(procedure: Procedure, data_file: Path) -> Results:
    """Run ``procedure`` to completion (or its end) writing ``data_file``; return its Results.

    An existing file is never overwritten. A procedure that failed raises
    :class:`~mtjlab.errors.InstrumentError` after its file is complete.
    """
    data_file = Path(data_file)
    if data_file.exists():
        raise DataFileError(f"{data_file}: already exists; choose another name (nothing was overwritten)")
    data_file.parent.mkdir(parents=True, exist_ok=True)
    results = Results(procedure, str(data_file))
    worker = Worker(results)
    worker.start()
    worker.join(timeout=None)
    status = STATUS_NAMES.get(procedure.status, str(procedure.status))
    log.info("%s %s: %s", type(procedure).__name__, status, data_file)
    if procedure.status == Procedure.FAILED:
        raise InstrumentError(f"{type(procedure).__name__} failed; the points measured so far are in {data_file}")
    return results
