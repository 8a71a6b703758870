"""Starting the GUI: the application, the main window, and the way out on a signal.

SIGINT and SIGTERM close the window as a click on its close button would,
without the question: the running job stops at its next point, every output
is ramped to zero, files are complete, then the process exits with 130 or 143.
Python only runs signal handlers between bytecodes, so a short timer keeps the
interpreter ticking while Qt's event loop waits.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication

from .main_window import MainWindow

#: Exit statuses of a window closed by a signal (as the CLI's).
SIGNAL_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
#: How often Python gets a chance to see a signal while Qt waits (ms).
SIGNAL_TICK_MS = 200


def run(bench_file: str = "", run_dir: Path | None = None) -> int:
    """Open the main window on ``bench_file`` ("" the simulated bench, "model"), optionally with a
    run directory in the Replay tab; the exit status when it closes."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("mtjlab")
    window = MainWindow(bench_file)
    window.show()
    window.connect_bench()
    if run_dir is not None:
        window.replay.open_path(run_dir)
        window.tabs.setCurrentWidget(window.replay)
    received: list[int] = []

    def on_signal(signum, frame) -> None:
        received.append(signum)
        QTimer.singleShot(0, window.close_without_asking)

    previous = {signum: signal.signal(signum, on_signal) for signum in SIGNAL_STATUS}
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(SIGNAL_TICK_MS)
    try:
        app.exec_()
    finally:
        tick.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return SIGNAL_STATUS[received[0]] if received else 0
