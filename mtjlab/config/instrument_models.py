"""What each supported instrument model can do: its own output and input ranges.

The bench file's safety limits are checked against this table, so a limit can never
exceed what the instrument itself is able to source or measure. Values are the
manufacturers' full-scale specifications (magnitudes; bipolar outputs are +/-).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["read_source", "input_source", "lockin", "field_supply", "gaussmeter", "switch"]
"""The job an instrument does on the bench; each role appears exactly once."""

ModelName = Literal[
    "Keithley2400", "Keithley2450", "SR830", "SR860", "KepcoBOP", "LakeShore425", "Keithley707B"
]
"""Instrument models mtjlab has drivers (real and simulated) for."""

Kind = Literal["source_meter", "lockin", "field_supply", "gaussmeter", "switch"]
"""The class of instrument a model belongs to."""

ROLES: tuple[str, ...] = get_args(Role)
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)

ROLE_KINDS: dict[str, str] = {
    "read_source": "source_meter",
    "input_source": "source_meter",
    "lockin": "lockin",
    "field_supply": "field_supply",
    "gaussmeter": "gaussmeter",
    "switch": "switch",
}
"""Which kind of instrument each role needs."""


@dataclass(frozen=True)
class InstrumentModel:
    """The ranges of one instrument model; ``None`` where a range does not apply.

    Attributes:
        name: model name as written in bench files (e.g. ``"Keithley2400"``).
        kind: instrument class (see :data:`Kind`).
        description: human-readable model description.
        max_current_a: largest output current magnitude, amperes.
        max_voltage_v: largest output voltage magnitude, volts.
        sine_min_v_rms / sine_max_v_rms: lock-in reference sine output range, volts rms.
        freq_min_hz / freq_max_hz: lock-in reference frequency range, hertz.
        max_field_oe: gaussmeter full-scale field, oersted.
        max_rows / max_cols: switch crossbar it can address (one matrix card).
    """

    name: str
    kind: str
    description: str
    max_current_a: float | None = None
    max_voltage_v: float | None = None
    sine_min_v_rms: float | None = None
    sine_max_v_rms: float | None = None
    freq_min_hz: float | None = None
    freq_max_hz: float | None = None
    max_field_oe: float | None = None
    max_rows: int | None = None
    max_cols: int | None = None


MODELS: dict[str, InstrumentModel] = {
    m.name: m
    for m in (
        InstrumentModel("Keithley2400", "source_meter", "Keithley 2400 SourceMeter",
                        max_current_a=1.05, max_voltage_v=210.0),
        InstrumentModel("Keithley2450", "source_meter", "Keithley 2450 SourceMeter",
                        max_current_a=1.05, max_voltage_v=210.0),
        InstrumentModel("SR830", "lockin", "Stanford Research SR830 lock-in",
                        sine_min_v_rms=0.004, sine_max_v_rms=5.0,
                        freq_min_hz=0.001, freq_max_hz=102_000.0),
        InstrumentModel("SR860", "lockin", "Stanford Research SR860 lock-in",
                        sine_min_v_rms=1e-9, sine_max_v_rms=2.0,
                        freq_min_hz=0.001, freq_max_hz=500_000.0),
        InstrumentModel("KepcoBOP", "field_supply", "Kepco BOP 36-6M bipolar supply",
                        max_current_a=6.0, max_voltage_v=36.0),
        InstrumentModel("LakeShore425", "gaussmeter", "Lake Shore 425 gaussmeter",
                        max_field_oe=350_000.0),
        InstrumentModel("Keithley707B", "switch", "Keithley 707B switch matrix (one card)",
                        max_rows=8, max_cols=12),
    )
}
"""Every supported model by name."""

assert set(MODELS) == set(MODEL_NAMES), "MODELS and ModelName disagree"


def models_for_role(role: str) -> tuple[str, ...]:
    """Names of the models that can fill ``role`` (e.g. ``lockin`` -> SR830, SR860)."""
    kind = ROLE_KINDS[role]
    return tuple(name for name, m in MODELS.items() if m.kind == kind)
