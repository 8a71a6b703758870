"""Keithley 2400 and 2450 SourceMeter emulators over the virtual lab.

Each answers the SCPI its pymeasure driver sends (``Keithley2400(EmulatorAdapter(emulator))`` runs
the real driver unchanged) and behaves as the manuals say; what they share is in
:mod:`.keithley_base`, the 2400's trigger model, source list and data store in
:mod:`.keithley_trigger`, its reading format and status word in :mod:`.keithley_status`, the lab
time of each action in :mod:`.keithley_timing`.

``role`` says which source-meter of the bench it is: ``"read_source"`` drives the routed junction
(:meth:`VirtualLab.set_read_source`, readings from :meth:`VirtualLab.read_voltage_v`),
``"input_source"`` the routed row's field line (:meth:`VirtualLab.set_input_source`, readings from
:meth:`VirtualLab.input_voltage_v`).

*RST gives the manual's state, a 0 V voltage source with the output off; the 2450 powers up so,
the 2400 in the bench's saved power-on setup (:attr:`Keithley2400Emulator.power_on_setup`). Current and voltage sourcing
both work (a voltage source drives the current its load draws, :mod:`.keithley_load`), with real
compliance and range compliance.

Deviations (not emulated): :MEASure? selects its function, sets the trigger model to one
immediate pass and turns the output on as :CONFigure does, but leaves the function's other
settings (range, NPLC) as they are; the source-memory and staircase sweeps (:SOURce:...:MODE
SWEep), math, limits and filters change nothing (the filter settings are read back); while the
2400 waits for Trigger Link pulses, commands run at once (the real instrument queues most of them
until it is idle again, 2400 manual section 11, "Idle and initiate"); an instrument triggered over
the cable does its action inside the pulse, and the pulsing instrument's own next actions take
that time back as overlap (:mod:`.trigger_link`); the 2450's trigger model and source list (trigger blocks, :SOURce:SWEep) are not
emulated, its :READ? makes one measurement.
"""

from __future__ import annotations

from typing import Any

from ..scpi import ScpiError, boolean
from .keithley_handlers import _word
from .keithley_base import (ROLES, KeithleySourceMeterEmulator, MAX_VOLTAGE_V, RawReading, _fmt)
from .keithley_status import (ELEMENTS, NOT_MEASURED, OVERFLOW, Reading, parse_elements, status_word)
from .keithley_timing import AD_CONVERSION_OVERHEAD_S, RESET_SOURCE_DELAY_S
from .keithley_trigger import TriggerModel2400

#: The 2450's largest source delay, s: pymeasure's test_keithley2450_with_device.py,
#: test_source_current_delay, sets and reads back 1000 s on a 2450.
MAX_DELAY_2450_S = 10_000.0


