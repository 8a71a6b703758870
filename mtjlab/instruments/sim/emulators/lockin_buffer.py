"""The SR830's data buffer (SR830 manual, "Data Storage" and the data storage commands).

What is emulated, per the manual:

- The buffer holds up to 16383 points of each of CH1 and CH2; both are
  sampled at the same instants. It stores what the CH1/CH2 displays show
  (``DDEF``); a stored point keeps the instrument's internal 4-byte format
  (16-bit mantissa, ``m * 2**(exp - 124)``, see ``TRCL?``), so it carries
  about 4.5 significant digits.
- ``SRAT 0``-``13`` sample at 62.5 mHz ... 512 Hz; ``SRAT 14`` samples on
  triggers: a rising edge at the rear TRIG IN (here: a pulse on line 1 of the
  lab's trigger cable) or ``TRIG`` stores one point. Triggers which occur
  faster than 512 Hz are ignored. The manual records the sample "within 2 ms"
  of the edge; the emulator samples at the trigger's instant of the lab clock.
- ``SEND 0`` (1 Shot): at the end of the buffer storage stops and later
  triggers are ignored; ``SEND 1`` (Loop): storage continues, the buffer
  keeping the most recent 16383 points.
- ``TSTR 1``: with an internal rate, a trigger starts the scan.
- ``STRT`` starts or resumes storage (ignored while storing); ``PAUS`` pauses
  (ignored unless storing); ``REST`` erases the buffer at any time; ``STRD``
  starts after 0.5 s.
- ``SPTS?``, ``TRCA?`` (ASCII, every point followed by a comma),
  ``TRCB?`` (IEEE float32, little endian, 4 bytes per point, no delimiter) and
  ``TRCL?`` (the internal format); asking for bins beyond the stored points is
  an error (no reply).

Limitation: points at an internal rate (``SRAT 0``-``13``) are stored when the
lock-in is next addressed, with the values of that moment; only trigger
sampling (``SRAT 14``) samples each point at its own instant.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from typing import Callable

from ..scpi import DATA_OUT_OF_RANGE

#: Points per channel (SR830 manual, "Data Storage": 16383 points of CH1 and CH2).
BUFFER_POINTS = 16383
#: SRAT 0-13 (SR830 manual, SRAT command); 14 is Trigger.
SAMPLE_RATES_HZ = [0.0625 * 2**i for i in range(14)]
TRIGGER_SAMPLING = 14
#: Triggers faster than this are ignored (SR830 manual, "Data Storage", Sample Rate).
MAX_TRIGGER_RATE_HZ = 512.0
#: A triggered sample is recorded "within 2 ms of a rising edge trigger" (SR830 manual, "Data
#: Storage"): the emulator samples at the edge, and a source step within this time after it is a
#: disturbed sample (counted on the lab's trigger cable: a real SR830 could have sampled after it).
TRIGGER_SAMPLE_LATENCY_S = 2e-3
#: STRD starts the scan after this delay (SR830 manual, STRD command).
STRD_DELAY_S = 0.5
#: Bus transfer rate charged for buffer and capture transfers, bytes/s: the IEEE
#: 488.1 handshake's specified rate (NI-488.2 "GPIB Overview": 1 Mbyte/s). The
#: SR830 and SR860 manuals give no transfer rate; this is the bus's ceiling.
GPIB_TRANSFER_BYTES_PER_S = 1.0e6
#: The trigger cable line wired to the lock-in's rear TRIG IN (bench wiring).
TRIGGER_IN_LINE = 1


def transfer_time_s(byte_count: int) -> float:
    """Lab time (s) to move ``byte_count`` bytes over the bus."""
    return byte_count / GPIB_TRANSFER_BYTES_PER_S


def to_internal(value: float) -> tuple[int, int]:
    """The SR830's internal 4-byte form of ``value``: (mantissa int16, exponent 0..248)."""
    if value == 0.0 or not math.isfinite(value):
        return 0, 0
    exponent = math.frexp(value)[1] - 15 + 124  # |mantissa| in [2**14, 2**15)
    exponent = max(0, min(248, exponent))
    mantissa = round(value / 2.0 ** (exponent - 124))
    if abs(mantissa) > 32767:
        exponent = min(248, exponent + 1)
        mantissa = round(value / 2.0 ** (exponent - 124))
    return max(-32768, min(32767, mantissa)), exponent


