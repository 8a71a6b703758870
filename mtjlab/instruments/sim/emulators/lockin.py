"""Emulated Stanford Research lock-in amplifiers: SR830 and SR860.

They answer what pymeasure's ``SR830`` and ``SR860`` drivers send: identity,
sine output amplitude (``SLVL``), reference frequency (``FREQ``) and phase
(``PHAS``), time constant (``OFLT``, index table of the manuals), filter slope
(``OFSL``), sensitivity (``SENS`` on the SR830, ``SCAL`` on the SR860), the
outputs (``OUTP?``, ``SNAP?``) and the input/reference configuration commands
the drivers send (stored and echoed back, no effect on the physics).

Neither instrument has a SCPI error queue. Errors are reported the SRS way, in
latched status bytes that stay set until read or ``*CLS``:

- ``*ESR?`` standard event status: bit 4 EXE (parameter out of range: the
  setting is left unchanged), bit 5 CMD (command not recognised);
- ``LIAS?`` LIA status: bit 2 OUTPT, set when |X| or |Y| exceeds the full
  scale of the sensitivity; the reading then saturates at about 1.09 x full
  scale, as on the real instrument. (The SR860 is modelled with the SR830's
  LIA status layout.)
- ``ERRS?`` error status (hardware faults): always 0 here.

``LIAS? i``, ``ERRS? i`` and ``*ESR? i`` read (and clear) bit i only. The
readings are the virtual lab's (:meth:`.VirtualLab.lockin_xy_v_rms`), rotated
by the reference phase. SR830 commands may be sent without a space between
the mnemonic and the argument (``OUTP?1``, ``SLVL0.100``), as the driver does.
"""

from __future__ import annotations

import math
import re

from ..scpi import DATA_OUT_OF_RANGE, ILLEGAL_PARAMETER, UNDEFINED_HEADER, ScpiEmulator

#: LIA status bit: output overload (|X| or |Y| above full scale).
LIAS_OUTPUT_OVERLOAD = 2
#: Standard event status bits.
ESR_EXECUTION_ERROR = 4
ESR_COMMAND_ERROR = 5
#: The outputs saturate at this fraction of full scale.
OVERLOAD_SATURATION = 1.09

SR830_SENSITIVITIES_V = [
    2e-9, 5e-9, 10e-9, 20e-9, 50e-9, 100e-9, 200e-9, 500e-9, 1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6,
    100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 200e-3, 500e-3, 1.0,
]
SR830_TIME_CONSTANTS_S = [
    10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 300e-3, 1.0, 3.0, 10.0, 30.0,
    100.0, 300.0, 1e3, 3e3, 10e3, 30e3,
]
#: SR860: SCAL index 0 is 1 V full scale, 27 is 1 nV.
SR860_SENSITIVITIES_V = [
    1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5,
    5e-6, 2e-6, 1e-6, 5e-7, 2e-7, 1e-7, 5e-8, 2e-8, 1e-8, 5e-9, 2e-9, 1e-9,
]
SR860_TIME_CONSTANTS_S = [1e-6, 3e-6] + SR830_TIME_CONSTANTS_S
SLOPES_DB_PER_OCT = [6, 12, 18, 24]

_SR830_SPLIT = re.compile(r"^(\*[A-Za-z]{3}|[A-Za-z]{4})(\??)\s*(.*)$")


def _index(argument: str | None, count: int) -> int:
    """An integer index argument in [0, count)."""
    if argument is None:
        raise ILLEGAL_PARAMETER
    value = float(argument)
    if value != int(value) or not 0 <= value < count:
        raise DATA_OUT_OF_RANGE
    return int(value)


def _nearest(table: list[float], value: float) -> int:
    return min(range(len(table)), key=lambda i: abs(math.log(table[i] / value)))


