"""The 2400 trigger model's SCPI commands (2400 manual, section 18: :ARM, :TRIGger, :SOURce:LIST,
:TRACe, the status byte): registration and the handlers that read and check their arguments.
The model they set runs in :mod:`.keithley_trigger`."""

from __future__ import annotations

from ..scpi import ScpiError
from .keithley_handlers import _fmt, _word
from .keithley_timing import (ARM_TIMER_RANGE_S, MAX_BUFFER_POINTS, MAX_DELAY_S, MAX_LIST_POINTS,
                              MAX_TRIGGER_PRODUCT, TRIGGER_LINK_LINES)

ILLEGAL = ScpiError(-224, "Illegal parameter value")
TOO_MUCH_DATA = ScpiError(-223, "Too much data")
COUNT_PRODUCT = ScpiError(-221, "Settings conflict: arm count x trigger count exceeds 2500")


class TriggerCommands2400:
    """Mixin of the 2400 emulator: the trigger model's commands (see the module docstring)."""

    def _register_trigger_model(self) -> None:
        c = self.command
        c([":INITiate[:IMMediate]"], lambda a, q: self.initiate())
        c([":ABORt"], lambda a, q: self.abort())
        c(["*TRG"], self.bus_trigger)
        c([":FETCh"], self.fetch)
        c([":READ"], self.read_query)
        c([":TRIGger[:SEQuence[1]]:CLEar"], lambda a, q: self.clear_pending())
        c([":ARM[:SEQuence[1]][:LAYer[1]]:COUNt"], self._count("arm_count", "trigger_count"))
        c([":TRIGger[:SEQuence[1]]:COUNt"], self._count("trigger_count", "arm_count"))
        c([":TRIGger[:SEQuence[1]]:DELay"], self._seconds("trigger_delay_s", 0.0, MAX_DELAY_S))
        c([":ARM[:SEQuence[1]][:LAYer[1]]:TIMer"], self._seconds("arm_timer_s", *ARM_TIMER_RANGE_S))
        c([":ARM[:SEQuence[1]][:LAYer[1]]:SOURce"], self._choice(
            "arm_source", ("IMMediate", "TLINk", "TIMer", "MANual", "BUS", "NSTest", "PSTest", "BSTest")))
        c([":TRIGger[:SEQuence[1]]:SOURce"], self._choice("trigger_source", ("IMMediate", "TLINk")))
        for layer, prefix in (("arm", ":ARM[:SEQuence[1]][:LAYer[1]]"), ("trigger", ":TRIGger[:SEQuence[1]]")):
            c([f"{prefix}:ILINe"], self._line(f"{layer}_input_line"))
            c([f"{prefix}:OLINe"], self._line(f"{layer}_output_line"))
            c([f"{prefix}:DIRection"], self._stored(f"{layer}DIR", "ACC", ("SOURce", "ACCeptor")))
        c([":ARM[:SEQuence[1]][:LAYer[1]]:OUTPut"], self._events("arm_outputs", ("TENTer", "TEXit")))
        c([":TRIGger[:SEQuence[1]]:OUTPut"], self._events("trigger_outputs", ("SOURce", "DELay", "SENSe")))
        c([":TRIGger[:SEQuence[1]]:INPut"], self._events("trigger_inputs", ("SOURce", "DELay", "SENSe")))
        for kind, node in (("CURR", "CURRent"), ("VOLT", "VOLTage")):
            c([f":SOURce:{node}:MODE"], self._mode(kind))
            c([f":SOURce:LIST:{node}"], self._list(kind, append=False))
            c([f":SOURce:LIST:{node}:APPend"], self._list(kind, append=True))
            c([f":SOURce:LIST:{node}:POINts"], lambda a, q, k=kind: str(len(self.source_list[k])))
        c([":TRACe:CLEar", ":DATA:CLEar"], lambda a, q: self.buffer.clear())
        c([":TRACe:POINts", ":DATA:POINts"], self._buffer_points)
        c([":TRACe:POINts:ACTual", ":DATA:POINts:ACTual"], lambda a, q: str(len(self.buffer)))
        c([":TRACe:FEED", ":DATA:FEED"], self._feed)
        c([":TRACe:FEED:CONTrol", ":DATA:FEED:CONTrol"], self._choice("feed_control", ("NEXT", "NEVer")))
        c([":TRACe:DATA", ":DATA:DATA"], self.trace_data)
        c([":TRACe:TSTamp:FORMat"], self._stored("TSTF", "ABS", ("ABSolute", "DELTa")))
        c(["*STB"], self._status_byte)
        c(["*SRE"], self._enable("SRE"))
        c([":STATus:MEASurement[:EVENt]:ENABle"], self._enable("MEAS"))

    def _count(self, name: str, other: str):
        def handler(argument, query):
            if query:
                return str(getattr(self.trigger, name))
            words = {"MIN": 1, "MINIMUM": 1, "MAX": MAX_TRIGGER_PRODUCT, "MAXIMUM": MAX_TRIGGER_PRODUCT}
            word = (argument or "").strip().upper()
            value = words[word] if word in words else int(round(float(argument or "nan")))
            if not 1 <= value <= MAX_TRIGGER_PRODUCT:
                raise ScpiError(-222, "Parameter data out of range")
            if value * getattr(self.trigger, other) > MAX_TRIGGER_PRODUCT:
                raise COUNT_PRODUCT
            setattr(self.trigger, name, value)
        return handler

    def _seconds(self, name: str, low: float, high: float):
        def handler(argument, query):
            from .keithley_base import _value
            if query:
                return _fmt(getattr(self.trigger, name))
            setattr(self.trigger, name, _value(argument, low, high))
        return handler

    def _choice(self, name: str, words: tuple[str, ...]):
        def handler(argument, query):
            if query:
                return getattr(self.trigger, name)
            setattr(self.trigger, name, _word(argument, words))
        return handler

    def _feed(self, argument, query):
        if query:
            return self.trigger.feed
        word = (argument or "").strip().upper().rstrip("1")
        feeds = {"SENS": "SENS", "SENSE": "SENS", "CALC": "CALC", "CALCULATE": "CALC", "CALC2": "CALC2",
                 "CALCULATE2": "CALC2", "NONE": "NONE"}
        if word not in feeds:
            raise ILLEGAL
        self.trigger.feed = feeds[word]

    def _line(self, name: str):
        def handler(argument, query):
            if query:
                return str(getattr(self.trigger, name))
            line = int(float(argument or "nan"))
            if line not in TRIGGER_LINK_LINES:
                raise ScpiError(-222, "Parameter data out of range")
            setattr(self.trigger, name, line)
        return handler

    def _events(self, name: str, words: tuple[str, ...]):
        def handler(argument, query):
            chosen = getattr(self.trigger, name)
            if query:
                return ",".join(e for e in ("TENT", "TEX", "SOUR", "DEL", "SENS") if e in chosen) or "NONE"
            items = [item.strip() for item in (argument or "").split(",")]
            if [i.upper() for i in items] == ["NONE"]:
                setattr(self.trigger, name, set())
                return None
            setattr(self.trigger, name, {_word(item, words) for item in items})
        return handler

    def _mode(self, kind: str):
        def handler(argument, query):
            if query:
                return self.source_mode[kind]
            self.source_mode[kind] = _word(argument, ("FIXed", "LIST"))  # SWEep is not emulated
        return handler

    def _list(self, kind: str, append: bool):
        def handler(argument, query):
            if query:
                return ",".join(_fmt(v) for v in self.source_list[kind])
            values = [self._number(item, kind) for item in (argument or "").split(",") if item.strip()]
            limit = 1.05 if kind == "CURR" else 210.0
            if not values or any(abs(v) > limit for v in values):
                raise ScpiError(-222, "Parameter data out of range")
            new = (self.source_list[kind] if append else []) + values
            if len(new) > MAX_LIST_POINTS:
                raise TOO_MUCH_DATA
            self.source_list[kind] = new
        return handler

    def _buffer_points(self, argument, query):
        if query:
            return str(self.trigger.buffer_points)
        value = int(float(argument or "nan"))
        if not 1 <= value <= MAX_BUFFER_POINTS:
            raise ScpiError(-222, "Parameter data out of range")
        self.trigger.buffer_points = value

    def _enable(self, key: str):
        def handler(argument, query):
            if query:
                return str(self.status_enable[key])
            self.status_enable[key] = int(float(argument or "0"))
        return handler

    def _status_byte(self, argument, query):
        """*STB?: the measurement summary bit (0) when the buffer is full and its event (bit 9)
        enabled, and the request-service bit (6) when an enabled summary bit is set (2400 manual,
        section 15, "Status byte" and "Measurement event register")."""
        full = len(self.buffer) >= self.trigger.buffer_points and bool(self.status_enable["MEAS"] & 512)
        stb = 1 if full else 0
        if stb & self.status_enable["SRE"]:
            stb |= 64
        return str(stb)
