"""The bench bar: always visible above the tabs.

The bench file with Connect and Disconnect; each instrument with its identity
and state; live readouts; the limits in force; one **Safe stop** button
(shortcut :data:`SAFE_STOP_SHORTCUT`) that is never disabled; and a status
line saying what the bench is doing now. It only draws what the
:class:`~.bench_worker.BenchWorker` reports and sends it requests.
"""

from __future__ import annotations

import math
from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                             QShortcut, QSizePolicy, QVBoxLayout, QWidget)

from .bench_worker import MODEL_BENCH, BenchInfo, BenchWorker

#: Safe stop from anywhere in the window: Escape is the key a hand finds without looking.
SAFE_STOP_SHORTCUT = "Esc"
ROLES = ("read_source", "input_source", "lockin", "field_supply", "gaussmeter", "switch")


def _si(value: float, unit: str) -> str:
    """``0.0021, "A"`` -> ``"2.1 mA"`` (NaN: a dash)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    magnitude = abs(value)
    if magnitude < 1e-12:  # below any of these instruments' resolution: zero
        return f"0 {unit}"
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if magnitude >= factor or factor == 1e-12:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:g} {unit}"


def describe_limits(lim: dict[str, float]) -> list[str]:
    """The bench file's limits as a person reads them, with units (one line each)."""
    return [
        f"junction ≤ {_si(lim['max_bias_v'], 'V')}",
        f"read current ≤ {_si(lim['max_read_current_a'], 'A')}",
        f"input + modulation ≤ {_si(lim['max_input_current_a'], 'A')}",
        f"sine ≤ {_si(lim['max_modulation_v_rms'], 'V rms')}",
        f"field ≤ {lim['max_field_oe']:g} Oe, ramp ≤ {lim['max_field_ramp_oe_per_s']:g} Oe/s",
        f"coil ≤ {_si(lim['max_coil_current_a'], 'A')}, sources ramp ≤ {_si(lim['max_source_ramp_a_per_s'], 'A/s')}",
    ]


