"""The emulated Stanford Research SR830 DSP lock-in (SR830 manual, rev. 2.5, chapter 5).

Besides what :mod:`.lockin_base` shares with the SR860 it has:

- the SRS syntax: arguments with or without a space (``OUTP?1``, ``SLVL0.100``);
- ``SNAP?`` with 2 to 6 of parameters 1-11 (X, Y, R, theta, Aux In 1-4,
  reference frequency, CH1 and CH2 displays), all from one instant;
- offsets and expands (``OEXP i,x,j``, ``OEXP? i`` answers ``x,j``; ``AOFF i``):
  an offset is subtracted from X, Y or R wherever they are read (``OUTP?``,
  ``SNAP?``, the displays and so the buffer), in percent of full scale;
- display definitions ``DDEF i,j,k`` (CH1: X, R, X noise, Aux 1, Aux 2; CH2: Y,
  theta, Y noise, Aux 3, Aux 4), which decide what the buffer stores;
- the data buffer (:mod:`.lockin_buffer`) with trigger sampling from the rear
  TRIG IN, wired to line 1 of the lab's trigger cable;
- input and filter overloads (:mod:`.lockin_overload`);
- ``*RST`` to the manual's standard settings ("Standard Settings", ch. 4).

The Aux inputs are not wired on the bench: they read 0 V. Noise displays
(X noise, Y noise) and ratios (``DDEF`` k > 0) are not emulated: a noise display
shows 0 and a ratio is refused as an execution error.
"""

from __future__ import annotations

import math
import re

from ..scpi import DATA_OUT_OF_RANGE, ILLEGAL_PARAMETER
from .lockin_base import LIAS_FILTER_OVERLOAD, LIAS_INPUT_OVERLOAD, LIAS_STORAGE_TRIGGERED, SRSLockInEmulator
from .lockin_base import index_argument, integers
from .lockin_buffer import (
    STRD_DELAY_S, TRIGGER_IN_LINE, TRIGGER_SAMPLE_LATENCY_S, TRIGGER_SAMPLING, SR830DataBuffer, ascii_trace,
    ieee_trace, internal_trace, transfer_time_s,
)
from .lockin_overload import filter_overloaded, input_overloaded

_SR830_SPLIT = re.compile(r"^(\*[A-Za-z]{3}|[A-Za-z]{4})(\??)\s*(.*)$")
#: OEXP expand index -> factor (SR830 manual, OEXP command).
EXPANDS = (1, 10, 100)
#: Offsets range over +-105 % of full scale (SR830 manual, OEXP command).
OFFSET_LIMIT_PCT = 105.0
#: What DDEF j selects on CH1 and CH2 (SR830 manual, DDEF command).
CH1_QUANTITIES = ("X", "R", "XN", "AUX1", "AUX2")
CH2_QUANTITIES = ("Y", "TH", "YN", "AUX3", "AUX4")
#: Standard settings (SR830 manual, "Standard Settings"): what *RST restores.
RESET_SINE_V_RMS = 1.0
RESET_FREQUENCY_HZ = 1000.0
RESET_TIME_CONSTANT_S = 0.1
RESET_SLOPE_DB_PER_OCT = 12
#: Aux outputs: +-10.5 V with 1 mV resolution (SR830 manual, AUXV command).
AUX_OUT_LIMIT_V, AUX_OUT_RESOLUTION_V = 10.5, 0.001
RESET_SETTINGS = {"ISRC": "0", "IGND": "0", "ICPL": "0", "ILIN": "0", "SYNC": "0", "RSLP": "0", "FMOD": "1",
                  "HARM": "1", "RMOD": "2", "FAST": "0"}


