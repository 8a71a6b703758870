"""What the Keithley 2400 and 2450 emulators share (see :mod:`.keithley`): the source state pushed
into the virtual lab, current and voltage sourcing, compliance (real and range), the output-off
state, the measure action with its lab time, and the errors the manuals list.

The lab takes currents; a voltage source is emulated through its load (:mod:`.keithley_load`).
Ranges are kept as their nominal values (1 uA ... 1 A, 200 mV ... 200 V); a model reads them back
as its manual says (:attr:`KeithleySourceMeterEmulator.range_readback`: the 2400 answers the full
scale, 1.05 x nominal for current and resistance, 21 V for the 20 V range; the 2450 the nominal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..scpi import ScpiEmulator, ScpiError, number
from . import keithley_load
from .keithley_handlers import KeithleyHandlers
from .keithley_timing import auto_delay_s, measure_action_s

ROLES = ("read_source", "input_source")  # the roles a source-meter plays on the bench
#: The instruments' source limits (2400 and 2450 specifications), A and V.
MAX_CURRENT_A, MAX_VOLTAGE_V = 1.05, 210.0
#: Programming resolution of a source range, as a fraction of the range (2400 and 2450
#: specifications: 50 pA on 1 uA ... 5 uA on 100 mA, 50 uA on 1 A); a level is rounded to it.
SOURCE_RESOLUTION = 5e-5
#: A range holds up to this fraction of its nominal value (2400 manual, section 3 "Ranges": 105 %).
RANGE_HEADROOM = 1.05

PARAMETER_OUT_OF_RANGE = ScpiError(-222, "Parameter data out of range")
SETTINGS_CONFLICT = ScpiError(-221, "Settings conflict")
ILLEGAL_PARAMETER = ScpiError(-224, "Illegal parameter value")
#: A reading asked for with the output off (2400 manual, Appendix B, +803 "Output disabled").
OUTPUT_DISABLED = ScpiError(803, "Output disabled")
#: Output-off states (2400 manual, :OUTPut:SMODe; 2450 manual, :OUTPut:<function>:SMODe).
OFF_STATES = ("NORM", "HIMP", "ZERO", "GUAR")


def _value(argument: str | None, low: float, high: float) -> float:
    """A numeric argument in [low, high]; out of range is the Keithley's -222."""
    try:
        return number(argument, low, high)
    except ScpiError as exc:
        if exc.code == -222:
            raise PARAMETER_OUT_OF_RANGE from None
        raise


def fit_range(value: float, ranges: tuple[float, ...]) -> float:
    """The lowest nominal range that holds ``value`` (the instrument's own range choice)."""
    return next((r for r in ranges if abs(value) <= r * RANGE_HEADROOM * (1 + 1e-9)), ranges[-1])


def _fmt(value: float) -> str:  # the instruments' ASCII number format
    return f"{value:+.6E}"


@dataclass
class RawReading:
    """A measure action's values: what the source and the meter saw."""

    voltage_v: float
    current_a: float
    compliance: bool  # real compliance: the compliance limit holds the output
    range_compliance: bool  # the output is held at a fixed measure range below the compliance
    overflow: bool


