"""What the Keithley 2400 and 2450 emulators share (see :mod:`.keithley`): the SCPI
subset both dialects understand, the source state pushed into the virtual lab,
readings with their integration time, compliance and the error queue."""

from __future__ import annotations

import math
from typing import Any

from ..scpi import ScpiEmulator, ScpiError, boolean, number

#: Time a reading takes beyond its integration (A/D overhead, auto-zero), s.
READING_OVERHEAD_S = 0.001
ROLES = ("read_source", "input_source")  # the roles a source-meter plays on the bench
#: What the 2400 returns for a value it did not measure (its NAN), and on overflow.
NOT_MEASURED, OVERFLOW = 9.91e37, 9.9e37
#: The instruments' source limits (both models), A and V.
MAX_CURRENT_A, MAX_VOLTAGE_V = 1.05, 210.0
#: Programming resolution of a source range, as a fraction of the range (2400 and 2450
#: specifications: 50 pA on 1 uA ... 5 uA on 100 mA, 50 uA on 1 A); a level is rounded to it.
SOURCE_RESOLUTION = 5e-5

PARAMETER_OUT_OF_RANGE = ScpiError(-222, "Parameter data out of range")
SETTINGS_CONFLICT = ScpiError(-221, "Settings conflict")
ILLEGAL_PARAMETER = ScpiError(-224, "Illegal parameter value")

#: 2400 status word bits (manual, :FORMat:ELEMents STATus).
STATUS_OVERFLOW, STATUS_FRONT, STATUS_COMPLIANCE = 1, 4, 8


def _value(argument: str | None, low: float, high: float) -> float:
    """A numeric argument in [low, high]; out of range is the Keithley's -222."""
    try:
        return number(argument, low, high)
    except ScpiError as exc:
        if exc.code == -222:
            raise PARAMETER_OUT_OF_RANGE from None
        raise


def _fit_range(value: float, ranges: tuple[float, ...]) -> float:
    """The lowest range that holds ``value`` (the instrument's own range choice)."""
    return next((r for r in ranges if abs(value) <= r * 1.05), ranges[-1])


def _fmt(value: float) -> str:  # the instruments' ASCII number format
    return f"{value:+.6E}"


