"""Emulated Lake Shore 425 gaussmeter whose Hall probe sits at the chip.

It answers what pymeasure's ``LakeShore425`` sends. It reads the field at the
chip (:meth:`.VirtualLab.field_oe`) plus Gaussian probe noise (0.01 Oe rms),
in the selected unit, at the resolution of the range (full scale / 35000).

Facts from the manual (Lake Shore Model 425 User's Manual, chapter 6,
section 6.3.1 "Interface commands"), each implemented here:

- ``RDGFIELD?`` and the other field readings use the format ``±nnn.nnnE±nn``
  (also pymeasure tests/instruments/lakeshore/test_lakeshore425.py,
  ``test_field``: "+123.456E-01"). See :func:`lakeshore_number`.
- ``UNIT``: 1 = gauss, 2 = tesla, 3 = oersted, 4 = ampere/metre.
- ``RANGE``: 1..4 = 35 G, 350 G, 3.5 kG, 35 kG (pymeasure's driver maps the same).
- ``RDGMODE <mode>,<filter>,<band>`` and its query ``n,n,n``.
- The 425 has no SCPI error queue: an unknown command sets bit 5 (command
  error) and a bad parameter bit 4 (execution error) of the standard event
  status register, read and cleared by ``*ESR?`` (IEEE 488.2).

Power-on choices of the emulator (documented, not the real instrument's
guaranteed state): gauss, autorange, DC wideband, no probe zero offset.
"""

from __future__ import annotations

import math

import numpy as np

from ..scpi import DATA_OUT_OF_RANGE, ILLEGAL_PARAMETER, UNDEFINED_HEADER, ScpiEmulator, boolean, number

#: Probe noise of the gaussmeter reading, Oe rms.
PROBE_NOISE_OE = 0.01
#: Lake Shore 425 ranges (index -> full scale in gauss) and counts of full scale.
LS425_RANGES_G = {1: 35.0, 2: 350.0, 3: 3500.0, 4: 35000.0}
LS425_COUNTS = 35000
#: UNIT index -> (name, reading per gauss). In air 1 G = 1 Oe; 1 Oe = 1000/(4 pi) A/m.
LS425_UNITS = {1: ("G", 1.0), 2: ("T", 1e-4), 3: ("Oe", 1.0), 4: ("A/m", 1000.0 / (4.0 * math.pi))}


def lakeshore_number(value: float) -> str:
    """``value`` in the 425's ``±nnn.nnnE±nn`` format: six digits, three before the point.

    12.3456 -> ``+123.456E-01`` (the manual's example, as pymeasure's test
    transcribes it); zero, which the manual does not show, is ``+000.000E+00``.
    """
    if value == 0 or not math.isfinite(value):
        return "+000.000E+00"
    exponent = math.floor(math.log10(abs(value))) - 2
    mantissa = round(abs(value) / 10.0 ** exponent, 3)
    if mantissa >= 1000.0:  # 999.9996 rounds up to the next decade
        exponent += 1
        mantissa = round(abs(value) / 10.0 ** exponent, 3)
    sign = "-" if value < 0 else "+"
    return f"{sign}{mantissa:07.3f}E{exponent:+03d}"


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
        #: Probe noise (Oe rms); a test may set 0 for an exactly known reading. Not changed by *RST.
        self.probe_noise_oe = getattr(self, "probe_noise_oe", PROBE_NOISE_OE)

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
        noise = self.probe_noise_oe * self.rng.standard_normal()
        if self.mode[0] != 1:  # RMS / peak of the AC part: a static field shows only the noise
            return abs(noise)
        return self.probe_gain * self.lab.field_oe() + self.probe_offset_oe - self.zero_offset_oe + noise

    def _field(self, argument, query):
        field_g = self.field_g()
        if self.autorange:
            self.range_index = next((i for i, fs in LS425_RANGES_G.items() if abs(field_g) <= fs), 4)
        full_scale = LS425_RANGES_G[self.range_index]
        field_g = max(-full_scale, min(full_scale, field_g))  # over range: pinned at full scale
        counts = round(field_g * LS425_COUNTS / full_scale)  # the range's resolution: full scale / 35000
        _, per_gauss = LS425_UNITS[self.unit]
        return lakeshore_number(counts * full_scale / LS425_COUNTS * per_gauss)
