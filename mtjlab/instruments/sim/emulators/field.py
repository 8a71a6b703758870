"""Emulated field hardware: the coil's bipolar supply and the gaussmeter.

- :class:`KepcoBOPEmulator`: a Kepco BOP 36-6M (BIT 4886 interface) answering
  what pymeasure's ``KepcoBOP3612`` sends. Current mode drives the coil:
  the coil current follows the set-point with the coil's L/R time constant
  (:meth:`.VirtualLab.set_coil`), limited to what the voltage limit can push
  through the coil resistance. A set-point beyond +-6 A (or +-36 V) puts
  -222 in the SCPI error queue and changes nothing.
- :class:`LakeShore425Emulator`: a Lake Shore 425 gaussmeter answering what
  pymeasure's ``LakeShore425`` sends. It reads the field at the chip
  (:meth:`.VirtualLab.field_oe`) plus Gaussian probe noise (0.01 Oe rms), in
  the selected unit, at the resolution of the range (full scale / 35000).

Power-on choices of the emulators (documented, not the real instruments'
guaranteed state): the BOP's voltage limit is its full 36 V; the gaussmeter
is on autorange in DC mode.
"""

from __future__ import annotations

import math

import numpy as np

from ..scpi import DATA_OUT_OF_RANGE, ILLEGAL_PARAMETER, UNDEFINED_HEADER, ScpiEmulator, boolean, number

BOP_MAX_CURRENT_A = 6.0
BOP_MAX_VOLTAGE_V = 36.0
#: Probe noise of the gaussmeter reading, Oe rms.
PROBE_NOISE_OE = 0.01
#: Lake Shore 425 ranges (index -> full scale in gauss) and counts of full scale.
LS425_RANGES_G = {1: 35.0, 2: 350.0, 3: 3500.0, 4: 35000.0}
LS425_COUNTS = 35000
#: UNIT index -> (name, reading per gauss). In air 1 G = 1 Oe; 1 Oe = 1000/(4 pi) A/m.
LS425_UNITS = {1: ("G", 1.0), 2: ("T", 1e-4), 3: ("Oe", 1.0), 4: ("A/m", 1000.0 / (4.0 * math.pi))}


class KepcoBOPEmulator(ScpiEmulator):
    """Kepco BOP 36-6M bipolar supply driving the field coil (SCPI, error queue)."""

    identity = "KEPCO,BOP 36-6M,E1234,2.05"

    def __init__(self, lab) -> None:
        super().__init__(lab.clock)
        self.lab = lab
        self.reset()
        self.command(["[:SOURce]:FUNCtion:MODE"], self._mode)
        self.command(["[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]"], self._current)
        self.command(["[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]"], self._voltage)
        self.command([":OUTPut[:STATe]"], self._output)
        self.command([":MEASure[:SCALar]:CURRent[:DC]"], lambda arg, query: f"{self.lab.coil_current_a():.6g}")
        self.command([":MEASure[:SCALar]:VOLTage[:DC]"], lambda arg, query: f"{self.coil_voltage_v():.6g}")
        self.command([":SYSTem:BEEP", "*WAI"], lambda arg, query: None)
        self.command(["*TST", ":DIAGnostic:TST"], lambda arg, query: "0")

    def reset(self) -> None:
        """*RST: output off, voltage mode, current set-point zero, full voltage limit."""
        self.current_mode = False
        self.current_a = 0.0
        self.voltage_v = BOP_MAX_VOLTAGE_V
        self.output_on = False
        self._apply()

    # ------------------------------------------------------------- commands
    def _mode(self, argument, query):
        if query:
            return "1" if self.current_mode else "0"
        modes = {"CURR": True, "CURRENT": True, "VOLT": False, "VOLTAGE": False}
        if argument is None or argument.upper() not in modes:
            raise ILLEGAL_PARAMETER
        self.current_mode = modes[argument.upper()]
        self._apply()

    def _current(self, argument, query):
        if query:
            return f"{self.current_a:.6g}"
        self.current_a = number(argument, -BOP_MAX_CURRENT_A, BOP_MAX_CURRENT_A)
        self._apply()

    def _voltage(self, argument, query):
        if query:
            return f"{self.voltage_v:.6g}"
        self.voltage_v = number(argument, -BOP_MAX_VOLTAGE_V, BOP_MAX_VOLTAGE_V)
        self._apply()

    def _output(self, argument, query):
        if query:
            return "1" if self.output_on else "0"
        self.output_on = boolean(argument)
        self._apply()

    # -------------------------------------------------------------- physics
    def target_current_a(self) -> float:
        """The coil current the supply settles to with the present settings (A)."""
        resistance = self.lab.wiring.coil_resistance_ohm
        if self.current_mode:  # the voltage limit caps the current through the coil
            limit = abs(self.voltage_v) / resistance
            return max(-limit, min(limit, self.current_a))
        limit = abs(self.current_a)  # voltage mode: the current set-point is the compliance
        return max(-limit, min(limit, self.voltage_v / resistance))

    def coil_voltage_v(self) -> float:
        """Voltage across the coil: R I + L dI/dt (V)."""
        if not self.output_on:
            return 0.0
        wiring = self.lab.wiring
        current = self.lab.coil_current_a()
        target = self.target_current_a()
        return wiring.coil_resistance_ohm * current + wiring.coil_inductance_h * (target - current) / self.lab.coil_tau_s

    def _apply(self) -> None:
        coil = self.lab.coil
        target = self.target_current_a()
        if coil.setpoint_a != target or coil.output_on != self.output_on:
            self.lab.set_coil(target, self.output_on)