class BenchBar(QWidget):
    """Connection, instruments, readouts, limits, Safe stop and status (see the module docstring)."""

    #: The bench file the user connected (for the window's settings).
    bench_file_chosen = pyqtSignal(str)

    def __init__(self, worker: BenchWorker, bench_file: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.info: BenchInfo | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._connection_row(bench_file))
        middle = QHBoxLayout()
        middle.addWidget(self._instruments_box(), 3)
        middle.addWidget(self._readouts_box(), 3)
        middle.addWidget(self._limits_box(), 2)
        layout.addLayout(middle)
        self.status = QLabel("not connected")
        self.status.setObjectName("status")
        layout.addWidget(self.status)
        worker.connected.connect(self._on_connected)
        worker.disconnected.connect(self._on_disconnected)
        worker.readouts.connect(self.show_readouts)
        worker.status.connect(self.status.setText)
        worker.busy_changed.connect(self._on_busy)
        worker.job_failed.connect(self._on_failure)
        self.shortcut = QShortcut(QKeySequence(SAFE_STOP_SHORTCUT), self)
        self.shortcut.setContext(Qt.ApplicationShortcut)
        self.shortcut.activated.connect(self.safe_stop.click)

    # ------------------------------------------------------------ building
    def _connection_row(self, bench_file: str) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Bench file"))
        self.file_edit = QLineEdit(bench_file)
        self.file_edit.setPlaceholderText("empty: the packaged simulated bench; 'model': no instruments")
        row.addWidget(self.file_edit, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self.connect_bench)
        row.addWidget(self.connect_button)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setEnabled(False)
        self.disconnect_button.clicked.connect(self.worker.request_disconnect)
        row.addWidget(self.disconnect_button)
        self.safe_stop = QPushButton(f"Safe stop ({SAFE_STOP_SHORTCUT})")
        self.safe_stop.setObjectName("safe_stop")
        self.safe_stop.setToolTip("Stop whatever runs at its next point and ramp every output to zero")
        self.safe_stop.setStyleSheet("QPushButton#safe_stop { background: #c62828; color: white; font-weight: bold;"
                                     " padding: 6px 18px; }")
        self.safe_stop.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
        self.safe_stop.clicked.connect(self.worker.safe_stop)
        row.addWidget(self.safe_stop)
        return row

    def _instruments_box(self) -> QGroupBox:
        box = QGroupBox("Instruments")
        grid = QGridLayout(box)
        self.instrument_labels: dict[str, tuple[QLabel, QLabel]] = {}
        for i, role in enumerate(ROLES):
            grid.addWidget(QLabel(role), i, 0)
            state, identity = QLabel("–"), QLabel("")
            identity.setTextInteractionFlags(Qt.TextSelectableByMouse)
            grid.addWidget(state, i, 1)
            grid.addWidget(identity, i, 2)
            self.instrument_labels[role] = (state, identity)
        return box

    def _readouts_box(self) -> QGroupBox:
        box = QGroupBox("Readouts")
        grid = QGridLayout(box)
        names = ["input current", "read current", "junction voltage", "field set", "field measured",
                 "lock-in X", "lock-in Y", "overload", "relays", "lab clock"]
        self.readout_labels: dict[str, QLabel] = {}
        for i, name in enumerate(names):
            grid.addWidget(QLabel(name), i % 5, 2 * (i // 5))
            value = QLabel("–")
            value.setObjectName(name.replace(" ", "_"))
            grid.addWidget(value, i % 5, 2 * (i // 5) + 1)
            self.readout_labels[name] = value
        return box

    def _limits_box(self) -> QGroupBox:
        box = QGroupBox("Limits in force")
        self.limits_label = QLabel("–")
        self.limits_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        QVBoxLayout(box).addWidget(self.limits_label)
        return box

    # ------------------------------------------------------------- actions
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Bench file", "", "Bench files (*.yaml *.yml)")
        if path:
            self.file_edit.setText(path)

    def connect_bench(self) -> None:
        bench_file = self.file_edit.text().strip()
        self.bench_file_chosen.emit(bench_file)
        self.worker.request_connect(bench_file)

    # ------------------------------------------------------------ updates
    def _on_connected(self, info: BenchInfo) -> None:
        self.info = info
        self.connect_button.setEnabled(not self.worker.busy)
        self.disconnect_button.setEnabled(not self.worker.busy)
        for role, (state, identity) in self.instrument_labels.items():
            if info.file == MODEL_BENCH:
                state.setText("model")
                identity.setText("no instrument: the physics model")
            else:
                state.setText("connected")
                identity.setText(info.identities.get(role, ""))
        self.limits_label.setText("\n".join(describe_limits(info.limits)))

    def _on_disconnected(self) -> None:
        self.info = None
        self.connect_button.setEnabled(True)
        self.disconnect_button.setEnabled(False)
        for state, identity in self.instrument_labels.values():
            state.setText("–")
            identity.setText("")
        for label in self.readout_labels.values():
            label.setText("–")

    def _on_busy(self, busy: bool) -> None:
        why = f"{self.worker.running_job or 'a job'} is running; Safe stop first" if busy else ""
        for button in (self.connect_button, self.disconnect_button):
            button.setEnabled(not busy and (button is self.connect_button or self.info is not None))
            button.setToolTip(why)

    def _on_failure(self, name: str, cause: str) -> None:
        role = cause.split(":", 1)[0]
        if role in self.instrument_labels:
            self.instrument_labels[role][0].setText("error")

    def show_readouts(self, r: Any) -> None:
        """Show one :class:`~mtjlab.instruments.bench_state.BenchReadouts`."""
        values = {
            "input current": _si(r.input_current_a, "A"),
            "read current": _si(r.read_current_a, "A"),
            "junction voltage": _si(r.junction_voltage_v, "V"),
            "field set": f"{r.field_set_oe:.4g} Oe",
            "field measured": f"{r.field_measured_oe:.4g} Oe",
            "lock-in X": _si(r.lockin_x_v, "V"),
            "lock-in Y": _si(r.lockin_y_v, "V"),
            "overload": "OVERLOAD" if r.lockin_overload else "no",
            "relays": "open" if r.closed_relays is None else f"row {r.closed_relays[0]}, col {r.closed_relays[1]}",
            "lab clock": f"{r.lab_time_s:.1f} s" if self.info is not None and self.info.simulated else "–",
        }
        for name, text in values.items():
            self.readout_labels[name].setText(text)
