"""The emulated Stanford Research SR860 lock-in (SR860 manual, rev. 2.01, chapter 4).

Besides what :mod:`.lockin_base` shares with the SR830 it has:

- outputs indexed from 0 and named (``OUTP? 0``, ``OUTP? X``);
- ``SNAP?`` with 2 or 3 of the manual's parameters 0-16 (X, Y, R, THeta,
  IN1-IN4, XNOise, YNOise, OUT1, OUT2, PHAse, SAMp, LEVel, FInt, FExt), by
  number or name, all from one instant; ``SNAPD?`` the data box (here X, Y,
  R, theta);
- the capture buffer (:mod:`.lockin_capture`) with one sample per trigger at
  the rear TRIG IN, wired to line 1 of the lab's trigger cable.

The Aux inputs are not wired on the bench and read 0 V; the noise parameters
(XNOise, YNOise) are not emulated and read 0.
"""

from __future__ import annotations

from ..scpi import ILLEGAL_PARAMETER
from .lockin_base import SR860_SENSITIVITIES_V, SR860_TIME_CONSTANTS_S, SRSLockInEmulator
from .lockin_buffer import TRIGGER_IN_LINE, transfer_time_s
from .lockin_capture import SR860Capture, ieee_block

#: SNAP? parameters (SR860 manual, SNAP? command): number, names -> quantity.
_SNAP_TABLE = [
    ("X",), ("Y",), ("R",), ("TH", "THETA"), ("IN1",), ("IN2",), ("IN3",), ("IN4",),
    ("XNO", "XNOISE"), ("YNO", "YNOISE"), ("OUT1",), ("OUT2",), ("PHA", "PHASE"),
    ("SAM", "SAMP"), ("LEV", "LEVEL"), ("FI", "FINT"), ("FE", "FEXT"),
]
#: What each CAPTURECFG stores per sample (SR860 manual, CAPTURECFG).
_CAPTURE_QUANTITIES = {0: ("X",), 1: ("X", "Y"), 2: ("R", "TH"), 3: ("X", "Y", "R", "TH")}


class SR860Emulator(SRSLockInEmulator):
    """Stanford Research SR860 lock-in (sine 1 nV to 2 V rms, outputs indexed from 0)."""

    identity = "Stanford_Research_Systems,SR860,003021,v1.51"
    sensitivities_v = SR860_SENSITIVITIES_V
    time_constants_s = SR860_TIME_CONSTANTS_S
    sine_range_v_rms = (1e-9, 2.0)
    frequency_range_hz = (0.001, 500000.0)
    phase_range_deg = (-360000.0, 360000.0)
    sensitivity_command = "SCAL"
    settings = {name: "0" for name in (
        "IVMD", "ISRC", "ICPL", "IGND", "IRNG", "ICUR", "RSRC", "RTRG", "REFM", "SYNC", "TBMODE", "REFZ")}
    settings.update({"HARM": "1", "HARMDUAL": "1", "ADVFILT": "1", "AUXV": "0"})
    snap_names = {key: names[0] for number, names in enumerate(_SNAP_TABLE)
                  for key in (str(number), *names)}
    snap_count = (2, 3)

    def __init__(self, lab) -> None:
        super().__init__(lab)
        self.capture = SR860Capture(lab.clock)
        self.command(["SNAPD"], lambda arg, query: ",".join(
            self.number(self._quantities()[k]) for k in ("X", "Y", "R", "TH")))
        self.command(["OAUX"], lambda arg, query: self.number(0.0))
        self.command(["CAPTURECFG"], self.capture.configure)
        self.command(["CAPTURELEN"], self.capture.length)
        self.command(["CAPTURESTART"], lambda arg, query: self.capture.start(arg))
        self.command(["CAPTURESTOP"], lambda arg, query: self.capture.stop())
        self.command(["CAPTURESTAT"], lambda arg, query: str(self.capture.status))
        self.command(["CAPTUREBYTES"], lambda arg, query: str(self.capture.bytes_captured()))
        self.command(["CAPTUREPROG"], lambda arg, query: str(self.capture.progress_kb()))
        self.command(["CAPTUREVAL"], lambda arg, query: self.capture.value(arg))
        self.command(["CAPTUREGET"], self._capture_get)
        lab.connect_trigger_input(self._trigger_in)

    def read_bytes(self) -> bytes:
        """The oldest reply as the bytes on the bus (CAPTUREGET?'s binary block included)."""
        return self.read().encode("latin-1")

    def _quantities(self) -> dict[str, float]:
        values = super()._quantities()
        aux_out = [float(self.values.get(f"AUXV {i}", "0")) for i in range(2)]
        values.update({"IN1": 0.0, "IN2": 0.0, "IN3": 0.0, "IN4": 0.0, "XNO": 0.0, "YNO": 0.0,
                       "OUT1": aux_out[0], "OUT2": aux_out[1], "PHA": self.phase_deg,
                       "SAM": self.lab.lockin.sine_v_rms, "LEV": 0.0,
                       "FI": self.lab.lockin.frequency_hz, "FE": self.lab.lockin.frequency_hz})
        return values

    def _output(self, argument, query):
        """OUTP? j: j = 0..3 or X, Y, R, THeta."""
        if not query or argument is None:
            raise ILLEGAL_PARAMETER
        return super()._output(argument, query)

    def _trigger_in(self, line: int) -> None:
        """A pulse on the lab's trigger cable: the rear TRIG IN hears line 1 only."""
        if line != TRIGGER_IN_LINE or not self.capture.running:
            return
        values = self._quantities()
        self.capture.trigger([values[k] for k in _CAPTURE_QUANTITIES[self.capture.config]])

    def _capture_get(self, argument, query):
        if not query:
            raise ILLEGAL_PARAMETER
        reply = ieee_block(self.capture.get(argument))
        self.clock.sleep(transfer_time_s(len(reply)))
        return reply


__all__ = ["SR860Emulator"]
