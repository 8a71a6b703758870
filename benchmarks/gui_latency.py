"""How responsive the lab window stays while the simulated bench works: event-loop stalls and plot lag.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_latency.py [--points 101] [--folds 2] [--epochs 5]

Opens the real :class:`~mtjlab.gui.main_window.MainWindow` on the packaged
simulated bench and, through the tabs' own controls, runs

1. an activation sweep (three bias fields) in the Sweeps tab;
2. a training run (Iris, analog gradients) on the connected bench in the Training tab.

During each, a 10 ms ``QTimer`` in the GUI thread records the gap between its
ticks: a gap well over 10 ms is time the event loop could not run (a click or
a repaint would have waited that long). The table gives the longest gap and
the 99th percentile.

Plot lag is the time from a record leaving the job (sweep rows, an epoch's
metrics, a step's sample, as the job emits them in its own thread) to the
moment it is in the plot, read through the views' public side: the points in
the sweep plot's data items, the points in the training loss plot, and the
RunView's redraw counter. It is checked at every tick, so it is resolved to
about 10 ms. Goal: no stall over 100 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PyQt5.QtCore import QEventLoop, QObject, QSettings, Qt, QTimer  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from mtjlab.gui.main_window import MainWindow  # noqa: E402
from mtjlab.gui.training_tab import ON_BENCH  # noqa: E402

TICK_MS = 10
STALL_GOAL_MS = 100.0
TIMEOUT_S = 900


@dataclass
class Probe:
    """Records emitted in a job's thread, each resolved when ``drawn(count)`` holds at a tick."""

    name: str
    drawn: Callable[[int], bool]
    pending: list[tuple[float, int]] = field(default_factory=list)  # (time emitted, cumulative count)
    lags_ms: list[float] = field(default_factory=list)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def emitted(self, n: int = 1) -> None:
        """Called in the emitting thread (a direct connection): the moment the record leaves the job."""
        now = time.perf_counter()
        with self.lock:
            self.count += n
            self.pending.append((now, self.count))

    def check(self, now: float) -> None:
        """At a tick: every record already in the plot gets its lag."""
        with self.lock:
            waiting = list(self.pending)
        resolved = 0
        for emitted_at, count in waiting:
            if not self.drawn(count):
                break
            self.lags_ms.append(1e3 * (now - emitted_at))
            resolved += 1
        if resolved:
            with self.lock:
                del self.pending[:resolved]


class StallMeter(QObject):
    """A 10 ms timer in the GUI thread; the gaps between its ticks, and the probes checked at each."""

    def __init__(self, probes: list[Probe]) -> None:
        super().__init__()
        self.probes = probes
        self.gaps_ms: list[float] = []
        self._last: float | None = None
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()  # the last gap, and records drawn at the very end

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps_ms.append(1e3 * (now - self._last))
        self._last = now
        for probe in self.probes:
            probe.check(now)


def points_in(plot_widget) -> int:
    """Data points held by the curves of a pyqtgraph PlotWidget."""
    total = 0
    for item in plot_widget.getPlotItem().listDataItems():
        x, _ = item.getData()
        total += 0 if x is None else len(x)
    return total


def wait_until(app: QApplication, done: Callable[[], bool], what: str) -> None:
    """Let the event loop run (as it would in a session) until ``done()``."""
    deadline = time.monotonic() + TIMEOUT_S
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        app.processEvents()
        time.sleep(0.001)


def measure(probes: list[Probe], start: Callable[[], None], finished: Callable[[], bool],
            what: str) -> tuple[StallMeter, float]:
    """Run ``start()`` inside Qt's own event loop (as ``app.exec_()`` would) until ``finished()``."""
    meter = StallMeter(probes)
    loop = QEventLoop()
    watcher = QTimer()  # checks for the end; a deadline guards against a job that never ends
    deadline = time.monotonic() + TIMEOUT_S
    watcher.timeout.connect(lambda: loop.quit() if finished() or time.monotonic() > deadline else None)
    began = time.perf_counter()
    meter.start()
    QTimer.singleShot(0, start)
    watcher.start(TICK_MS)
    loop.exec_()
    if not finished():
        raise TimeoutError(f"gave up waiting for {what}")
    watcher.stop()
    # The views redraw at most every 100 ms: give the last records the time to reach the plots.
    QTimer.singleShot(300, loop.quit)
    loop.exec_()
    meter.stop()
    return meter, time.perf_counter() - began


def row(phase: str, meter: StallMeter, wall_s: float, probe: Probe) -> list[str]:
    gaps = np.asarray(meter.gaps_ms)
    lags = np.asarray(probe.lags_ms)
    lag = (f"{np.median(lags):.0f} / {np.percentile(lags, 99):.0f} / {lags.max():.0f}" if lags.size else "n/a")
    unresolved = len(probe.pending)
    drawn = f"{lags.size}" + (f" (+{unresolved} never drawn)" if unresolved else "")
    return [phase, f"{wall_s:.1f}", f"{gaps.size}", f"{gaps.max():.1f}", f"{np.percentile(gaps, 99):.1f}",
            probe.name, drawn, lag]


