"""The simulated chip's truth (``chip.physics`` of a bench file): nominal values, spreads, mechanisms.

Equations: docs/physics.md (F1, E1-E4, T1-T3, variability) and docs/chip_realism.md (R1-R9).
Every default reproduces the chip of earlier versions: a mechanism is off (0) until a
bench file or a preset (``ideal``, ``typical``, ``harsh``, ``drifting``) sets it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mtjlab.config.fields import SEED_MAX, STRICT, Float, Int


class ChipPhysics(BaseModel):
    """Truth of the simulated chip: nominal values and device-to-device spreads.

    Relative spreads are lognormal sigmas (>= 0, < 1); absolute spreads are normal sigmas.
    """

    model_config = STRICT
    seed: Int = Field(2026, ge=0, le=SEED_MAX, description="Seed of the per-device draws.")
    resistance_p_ohm: Float = Field(1000.0, gt=0, le=1e9, description="Parallel-state resistance R_P, ohm.")
    resistance_p_rel_spread: Float = Field(0.08, ge=0, lt=1, description="Lognormal sigma of R_P.")
    tmr0: Float = Field(1.2, gt=0, le=10, description="Zero-bias TMR ratio (R_AP - R_P)/R_P.")
    tmr0_rel_spread: Float = Field(0.06, ge=0, lt=1, description="Lognormal sigma of TMR0.")
    tmr_half_bias_v: Float = Field(0.4, gt=0, le=10, description="Vh in TMR(V)=TMR0/(1+(V/Vh)^2), volt.")
    anisotropy_field_oe: Float = Field(30.0, gt=0, le=1e5, description="Anisotropy field Hk, oersted.")
    anisotropy_field_rel_spread: Float = Field(0.10, ge=0, lt=1, description="Sigma of Hk.")
    reference_angle_deg: Float = Field(90.0, ge=-360, le=360, description="Reference-layer angle phi_p, degrees.")
    reference_angle_spread_deg: Float = Field(2.0, ge=0, le=180, description="Normal sigma of phi_p, deg.")
    offset_field_oe: Float = Field(2.0, ge=-1e4, le=1e4, description="Neel coupling offset field, oersted.")
    offset_field_spread_oe: Float = Field(1.0, ge=0, le=1e4, description="Normal sigma of offset, Oe.")
    field_line_oe_per_ma: Float = Field(5.0, gt=0, le=1e3, description="Field-line constant kappa, "
                                        "oersted per milliampere, per crossbar row.")
    field_line_rel_spread: Float = Field(0.05, ge=0, lt=1, description="Lognormal sigma of kappa.")
    stability_factor: Float = Field(2000.0, gt=0, le=1e7, description="Delta at nominal Hk and T.")
    temperature_k: Float = Field(300.0, gt=0, le=1000, description="Temperature, kelvin.")
    attempt_time_s: Float = Field(1e-9, gt=0, le=1, description="Neel-Brown attempt time, seconds.")
    dwell_time_s: Float = Field(0.01, gt=0, le=1000, description="Time at each input point, seconds.")
    flicker_noise_hooge: Float = Field(1e-9, ge=0, le=1, description="Normalised 1/f noise S_V*f/V^2.")
    # --- geometry, misalignment and coupling (docs/chip_realism.md, R1-R3)
    easy_axis_tilt_deg: Float = Field(0.0, ge=-90, le=90, description="Mean tilt epsilon of each free "
                                      "layer's easy axis from the chip's x axis (coil axis), degrees (eq. R1).")
    easy_axis_tilt_spread_deg: Float = Field(0.0, ge=0, le=45, description="Normal sigma of the tilt, degrees.")
    field_line_device_rel_spread: Float = Field(0.0, ge=0, lt=1, description="Lognormal sigma of kappa per "
                                                "device, on top of the per-row spread (eq. R2).")
    size_rel_spread: Float = Field(0.0, ge=0, lt=1, description="Lognormal sigma of the lateral size w: "
                                   "R_P ~ 1/w^2, Hk ~ t/w, Delta ~ w t^2 (eq. R3).")
    thickness_rel_spread: Float = Field(0.0, ge=0, lt=1, description="Lognormal sigma of the free-layer "
                                        "thickness t (eq. R3).")
    # --- temperature and drift (R4-R6)
    reference_temperature_k: Float = Field(300.0, gt=0, le=1000, description="Temperature at which the "
                                           "nominal Hk, TMR0 and Delta hold, kelvin (eq. R4).")
    ms_bloch_coefficient_per_k1p5: Float = Field(3.0e-5, ge=0, le=1e-3, description="beta in Ms(T) = "
                                                 "Ms(0) (1 - beta T^1.5), K^-1.5 (eq. R4).")
    anisotropy_ms_exponent: Float = Field(1.0, ge=0, le=5, description="n in Hk(T) ~ Ms(T)^n: 1 for shape "
                                          "anisotropy (eq. R4).")
    polarisation_bloch_coefficient_per_k1p5: Float = Field(2.0e-5, ge=0, le=1e-3, description="alpha in "
                                                           "P(T) = P(0) (1 - alpha T^1.5), K^-1.5; TMR = "
                                                           "2P^2/(1 - P^2) (eq. R4).")
    joule_heating_k_per_mw: Float = Field(0.0, ge=0, le=1e4, description="Junction temperature rise per mW "
                                          "of read power I^2 R, kelvin per milliwatt (eq. R5).")
    temperature_drift_k: Float = Field(0.0, ge=-200, le=200, description="Chip temperature change "
                                       "approached over lab time, kelvin (eq. R6).")
    temperature_drift_time_s: Float = Field(3600.0, gt=0, le=1e7, description="Time constant of the "
                                            "temperature drift, seconds of lab time.")
    offset_drift_oe: Float = Field(0.0, ge=-1e3, le=1e3, description="Offset field change approached over "
                                   "lab time, oersted (eq. R6).")
    offset_drift_time_s: Float = Field(3600.0, gt=0, le=1e7, description="Time constant of the offset "
                                       "drift, seconds of lab time.")
    # --- junctions with two reference layers (R7), on the rows chip.double_reference_rows
    second_reference_angle_deg: Float = Field(0.0, ge=-360, le=360, description="Angle phi_2 of the second "
                                              "reference layer of a double junction, degrees (eq. R7).")
    second_barrier_share: Float = Field(0.8, gt=0, lt=1, description="Share s of R_P in the second barrier "
                                        "of a double junction (eq. R7).")
    dead_probability: Float = Field(0.0, ge=0, le=1, description="Chance a junction is dead.")
    dead_short_fraction: Float = Field(0.5, ge=0, le=1, description="Share of dead that short.")
    short_resistance_ohm: Float = Field(20.0, gt=0, le=1e9, description="Shorted junction, ohm.")
    open_resistance_ohm: Float = Field(1e9, gt=0, le=1e15, description="Open junction, ohm.")
    dead_devices: dict[str, Literal["short", "open"]] = Field(
        default_factory=dict, description="Devices forced dead: id -> short | open.")