class KeithleySourceMeterEmulator(KeithleyHandlers, ScpiEmulator):
    """What the 2400 and 2450 share; subclasses add their model's dialect."""

    model = ""  # "2400" or "2450"
    default_sense: tuple[str, ...] = ("CURR",)
    current_ranges_a: tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    voltage_ranges_v: tuple[float, ...] = (0.2, 2.0, 20.0, 200.0)
    resistance_ranges_ohm: tuple[float, ...] = (20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)
    #: Factor between a range as read back and its nominal value (per kind).
    range_readback: dict[str, float] = {"CURR": 1.0, "VOLT": 1.0, "RES": 1.0}

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
        """The *RST state (2400 manual, section 18 "SCPI tables", *RST column; 2450 manual, default
        values): a 0 V voltage source, output off in the NORMal state, 105 uA / 21 V compliance,
        auto ranges, NPLC 1, auto source delay."""
        self.function = "VOLT"
        self.level_a = 0.0
        self.level_v = 0.0
        self.output_on = False
        self.off_state = "NORM"
        self.compliance_v = 21.0
        self.compliance_a = 1.05e-4
        self.source_range = {"CURR": 1e-4, "VOLT": 20.0}
        self.source_auto = {"CURR": True, "VOLT": True}
        self.sense_range = {"VOLT": 20.0, "CURR": 1e-4, "RES": 2e5}
        self.sense_auto = {"VOLT": True, "CURR": True, "RES": True}
        self.sense_functions = list(self.default_sense)
        self.nplc = 1.0
        self.auto_output_off = False
        self.in_compliance = False
        self.range_compliance = False
        self.source_delay_s, self.source_delay_auto = 0.0, True
        self.time_zero_s = self.clock.now_s()
        self.settings: dict[str, str] = {}

    def _ranges(self, kind: str) -> tuple[float, ...]:
        return {"CURR": self.current_ranges_a, "VOLT": self.voltage_ranges_v, "RES": self.resistance_ranges_ohm}[kind]

    def _full_scale(self, kind: str, nominal: float) -> float:
        return nominal * self.range_readback[kind]

    def _range_limit(self, kind: str) -> float:
        """The measure range's limit, where a fixed range holds the output (range compliance)."""
        return math.inf if self.sense_auto[kind] else self.sense_range[kind] * RANGE_HEADROOM

    def _effective_compliance(self) -> tuple[float, bool]:
        """The limit holding the output (V for a current source, A for a voltage source), and
        whether it is the measure range rather than the compliance setting (2400 manual, section 6
        "Compliance limit": real and range compliance)."""
        if self.function == "CURR":
            limit, compliance = self._range_limit("VOLT"), abs(self.compliance_v)
        else:
            limit, compliance = self._range_limit("CURR"), abs(self.compliance_a)
        return (limit, True) if limit < compliance else (compliance, False)

    def _push(self) -> None:
        """Tell the lab what this source now does (the only way it changes the lab).

        Output off, in any output-off state, drives no current: NORMal and ZERO leave a 0 V source
        across a resistive load, HIMPedance opens the output relay, GUARd a 0 A source.
        """
        limit, _ = self._effective_compliance()
        if self.function == "CURR":
            wanted = {"level_a": self.level_a, "output_on": self.output_on, "compliance_v": limit}
        else:  # the current the load draws at the programmed voltage; the voltage is the clamp
            current_a = 0.0
            if self.output_on:
                current_a, _ = keithley_load.voltage_source_current_a(self.lab, self.role, self.level_v, limit)
            wanted = {"level_a": current_a, "output_on": self.output_on, "compliance_v": abs(self.level_v)}
        state = self._source
        changed = {k: v for k, v in wanted.items() if getattr(state, k) != v}
        if changed:  # a lab change restarts the lock-in's settling: only real changes count
            setter = self.lab.set_read_source if self.role == "read_source" else self.lab.set_input_source
            setter(**changed)

    def _set_nplc(self, nplc: float) -> None:
        self.nplc = nplc
        if self.role == "read_source":
            self.lab.nplc = nplc

    def reset(self) -> None:
        """*RST: the power-on state, output off at zero."""
        self._power_on_state()
        self._set_nplc(1.0)
        self._push()

    # ------------------------------------------------------------ source level
    def set_level(self, kind: str, value: float) -> None:
        """Program a source level (``kind`` CURR or VOLT), refused if beyond the instrument or a
        fixed source range, rounded to the range's resolution, then pushed to the lab."""
        value = self.quantise_level(kind, value)
        if kind == "CURR":
            self.level_a = value
        else:
            self.level_v = value
        self._push()

    def quantise_level(self, kind: str, value: float) -> float:
        """The level the source takes for ``value``: checked against the instrument and a fixed
        source range (-222), the range chosen in auto range, rounded to the range's resolution."""
        limit = MAX_CURRENT_A if kind == "CURR" else MAX_VOLTAGE_V
        if not -limit <= value <= limit:
            raise PARAMETER_OUT_OF_RANGE
        if not self.source_auto[kind] and abs(value) > self.source_range[kind] * RANGE_HEADROOM * (1 + 1e-9):
            raise PARAMETER_OUT_OF_RANGE  # beyond the fixed source range: refused
        if self.source_auto[kind]:
            self.source_range[kind] = fit_range(value, self._ranges(kind))
        step = self.source_range[kind] * SOURCE_RESOLUTION
        return round(value / step) * step

    def source_delay(self) -> float:
        """The delay action's length (s): the manual delay, or the auto delay for the range."""
        if not self.source_delay_auto:
            return self.source_delay_s
        range_a = self.source_range["CURR"] if self.function == "CURR" else self.sense_range["CURR"]
        return auto_delay_s(self.function, range_a)

    # ---------------------------------------------------------------- reading
    def check_output_for_reading(self) -> None:
        """A reading needs the output on, or auto output-off to switch it on (+803 otherwise)."""
        if not self.output_on and not self.auto_output_off:
            raise OUTPUT_DISABLED

    def integration_s(self) -> float:
        """Lab time of one measure action (s): its A/D conversions (three with auto-zero on) and the
        firmware's overhead (2400 manual, Appendix A; :func:`.keithley_timing.measure_action_s`)."""
        auto_zero = self.settings.get("AZER", "1") == "1"
        return measure_action_s(self.nplc, self.lab.wiring.line_frequency_hz, self.function, auto_zero)

    def measure_action(self) -> RawReading:
        """One measure action: charges the integration on the lab clock and reads the lab.

        With auto output-off the output is on only for the source-delay-measure cycle, as on
        the instrument (2400 manual, :SOURce:CLEar:AUTO).
        """
        self.check_output_for_reading()
        pulsed = self.auto_output_off and not self.output_on
        if pulsed:
            self.output_on = True
            self._push()
        if self.function == "VOLT":
            self._push()  # the load may have changed since the level was set: draw its present current
        started_s = self.own_now_s()
        self.sleep_own(self.integration_s())
        self.last_window_s = (started_s, self.own_now_s())
        raw = self._read_lab()
        if pulsed:
            self.output_on = False
            self._push()
        self.in_compliance, self.range_compliance = raw.compliance, raw.range_compliance
        return raw

    # Alone on the lab clock (the 2400's Trigger Link timeline overrides these: trigger_link.py).
    def own_now_s(self) -> float:
        return self.clock.now_s()

    def sleep_own(self, duration_s: float) -> None:
        self.clock.sleep(duration_s)

    def _read_lab(self) -> RawReading:
        limit, by_range = self._effective_compliance()
        if self.role == "read_source":
            lab_v, held = self.lab.read_voltage_v()
        else:
            lab_v, held = self.lab.input_voltage_v()
        if self.function == "CURR":
            voltage_v = lab_v
            faults = getattr(self.lab, "faults", None)
            if faults is not None and self._source.output_on and faults.forced_compliance(self.role):
                # an injected trip: the load opened, the source sits at its compliance
                voltage_v, held = math.copysign(self._source.compliance_v, self._source.level_a or 1.0), True
            current_a = self._source.driving_a  # the source element reports the programmed level
        else:
            current_a = self._source.driving_a
            voltage_v = lab_v if current_a else self.level_v  # no current: the terminals sit at the level
            held = abs(current_a) >= limit * (1 - 1e-12)
        return RawReading(voltage_v, current_a, bool(held and not by_range), bool(held and by_range), False)

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
            c([f"[:SENSe]:{node}:RANGe:AUTO"], self._auto(self.sense_auto, kind, push=True))
            c([f"[:SENSe]:{node}:NPLCycles"], self._nplc)
        c(["[:SENSe]:FUNCtion[:ON]"], self._sense_function)
        c([":OUTPut[:STATe]"], self._output)
        c([":SYSTem:LFRequency"], self._stored("LFR", f"{self.lab.wiring.line_frequency_hz:g}"))
        c([":ROUTe:TERMinals"], self._stored("TERM", "FRON"))
        c([":SYSTem:BEEPer[:IMMediate]", ":SYSTem:BEEPer:STATe", ":STATus:PRESet",
           ":STATus:QUEStionable:ENABle", ":STATus:OPERation:ENABle", "*ESE", "*WAI"], self._accept)
        c([":DISPlay:ENABle"], self._stored("DISP", "1"))