class _SRSLockIn(ScpiEmulator):
    """What the SR830 and SR860 share; subclasses fill in the model's tables."""

    sensitivities_v: list[float] = SR830_SENSITIVITIES_V
    time_constants_s: list[float] = SR830_TIME_CONSTANTS_S
    sine_range_v_rms: tuple[float, float] = (0.004, 5.0)
    sine_resolution_v: float = 0.0
    frequency_range_hz: tuple[float, float] = (0.001, 102000.0)
    phase_range_deg: tuple[float, float] = (-360.0, 729.99)
    first_output: int = 1  # OUTP? index of X
    sensitivity_command = "SENS"
    #: Configuration commands accepted and echoed: mnemonic -> power-on value.
    settings: dict[str, str] = {}

    def __init__(self, lab) -> None:
        super().__init__(lab.clock)
        self.lab = lab
        # no SCPI error queue, and *CLS clears the SRS status bytes
        self._commands = [c for c in self._commands
                          if not (c.regex.match("SYST:ERR") or c.regex.match("*CLS"))]
        self.esr = self.lias = self.errs = 0
        self.phase_deg = 0.0
        self.sensitivity_index = self.sensitivities_v.index(1.0)  # power-on: 1 V full scale
        self.values = dict(self.settings)
        self.command(["*CLS"], self._clear)
        self.command(["*ESR"], lambda arg, query: self._status("esr", arg))
        self.command(["LIAS"], lambda arg, query: self._status("lias", arg))
        self.command(["ERRS"], lambda arg, query: self._status("errs", arg))
        self.command(["*STB"], lambda arg, query: str(self._serial_poll()))
        self.command(["SLVL"], self._sine)
        self.command(["FREQ"], self._frequency)
        self.command(["PHAS"], self._phase)
        self.command(["OFLT"], self._time_constant)
        self.command([self.sensitivity_command], self._sensitivity)
        self.command(["OUTP"], self._output)
        self.command(["SNAP"], self._snap)
        for mnemonic in self.values:
            self.command([mnemonic], self._setting(mnemonic))

    # ---------------------------------------------------------------- status
    def push_error(self, code: int, message: str) -> None:
        bit = ESR_COMMAND_ERROR if code == UNDEFINED_HEADER.code else ESR_EXECUTION_ERROR
        self.esr |= 1 << bit

    def _clear(self, argument, query) -> None:
        self.esr = self.lias = self.errs = 0

    def _status(self, name: str, argument: str | None) -> str:
        if name == "lias":
            self._check_overload()
        value = getattr(self, name)
        if argument is None:
            setattr(self, name, 0)
            return str(value)
        bit = _index(argument, 8)
        setattr(self, name, value & ~(1 << bit))
        return str((value >> bit) & 1)

    def _serial_poll(self) -> int:
        """Status byte: bit 2 ERR, bit 3 LIA, bit 5 ESB (any bit set; enable masks not modelled)."""
        return (4 if self.errs else 0) | (8 if self.lias else 0) | (32 if self.esr else 0)

    # -------------------------------------------------------------- settings
    def _setting(self, mnemonic: str):
        def handler(argument, query):
            if query:
                return self.values[mnemonic] if argument is None else self.values.get(f"{mnemonic} {argument}", "0")
            if argument is None:
                raise ILLEGAL_PARAMETER
            head, sep, rest = argument.partition(",")
            if sep:  # indexed setting, e.g. DDEF1,0,0 or AUXV 0, 1.0
                self.values[f"{mnemonic} {head.strip()}"] = rest.strip()
            else:
                self.values[mnemonic] = argument.strip()
        return handler

    def _sine(self, argument, query):
        if query:
            return f"{self.lab.lockin.sine_v_rms:.9g}"
        low, high = self.sine_range_v_rms
        value = float(argument)
        if self.sine_resolution_v:
            value = round(value / self.sine_resolution_v) * self.sine_resolution_v
        if not low - 1e-12 <= value <= high + 1e-12:
            raise DATA_OUT_OF_RANGE
        self.lab.set_sine(value)

    def _frequency(self, argument, query):
        if query:
            return f"{self.lab.lockin.frequency_hz:.6g}"
        low, high = self.frequency_range_hz
        value = float(argument)
        if not low <= value <= high:
            raise DATA_OUT_OF_RANGE
        self.lab.set_lockin(frequency_hz=value)

    def _phase(self, argument, query):
        if query:
            return f"{self.phase_deg:.4f}"
        low, high = self.phase_range_deg
        value = float(argument)
        if not low <= value <= high:
            raise DATA_OUT_OF_RANGE
        self.phase_deg = (value + 180.0) % 360.0 - 180.0  # shown in -180..180

    def _time_constant(self, argument, query):
        if query:
            return str(_nearest(self.time_constants_s, self.lab.lockin.time_constant_s))
        self.lab.set_lockin(time_constant_s=self.time_constants_s[_index(argument, len(self.time_constants_s))])

    def _slope(self, argument, query):
        if query:
            return str(SLOPES_DB_PER_OCT.index(int(self.lab.lockin.slope_db_per_oct)))
        self.lab.set_lockin(slope_db_per_oct=SLOPES_DB_PER_OCT[_index(argument, 4)])

    def _sensitivity(self, argument, query):
        if query:
            return str(self.sensitivity_index)
        self.sensitivity_index = _index(argument, len(self.sensitivities_v))

    # -------------------------------------------------------------- readings
    def _xy(self) -> tuple[float, float]:
        """X and Y as displayed (V rms): phase-rotated, saturated at overload."""
        x, y = self.lab.lockin_xy_v_rms(noise=True)
        phi = math.radians(self.phase_deg)
        x, y = x * math.cos(phi) + y * math.sin(phi), -x * math.sin(phi) + y * math.cos(phi)
        full_scale = self.sensitivities_v[self.sensitivity_index]
        if max(abs(x), abs(y)) > full_scale:
            self.lias |= 1 << LIAS_OUTPUT_OVERLOAD
        limit = OVERLOAD_SATURATION * full_scale
        return max(-limit, min(limit, x)), max(-limit, min(limit, y))

    def _check_overload(self) -> None:
        self._xy()

    def _quantities(self) -> list[float]:
        x, y = self._xy()
        return [x, y, math.hypot(x, y), math.degrees(math.atan2(y, x))]

    def _pick(self, argument: str, values: list[float]) -> float:
        names = {"X": 0, "Y": 1, "R": 2, "TH": 3, "THETA": 3}
        key = argument.strip().upper()
        index = names[key] if key in names else int(float(key)) - self.first_output
        if not 0 <= index < 4:
            raise DATA_OUT_OF_RANGE
        return values[index]

    def _output(self, argument, query):
        if not query or argument is None:
            raise ILLEGAL_PARAMETER
        return f"{self._pick(argument, self._quantities()):.6e}"

    def _snap(self, argument, query):
        if not query or argument is None:
            raise ILLEGAL_PARAMETER
        values = self._quantities()  # one instant for every parameter
        picked = [self._pick(part, values) for part in argument.split(",")]
        if not 2 <= len(picked) <= 6:
            raise ILLEGAL_PARAMETER
        return ",".join(f"{v:.6e}" for v in picked)