class Keithley2400Emulator(TriggerModel2400, KeithleySourceMeterEmulator):
    """Keithley 2400 SourceMeter: readings of the :FORM:ELEM elements, trigger model, data store."""

    identity = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4107521,C30   Mar 17 2006 09:29:29/A02  /K/J"
    model = "2400"
    default_sense = ("VOLT", "CURR")  # voltage is always reported in the reading
    #: The 2400 reads a range back as its full scale (2400 manual, section 18, :SENSe and :SOURce
    #: RANGe queries; pymeasure's test_keithley2400_with_device.py reads 1.05e-4, 21, 2.1e5 after
    #: *RST and 0.0105 A, 2.1 V, 2100 ohm as set).
    range_readback = {"CURR": 1.05, "VOLT": 1.05, "RES": 1.05}

    #: The power-on setup (2400 manual, :SYSTem:POSetup: RST, PRESet or a saved setup SAV0-SAV4).
    #: The simulated bench's 2400s power up in their saved setup SAV0, a current source at 0 A
    #: with the *RST compliance (what the bench's other tests and tools meet at power-on); *RST
    #: itself gives the manual's 0 V voltage source.
    power_on_setup = "SAV0"

    def __init__(self, lab: Any, role: str) -> None:
        super().__init__(lab, role)
        self._init_trigger_model()
        self._register_trigger_model()
        if self.power_on_setup == "SAV0":
            self.function = "CURR"
            self._push()
        c = self.command
        c([":SYSTem:POSetup"], self._power_on_setup)
        c(["[:SENSe]:VOLTage[:DC]:PROTection[:LEVel]"], self._compliance_voltage(-MAX_VOLTAGE_V))
        c(["[:SENSe]:CURRent[:DC]:PROTection[:LEVel]"], self._compliance_current())
        c(["[:SENSe]:VOLTage[:DC]:PROTection:TRIPped", "[:SENSe]:CURRent[:DC]:PROTection:TRIPped"], self._tripped)
        c(["[:SENSe]:FUNCtion:ALL"], lambda a, q: self._select_sense(["VOLT", "CURR", "RES"]))
        c(["[:SENSe]:FUNCtion:OFF:ALL"], lambda a, q: self.sense_functions.clear())
        c(["[:SENSe]:FUNCtion:CONCurrent"], self._flag("CONC", True))
        c([":SOURce:CLEar:AUTO"], self._auto_output_off)
        c([":SOURce:CLEar[:IMMediate]"], lambda a, q: self._output("0", False))
        c([":FORMat[:ELEMents][:SENSe[1]]"], self._elements)
        c([":FORMat[:DATA]"], self._stored("DATA", "ASC", ("ASCii", "REAL", "SREal")))
        c([":SOURce:DELay"], self._source_delay)
        c([":SOURce:DELay:AUTO"], self._source_delay_auto)
        # pymeasure's newer driver spells the node STATus; its device test passes on a real 2400
        c([":SYSTem:AZERo[:STATe]", ":SYSTem:AZERo:STATus"], self._auto_zero)
        c([":OUTPut:SMODe"], self._off_state)
        c(["[:SENSe]:AVERage[:STATe]"], self._flag("AVER", False))
        c(["[:SENSe]:AVERage:TCONtrol"], self._stored("TCON", "REP", ("REPeat", "MOVing")))
        c(["[:SENSe]:AVERage:COUNt"], self._filter_count)
        c([":SYSTem:RSENse"], self._flag("RSEN", False))
        c(["[:SENSe]:RESistance:MODE"], self._stored("RMOD", "AUTO", ("AUTO", "MANual")))
        c([":SYSTem:LFRequency:AUTO"], self._flag("LFRA", False))
        c([":MEASure[:VOLTage[:DC]]"], lambda a, q: self._measure("VOLT"))
        c([":MEASure:CURRent[:DC]"], lambda a, q: self._measure("CURR"))
        c([":MEASure:RESistance"], lambda a, q: self._measure("RES"))
        lab_listen = getattr(lab, "connect_trigger_input", None)
        if lab_listen is not None:  # the rear Trigger Link sits on the bench's trigger cable
            lab_listen(self.on_trigger_line)

    def _power_on_state(self) -> None:
        if hasattr(self, "trigger"):  # *RST returns the trigger model to idle and its defaults
            self.abort()
            self._init_trigger_model()
        super()._power_on_state()
        self.source_delay_s = RESET_SOURCE_DELAY_S
        self.elements = ELEMENTS

    # --------------------------------------------------------------- handlers
    def _output(self, argument, query):
        """Turning the output off also returns the trigger model to idle (2400 manual, section 11,
        "The SourceMeter can be returned to idle by turning the output OFF")."""
        reply = super()._output(argument, query)
        if not query and not self.output_on and self._run is not None:
            self.abort()
        return reply

    def _power_on_setup(self, argument, query):
        if query:
            return self.power_on_setup
        self.power_on_setup = _word(argument, ("RST", "PRESet", "SAV0", "SAV1", "SAV2", "SAV3", "SAV4"))

    def _auto_output_off(self, argument, query):
        if query:
            return "1" if self.auto_output_off else "0"
        self.auto_output_off = boolean(argument)

    def _elements(self, argument, query):
        if query:
            return ",".join(self.elements)
        self.elements = parse_elements(argument)

    def _auto_zero(self, argument, query):
        if query:
            return self.settings.get("AZER", "1")
        if (argument or "").strip().upper() == "ONCE":  # one reference and one zero conversion now, then off
            self.clock.sleep(2 * (self.nplc / self.lab.wiring.line_frequency_hz + AD_CONVERSION_OVERHEAD_S))
            self.settings["AZER"] = "0"
            return None
        self.settings["AZER"] = "1" if boolean(argument) else "0"

    def _filter_count(self, argument, query):
        from .keithley_base import _value
        if query:
            return self.settings.get("ACOU", "10")
        self.settings["ACOU"] = str(int(_value(argument, 1, 100)))

    # ---------------------------------------------------------------- reading
    def reading_now(self) -> Reading:
        """One measure action as a 2400 reading (all five elements, before :FORM:ELEM)."""
        raw: RawReading = self.measure_action()
        voltage_v = OVERFLOW if raw.overflow else raw.voltage_v
        if "VOLT" not in self.sense_functions and self.function != "VOLT":
            voltage_v = NOT_MEASURED
        current_a = raw.current_a
        if "CURR" not in self.sense_functions and self.function != "CURR":
            current_a = NOT_MEASURED
        resistance = NOT_MEASURED
        if "RES" in self.sense_functions and raw.current_a and not raw.overflow:
            resistance = raw.voltage_v / raw.current_a
        status = status_word(
            overflow=raw.overflow, filter_on=self.settings.get("AVER") == "1",
            front=self.settings.get("TERM", "FRON").upper().startswith("FRON"), compliance=raw.compliance,
            auto_ohms=self.settings.get("RMOD", "AUTO") == "AUTO", functions=self.sense_functions,
            source=self.function, range_compliance=raw.range_compliance, remote_sense=self.settings.get("RSEN") == "1")
        reading = Reading(voltage_v, current_a, resistance, self.clock.now_s() - self.time_zero_s, status)
        if self.role == "read_source" and not raw.overflow and voltage_v != NOT_MEASURED:
            self.integrated(*self.last_window_s, lambda after: self._disturb(reading, after))
        return reading

    def _disturb(self, reading: Reading, fraction_after: float) -> None:
        """A source stepped during ``reading``'s integration: the A/D converter averaged both levels."""
        after = self._read_lab()
        reading.voltage_v = (1.0 - fraction_after) * reading.voltage_v + fraction_after * after.voltage_v

    def _measure(self, function: str) -> str | None:
        """:MEASure:<function>? = :ABORt, :CONFigure:<function> (function on, one immediate pass,
        no trigger delay, output on), :READ? (2400 manual, :MEASure and :CONFigure)."""
        self.abort()
        self._select_sense([function])
        t = self.trigger
        t.arm_count = t.trigger_count = 1
        t.arm_source = t.trigger_source = "IMM"
        t.trigger_delay_s = 0.0
        if not self.output_on:
            self._output("1", False)
        return self.read_query(None, True)