def from_internal(mantissa: int, exponent: int) -> float:
    return mantissa * 2.0 ** (exponent - 124)


def ascii_trace(values: list[float]) -> str:
    """TRCA? form: ``-1.234567e-009,+7.654321e-009,`` (manual's example, 3-digit exponents)."""
    out = []
    for value in values:
        mantissa, exponent = f"{value:+.6e}".split("e")
        out.append(f"{mantissa}e{int(exponent):+04d},")
    return "".join(out)


def ieee_trace(values: list[float]) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def internal_trace(values: list[float]) -> bytes:
    return b"".join(struct.pack("<hBB", *to_internal(v), 0) for v in values)


class SR830DataBuffer:
    """The two channel buffers and the storage state machine of one SR830."""

    def __init__(self, clock, sample: Callable[[], tuple[float, float]]) -> None:
        self.clock = clock
        self.sample = sample  # (CH1, CH2) as the displays show them now
        self.rate_index = 4  # 1 Hz
        self.loop = True
        self.trigger_starts = False
        self.reset()

    def reset(self) -> None:
        """REST: erase the buffer, storage stopped."""
        self.points: deque[tuple[int, int, int, int]] = deque(maxlen=BUFFER_POINTS)
        self.state = "reset"  # reset | armed | storing | paused | done
        self.start_s = 0.0
        self.next_sample_s = 0.0
        self.last_trigger_s = -math.inf

    # --------------------------------------------------------------- control
    def start(self, delay_s: float = 0.0) -> None:
        """STRT (or STRD with its delay)."""
        if self.state in ("storing", "done"):
            return
        if self.trigger_starts and self.rate_index != TRIGGER_SAMPLING:
            self.state = "armed"
            return
        self._run_from(self.clock.now_s() + delay_s)

    def _run_from(self, start_s: float) -> None:
        self.state, self.start_s, self.next_sample_s = "storing", start_s, start_s

    def pause(self) -> None:
        """PAUS."""
        self.catch_up()
        if self.state == "storing":
            self.state = "paused"

    def trigger(self) -> bool:
        """A trigger at TRIG IN or TRIG: True if it stored a point or started the scan."""
        self.catch_up()
        now_s = self.clock.now_s()
        if self.rate_index == TRIGGER_SAMPLING:
            if self.state != "storing" or now_s < self.start_s:
                return False
            if now_s - self.last_trigger_s < (1.0 / MAX_TRIGGER_RATE_HZ) * (1 - 1e-9):
                return False  # faster than 512 Hz: ignored
            self.last_trigger_s = now_s
            self._store(*self.sample())
            return True
        if self.trigger_starts and self.state in ("reset", "armed", "paused"):
            self._run_from(now_s)
            self.catch_up()
            return True
        return False

    def catch_up(self) -> None:
        """Store the points an internal sample rate has taken since the last look."""
        if self.state != "storing" or self.rate_index == TRIGGER_SAMPLING:
            return
        now_s, period_s = self.clock.now_s(), 1.0 / SAMPLE_RATES_HZ[self.rate_index]
        due = math.floor((now_s - self.next_sample_s) / period_s + 1e-9) + 1
        if due <= 0:
            return
        if self.loop and due > BUFFER_POINTS:  # only the last buffer-full survives
            self.next_sample_s += (due - BUFFER_POINTS) * period_s
            due = BUFFER_POINTS
        ch1, ch2 = self.sample()
        for _ in range(due):
            if not self._store(ch1, ch2):
                break
        self.next_sample_s += due * period_s

    def _store(self, ch1: float, ch2: float) -> bool:
        if self.state != "storing":
            return False
        self.points.append((*to_internal(ch1), *to_internal(ch2)))
        if not self.loop and len(self.points) >= BUFFER_POINTS:
            self.state = "done"  # 1 Shot: storage stops at the end of the buffer
        return True

    # ----------------------------------------------------------------- reads
    def count(self) -> int:
        self.catch_up()
        return len(self.points)

    def trace(self, channel: int, first: int, count: int) -> list[float]:
        """``count`` points of CH``channel`` from bin ``first`` (0 is the oldest)."""
        self.catch_up()
        if channel not in (1, 2) or first < 0 or count < 1 or first + count > len(self.points):
            raise DATA_OUT_OF_RANGE
        offset = 0 if channel == 1 else 2
        points = list(self.points)[first:first + count]
        return [from_internal(p[offset], p[offset + 1]) for p in points]
