"""The bench file's safety limits as checks that refuse, never clip.

Every request that moves an output passes one of these checks before anything
is sent; a request beyond a limit raises :class:`~mtjlab.errors.SafetyLimitError`
with one line naming the request, the limit and its value. The Bench calls them
for every caller (GUI, CLI, scripts, trainer).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

from ..config.bench import BenchConfig
from ..errors import SafetyLimitError


def _si(value: float, unit: str) -> str:
    """``0.025, "A"`` -> ``"25 mA"``: lab-readable magnitudes in messages."""
    magnitude = abs(value)
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n")):
        if magnitude >= factor or factor == 1e-9:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:g} {unit}"


@dataclass(frozen=True)
class SafetyLimits:
    """The limits of one bench file and the wiring constants they need.

    ``max_bias_v`` (V) also becomes the read source-meter's voltage compliance,
    so that the hardware itself cannot put more across a junction, whatever the
    junction's resistance.
    """

    max_bias_v: float
    max_read_current_a: float
    max_input_current_a: float
    max_field_oe: float
    max_field_ramp_oe_per_s: float
    max_source_ramp_a_per_s: float
    max_input_ramp_a_per_s: float
    max_coil_current_a: float
    max_modulation_v_rms: float
    modulation_resistor_ohm: float
    coil_oe_per_a: float

    @classmethod
    def from_bench(cls, bench: BenchConfig) -> "SafetyLimits":
        """Every limit of ``bench.limits`` plus the two wiring constants the checks need."""
        wiring = {"modulation_resistor_ohm": bench.wiring.modulation_resistor_ohm,
                  "coil_oe_per_a": bench.wiring.coil_oe_per_a}
        names = {f.name for f in fields(cls)} - set(wiring)
        return cls(**{name: getattr(bench.limits, name) for name in names}, **wiring)

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _refuse(what: str, value: str, limit_name: str, limit: str) -> None:
        raise SafetyLimitError(f"refused: {what} {value} is beyond limits.{limit_name} = {limit}; nothing was sent")

    @staticmethod
    def finite(what: str, value: float) -> float:
        """``value`` as a float; refused unless it is a finite real number (bool is not a number)."""
        shown = repr(value) if len(repr(value)) <= 30 else repr(value)[:27] + "..."
        try:
            number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
        except OverflowError:  # an int beyond any float
            number = math.inf
        if not math.isfinite(number):
            raise SafetyLimitError(f"refused: {what} {shown} is not a finite number; nothing was sent")
        return number


    def check_read_current(self, current_a: float) -> float:
        current_a = self.finite("read current", current_a)
        if abs(current_a) > self.max_read_current_a:
            self._refuse("read current", _si(current_a, "A"), "max_read_current_a", _si(self.max_read_current_a, "A"))
        return current_a

    def check_bias(self, compliance_v: float) -> float:
        compliance_v = self.finite("junction voltage compliance", compliance_v)
        if not 0 < compliance_v <= self.max_bias_v:
            self._refuse("junction voltage compliance", _si(compliance_v, "V"), "max_bias_v", _si(self.max_bias_v, "V"))
        return compliance_v

    def modulation_peak_a(self, v_rms: float) -> float:
        """Peak field-line current (A) of a sine of ``v_rms`` through the modulation resistor."""
        return v_rms * math.sqrt(2.0) / self.modulation_resistor_ohm

    def check_input_current(self, current_a: float, modulation_peak_a: float) -> float:
        """The DC input plus the modulation's peak must stay within the input limit."""
        current_a = self.finite("input current", current_a)
        if abs(current_a) + modulation_peak_a > self.max_input_current_a:
            what = "input current" if modulation_peak_a == 0 else "input current plus modulation peak"
            self._refuse(what, _si(abs(current_a) + modulation_peak_a, "A"), "max_input_current_a",
                         _si(self.max_input_current_a, "A"))
        return current_a

    def check_modulation(self, peak_a: float, input_current_a: float) -> float:
        """A modulation of ``peak_a`` (A): its sine voltage and the summed input current."""
        peak_a = self.finite("modulation amplitude", peak_a)
        if peak_a < 0:
            raise SafetyLimitError(f"refused: modulation amplitude {_si(peak_a, 'A')} is negative; nothing was sent")
        v_rms = peak_a * self.modulation_resistor_ohm / math.sqrt(2.0)
        if v_rms > self.max_modulation_v_rms:
            self._refuse("modulation sine output", _si(v_rms, "V rms"), "max_modulation_v_rms",
                         _si(self.max_modulation_v_rms, "V rms"))
        if abs(input_current_a) + peak_a > self.max_input_current_a:
            self._refuse("input current plus modulation peak", _si(abs(input_current_a) + peak_a, "A"),
                         "max_input_current_a", _si(self.max_input_current_a, "A"))
        return peak_a

    def check_field(self, field_oe: float) -> float:
        field_oe = self.finite("field", field_oe)
        if abs(field_oe) > self.max_field_oe:
            self._refuse("field", f"{field_oe:g} Oe", "max_field_oe", f"{self.max_field_oe:g} Oe")
        current = abs(field_oe) / self.coil_oe_per_a
        if current > self.max_coil_current_a:
            self._refuse("coil current for that field", _si(current, "A"), "max_coil_current_a",
                         _si(self.max_coil_current_a, "A"))
        return field_oe

    def check_field_rate(self, rate_oe_per_s: float) -> float:
        rate = self.finite("field ramp rate", rate_oe_per_s)
        if not 0 < rate <= self.max_field_ramp_oe_per_s:
            self._refuse("field ramp rate", f"{rate:g} Oe/s", "max_field_ramp_oe_per_s",
                         f"{self.max_field_ramp_oe_per_s:g} Oe/s")
        return rate

    def check_input_rate(self, rate_a_per_s: float) -> float:
        rate = self.finite("input ramp rate", rate_a_per_s)
        if not 0 < rate <= self.max_input_ramp_a_per_s:
            self._refuse("input ramp rate", _si(rate, "A/s"), "max_input_ramp_a_per_s",
                         _si(self.max_input_ramp_a_per_s, "A/s"))
        return rate

    def check_source_rate(self, rate_a_per_s: float) -> float:
        rate = self.finite("source ramp rate", rate_a_per_s)
        if not 0 < rate <= self.max_source_ramp_a_per_s:
            self._refuse("source ramp rate", _si(rate, "A/s"), "max_source_ramp_a_per_s",
                         _si(self.max_source_ramp_a_per_s, "A/s"))
        return rate
