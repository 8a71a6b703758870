"""Bench-file models (``kind: bench``): instruments, wiring, chip, simulated physics, limits.

Every quantity carries its unit in its name: ``_v`` volt, ``_a`` ampere, ``_oe`` oersted,
``_ohm`` ohm, ``_h`` henry, ``_s`` second, ``_hz`` hertz, ``_deg`` degree, ``_k`` kelvin.
All models forbid unknown keys. Cross-field checks raise errors located at the exact
field (see :func:`fail`), which :mod:`mtjlab.config.loading` turns into one-line messages.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from mtjlab.config.instrument_models import MODELS, ROLES, InstrumentModel, ModelName, Role
from mtjlab.config.instrument_models import models_for_role

from mtjlab.config.fields import SEED_MAX, STRICT, Float, Int, fail  # noqa: F401 (SEED_MAX: re-exported)
from mtjlab.config.chip_physics import ChipPhysics
from mtjlab.errors import ConfigError

_VISA_RE = re.compile(
    r"^(GPIB\d*::\d+(::\d+)?(::INSTR)?"
    r"|TCPIP\d*::[A-Za-z0-9_.\-]+(::[A-Za-z0-9_.,\-]+)?::(INSTR|SOCKET)"
    r"|USB\d*::(0x[0-9A-F]+|\d+)::(0x[0-9A-F]+|\d+)::[A-Za-z0-9_.\-]+(::\d+)?::(INSTR|RAW)"
    r"|ASRL(\d+|/dev/[A-Za-z0-9_./\-]+|COM\d+)::INSTR)$",
    re.IGNORECASE,
)


class InstrumentConfig(BaseModel):
    """One instrument of the bench: its role, model, backend and VISA address."""

    model_config = STRICT
    role: Role = Field(description="Job on the bench; each role exactly once.")
    model: ModelName = Field(description="Instrument model; must suit the role.")
    backend: Literal["sim", "visa"] = Field("sim", description="sim = emulator, visa = real.")
    address: str | None = Field(None, description="VISA resource, e.g. GPIB0::24::INSTR.")
    timeout_s: Float = Field(5.0, gt=0, le=600, description="I/O timeout, seconds (<= 10 min).")

    @field_validator("address")
    @classmethod
    def _visa_address(cls, value: str | None) -> str | None:
        if value is not None and not _VISA_RE.match(value.strip()):
            fail((), "not a VISA resource string like GPIB0::24::INSTR, "
                 "TCPIP0::192.168.1.5::inst0::INSTR, USB0::0x05E6::0x2450::04096331::INSTR "
                 "or ASRL/dev/ttyUSB0::INSTR", value)
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _check(self) -> InstrumentConfig:
        allowed = models_for_role(self.role)
        if self.model not in allowed:
            fail(("model",), f"a {self.role} must be one of: {', '.join(allowed)}", self.model)
        if self.backend == "visa" and self.address is None:
            fail(("address",), "required when backend is visa")
        return self


class WiringConfig(BaseModel):
    """How the instruments are connected to the chip and the coil."""

    model_config = STRICT
    modulation_resistor_ohm: Float = Field(1000.0, gt=0, le=1e9, description="Lock-in sine output -> "
                                           "field line resistor, ohm: I_mod,peak = V_rms*sqrt(2)/R.")
    coil_oe_per_a: Float = Field(100.0, gt=0, le=1e5, description="Coil constant, oersted per ampere.")
    coil_inductance_h: Float = Field(0.05, gt=0, le=100, description="Coil inductance L, henry.")
    coil_resistance_ohm: Float = Field(2.0, gt=0, le=1e4, description="Coil resistance R, ohm.")
    coil_remanence_oe: Float = Field(0.5, ge=0, le=1000, description="Remanent field at zero coil "
                                      "current, Oe: a magnitude, along the last driven direction.")
    bias_field_angle_deg: Float = Field(0.0, ge=-360, le=360, description="In-plane angle of the"
                                        " coil field from the junctions' easy axis, degrees.")
    lockin_frequency_hz: Float = Field(1013.0, gt=0, description="Modulation frequency, hertz.")
    lockin_time_constant_s: Float = Field(0.03, gt=0, le=3e4, description="Lock-in time constant, s.")
    lockin_slope_db_per_oct: Literal[6, 12, 18, 24] = Field(24, description="Filter slope, dB/oct.")
    source_nplc: Float = Field(1.0, ge=0.01, le=10, description="Source-meter integration time, "
                               "in power-line cycles.")
    line_frequency_hz: Float = Field(50.0, description="Mains frequency, 50 or 60 hertz.")
    relay_settle_s: Float = Field(0.005, ge=0, le=10, description="Switch relay settling time, seconds.")
    field_line_bandwidth_hz: Float = Field(1e6, gt=0, le=1e10, description="Bandwidth of the modulation's path "
                                           "to the device (modulation resistor, cable, field line), hertz: "
                                           "the modulation stays below a tenth of it (docs/bench.md, eq. L5).")
    gaussmeter_agreement_oe: Float = Field(3.0, gt=0, le=1000, description="Gaussmeter against the coil "
                                           "constant: tolerated disagreement, oersted, plus ...")
    gaussmeter_agreement_fraction: Float = Field(0.05, ge=0, lt=1, description="... this fraction of the "
                                                 "predicted field; beyond, the coil is ramped to zero and the "
                                                 "request refused (a wrong probe zero, sensitivity or sign).")

    @field_validator("line_frequency_hz")
    @classmethod
    def _mains(cls, value: float) -> float:
        if value not in (50.0, 60.0):
            fail((), "must be one of: 50, 60", value)
        return value


class ChipConfig(BaseModel):
    """The MTJ crossbar: size, device ids (row-major) and known dead devices."""

    model_config = STRICT
    rows: Int = Field(ge=1, le=64, description="Crossbar rows.")
    cols: Int = Field(ge=1, le=64, description="Crossbar columns.")
    device_ids: list[str] | None = Field(None, description="Row-major ids; default r{row}c{col}.")
    known_dead: list[str] = Field(default_factory=list, description="Ids not to use as neurons.")
    double_reference_rows: list[Int] = Field(default_factory=list, description="Rows whose junctions have "
                                             "two reference layers (device kind 'double': bell-shaped "
                                             "responses); the others are 'single' (docs/chip_realism.md, R7).")
    physics: ChipPhysics | None = Field(None, description="Simulated chip; needed for sim.")

    def ids(self) -> list[str]:
        """All device ids, row-major (``device_ids`` or the generated ``r{row}c{col}``)."""
        if self.device_ids is not None:
            return list(self.device_ids)
        return [f"r{r}c{c}" for r in range(self.rows) for c in range(self.cols)]

    def kinds(self) -> dict[str, str]:
        """Each device's kind: 'double' on the rows with two reference layers, else 'single'."""
        double = set(self.double_reference_rows)
        return {d: "double" if k // self.cols in double else "single" for k, d in enumerate(self.ids())}

    def position(self, device_id: str) -> tuple[int, int]:
        """(row, col) of a device id; raises ``KeyError`` for an unknown id."""
        ids = self.ids()
        if device_id not in ids:
            raise KeyError(device_id)
        return divmod(ids.index(device_id), self.cols)

    @model_validator(mode="after")
    def _check(self) -> ChipConfig:
        if self.device_ids is not None:
            n = self.rows * self.cols
            if len(self.device_ids) != n:
                fail(("device_ids",), f"must have rows x cols = {n} entries",
                     len(self.device_ids))
            first: dict[str, int] = {}
            for i, device_id in enumerate(self.device_ids):
                if not device_id.strip():
                    fail(("device_ids", i), "must not be empty", device_id)
                if device_id in first:
                    fail(("device_ids", i), f"duplicate device id, also at index "
                         f"{first[device_id]}", device_id)
                first[device_id] = i
        known = set(self.ids())
        for i, device_id in enumerate(self.known_dead):
            if device_id not in known:
                fail(("known_dead", i), "not a device id of the chip", device_id)
        seen_rows: set[int] = set()
        for i, row in enumerate(self.double_reference_rows):
            if not 0 <= row < self.rows:
                fail(("double_reference_rows", i), f"not a row of the chip (0 to {self.rows - 1})", row)
            if row in seen_rows:
                fail(("double_reference_rows", i), "listed twice", row)
            seen_rows.add(row)
        if self.physics is not None:
            for device_id in self.physics.dead_devices:
                if device_id not in known:
                    fail(("physics", "dead_devices", device_id), "not a device id of the chip",
                         device_id)
        return self


class LimitsConfig(BaseModel):
    """Safety limits, enforced by the Bench for every caller; requests beyond are refused."""

    model_config = STRICT
    max_bias_v: Float = Field(0.5, gt=0, description="Junction bias voltage, volt (< 1 V).")
    max_read_current_a: Float = Field(3e-4, gt=0, description="Read (junction) current, ampere.")
    max_input_current_a: Float = Field(0.02, gt=0, description="Input field-line current, A.")
    max_field_oe: Float = Field(200.0, gt=0, description="Coil field magnitude, oersted.")
    max_field_ramp_oe_per_s: Float = Field(100.0, gt=0, le=1e5, description="Field ramp rate, Oe/s.")
    max_source_ramp_a_per_s: Float = Field(0.01, gt=0, le=10, description="Read (junction) current ramp "
                                           "rate, A/s.")
    max_input_ramp_a_per_s: Float = Field(10.0, gt=0, le=100, description="Input (field-line) current ramp rate, "
                                          "A/s. The field line is a metal strip insulated from the junction, "
                                          "with an L/R time of microseconds: its current may move far faster "
                                          "than the read current through the barrier (docs/physics.md).")
    max_coil_current_a: Float = Field(3.0, gt=0, description="Coil supply current, ampere.")
    max_modulation_v_rms: Float = Field(1.0, gt=0, description="Lock-in sine output, volt rms.")

    @field_validator("max_bias_v")
    @classmethod
    def _barrier(cls, value: float) -> float:
        if value >= 1.0:
            fail((), "must be < 1.0 V: tunnel barriers break down near 1 V", value)
        return value


class MeasurementConfig(BaseModel):
    """Default measurement settings; each is checked against the limits."""

    model_config = STRICT
    read_current_a: Float = Field(1e-4, gt=0, description="DC read current, ampere.")
    modulation_amplitude_a: Float = Field(2e-4, gt=0, description="Peak input modulation, A.")
    bias_field_oe: Float = Field(20.0, description="Coil bias field, oersted.")
    reset_field_oe: Float = Field(100.0, ge=0, description="Coil field applied (along the bias "
                                  "field) before measuring, to set every junction's easy-axis "
                                  "state; above the junctions' Hk. Oersted; 0 = no reset.")
    derivative_tolerance: Float = Field(0.01, gt=0, lt=1, description="Accuracy asked of a measured "
                                        "derivative, relative to the device's peak dV/dI; the lock-in "
                                        "settings are chosen to meet it (docs/bench.md, 'Lock-in settings').")
    acquisition: Literal["auto", "stepped"] = Field("auto", description="auto: hardware-timed lists where "
                                                    "the instruments can run them (docs/bench.md, 'Acquisition'), "
                                                    "stepped otherwise; stepped: one point at a time always.")
    lockin_settings: Literal["auto", "bench"] = Field("auto", description="auto: frequency, time constant, "
                                                      "modulation and wait from the noise budget, measured on "
                                                      "the chip at the start; bench: the wiring's values as "
                                                      "written, and modulation_amplitude_a.")


def _g(x: float) -> str:
    return f"{x:g}"


class BenchConfig(BaseModel):
    """A whole bench file (``kind: bench``)."""

    model_config = STRICT
    kind: Literal["bench"] = Field("bench", description="File kind; always 'bench'.")
    name: str = Field(description="Bench name, shown in run records.")
    description: str = Field("", description="Free text.")
    instruments: list[InstrumentConfig] = Field(description="One instrument per role.")
    wiring: WiringConfig = Field(default_factory=WiringConfig, description="Wiring constants.")
    chip: ChipConfig = Field(description="The MTJ crossbar.")
    limits: LimitsConfig = Field(default_factory=LimitsConfig, description="Safety limits.")
    measurement: MeasurementConfig = Field(default_factory=MeasurementConfig)

    def instrument(self, role: str) -> InstrumentConfig:
        """The instrument filling ``role``."""
        return next(i for i in self.instruments if i.role == role)

    def model_of(self, role: str) -> InstrumentModel:
        """The capability table entry of the instrument filling ``role``."""
        return MODELS[self.instrument(role).model]

    @property
    def uses_sim(self) -> bool:
        """True when any instrument uses the simulated backend."""
        return any(i.backend == "sim" for i in self.instruments)

    def with_chip_seed(self, chip_seed: int | None) -> BenchConfig:
        """This bench with its simulated chip drawn from ``chip_seed`` (None: as the file says).

        Only a simulated chip has a seed: a bench of real instruments is refused in one line.
        """
        if chip_seed is None:
            return self
        if not self.uses_sim or self.chip.physics is None:
            raise ConfigError(f"chip_seed: {chip_seed} draws a simulated chip, but bench {self.name!r} drives real "
                              "instruments (remove chip_seed)")
        physics = self.chip.physics.model_copy(update={"seed": chip_seed})
        return self.model_copy(update={"chip": self.chip.model_copy(update={"physics": physics})})

    @model_validator(mode="after")
    def _check(self) -> BenchConfig:
        seen: dict[str, int] = {}
        for i, inst in enumerate(self.instruments):
            if inst.role in seen:
                fail(("instruments", i, "role"), "role appears twice, also at "
                     f"instruments.{seen[inst.role]}", inst.role)
            seen[inst.role] = i
        for role in ROLES:
            if role not in seen:
                fail(("instruments",), f"no instrument with role {role}")
        if self.uses_sim and self.chip.physics is None:
            fail(("chip", "physics"), "required when any instrument uses backend sim")
        self._check_ranges()
        self._check_measurement()
        return self

    def _above(self, field: str, role: str, capability: str, unit: str) -> None:
        """Refuse ``limits.<field>`` above the ``capability`` of the model filling ``role``."""
        model, value = self.model_of(role), getattr(self.limits, field)
        cap = getattr(model, capability)
        if cap is not None and value > cap:
            fail(("limits", field), f"above the {model.name}'s own range of {_g(cap)} {unit}",
                 value)

    def _check_ranges(self) -> None:
        lim, w = self.limits, self.wiring
        supply, lockin, switch = (self.model_of(r) for r in ("field_supply", "lockin", "switch"))
        self._above("max_read_current_a", "read_source", "max_current_a", "A")
        self._above("max_bias_v", "read_source", "max_voltage_v", "V")
        self._above("max_input_current_a", "input_source", "max_current_a", "A")
        self._above("max_coil_current_a", "field_supply", "max_current_a", "A")
        coil_v = lim.max_coil_current_a * w.coil_resistance_ohm
        if supply.max_voltage_v is not None and coil_v > supply.max_voltage_v:
            fail(("limits", "max_coil_current_a"), f"needs {_g(coil_v)} V across the coil "
                 f"(wiring.coil_resistance_ohm), above the {supply.name}'s own range of "
                 f"{_g(supply.max_voltage_v)} V", lim.max_coil_current_a)
        if w.coil_remanence_oe >= lim.max_field_oe:
            fail(("wiring", "coil_remanence_oe"), "must be below limits.max_field_oe = "
                 f"{_g(lim.max_field_oe)} Oe: the coil would hold a field beyond the limit at zero current",
                 w.coil_remanence_oe)
        reach = w.coil_oe_per_a * lim.max_coil_current_a
        if lim.max_field_oe > reach:
            fail(("limits", "max_field_oe"), f"above what the coil can reach: wiring.coil_oe_per_a"
                 f" x limits.max_coil_current_a = {_g(reach)} Oe", lim.max_field_oe)
        self._above("max_field_oe", "gaussmeter", "max_field_oe", "Oe")
        self._above("max_modulation_v_rms", "lockin", "sine_max_v_rms", "V rms")
        f_lo, f_hi = lockin.freq_min_hz or 0.0, lockin.freq_max_hz or math.inf
        if not f_lo <= w.lockin_frequency_hz <= f_hi:
            fail(("wiring", "lockin_frequency_hz"), f"outside the {lockin.name}'s own range of "
                 f"{_g(f_lo)} to {_g(f_hi)} Hz", w.lockin_frequency_hz)
        for field, size, cap in (("rows", self.chip.rows, switch.max_rows),
                                 ("cols", self.chip.cols, switch.max_cols)):
            if cap is not None and size > cap:
                fail(("chip", field), f"above the {switch.name}'s addressable range of "
                     f"{cap} {field}", size)

    def _check_measurement(self) -> None:
        lim, m, w = self.limits, self.measurement, self.wiring
        if m.reset_field_oe > lim.max_field_oe:
            fail(("measurement", "reset_field_oe"), f"above limits.max_field_oe = {_g(lim.max_field_oe)} Oe",
                 m.reset_field_oe)
        if m.read_current_a > lim.max_read_current_a:
            fail(("measurement", "read_current_a"), "above limits.max_read_current_a "
                 f"= {_g(lim.max_read_current_a)} A", m.read_current_a)
        if m.modulation_amplitude_a > lim.max_input_current_a:
            fail(("measurement", "modulation_amplitude_a"), "above limits.max_input_current_a "
                 f"= {_g(lim.max_input_current_a)} A", m.modulation_amplitude_a)
        v_rms = m.modulation_amplitude_a * w.modulation_resistor_ohm / math.sqrt(2.0)
        if v_rms > lim.max_modulation_v_rms:
            fail(("measurement", "modulation_amplitude_a"), f"needs {_g(v_rms)} V rms through "
                 "wiring.modulation_resistor_ohm, above limits.max_modulation_v_rms = "
                 f"{_g(lim.max_modulation_v_rms)} V rms", m.modulation_amplitude_a)
        lockin = self.model_of("lockin")
        if lockin.sine_min_v_rms is not None and v_rms < lockin.sine_min_v_rms:
            fail(("measurement", "modulation_amplitude_a"), f"needs {_g(v_rms)} V rms, below the "
                 f"{lockin.name}'s smallest sine output of {_g(lockin.sine_min_v_rms)} V rms",
                 m.modulation_amplitude_a)
        if abs(m.bias_field_oe) > lim.max_field_oe:
            fail(("measurement", "bias_field_oe"), "magnitude above limits.max_field_oe "
                 f"= {_g(lim.max_field_oe)} Oe", m.bias_field_oe)