def run(points: int, folds: int, epochs: int) -> list[list[str]]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="mtjlab-gui-latency-"))
    window = MainWindow("", settings=QSettings(str(work / "settings.ini"), QSettings.IniFormat))
    window.resize(1500, 950)
    window.show()
    worker = window.worker
    finished: list[str] = []
    failed: list[str] = []
    worker.job_finished.connect(lambda name, _r: finished.append(name))
    worker.job_failed.connect(lambda name, cause: failed.append(f"{name}: {cause}"))
    connected: list[object] = []
    worker.connected.connect(connected.append)
    window.connect_bench()
    wait_until(app, lambda: bool(connected or failed), "the simulated bench")
    rows: list[list[str]] = []

    # 1. A sweep: rows are drawn when the sweep plot holds as many points as rows were emitted.
    sweeps = window.sweeps
    window.tabs.setCurrentWidget(sweeps)
    sweeps.folder_edit.setText(str(work / "sweeps"))
    sweeps.kind_box.setCurrentText("activation")
    sweeps.panel.inputs.points.setValue(points)
    sweep_rows = Probe("sweep rows", lambda n: points_in(sweeps.view.plot) >= n)

    def start_sweep() -> None:
        if not sweeps.queue_procedures("activation", [sweeps.panel.make_procedure()]):
            raise RuntimeError(sweeps.message.text())
        sweeps.current.job.signals.rows.connect(lambda df: sweep_rows.emitted(len(df)), Qt.DirectConnection)

    meter, wall = measure([sweep_rows], start_sweep, lambda: bool(finished or failed), "the sweep")
    if failed:
        raise RuntimeError(failed[0])
    rows.append(row(f"activation sweep, 3 x {points} points", meter, wall, sweep_rows))

    # 2. Training: an epoch is drawn when the loss plot holds its two points (MTJ network and
    # software baseline); a step's sample when the RunView has redrawn since the sample arrived.
    training = window.training
    view = training.view
    window.tabs.setCurrentWidget(training)
    training.dataset.setCurrentText("iris")
    training.method.setCurrentText("analog")
    training.hidden.setText("4")
    training.folds.setValue(folds)
    training.epochs.setValue(epochs)
    training.where.setCurrentText(ON_BENCH)
    training.out_edit.setText(str(work / "runs"))
    epochs_probe = Probe("epoch metrics", lambda n: points_in(view.loss_plot) >= 2 * n)
    redraws_at: dict[int, int] = {}

    def sample_drawn(n: int) -> bool:
        # The redraw counter when the n-th sample reached the GUI thread; drawn once it has moved on.
        return n in redraws_at and view.redraws > redraws_at[n]

    samples_probe = Probe("step samples", sample_drawn)
    arrived = [0]

    def sample_arrived(_sample: object) -> None:  # GUI thread, just after RunView.on_sample
        arrived[0] += 1
        redraws_at[arrived[0]] = view.redraws

    training.signals.event.connect(lambda e: epochs_probe.emitted() if e.kind == "epoch" else None,
                                   Qt.DirectConnection)
    training.signals.sample.connect(lambda _s: samples_probe.emitted(), Qt.DirectConnection)
    training.signals.sample.connect(sample_arrived)  # queued: runs in the GUI thread
    done_before = len(finished)

    def start_training() -> None:
        if not training.start():
            raise RuntimeError(training.status.text())

    meter, wall = measure([epochs_probe, samples_probe], start_training,
                          lambda: len(finished) > done_before or bool(failed), "the training run")
    if failed:
        raise RuntimeError(failed[0])
    phase = f"training, iris {folds} folds x {epochs} epochs"
    rows.append(row(phase, meter, wall, epochs_probe))
    rows.append(row(phase, meter, wall, samples_probe))
    window.close_without_asking()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=101, help="points per bias field of the sweep")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--switch-interval-ms", type=float, default=None,
                        help="Python's GIL switch interval during the run (default: as the interpreter has it, "
                             "5 ms); the simulated bench is pure Python in the worker thread, and every Qt call "
                             "of the GUI thread gives the GIL up and waits up to this long to get it back")
    args = parser.parse_args(argv)
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1e3)
    print(f"GIL switch interval: {1e3 * sys.getswitchinterval():g} ms")
    rows = run(args.points, args.folds, args.epochs)
    header = ["phase", "wall s", "ticks", "longest stall ms", "p99 gap ms", "plot lag of", "records drawn",
              "lag median / p99 / max ms"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    worst = max(float(r[3]) for r in rows)
    verdict = "met" if worst <= STALL_GOAL_MS else "NOT met"
    print(f"\ngoal: no stall over {STALL_GOAL_MS:.0f} ms ({TICK_MS} ms timer): {verdict} (longest {worst:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