class SR830Emulator(SRSLockInEmulator):
    """Stanford Research SR830 DSP lock-in (sine 4 mV to 5 V rms in 2 mV steps)."""

    identity = "Stanford_Research_Systems,SR830,s/n12345,ver1.07"
    #: SLVL is rounded to 0.002 V (SR830 manual, SLVL command).
    sine_resolution_v = 0.002
    settings = {name: "0" for name in ("ISRC", "IGND", "ICPL", "ILIN", "SYNC", "RSLP", "FAST", "OVRM", "LOCL")}
    settings.update({"FMOD": "1", "HARM": "1", "RMOD": "1"})
    snap_names = {str(i + 1): key for i, key in enumerate(
        ("X", "Y", "R", "TH", "AUX1", "AUX2", "AUX3", "AUX4", "F", "CH1", "CH2"))}
    snap_count = (2, 6)

    def __init__(self, lab) -> None:
        super().__init__(lab)
        self.offsets_pct = {1: 0.0, 2: 0.0, 3: 0.0}
        self.expands = {1: 0, 2: 0, 3: 0}
        self.displays = {1: 0, 2: 0}
        self.buffer = SR830DataBuffer(lab.clock, self._displays_now)
        for mnemonic in ("AGAN", "ARSV", "APHS"):
            self.command([mnemonic], lambda arg, query: None)
        self.aux_out_v = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
        self.command(["OAUX"], lambda arg, query: self.number(0.0))
        self.command(["AUXV"], self._aux_out)
        self.command(["OEXP"], self._offset_expand)
        self.command(["AOFF"], self._auto_offset)
        self.command(["DDEF"], self._display)
        self.command(["OUTR"], self._display_reading)
        self.command(["SRAT"], self._sample_rate)
        self.command(["SEND"], self._end_of_scan)
        self.command(["TSTR"], self._trigger_starts)
        self.command(["STRT"], lambda arg, query: self.buffer.start())
        self.command(["STRD"], lambda arg, query: self.buffer.start(STRD_DELAY_S))
        self.command(["PAUS"], lambda arg, query: self.buffer.pause())
        self.command(["REST"], lambda arg, query: self.buffer.reset())
        self.command(["TRIG"], lambda arg, query: self._trigger())
        self.command(["SPTS"], lambda arg, query: str(self.buffer.count()))
        self.command(["TRCA"], self._trace("ascii"))
        self.command(["TRCB"], self._trace("ieee"))
        self.command(["TRCL"], self._trace("internal"))
        lab.connect_trigger_input(self._trigger_in)

    # ---------------------------------------------------------------- syntax
    def write(self, line: str) -> None:
        """The SR830 takes arguments with or without a space: ``OUTP?1``, ``SENS5``."""
        parts = []
        for part in line.split(";"):
            match = _SR830_SPLIT.match(part.strip())
            if match:
                header, query, rest = match.groups()
                part = f"{header}{query} {rest}" if rest else header + query
            parts.append(part)
        super().write(";".join(parts))

    @staticmethod
    def number(value: float) -> str:
        """Six significant digits, a 3-digit exponent where one is needed: ``-0.000500266``,
        ``-4.17234e-007``, ``121.98`` (the SR830's replies in pymeasure's tests/instruments/srs/test_sr830.py)."""
        text = f"{value:.6g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent):+04d}"
        return text

    def read_bytes(self) -> bytes:
        """The oldest reply as the bytes on the bus (binary TRCB?/TRCL? replies included)."""
        return self.read().encode("latin-1")

    # ---------------------------------------------------------------- *RST
    def reset(self) -> None:
        """*RST: the manual's standard settings; the buffer is erased."""
        self.phase_deg = 0.0
        self.sensitivity_index = self.sensitivities_v.index(1.0)
        self.values.update(RESET_SETTINGS)
        self.aux_out_v = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
        self.offsets_pct = {1: 0.0, 2: 0.0, 3: 0.0}
        self.expands = {1: 0, 2: 0, 3: 0}
        self.displays = {1: 0, 2: 0}
        self.lab.set_lockin(frequency_hz=RESET_FREQUENCY_HZ, time_constant_s=RESET_TIME_CONSTANT_S,
                            slope_db_per_oct=RESET_SLOPE_DB_PER_OCT)
        self.lab.set_sine(RESET_SINE_V_RMS)
        self.buffer.rate_index, self.buffer.loop, self.buffer.trigger_starts = 4, True, False  # 1 Hz, Loop
        self.buffer.reset()

    # ------------------------------------------------------------- readings
    def _check_front_end(self, x_v: float, y_v: float) -> None:
        reserve = int(float(self.values["RMOD"]))
        r_v = math.hypot(x_v, y_v)
        dc_coupled = self.values["ICPL"].strip() == "1"
        dc_v = self._junction_dc_v() if dc_coupled else 0.0
        if input_overloaded(dc_v, r_v, self.full_scale_v, reserve, dc_coupled):
            self.lias |= 1 << LIAS_INPUT_OVERLOAD
        expand = max(EXPANDS[j] for j in self.expands.values())
        if filter_overloaded(r_v, self.full_scale_v, reserve, expand):
            self.lias |= 1 << LIAS_FILTER_OVERLOAD

    def _junction_dc_v(self) -> float:
        """DC voltage at the input: across the routed junction (0 with nothing routed)."""
        if self.lab.device_index() is None:
            return 0.0
        return self.lab.read_voltage_v(noisy=False)[0]

    def _quantities(self) -> dict[str, float]:
        x, y = self._xy()
        full_scale = self.full_scale_v
        values = {
            "X": x - self.offsets_pct[1] / 100.0 * full_scale,
            "Y": y - self.offsets_pct[2] / 100.0 * full_scale,
            "R": math.hypot(x, y) - self.offsets_pct[3] / 100.0 * full_scale,
            "TH": math.degrees(math.atan2(y, x)),
            "AUX1": 0.0, "AUX2": 0.0, "AUX3": 0.0, "AUX4": 0.0, "XN": 0.0, "YN": 0.0,
            "F": self.lab.lockin.frequency_hz,
        }
        values["CH1"] = values[CH1_QUANTITIES[self.displays[1]]]
        values["CH2"] = values[CH2_QUANTITIES[self.displays[2]]]
        return values

    def _displays_now(self) -> tuple[float, float]:
        values = self._quantities()
        return values["CH1"], values["CH2"]

    def _display_reading(self, argument, query):
        """OUTR? i: the CH1 or CH2 display."""
        channel = index_argument(argument, 3)
        if not query or channel == 0:
            raise DATA_OUT_OF_RANGE
        return self.number(self._displays_now()[channel - 1])

    # ------------------------------------------------ offsets and displays
    def _aux_out(self, argument, query):
        """AUXV i,x sets Aux Output i (1-4) to x volts; AUXV? i reads it."""
        if argument is None:
            raise ILLEGAL_PARAMETER
        if query:
            channel = index_argument(argument, 5)
            if channel == 0:
                raise DATA_OUT_OF_RANGE
            return f"{self.aux_out_v[channel]:.3f}"
        parts = argument.split(",")
        if len(parts) != 2:
            raise ILLEGAL_PARAMETER
        channel, value = index_argument(parts[0], 5), float(parts[1])
        if channel == 0 or abs(value) > AUX_OUT_LIMIT_V:
            raise DATA_OUT_OF_RANGE
        self.aux_out_v[channel] = round(value / AUX_OUT_RESOLUTION_V) * AUX_OUT_RESOLUTION_V

    def _offset_expand(self, argument, query):
        if argument is None:
            raise ILLEGAL_PARAMETER
        if query:
            channel = index_argument(argument, 4)
            if channel == 0:
                raise DATA_OUT_OF_RANGE
            return f"{self.offsets_pct[channel]:g},{self.expands[channel]}"
        parts = argument.split(",")
        if len(parts) != 3:
            raise ILLEGAL_PARAMETER
        channel, offset, expand = index_argument(parts[0], 4), float(parts[1]), index_argument(parts[2], 3)
        if channel == 0 or abs(offset) > OFFSET_LIMIT_PCT:
            raise DATA_OUT_OF_RANGE
        self.offsets_pct[channel], self.expands[channel] = round(offset, 2), expand

    def _auto_offset(self, argument, query):
        """AOFF i: the offset that brings X, Y or R to zero now."""
        channel = index_argument(argument, 4)
        if channel == 0:
            raise DATA_OUT_OF_RANGE
        x, y = self._xy()
        value = (x, y, math.hypot(x, y))[channel - 1]
        percent = 100.0 * value / self.full_scale_v
        self.offsets_pct[channel] = round(max(-OFFSET_LIMIT_PCT, min(OFFSET_LIMIT_PCT, percent)), 2)

    def _display(self, argument, query):
        if argument is None:
            raise ILLEGAL_PARAMETER
        if query:
            channel = index_argument(argument, 3)
            if channel == 0:
                raise DATA_OUT_OF_RANGE
            return f"{self.displays[channel]},0"
        parts = [p.strip() for p in argument.split(",")]
        if len(parts) not in (2, 3):
            raise ILLEGAL_PARAMETER
        channel, quantity = index_argument(parts[0], 3), index_argument(parts[1], 5)
        ratio = index_argument(parts[2], 3) if len(parts) == 3 else 0
        if channel == 0 or ratio != 0:  # ratio displays: not emulated (no Aux input is wired)
            raise DATA_OUT_OF_RANGE
        self.displays[channel] = quantity

    # ---------------------------------------------------------- data storage
    def _sample_rate(self, argument, query):
        if query:
            return str(self.buffer.rate_index)
        self.buffer.catch_up()
        self.buffer.rate_index = index_argument(argument, 15)

    def _end_of_scan(self, argument, query):
        if query:
            return "1" if self.buffer.loop else "0"
        self.buffer.catch_up()
        self.buffer.loop = index_argument(argument, 2) == 1

    def _trigger_starts(self, argument, query):
        if query:
            return "1" if self.buffer.trigger_starts else "0"
        self.buffer.trigger_starts = index_argument(argument, 2) == 1

    def _trigger(self) -> None:
        if self.buffer.trigger():
            self.lias |= 1 << LIAS_STORAGE_TRIGGERED
            cable = getattr(self.lab, "cable", None)
            if cable is not None and self.buffer.rate_index == TRIGGER_SAMPLING:  # sampled within 2 ms
                now = self.clock.now_s()
                cable.measuring(now, now + TRIGGER_SAMPLE_LATENCY_S, lambda fraction_after: None)

    def _trigger_in(self, line: int) -> None:
        """A pulse on the lab's trigger cable: the rear TRIG IN hears line 1 only."""
        if line == TRIGGER_IN_LINE:
            self._trigger()

    def _trace(self, form: str):
        def handler(argument, query):
            if not query:
                raise ILLEGAL_PARAMETER
            channel, first, count = integers(argument, 3)
            values = self.buffer.trace(channel, first, count)
            if form == "ascii":
                reply = ascii_trace(values)
            else:
                data = ieee_trace(values) if form == "ieee" else internal_trace(values)
                reply = data.decode("latin-1")  # the reply queue holds text: one char per byte
            self.clock.sleep(transfer_time_s(len(reply)))
            return reply
        return handler
