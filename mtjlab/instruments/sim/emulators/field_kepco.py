"""Emulated Kepco BOP 36-6M bipolar supply (BIT 4886 interface) driving the field coil.

It answers what pymeasure's ``KepcoBOP3612`` sends. Current mode drives the
coil: the coil current follows the set-point with the coil's L/R time constant
(:meth:`.VirtualLab.set_coil`), limited to what the voltage limit can push
through the coil resistance.

Facts from the manuals, each implemented here:

- Numbers are returned in scientific notation, "digits with decimal point and
  Exponent, e.g., 2.71E1 for 27.1" (Kepco BIT 4886 Operator Manual, Appendix B,
  PAR. B.2 "Numerical values"). See :func:`kepco_number` for the digits.
- ``CURR? MAX`` returns the maximum positive current of the model, ``CURR? MIN``
  the minimum (always negative) one; ``VOLT? MAX``/``VOLT? MIN`` likewise for
  voltage (Kepco BOP operator manual, Appendix B, ``[SOURce:]CURRent[:LEVel]
  [:IMMediate][:AMPlitude]?`` and ``[SOURce:]VOLTage...?`` queries).
- A value beyond the model's range posts -222 "Data out of range" in the error
  queue and changes nothing (BIT 4886 manual, PAR. B.2; BOP manual, ``CURR``
  command). ``MIN``/``MAX`` are accepted as values of ``CURR``/``VOLT``.
- ``FUNC:MODE?`` answers 0 for voltage mode and 1 for current mode; ``OUTP?``
  0 or 1 (BOP manual, Appendix B, ``OUTPut[:STATe]?``; pymeasure's driver
  ``kepcobop.py`` maps the same values).

Power-on choices of the emulator (documented, not the real instrument's
guaranteed state): output off, voltage mode, current set-point zero, voltage
set-point at the full 36 V.
"""

from __future__ import annotations

from ..scpi import ILLEGAL_PARAMETER, ScpiEmulator, boolean, number

#: Rated output of the BOP 36-6M: +-6 A, +-36 V (the model name; Kepco BOP manual, specifications).
BOP_MAX_CURRENT_A = 6.0
BOP_MAX_VOLTAGE_V = 36.0

#: Resolution of the numbers the supply returns. Inferred from the replies on
#: record, all consistent with a fixed 10 uA / 100 uV step printed in full:
#: "VOLT 14;VOLT? may return 1.39997E1" (BIT 4886 manual, PAR. B.2: 1e-4 V);
#: pymeasure tests/instruments/kepco/test_kepcobop.py, replies of a real BOP
#: 36-12: "9.989E-2" and "4.99E-3" A (1e-5 A), "1.000E-1" and "8.0E-3" V (1e-4 V).
BOP_CURRENT_RESOLUTION_EXP = -5
BOP_VOLTAGE_RESOLUTION_EXP = -4


def kepco_number(value: float, resolution_exp: int) -> str:
    """``value`` as the BIT 4886 prints it: mantissa with a decimal point, ``E`` and the exponent.

    The value is rounded to ``10**resolution_exp`` and every digit down to that
    step is printed: 0.1 V -> ``1.000E-1``, 0.008 V -> ``8.0E-3``, 13.9997 V ->
    ``1.39997E1``; the exponent carries no ``+`` and no leading zeros ("2.71E1",
    manual PAR. B.2). Zero, which no example on record shows, is ``0.0E0``.
    """
    counts = round(value * 10.0 ** (-resolution_exp))
    if counts == 0:
        return "0.0E0"
    digits = str(abs(counts))
    exponent = len(digits) - 1 + resolution_exp
    sign = "-" if counts < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _limit_query(argument: str | None, low: float, high: float) -> float | None:
    """The value a ``MIN``/``MAX`` query argument asks for; None for a plain query."""
    if argument is None:
        return None
    words = {"MIN": low, "MINIMUM": low, "MAX": high, "MAXIMUM": high}
    if argument.strip().upper() not in words:
        raise ILLEGAL_PARAMETER
    return words[argument.strip().upper()]


class KepcoBOPEmulator(ScpiEmulator):
    """Kepco BOP 36-6M bipolar supply driving the field coil (SCPI, error queue)."""

    identity = "KEPCO,BOP 36-6M,E1234,2.05"

    def __init__(self, lab) -> None:
        super().__init__(lab.clock)
        self.lab = lab
        self.reset()
        self.command(["[:SOURce]:FUNCtion:MODE"], self._mode)
        self.command(["[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPlitude]"], self._current)
        self.command(["[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPlitude]"], self._voltage)
        self.command([":OUTPut[:STATe]"], self._output)
        self.command([":MEASure[:SCALar]:CURRent[:DC]"],
                     lambda arg, query: kepco_number(self.lab.coil_current_a(), BOP_CURRENT_RESOLUTION_EXP))
        self.command([":MEASure[:SCALar]:VOLTage[:DC]"],
                     lambda arg, query: kepco_number(self.coil_voltage_v(), BOP_VOLTAGE_RESOLUTION_EXP))
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
            limit = _limit_query(argument, -BOP_MAX_CURRENT_A, BOP_MAX_CURRENT_A)
            value = self.current_a if limit is None else limit
            return kepco_number(value, BOP_CURRENT_RESOLUTION_EXP)
        self.current_a = number(argument, -BOP_MAX_CURRENT_A, BOP_MAX_CURRENT_A)
        self._apply()

    def _voltage(self, argument, query):
        if query:
            limit = _limit_query(argument, -BOP_MAX_VOLTAGE_V, BOP_MAX_VOLTAGE_V)
            value = self.voltage_v if limit is None else limit
            return kepco_number(value, BOP_VOLTAGE_RESOLUTION_EXP)
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
