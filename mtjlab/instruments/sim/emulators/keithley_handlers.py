"""SCPI handlers both Keithley emulators share: each turns a command or query into a change of
the emulator's state (:class:`.keithley_base.KeithleySourceMeterEmulator`) or its reply.

A handler is ``handler(argument_or_None, is_query) -> reply_or_None``
(:meth:`..scpi.ScpiEmulator.command`); an ``ScpiError`` it raises goes to the error queue.
"""

from __future__ import annotations

from typing import Any

from ..scpi import ScpiError, boolean

ILLEGAL = ScpiError(-224, "Illegal parameter value")
CONFLICT = ScpiError(-221, "Settings conflict")


class KeithleyHandlers:
    """Mixin of :class:`.keithley_base.KeithleySourceMeterEmulator` (uses its state and helpers)."""

    def _stored(self, key: str, default: str, words: tuple[str, ...] | None = None) -> Any:
        """A setting read back as sent (as its short form if ``words`` lists the allowed ones)
        that changes no physics."""
        def handler(argument, query):
            if query:
                return self.settings.get(key, default)
            if argument is None:
                raise ILLEGAL
            value = argument.strip()
            if words is not None:
                value = _word(value, words)
            self.settings[key] = value
        return handler

    def _flag(self, key: str, default: bool) -> Any:
        """A boolean setting (1/0/ON/OFF), read back as 1 or 0."""
        def handler(argument, query):
            if query:
                return "1" if self.settings.get(key, "1" if default else "0") == "1" else "0"
            self.settings[key] = "1" if boolean(argument) else "0"
        return handler

    def _accept(self, argument, query):  # beeper and status housekeeping
        return "0" if query else None

    def _function(self, argument, query):
        if query:
            return self.function
        function = _word(argument, ("CURRent", "VOLTage"))
        if self.output_on and function != self.function:
            raise CONFLICT  # the source function does not change under a live output
        self.function = function
        self._push()

    def _level(self, kind: str):
        def handler(argument, query):
            if query:
                return _fmt(self.level_a if kind == "CURR" else self.level_v)
            self.set_level(kind, self._number(argument, kind))
        return handler

    def _number(self, argument, kind: str) -> float:
        from .keithley_base import MAX_CURRENT_A, MAX_VOLTAGE_V, _value
        limit = MAX_CURRENT_A if kind == "CURR" else MAX_VOLTAGE_V
        return _value(argument, -limit * 10, limit * 10)  # the instrument's own limit is checked after

    def _source_range(self, kind: str):
        def handler(argument, query):
            from .keithley_base import fit_range
            if query:
                return _fmt(self._full_scale(kind, self.source_range[kind]))
            new_range = fit_range(abs(self._number(argument, kind)), self._ranges(kind))
            level = self.level_a if kind == "CURR" else self.level_v
            if abs(level) > new_range * 1.05 * (1 + 1e-9):
                raise CONFLICT  # the present level would not fit
            self.source_range[kind], self.source_auto[kind] = new_range, False
        return handler

    def _auto(self, table: dict, kind: str, push: bool = False):
        def handler(argument, query):
            if query:
                return "1" if table[kind] else "0"
            table[kind] = boolean(argument)
            if push:
                self._push()  # a measure range's auto mode changes what can hold the output
        return handler

    def _sense_range(self, kind: str):
        limits = {"VOLT": 210.0, "CURR": 1.05, "RES": 210e6}

        def handler(argument, query):
            from .keithley_base import _value, fit_range
            if query:
                return _fmt(self._full_scale(kind, self.sense_range[kind]))
            value = abs(_value(argument, -limits[kind], limits[kind]))
            self.sense_range[kind] = fit_range(value, self._ranges(kind))
            self.sense_auto[kind] = False
            self._push()
        return handler

    def _compliance_voltage(self, low: float):
        def handler(argument, query):
            from .keithley_base import MAX_VOLTAGE_V, _value
            if query:
                return _fmt(self.compliance_v)
            self.compliance_v = abs(_value(argument, low, MAX_VOLTAGE_V))
            self._push()
        return handler

    def _compliance_current(self, low: float = -1.05):
        def handler(argument, query):
            from .keithley_base import MAX_CURRENT_A, _value
            if query:
                return _fmt(self.compliance_a)
            self.compliance_a = abs(_value(argument, low, MAX_CURRENT_A))
            self._push()
        return handler

    def _nplc(self, argument, query):
        from .keithley_base import _value
        if query:
            return f"{self.nplc:g}"
        self._set_nplc(_value(argument, 0.01, 10.0))

    def _output(self, argument, query):
        if query:
            return "1" if self.output_on else "0"
        self.output_on = boolean(argument)
        self._push()

    def _off_state(self, argument, query):
        from .keithley_base import OFF_STATES
        if query:
            return self.off_state
        self.off_state = _word(argument, ("NORMal", "HIMPedance", "ZERO", "GUARd"))
        assert self.off_state in OFF_STATES
        self._push()

    def _tripped(self, argument, query):  # the last reading was held by the compliance
        return "1" if self.in_compliance or self.range_compliance else "0"

    def _source_delay(self, argument, query):
        from .keithley_base import _value
        from .keithley_timing import MAX_DELAY_S
        if query:
            return _fmt(self.source_delay_s)
        self.source_delay_s = _value(argument, 0.0, MAX_DELAY_S)
        self.source_delay_auto = False  # a manual delay turns auto delay off (2400 manual, :SOURce:DELay)

    def _source_delay_auto(self, argument, query):
        if query:
            return "1" if self.source_delay_auto else "0"
        self.source_delay_auto = boolean(argument)

    def _sense_function(self, argument, query):
        if query:
            names = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}
            return ",".join(names[f] for f in self.sense_functions)
        chosen = []
        for item in (argument or "").split(","):
            name = item.strip().strip("'\"").split(":")[0].upper()
            function = next((f for f in ("VOLT", "CURR", "RES") if name.startswith(f)), None)
            if function is None or not name:
                raise ILLEGAL
            chosen.append(function)
        self._select_sense(chosen)

    def _select_sense(self, functions: list[str]) -> None:
        """2400: concurrent functions, each added; the 2450 overrides (one measure function)."""
        for function in functions:
            if function not in self.sense_functions:
                self.sense_functions.append(function)


def _word(argument: str | None, words: tuple[str, ...]) -> str:
    """A SCPI character argument as its short form: ``voltage`` or ``VOLT`` -> ``VOLT``."""
    given = (argument or "").strip().upper()
    for word in words:
        short = "".join(ch for ch in word if ch.isupper() or ch.isdigit())
        if given and given.startswith(short) and word.upper().startswith(given):
            return short
    raise ILLEGAL


def _fmt(value: float) -> str:  # the instruments' ASCII number format
    return f"{value:+.6E}"
