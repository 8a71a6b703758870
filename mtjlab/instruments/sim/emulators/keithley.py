"""Keithley 2400 and 2450 SourceMeter emulators over the virtual lab.

Each answers the SCPI subset pymeasure's ``Keithley2400`` / ``Keithley2450`` drivers send (identity,
reset, source function, level, ranges, compliance, NPLC, output, measurements, errors, the
housekeeping of ``reset``/``shutdown``), so ``Keithley2400(EmulatorAdapter(emulator))`` runs the
real driver unchanged.

``role`` says which source-meter of the bench it is: ``"read_source"`` forces its current through
the routed junction (:meth:`VirtualLab.set_read_source`, readings from
:meth:`VirtualLab.read_voltage_v`), ``"input_source"`` drives the routed row's field line
(:meth:`VirtualLab.set_input_source`, readings from :meth:`VirtualLab.input_voltage_v`).

Modelled: current sourcing (±1.05 A; a level beyond the instrument's range or the fixed source range
is refused with -222 and changes nothing), voltage compliance (the reading sits at the compliance
value and the compliance flag is raised), NPLC (0.01..10; the read source's NPLC sets the lab's
noise bandwidth), the integration time of each reading on the virtual clock (NPLC / line frequency +
:data:`READING_OVERHEAD_S`). Voltage sourcing is accepted (function, level, range, current
compliance are stored and read back) but the lab models only current-driven junctions: turning the
output on in voltage mode, or changing function with the output on, is refused with -221 "Settings
conflict" rather than simulated wrongly.
"""

from __future__ import annotations

from typing import Any

from ..scpi import boolean
from .keithley_base import (MAX_VOLTAGE_V, NOT_MEASURED, OVERFLOW, READING_OVERHEAD_S, ROLES, STATUS_COMPLIANCE,
                            STATUS_FRONT, STATUS_OVERFLOW, KeithleySourceMeterEmulator, _fmt)


class Keithley2400Emulator(KeithleySourceMeterEmulator):
    """Keithley 2400 SourceMeter: 5-element readings, :SENS:VOLT:PROT compliance."""

    identity = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4107521,C30   Mar 17 2006 09:29:29/A02  /K/J"
    model = "2400"
    default_sense = ("VOLT", "CURR")  # voltage is always reported in the reading

    def __init__(self, lab: Any, role: str) -> None:
        super().__init__(lab, role)
        c = self.command
        c(["[:SENSe]:VOLTage[:DC]:PROTection[:LEVel]"], self._compliance_voltage(-MAX_VOLTAGE_V))
        c(["[:SENSe]:CURRent[:DC]:PROTection[:LEVel]"], self._compliance_current)
        c(["[:SENSe]:VOLTage[:DC]:PROTection:TRIPped"], self._tripped)
        c(["[:SENSe]:FUNCtion:ALL"], lambda a, q: self._select_sense(["VOLT", "CURR", "RES"]))
        c(["[:SENSe]:FUNCtion:CONCurrent"], self._stored("CONC", "1"))
        c([":SOURce:CLEar:AUTO"], self._auto_output_off)
        c([":FORMat[:ELEMents][:SENSe]"], self._stored("ELEM", "VOLT,CURR,RES,TIME,STAT"))
        c([":FORMat[:DATA]"], self._stored("DATA", "ASC"))
        for key, template, default in (
            ("DEL", ":SOURce:DELay", "0.000000E+00"), ("DELA", ":SOURce:DELay:AUTO", "1"),
            ("AZER", ":SYSTem:AZERo[:STATe]", "1"), ("SMOD", ":OUTPut:SMODe", "NORM"),
            ("AVER", "[:SENSe]:AVERage[:STATe]", "0"), ("TCON", "[:SENSe]:AVERage:TCONtrol", "REP"),
            ("ACOU", "[:SENSe]:AVERage:COUNt", "10"), ("RSEN", ":SYSTem:RSENse", "0"),
            ("RMOD", "[:SENSe]:RESistance:MODE", "MAN"), ("LFRA", ":SYSTem:LFRequency:AUTO", "0"),
        ):
            c([template], self._stored(key, default))

    def _auto_output_off(self, argument, query):
        if query:
            return "1" if self.auto_output_off else "0"
        self.auto_output_off = boolean(argument)

    def _measure(self, function: str | None) -> str:
        """``volt,curr,res,time,status`` (unmeasured values are 9.91e37, the 2400's NAN)."""
        if function is not None:
            self._select_sense([function])
        voltage_v, current_a, compliance, overflow = self.take_reading()
        if overflow:
            voltage_v = OVERFLOW
        resistance = NOT_MEASURED
        if "RES" in self.sense_functions and current_a and not overflow and not compliance:
            resistance = voltage_v / current_a
        status = STATUS_FRONT if self.settings.get("TERM", "FRON").upper().startswith("FRON") else 0
        status |= (STATUS_COMPLIANCE if compliance else 0) | (STATUS_OVERFLOW if overflow else 0)
        elapsed_s = self.clock.now_s() - self.time_zero_s
        return ",".join(_fmt(v) for v in (voltage_v, current_a, resistance, elapsed_s, float(status)))


