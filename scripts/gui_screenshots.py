"""Screenshots of the lab window for docs/gui.md, taken from a real session on the simulated bench.

    QT_QPA_PLATFORM=offscreen python scripts/gui_screenshots.py [--out docs/images]

Opens :class:`mtjlab.gui.main_window.MainWindow` on the packaged simulated
bench, connects it, queues a short activation map and a derivative check in
the Sweeps tab, trains a short run (Iris, 2 folds, 3 epochs) on the connected
bench in the Training tab, opens the run directory and the derivative check in
the Replay tab, and saves

- ``gui-bench.png``: the bench bar (instruments, readouts, limits, Safe stop);
- ``gui-sweeps.png``, ``gui-training.png``, ``gui-replay.png``: the whole window on each tab.

Everything the session writes (settings, sweep files, the run directory) goes
to a temporary folder, so the user's own settings and folders are untouched.
It works offscreen (the default here) or on a desktop / under Xvfb.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt5.QtCore import QSettings, Qt  # noqa: E402
from PyQt5.QtGui import QImage  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from mtjlab.gui.main_window import MainWindow  # noqa: E402
from mtjlab.gui.training_tab import ON_BENCH  # noqa: E402

#: The window size of the screenshots (px): a laptop screen, readable in a README.
WINDOW_SIZE = (1500, 950)
#: How long a step may take before the script gives up (s); a slow machine is not a failure below this.
STEP_TIMEOUT_S = 600


def wait_until(app: QApplication, done: Callable[[], bool], what: str, timeout_s: float = STEP_TIMEOUT_S) -> None:
    """Run the event loop until ``done()`` (the window stays live, as in a session); raise after the timeout."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float = 0.5) -> None:
    """Let the views' coalesced redraws (at most every 100 ms) and the readouts catch up."""
    wait_until(app, lambda end=time.monotonic() + seconds: time.monotonic() > end, "the redraws")


def save(widget, path: Path) -> None:
    """``widget.grab()`` as a PNG of 256 colours: a third of the bytes, and the window has few colours anyway."""
    image = widget.grab().toImage().convertToFormat(QImage.Format_Indexed8, Qt.ThresholdDither)
    if not image.save(str(path)):
        raise OSError(f"{path}: could not be written")
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def take(out: Path, work: Path) -> None:
    """The session (see the module docstring); the PNGs go to ``out``."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = QSettings(str(work / "settings.ini"), QSettings.IniFormat)
    window = MainWindow("", settings=settings)
    window.resize(*WINDOW_SIZE)
    window.show()
    worker = window.worker
    finished: list[str] = []
    failed: list[str] = []
    worker.job_finished.connect(lambda name, _result: finished.append(name))
    worker.job_failed.connect(lambda name, cause: failed.append(f"{name}: {cause}"))
    connected: list[object] = []
    worker.connected.connect(connected.append)
    window.connect_bench()
    wait_until(app, lambda: bool(connected) or bool(failed), "the simulated bench to connect")
    if failed:
        raise RuntimeError(failed[0])
    settle(app, 1.2)  # two readout polls
    save(window.bench_bar, out / "gui-bench.png")

    # Sweeps: an activation map at three bias fields, then a derivative check.
    sweeps = window.sweeps
    window.tabs.setCurrentWidget(sweeps)
    sweeps.folder_edit.setText(str(work / "sweeps"))
    sweeps.kind_box.setCurrentText("derivative")
    sweeps.panel.inputs.points.setValue(41)
    sweeps.kind_box.setCurrentText("activation")
    sweeps.panel.inputs.points.setValue(31)
    for n, kind in enumerate(("activation", "derivative"), start=1):
        sweeps.kind_box.setCurrentText(kind)
        if not sweeps.queue_procedures(kind, [sweeps.panel.make_procedure()]):
            raise RuntimeError(f"{kind} sweep refused: {sweeps.message.text()}")
        wait_until(app, lambda n=n: len(finished) >= n or bool(failed), f"the {kind} sweep")
        if failed:
            raise RuntimeError(failed[0])
        if kind == "activation":
            settle(app)
            save(window, out / "gui-sweeps.png")  # the activation map, three bias fields, with its summary
    derivative_file = sweeps.done[-1].data_file

    # Training: Iris on the connected (simulated) bench, analog gradients, 2 folds of 3 epochs.
    training = window.training
    window.tabs.setCurrentWidget(training)
    training.dataset.setCurrentText("iris")
    training.method.setCurrentText("analog")
    training.hidden.setText("4")
    training.folds.setValue(2)
    training.epochs.setValue(3)
    training.where.setCurrentText(ON_BENCH)
    training.out_edit.setText(str(work / "runs"))
    if not training.start():
        raise RuntimeError(f"training refused: {training.status.text()}")
    wait_until(app, lambda: len(finished) >= 3 or bool(failed), "the training run")
    if failed:
        raise RuntimeError(failed[0])
    settle(app)
    save(window, out / "gui-training.png")
    run_dir = training.run_dir

    # Replay: the run directory and the derivative check, read back from their files.
    replay = window.replay
    window.tabs.setCurrentWidget(replay)
    for path in (run_dir, derivative_file):
        if not replay.open_path(path):
            raise RuntimeError(f"replay of {path}: {replay.message.text()}")
    settle(app)
    save(window, out / "gui-replay.png")

    window.close_without_asking()  # ramps the bench to zero and ends the worker thread
    wait_until(app, lambda: not window.isVisible(), "the window to close")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "images",
                        help="folder of the PNGs (default: docs/images of this repository)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mtjlab-gui-shots-") as work:
        take(args.out, Path(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
