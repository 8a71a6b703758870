"""The SR860's capture buffer (SR860 manual, chapter 4, "Data Capture Commands").

What is emulated, per the manual:

- ``CAPTURECFG`` selects what each sample holds: ``X`` (0), ``XY`` (1), ``RT``
  (2: R and theta) or ``XYRT`` (3), each value a 4-byte float.
- ``CAPTURELEN n``: the buffer is ``n`` kbytes; it is made of 2 kbyte blocks,
  so its length is always an even number of kbytes between 2 and 4096 (an
  odd request is rounded up to whole blocks here).
- ``CAPTURESTART i, j``: ``i`` is ``ONE`` (0, one-shot: capture stops when the
  buffer is full) or ``CONT`` (1, continuous: the buffer wraps and old data is
  overwritten); ``j`` is the trigger mode, of which ``SAMP`` (2) is emulated:
  each trigger at the rear TRIG IN (a pulse on line 1 of the lab's trigger
  cable) stores one sample at that instant. Triggers faster than the largest
  capture rate are missed, as the manual warns.
- ``CAPTURESTOP`` stops; ``CAPTURESTAT?`` is bit 0 capture running, bit 1
  capture triggered (started), bit 2 the buffer has wrapped (end of a one-shot,
  or a continuous capture overwriting); bits 1 and 2 stay set until
  ``CAPTURECFG`` or ``CAPTURELEN`` resets the capture system.
- ``CAPTUREBYTES?`` the bytes captured so far, ``CAPTUREPROG?`` the kbytes in
  2 kbyte steps, ``CAPTUREVAL? n`` sample n as comma-separated values.
- ``CAPTUREGET? i, j``: ``j`` kbytes (at most 64) from offset ``i`` kbytes as an
  IEEE 488.2 definite-length block ``#nccc...`` of little-endian float32;
  past the buffer's end it wraps; capture must be stopped, else a range error.

Not emulated: the time-paced trigger modes ``IMM`` (0) and ``TRIG`` (1) and
``CAPTURERATE``; starting them is refused as an execution error.
"""

from __future__ import annotations

import math
import struct

from ..scpi import DATA_OUT_OF_RANGE, ILLEGAL_PARAMETER

#: Configurations and the values per sample (SR860 manual, CAPTURECFG).
CONFIGS = {"X": 0, "XY": 1, "RT": 2, "XYRT": 3}
VALUES_PER_SAMPLE = {0: 1, 1: 2, 2: 2, 3: 4}
#: Capture buffer length limits, kbytes, and its block size (SR860 manual,
#: "Data Capture Commands", overview: 2 kbyte blocks, 2 kbytes to 4 Mbytes).
MIN_LENGTH_KB, MAX_LENGTH_KB, BLOCK_KB = 2, 4096, 2
#: Largest CAPTUREGET? transfer, kbytes (SR860 manual, CAPTUREGET?).
MAX_GET_KB = 64
#: The largest capture rate, Hz (SR860 manual, "Data Capture Commands", Capture
#: Rate: up to 1.25 MHz; lower at long time constants, which is not modelled).
MAX_CAPTURE_RATE_HZ = 1.25e6
#: Power-on capture length, kbytes: the manual states none; the smallest buffer is assumed.
POWER_ON_LENGTH_KB = MIN_LENGTH_KB
ACQUISITION_MODES = {"ONE": 0, "CONT": 1}
TRIGGER_MODES = {"IMM": 0, "TRIG": 1, "SAMP": 2}
STAT_RUNNING, STAT_TRIGGERED, STAT_WRAPPED = 1, 2, 4


def _choice(argument: str, names: dict[str, int]) -> int:
    key = argument.strip().upper()
    if key in names:
        return names[key]
    value = float(key)
    if value != int(value) or int(value) not in names.values():
        raise DATA_OUT_OF_RANGE
    return int(value)


def ieee_block(data: bytes) -> str:
    """An IEEE 488.2 definite-length block as reply text (one char per byte)."""
    count = str(len(data))
    return f"#{len(count)}{count}" + data.decode("latin-1")