class Keithley2450Emulator(KeithleySourceMeterEmulator):
    """Keithley 2450 SourceMeter (SCPI mode): one value per reading, :SOUR:CURR:VLIM."""

    identity = "KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.6.7c"
    model = "2450"
    default_sense = ("CURR",)  # *RST measures current (2450 manual, :SENSe:FUNCtion default)
    current_ranges_a = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    voltage_ranges_v = (0.02, 0.2, 2.0, 20.0, 200.0)
    resistance_ranges_ohm = (2.0, 20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)

    def __init__(self, lab: Any, role: str) -> None:
        super().__init__(lab, role)
        c = self.command
        c([":SOURce:CURRent:VLIMit[:LEVel]"], self._compliance_voltage(0.02))
        c([":SOURce:VOLTage:ILIMit[:LEVel]"], self._compliance_current(1e-9))
        c([":SOURce:CURRent:VLIMit[:LEVel]:TRIPped", ":SOURce:VOLTage:ILIMit[:LEVel]:TRIPped"], self._tripped)
        for node in ("CURRent", "VOLTage"):
            c([f":SOURce:{node}:DELay"], self._source_delay_2450)
            c([f":SOURce:{node}:DELay:AUTO"], self._source_delay_auto)
        c([":OUTPut:CURRent:SMODe"], self._off_state_2450("CURR"))
        c([":OUTPut:VOLTage:SMODe"], self._off_state_2450("VOLT"))
        for key, node in (("C", "CURRent[:DC]"), ("V", "VOLTage[:DC]")):
            c([f"[:SENSe]:{node}:AVERage[:STATe]"], self._flag(f"{key}AVER", False))
            c([f"[:SENSe]:{node}:AVERage:TCONtrol"], self._stored(f"{key}TCON", "REP", ("REPeat", "MOVing")))
            c([f"[:SENSe]:{node}:AVERage:COUNt"], self._stored(f"{key}COU", "10"))
        c(["[:SENSe]:RESistance:RSENse"], self._flag("RSEN", False))
        c([":TRACe:POINts"], self._stored("TPOI", "100000"))
        c([":READ"], lambda a, q: self._measure(None))
        c([":MEASure[:VOLTage[:DC]]"], lambda a, q: self._measure("VOLT"))
        c([":MEASure:CURRent[:DC]"], lambda a, q: self._measure("CURR"))
        c([":MEASure:RESistance"], lambda a, q: self._measure("RES"))
        c([":SOURce:CLEar:AUTO"], self._stored("CLEA", "0"))
        c([":INITiate[:IMMediate]", ":ABORt", "*TRG", ":TRACe:CLEar", ":TRACe:FEED", ":TRACe:FEED:CONTrol",
           "*SRE", "*STB", ":STATus:MEASurement:ENABle"], self._accept)

    def _select_sense(self, functions: list[str]) -> None:
        self.sense_functions = [functions[-1]]  # one measure function at a time

    def check_output_for_reading(self) -> None:
        """The 2450 measures with its output off too (no +803 in its SCPI error list): it reads the
        terminals as the output-off state leaves them."""

    def _source_delay_2450(self, argument, query):
        from .keithley_base import _value
        if query:
            return _fmt(self.source_delay_s)
        self.source_delay_s = _value(argument, 0.0, MAX_DELAY_2450_S)
        self.source_delay_auto = False

    def _off_state_2450(self, kind: str):
        """Each source function keeps its own output-off state (2450 manual, :OUTPut:<function>:SMODe)."""
        def handler(argument, query):
            if query:
                return self.settings.get(f"{kind}SMOD", "NORM")
            active = self.off_state
            self._off_state(argument, False)
            self.settings[f"{kind}SMOD"] = self.off_state
            if kind != self.function:
                self.off_state = active
        return handler

    def _measure(self, function: str | None) -> str:
        """The measure function's value alone (:MEAS:<f>? selects it first)."""
        if function is not None:
            self._select_sense([function])
        raw = self.measure_action()
        shown = self.sense_functions[0]
        if shown == "VOLT":
            value = OVERFLOW if raw.overflow else raw.voltage_v
        elif shown == "CURR":
            value = raw.current_a
        else:
            value = raw.voltage_v / raw.current_a if raw.current_a and not raw.compliance else OVERFLOW
        return _fmt(value)


# the names tests and callers read from this module
__all__ = ["Keithley2400Emulator", "Keithley2450Emulator", "KeithleySourceMeterEmulator",
           "ROLES", "ScpiError"]
