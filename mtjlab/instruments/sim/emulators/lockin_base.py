"""What the emulated SR830 and SR860 share: tables, SRS status bytes, settings, readings.

Neither instrument has a SCPI error queue. Errors are reported the SRS way, in
latched status bytes that stay set until read or ``*CLS`` (SR830 manual,
"Status Byte Definitions"):

- ``*ESR?`` standard event status: bit 4 EXE (parameter out of range: the
  setting is left unchanged), bit 5 CMD (command not recognised);
- ``LIAS?`` LIA status: bit 0 input overload, bit 1 filter overload, bit 2
  output overload (|X| or |Y| above full scale; the reading then saturates at
  about 1.09 x full scale), bit 6 data storage triggered. The SR860 is
  modelled with the SR830's LIA status layout.
- ``ERRS?`` error status (hardware faults): always 0 here.

``LIAS? i``, ``ERRS? i`` and ``*ESR? i`` read (and clear) bit i only. The
readings are the virtual lab's (:meth:`.VirtualLab.lockin_xy_v_rms`), rotated
by the reference phase.
"""

from __future__ import annotations

import math

from ..scpi import DATA_OUT_OF_RANGE, ILLEGAL_PARAMETER, UNDEFINED_HEADER, ScpiEmulator

#: LIA status bits (SR830 manual, "LIA Status Byte": LIAS? bits 0-6).
LIAS_INPUT_OVERLOAD = 0
LIAS_FILTER_OVERLOAD = 1
LIAS_OUTPUT_OVERLOAD = 2
LIAS_STORAGE_TRIGGERED = 6
#: Standard event status bits (SR830 manual, "Standard Event Status Byte").
ESR_EXECUTION_ERROR = 4
ESR_COMMAND_ERROR = 5
#: The outputs saturate at this fraction of full scale. Not stated in the manuals;
#: the value the application's own adapter tests expect (tests/instruments/adapters/
#: test_lockin_protocol.py, "saturated at 1.09 x 10 mV").
OVERLOAD_SATURATION = 1.09

#: SENS index table (SR830 manual, SENS command; pymeasure SR830.SENSITIVITIES).
SR830_SENSITIVITIES_V = [
    2e-9, 5e-9, 10e-9, 20e-9, 50e-9, 100e-9, 200e-9, 500e-9, 1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6,
    100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 200e-3, 500e-3, 1.0,
]
#: OFLT index table (SR830 manual, OFLT command).
SR830_TIME_CONSTANTS_S = [
    10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 300e-3, 1.0, 3.0, 10.0, 30.0,
    100.0, 300.0, 1e3, 3e3, 10e3, 30e3,
]
#: SR860 SCAL index 0 is 1 V full scale, 27 is 1 nV (SR860 manual, SCAL command).
SR860_SENSITIVITIES_V = [
    1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5,
    5e-6, 2e-6, 1e-6, 5e-7, 2e-7, 1e-7, 5e-8, 2e-8, 1e-8, 5e-9, 2e-9, 1e-9,
]
#: SR860 OFLT starts at 1 us (SR860 manual, OFLT command).
SR860_TIME_CONSTANTS_S = [1e-6, 3e-6] + SR830_TIME_CONSTANTS_S
SLOPES_DB_PER_OCT = [6, 12, 18, 24]


def index_argument(argument: str | None, count: int) -> int:
    """An integer index argument in [0, count)."""
    if argument is None:
        raise ILLEGAL_PARAMETER
    value = float(argument)
    if value != int(value) or not 0 <= value < count:
        raise DATA_OUT_OF_RANGE
    return int(value)


def integers(argument: str | None, count: int) -> list[int]:
    """Exactly ``count`` comma-separated integers (``TRCA? 1,0,5``)."""
    if argument is None:
        raise ILLEGAL_PARAMETER
    parts = [p.strip() for p in argument.split(",")]
    if len(parts) != count:
        raise ILLEGAL_PARAMETER
    values = [float(p) for p in parts]
    if any(v != int(v) for v in values):
        raise DATA_OUT_OF_RANGE
    return [int(v) for v in values]


def nearest_index(table: list[float], value: float) -> int:
    return min(range(len(table)), key=lambda i: abs(math.log(table[i] / value)))