class SR830Emulator(_SRSLockIn):
    """Stanford Research SR830 DSP lock-in (sine 4 mV to 5 V rms in 2 mV steps)."""

    identity = "Stanford_Research_Systems,SR830,s/n12345,ver1.07"
    sine_resolution_v = 0.002
    settings = {name: "0" for name in (
        "ISRC", "IGND", "ICPL", "ILIN", "SYNC", "RSLP", "SRAT", "SEND", "TSTR", "FAST", "OVRM", "LOCL")}
    settings.update({"FMOD": "1", "HARM": "1", "RMOD": "1", "DDEF": "0,0", "AUXV": "0", "OEXP": "0,0"})

    def __init__(self, lab) -> None:
        super().__init__(lab)
        self.command(["OFSL"], self._slope)
        for mnemonic in ("AGAN", "ARSV", "APHS", "AOFF", "STRT", "PAUS", "REST", "TRIG"):
            self.command([mnemonic], lambda arg, query: None)
        self.command(["OAUX"], lambda arg, query: "0.000000e+00")

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


class SR860Emulator(_SRSLockIn):
    """Stanford Research SR860 lock-in (sine 1 nV to 2 V rms, outputs indexed from 0)."""

    identity = "Stanford_Research_Systems,SR860,003021,v1.51"
    sensitivities_v = SR860_SENSITIVITIES_V
    time_constants_s = SR860_TIME_CONSTANTS_S
    sine_range_v_rms = (1e-9, 2.0)
    frequency_range_hz = (0.001, 500000.0)
    phase_range_deg = (-360000.0, 360000.0)
    first_output = 0
    sensitivity_command = "SCAL"
    settings = {name: "0" for name in (
        "IVMD", "ISRC", "ICPL", "IGND", "IRNG", "ICUR", "RSRC", "RTRG", "REFM", "SYNC", "TBMODE", "REFZ")}
    settings.update({"HARM": "1", "HARMDUAL": "1", "ADVFILT": "1", "AUXV": "0"})

    def __init__(self, lab) -> None:
        super().__init__(lab)
        self.command(["OFSL"], self._slope)
        self.command(["SNAPD"], lambda arg, query: ",".join(f"{v:.6e}" for v in self._quantities()))
        self.command(["OAUX"], lambda arg, query: "0.000000e+00")