class LakeShore425Emulator(ScpiEmulator):
    """Lake Shore 425 gaussmeter whose Hall probe sits at the chip."""

    identity = "LSCI,MODEL425,LSA1234,1.4"

    def __init__(self, lab, seed: int = 425) -> None:
        super().__init__(lab.clock)
        self.lab = lab
        self.rng = np.random.default_rng(seed)
        # no SCPI error queue: errors set the standard event status byte
        self._commands = [c for c in self._commands if not c.regex.match("SYST:ERR")]
        self.esr = 0
        self.reset()
        self.command(["*ESR"], self._esr)
        self.command(["RDGFIELD"], self._field)
        self.command(["UNIT"], self._unit)
        self.command(["RANGE"], self._range)
        self.command(["AUTO"], self._auto)
        self.command(["RDGMODE"], self._reading_mode)
        self.command(["ZPROBE"], self._zero_probe)
        self.command(["ZCLEAR"], self._zero_clear)

    def reset(self) -> None:
        """*RST: gauss, autorange, DC wideband, no probe zero offset."""
        self.unit = 1
        self.range_index = 4
        self.autorange = True
        self.mode = (1, 0, 1)
        self.zero_offset_oe = 0.0
        #: A probe that lies, for tests: its reading is ``probe_gain * B + probe_offset_oe``
        #: (gain 0.5: a wrong sensitivity; -1: mounted reversed). Not changed by *RST.
        self.probe_gain = getattr(self, "probe_gain", 1.0)
        self.probe_offset_oe = getattr(self, "probe_offset_oe", 0.0)

    def push_error(self, code: int, message: str) -> None:
        self.esr |= 1 << (5 if code == UNDEFINED_HEADER.code else 4)

    def _esr(self, argument, query):
        value, self.esr = self.esr, 0
        return str(value)

    # ------------------------------------------------------------- commands
    def _unit(self, argument, query):
        if query:
            return str(self.unit)
        self.unit = int(number(argument, 1, 4))

    def _range(self, argument, query):
        if query:
            return str(self.range_index)
        self.range_index = int(number(argument, 1, 4))
        self.autorange = False

    def _auto(self, argument, query):
        if query:
            return "1" if self.autorange else "0"
        self.autorange = True if argument is None else boolean(argument)

    def _reading_mode(self, argument, query):
        if query:
            return ",".join(str(v) for v in self.mode)
        parts = [int(p) for p in (argument or "").split(",")]
        if len(parts) != 3:
            raise ILLEGAL_PARAMETER
        mode, dc_filter, band = parts
        if mode not in (1, 2, 3) or dc_filter not in (0, 1) or band not in (1, 2):
            raise DATA_OUT_OF_RANGE
        self.mode = (mode, dc_filter, band)

    def _zero_probe(self, argument, query):
        """Zero the probe where it is: the present field becomes the zero (use a zero-gauss chamber)."""
        self.zero_offset_oe = self.lab.field_oe()

    def _zero_clear(self, argument, query):
        self.zero_offset_oe = 0.0

    # -------------------------------------------------------------- reading
    def field_g(self) -> float:
        """The probe's field reading in gauss (noise included, before range limits)."""
        noise = PROBE_NOISE_OE * self.rng.standard_normal()
        if self.mode[0] != 1:  # RMS / peak of the AC part: a static field shows only the noise
            return abs(noise)
        return self.probe_gain * self.lab.field_oe() + self.probe_offset_oe - self.zero_offset_oe + noise

    def _field(self, argument, query):
        field_g = self.field_g()
        if self.autorange:
            self.range_index = next((i for i, fs in LS425_RANGES_G.items() if abs(field_g) <= fs), 4)
        full_scale = LS425_RANGES_G[self.range_index]
        field_g = max(-full_scale, min(full_scale, field_g))  # over range: pinned at full scale
        resolution = full_scale / LS425_COUNTS
        field_g = round(field_g / resolution) * resolution
        _, per_gauss = LS425_UNITS[self.unit]
        return f"{field_g * per_gauss:+.6g}"