class KeithleySourceMeterEmulator(ScpiEmulator):
    """What the 2400 and 2450 share; subclasses add their model's dialect."""

    model = ""  # "2400" or "2450"
    default_sense: tuple[str, ...] = ("CURR",)
    current_ranges_a: tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    voltage_ranges_v: tuple[float, ...] = (0.2, 2.0, 20.0, 200.0)

    def __init__(self, lab: Any, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"{type(self).__name__}: role must be one of {ROLES}, not {role!r}")
        super().__init__(lab.clock)
        self.lab, self.role = lab, role
        self._power_on_state()
        if role == "read_source":  # the bench file's integration time is what the instrument runs at
            self.nplc = float(lab.nplc)
        self._push()
        self._register_common()

    # ------------------------------------------------------------------ state
    @property
    def _source(self):
        return self.lab.read if self.role == "read_source" else self.lab.input

    def _power_on_state(self) -> None:
        self.function = "CURR"
        self.level_a = 0.0
        self.level_v = 0.0
        self.output_on = False
        self.compliance_v = 21.0
        self.compliance_a = 1.05e-4
        self.source_range = {"CURR": 1e-6, "VOLT": 0.2}
        self.source_auto = {"CURR": True, "VOLT": True}
        self.sense_range = {"VOLT": 21.0, "CURR": 1.05e-4, "RES": 2.1e5}
        self.sense_auto = {"VOLT": True, "CURR": True, "RES": True}
        self.sense_functions = list(self.default_sense)
        self.nplc = 1.0
        self.auto_output_off = False
        self.in_compliance = False
        self.time_zero_s = self.clock.now_s()
        self.settings: dict[str, str] = {}

    def _push(self) -> None:
        """Tell the lab what this source now does (the only way it changes the lab)."""
        state = self._source
        wanted = {"level_a": self.level_a, "output_on": self.output_on, "compliance_v": abs(self.compliance_v)}
        changed = {k: v for k, v in wanted.items() if getattr(state, k) != v}
        if changed:  # a lab change restarts the lock-in's settling: only real changes count
            setter = self.lab.set_read_source if self.role == "read_source" else self.lab.set_input_source
            setter(**changed)

    def _set_nplc(self, nplc: float) -> None:
        self.nplc = nplc
        if self.role == "read_source":
            self.lab.nplc = nplc

    def reset(self) -> None:
        """*RST: output off at zero, current function, 21 V compliance, NPLC 1."""
        self._power_on_state()
        self._set_nplc(1.0)
        self._push()

    # --------------------------------------------------------------- handlers
    def _stored(self, key: str, default: str) -> Any:
        """A setting the emulation accepts and reads back but that changes no physics."""
        def handler(argument, query):
            if query:
                return self.settings.get(key, default)
            if argument is None:
                raise ILLEGAL_PARAMETER
            self.settings[key] = argument.strip()
        return handler

    def _accept(self, argument, query):  # beeper, display, buffer, status housekeeping
        return "0" if query else None

    def _function(self, argument, query):
        if query:
            return self.function
        function = {"CURR": "CURR", "CURRENT": "CURR", "VOLT": "VOLT", "VOLTAGE": "VOLT"}.get(
            (argument or "").upper())
        if function is None:
            raise ILLEGAL_PARAMETER
        if self.output_on and function != self.function:
            raise SETTINGS_CONFLICT
        self.function = function

    def _level(self, kind: str):
        limit = MAX_CURRENT_A if kind == "CURR" else MAX_VOLTAGE_V
        ranges = self.current_ranges_a if kind == "CURR" else self.voltage_ranges_v

        def handler(argument, query):
            if query:
                return _fmt(self.level_a if kind == "CURR" else self.level_v)
            value = _value(argument, -limit, limit)
            if not self.source_auto[kind] and abs(value) > self.source_range[kind] * 1.05:
                raise PARAMETER_OUT_OF_RANGE  # beyond the fixed source range: refused
            if self.source_auto[kind]:
                self.source_range[kind] = _fit_range(value, ranges)
            step = self.source_range[kind] * SOURCE_RESOLUTION
            value = round(value / step) * step
            if kind == "CURR":
                self.level_a = value
                self._push()
            else:
                self.level_v = value
        return handler

    def _source_range(self, kind: str):
        limit = MAX_CURRENT_A if kind == "CURR" else MAX_VOLTAGE_V
        ranges = self.current_ranges_a if kind == "CURR" else self.voltage_ranges_v

        def handler(argument, query):
            if query:
                return _fmt(self.source_range[kind])
            new_range = _fit_range(_value(argument, -limit, limit), ranges)
            level = self.level_a if kind == "CURR" else self.level_v
            if abs(level) > new_range * 1.05:
                raise SETTINGS_CONFLICT  # the present level would not fit
            self.source_range[kind], self.source_auto[kind] = new_range, False
        return handler

    def _auto(self, table: dict, kind: str):
        def handler(argument, query):
            if query:
                return "1" if table[kind] else "0"
            table[kind] = boolean(argument)
        return handler

    def _sense_range(self, kind: str):
        limit = {"VOLT": MAX_VOLTAGE_V, "CURR": MAX_CURRENT_A, "RES": 210e6}[kind]

        def handler(argument, query):
            if query:
                return _fmt(self.sense_range[kind])
            value = abs(_value(argument, -limit, limit))
            ranges = {"VOLT": self.voltage_ranges_v, "CURR": self.current_ranges_a}.get(kind)
            self.sense_range[kind] = _fit_range(value, ranges) if ranges else value
            self.sense_auto[kind] = False
        return handler

    def _compliance_voltage(self, low: float):
        def handler(argument, query):
            if query:
                return _fmt(self.compliance_v)
            self.compliance_v = _value(argument, low, MAX_VOLTAGE_V)
            self._push()
        return handler

    def _compliance_current(self, argument, query):
        if query:
            return _fmt(self.compliance_a)
        self.compliance_a = _value(argument, -MAX_CURRENT_A, MAX_CURRENT_A)

    def _nplc(self, argument, query):
        if query:
            return f"{self.nplc:g}"
        self._set_nplc(_value(argument, 0.01, 10.0))

    def _output(self, argument, query):
        if query:
            return "1" if self.output_on else "0"
        on = boolean(argument)
        if on and self.function != "CURR":
            raise SETTINGS_CONFLICT  # voltage sourcing is not modelled by the lab
        self.output_on = on
        self._push()

    def _tripped(self, argument, query):  # the last reading was limited by the compliance
        return "1" if self.in_compliance else "0"

    def _sense_function(self, argument, query):
        if query:
            names = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}
            return ",".join(names[f] for f in self.sense_functions)
        chosen = []
        for item in (argument or "").split(","):
            name = item.strip().strip("'\"").split(":")[0].upper()
            function = next((f for f in ("VOLT", "CURR", "RES") if name.startswith(f)), None)
            if function is None or not name:
                raise ILLEGAL_PARAMETER
            chosen.append(function)
        self._select_sense(chosen)

    def _select_sense(self, functions: list[str]) -> None:
        """2400: concurrent functions, each added; 2450: one measure function."""
        for function in functions:
            if function not in self.sense_functions:
                self.sense_functions.append(function)

    # ---------------------------------------------------------------- reading
    def take_reading(self) -> tuple[float, float, bool, bool]:
        """One reading: (voltage_v, current_a, in_compliance, overflow).

        Charges the integration time on the lab clock; with auto output-off the
        output is on only for the reading, as on the instrument.
        """
        pulsed = self.auto_output_off and not self.output_on and self.function == "CURR"
        if pulsed:
            self.output_on = True
            self._push()
        self.clock.sleep(self.nplc / self.lab.wiring.line_frequency_hz + READING_OVERHEAD_S)
        if self.role == "read_source":
            voltage_v, in_compliance = self.lab.read_voltage_v()
        else:
            voltage_v, in_compliance = self.lab.input_voltage_v()
        faults = getattr(self.lab, "faults", None)
        if faults is not None and self._source.output_on and faults.forced_compliance(self.role):
            # an injected trip: the load opened, the source sits at its compliance
            voltage_v, in_compliance = math.copysign(self._source.compliance_v, self._source.level_a or 1.0), True
        current_a = self._source.driving_a  # the source element reports the programmed level
        if pulsed:
            self.output_on = False
            self._push()
        self.in_compliance = bool(in_compliance)
        overflow = not self.sense_auto["VOLT"] and abs(voltage_v) > self.sense_range["VOLT"] * 1.05
        return voltage_v, current_a, self.in_compliance, overflow

    # ----------------------------------------------------------- registration
    def _register_common(self) -> None:
        c = self.command
        c([":SOURce:FUNCtion[:MODE]"], self._function)
        c(["[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]"], self._level("CURR"))
        c(["[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]"], self._level("VOLT"))
        for kind, node in (("CURR", "CURRent"), ("VOLT", "VOLTage")):
            c([f":SOURce:{node}:RANGe"], self._source_range(kind))
            c([f":SOURce:{node}:RANGe:AUTO"], self._auto(self.source_auto, kind))
        for kind, node in (("CURR", "CURRent[:DC]"), ("VOLT", "VOLTage[:DC]"), ("RES", "RESistance")):
            c([f"[:SENSe]:{node}:RANGe[:UPPer]"], self._sense_range(kind))
            c([f"[:SENSe]:{node}:RANGe:AUTO"], self._auto(self.sense_auto, kind))
            c([f"[:SENSe]:{node}:NPLCycles"], self._nplc)
        c(["[:SENSe]:FUNCtion[:ON]"], self._sense_function)
        c([":OUTPut[:STATe]"], self._output)
        c([":READ", ":MEASure"], lambda a, q: self._measure(None))
        c([":MEASure:VOLTage[:DC]"], lambda a, q: self._measure("VOLT"))
        c([":MEASure:CURRent[:DC]"], lambda a, q: self._measure("CURR"))
        c([":MEASure:RESistance"], lambda a, q: self._measure("RES"))
        c([":SYSTem:LFRequency"], self._stored("LFR", f"{self.lab.wiring.line_frequency_hz:g}"))
        c([":ROUTe:TERMinals"], self._stored("TERM", "FRON"))
        c([":SYSTem:BEEPer[:IMMediate]", ":SYSTem:BEEPer:STATe", ":DISPlay:ENABle",
           ":STATus:PRESet", ":STATus:MEASurement:ENABle", ":STATus:QUEStionable:ENABle",
           ":STATus:OPERation:ENABle", "*SRE", "*ESE", "*STB", "*TRG", "*WAI",
           ":ABORt", ":INITiate[:IMMediate]", ":TRACe:CLEar", ":TRACe:FEED",
           ":TRACe:FEED:CONTrol"], self._accept)