class SR860Capture:
    """The capture buffer and its state of one SR860."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.config = CONFIGS["XY"]
        self.length_kb = POWER_ON_LENGTH_KB
        self.continuous = False
        self.running = False
        self._reset_system()

    def _reset_system(self) -> None:
        self.data = bytearray(self.length_kb * 1024)
        self.written = 0  # bytes ever written since the start
        self.status = 0
        self.last_trigger_s = -math.inf

    # ---------------------------------------------------------------- config
    def configure(self, argument: str | None, query: bool):
        if query:
            return str(self.config)
        if argument is None:
            raise ILLEGAL_PARAMETER
        self.config = _choice(argument, CONFIGS)
        self._reset_system()
        return None

    def length(self, argument: str | None, query: bool):
        if query:
            return str(self.length_kb)
        if argument is None:
            raise ILLEGAL_PARAMETER
        value = float(argument)
        if value != int(value) or not 1 <= value <= MAX_LENGTH_KB:
            raise DATA_OUT_OF_RANGE
        self.length_kb = max(MIN_LENGTH_KB, BLOCK_KB * math.ceil(int(value) / BLOCK_KB))
        self._reset_system()
        return None

    def start(self, argument: str | None) -> None:
        if argument is None:
            raise ILLEGAL_PARAMETER
        parts = argument.split(",")
        if len(parts) != 2:
            raise ILLEGAL_PARAMETER
        mode, trigger = _choice(parts[0], ACQUISITION_MODES), _choice(parts[1], TRIGGER_MODES)
        if trigger != TRIGGER_MODES["SAMP"]:
            raise DATA_OUT_OF_RANGE  # time-paced capture: not emulated
        self.continuous = mode == ACQUISITION_MODES["CONT"]
        self.data = bytearray(self.length_kb * 1024)
        self.written = 0
        self.running = True
        self.status = (self.status & STAT_WRAPPED) | STAT_RUNNING | STAT_TRIGGERED

    def stop(self) -> None:
        self.running = False
        self.status &= ~STAT_RUNNING

    # --------------------------------------------------------------- samples
    def trigger(self, values: list[float]) -> bool:
        """One trigger in SAMP mode: store ``values`` (already in CAPTURECFG's order)."""
        if not self.running:
            return False
        now_s = self.clock.now_s()
        if now_s - self.last_trigger_s < (1.0 / MAX_CAPTURE_RATE_HZ) * (1 - 1e-9):
            return False
        self.last_trigger_s = now_s
        sample = struct.pack(f"<{len(values)}f", *values)
        size = len(self.data)
        position = self.written % size
        self.data[position:position + len(sample)] = sample
        self.written += len(sample)
        if self.written >= size:
            self.status |= STAT_WRAPPED
            if not self.continuous:
                self.stop()
        return True

    @property
    def sample_bytes(self) -> int:
        return 4 * VALUES_PER_SAMPLE[self.config]

    def bytes_captured(self) -> int:
        return min(self.written, len(self.data))

    def progress_kb(self) -> int:
        return BLOCK_KB * math.ceil(self.bytes_captured() / (BLOCK_KB * 1024))

    def value(self, argument: str | None) -> str:
        index = int(float(argument)) if argument is not None else 0
        per = self.sample_bytes
        if index < 0 or (index + 1) * per > len(self.data):
            raise DATA_OUT_OF_RANGE
        chunk = bytes(self.data[index * per:(index + 1) * per])
        return ",".join(f"{v:.6e}" for v in struct.unpack(f"<{per // 4}f", chunk))

    def get(self, argument: str | None) -> bytes:
        """CAPTUREGET? i, j: the raw bytes."""
        if argument is None:
            raise ILLEGAL_PARAMETER
        parts = argument.split(",")
        if len(parts) != 2:
            raise ILLEGAL_PARAMETER
        offset_kb, count_kb = (float(p) for p in parts)
        if (self.running or offset_kb != int(offset_kb) or count_kb != int(count_kb) or offset_kb < 0
                or not 1 <= count_kb <= MAX_GET_KB):
            raise DATA_OUT_OF_RANGE
        size, wanted = len(self.data), int(count_kb) * 1024
        out, position = bytearray(), (int(offset_kb) * 1024) % size
        while len(out) < wanted:  # past the end of the buffer the data wraps
            take = min(size - position, wanted - len(out))
            out += self.data[position:position + take]
            position = 0
        return bytes(out)
