"""SR830 with its data buffer filled one point per trigger: pymeasure's driver plus the storage commands.

pymeasure's ``SR830`` reads the buffer (``buffer_count``, ``get_buffer``) and
chooses what CH1 and CH2 store (``channel1``, ``channel2``), but starts storage
only through fast-transfer mode with a 0.5 s delay (``STRD``), and writes the
sample rate as a float. For hardware-timed points the lock-in stores one point
at each trigger on its rear-panel TRIG IN (SR830 manual, section 5, "Data
storage commands": ``SRAT 14`` is "Trigger", ``SEND 0`` one shot, ``TSTR 0``
a trigger does not start the scan, ``STRT`` starts storage, ``REST`` resets the
buffer; the buffer holds :data:`BUFFER_POINTS` points).
"""

from __future__ import annotations

from pymeasure.instruments.srs import SR830 as _PymeasureSR830

#: Points the SR830's buffer holds (manual, section 5, "Data storage").
BUFFER_POINTS = 16383
#: SRAT index of "Trigger" sampling: one point per TRIG IN edge.
SAMPLE_ON_TRIGGER = 14


class SR830(_PymeasureSR830):
    """pymeasure's SR830 with storage one point per external trigger (see the module docstring)."""

    def store_on_each_trigger(self) -> None:
        """Prepare storage of one point (CH1 = X, CH2 = Y) per TRIG IN edge, buffer emptied, not started."""
        self.channel1 = "X"
        self.channel2 = "Y"
        self.write(f"SRAT {SAMPLE_ON_TRIGGER}")
        self.write("SEND 0")
        self.write("TSTR 0")
        self.write("REST")

    def start_storage(self) -> None:
        """Start storing (each later trigger stores a point)."""
        self.write("STRT")

    def stored(self, channel: int, start: int, count: int) -> list[float]:
        """``count`` points of CH``channel`` from bin ``start``, as ASCII (``TRCA?``; the binary
        ``TRCB?`` of pymeasure's ``get_buffer`` needs a byte-level connection)."""
        if count <= 0:
            return []
        return [float(v) for v in self.values(f"TRCA? {int(channel)},{int(start)},{int(count)}") if str(v).strip()]

    def stop_storage(self) -> None:
        """Pause storing (the stored points stay)."""
        self.write("PAUS")