class SRSLockInEmulator(ScpiEmulator):
    """What the SR830 and SR860 share; subclasses fill in the model's tables."""

    sensitivities_v: list[float] = SR830_SENSITIVITIES_V
    time_constants_s: list[float] = SR830_TIME_CONSTANTS_S
    sine_range_v_rms: tuple[float, float] = (0.004, 5.0)
    sine_resolution_v: float = 0.0
    frequency_range_hz: tuple[float, float] = (0.001, 102000.0)
    phase_range_deg: tuple[float, float] = (-360.0, 729.99)
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
        self.command(["OFSL"], self._slope)
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
            self._xy()  # the overload bits latch what the outputs show now
        value = getattr(self, name)
        if argument is None:
            setattr(self, name, 0)
            return str(value)
        bit = index_argument(argument, 8)
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
            if sep:  # indexed setting, e.g. AUXV1,1.0 or AUXV 0, 1.0
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
            return str(nearest_index(self.time_constants_s, self.lab.lockin.time_constant_s))
        self.lab.set_lockin(time_constant_s=self.time_constants_s[index_argument(argument, len(self.time_constants_s))])

    def _slope(self, argument, query):
        if query:
            return str(SLOPES_DB_PER_OCT.index(int(self.lab.lockin.slope_db_per_oct)))
        self.lab.set_lockin(slope_db_per_oct=SLOPES_DB_PER_OCT[index_argument(argument, 4)])

    def _sensitivity(self, argument, query):
        if query:
            return str(self.sensitivity_index)
        self.sensitivity_index = index_argument(argument, len(self.sensitivities_v))

    @property
    def full_scale_v(self) -> float:
        return self.sensitivities_v[self.sensitivity_index]

    # -------------------------------------------------------------- readings
    def _raw_xy(self) -> tuple[float, float]:
        """X and Y (V rms) at the detector now: phase-rotated, not yet limited by the outputs."""
        x, y = self.lab.lockin_xy_v_rms(noise=True)
        phi = math.radians(self.phase_deg)
        return x * math.cos(phi) + y * math.sin(phi), -x * math.sin(phi) + y * math.cos(phi)

    def _check_front_end(self, x_v: float, y_v: float) -> None:
        """Latch input and filter overloads (the SR830 models them; see lockin_overload)."""

    def _xy(self) -> tuple[float, float]:
        """X and Y as the outputs show them (V rms): saturated at overload, overloads latched."""
        x, y = self._raw_xy()
        self._check_front_end(x, y)
        full_scale = self.full_scale_v
        if max(abs(x), abs(y)) > full_scale:
            self.lias |= 1 << LIAS_OUTPUT_OVERLOAD
        limit = OVERLOAD_SATURATION * full_scale
        return max(-limit, min(limit, x)), max(-limit, min(limit, y))

    def _quantities(self) -> dict[str, float]:
        """Every quantity OUTP? and SNAP? can name, from one instant."""
        x, y = self._xy()
        return {"X": x, "Y": y, "R": math.hypot(x, y), "TH": math.degrees(math.atan2(y, x))}

    #: OUTP?/SNAP? parameter numbers and names -> quantity key (subclasses extend).
    snap_names: dict[str, str] = {"1": "X", "2": "Y", "3": "R", "4": "TH"}
    snap_count: tuple[int, int] = (2, 6)

    @staticmethod
    def number(value: float) -> str:
        """A reading as the instrument writes it."""
        return f"{value:.6e}"

    def _pick(self, argument: str, values: dict[str, float]) -> float:
        key = argument.strip().upper()
        if key.replace(".", "", 1).isdigit():
            key = str(int(float(key)))
        if key not in self.snap_names:
            raise DATA_OUT_OF_RANGE
        return values[self.snap_names[key]]

    def _output(self, argument, query):
        if not query or argument is None:
            raise ILLEGAL_PARAMETER
        key = argument.strip().upper()
        key = str(int(float(key))) if key.replace(".", "", 1).isdigit() else key
        if self.snap_names.get(key) not in ("X", "Y", "R", "TH"):
            raise DATA_OUT_OF_RANGE
        return self.number(self._pick(key, self._quantities()))

    def _snap(self, argument, query):
        if not query or argument is None:
            raise ILLEGAL_PARAMETER
        parts = argument.split(",")
        low, high = self.snap_count
        if not low <= len(parts) <= high:
            raise ILLEGAL_PARAMETER
        values = self._quantities()  # one instant for every parameter
        return ",".join(self.number(self._pick(part, values)) for part in parts)