class Keithley2450Emulator(KeithleySourceMeterEmulator):
    """Keithley 2450 SourceMeter (SCPI mode): one value per reading, :SOUR:CURR:VLIM."""

    identity = "KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.6.7c"
    model = "2450"
    current_ranges_a = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    voltage_ranges_v = (0.02, 0.2, 2.0, 20.0, 200.0)

    def __init__(self, lab: Any, role: str) -> None:
        super().__init__(lab, role)
        c = self.command
        c([":SOURce:CURRent:VLIMit[:LEVel]"], self._compliance_voltage(0.02))
        c([":SOURce:VOLTage:ILIMit[:LEVel]"], self._compliance_current)
        c([":SOURce:CURRent:VLIMit[:LEVel]:TRIPped"], self._tripped)
        for key, template, default in (
            ("CDEL", ":SOURce:CURRent:DELay", "0.000000E+00"), ("CDELA", ":SOURce:CURRent:DELay:AUTO", "1"),
            ("VDEL", ":SOURce:VOLTage:DELay", "0.000000E+00"), ("VDELA", ":SOURce:VOLTage:DELay:AUTO", "1"),
            ("CSMOD", ":OUTPut:CURRent:SMODe", "NORM"), ("VSMOD", ":OUTPut:VOLTage:SMODe", "NORM"),
            ("CAVER", "[:SENSe]:CURRent[:DC]:AVERage[:STATe]", "0"),
            ("CTCON", "[:SENSe]:CURRent[:DC]:AVERage:TCONtrol", "REP"),
            ("CCOU", "[:SENSe]:CURRent[:DC]:AVERage:COUNt", "10"),
            ("VAVER", "[:SENSe]:VOLTage[:DC]:AVERage[:STATe]", "0"),
            ("VTCON", "[:SENSe]:VOLTage[:DC]:AVERage:TCONtrol", "REP"),
            ("VCOU", "[:SENSe]:VOLTage[:DC]:AVERage:COUNt", "10"),
            ("RSEN", "[:SENSe]:RESistance:RSENse", "0"),
        ):
            c([template], self._stored(key, default))

    def _select_sense(self, functions: list[str]) -> None:
        self.sense_functions = [functions[-1]]  # one measure function at a time

    def _measure(self, function: str | None) -> str:
        """The measure function's value alone (:MEAS:<f>? selects it first)."""
        if function is not None:
            self._select_sense([function])
        voltage_v, current_a, compliance, overflow = self.take_reading()
        shown = self.sense_functions[0]
        if shown == "VOLT":
            value = OVERFLOW if overflow else voltage_v
        elif shown == "CURR":
            value = current_a
        else:
            value = voltage_v / current_a if current_a and not compliance else OVERFLOW
        return _fmt(value)


# the constants tests and callers read from this module
__all__ = ["Keithley2400Emulator", "Keithley2450Emulator", "KeithleySourceMeterEmulator", "READING_OVERHEAD_S",
           "ROLES"]
