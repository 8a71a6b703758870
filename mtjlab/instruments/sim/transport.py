"""Tunnelling transport of a junction: bias-dependent TMR, read voltage, noise.

Conductance is linear in the cosine of the angle between free and reference
layers (Slonczewski/Jullière, docs/physics.md eq. T1)::

    G(c, V) = G_P [ (1 + c)/2 + (1 - c) / (2 (1 + TMR(V))) ],   c = cos(theta - phi_p)

so that R_AP / R_P = 1 + TMR. The TMR falls with bias (eq. T2)::

    TMR(V) = TMR0 / (1 + (V / Vh)^2)

At a forced read current I the voltage solves V = I / G(c, V) (eq. T3), found by
fixed-point iteration (the map is a contraction for |V| < Vh on any real
junction: I dR/dV << 1).
"""

from __future__ import annotations

import numpy as np

from ..timing import ENBW_TIMES_TAU  # noqa: F401 - one table for the bench and the chip

BOLTZMANN_J_PER_K = 1.380649e-23
_FIXED_POINT_ITERATIONS = 30


def tmr_at_bias(tmr0, bias_v, half_bias_v):
    """TMR ratio at junction bias ``bias_v`` (V), eq. T2."""
    return tmr0 / (1.0 + (np.asarray(bias_v) / half_bias_v) ** 2)


def conductance_s(cos_to_reference, resistance_p_ohm, tmr):
    """Junction conductance (S) for a cosine to the reference and a TMR ratio, eq. T1."""
    g_p = 1.0 / resistance_p_ohm
    return g_p * (0.5 * (1.0 + cos_to_reference) + 0.5 * (1.0 - cos_to_reference) / (1.0 + tmr))


def read_voltage_v(cos_to_reference, read_current_a, resistance_p_ohm, tmr0, half_bias_v):
    """Voltage across a junction forced with ``read_current_a`` (A), eq. T3.

    Returns ``(voltage_v, dvoltage_dcos_v)``: the self-consistent voltage and its
    derivative with respect to the cosine to the reference (V per unit cosine),
    including the feedback of the bias on the TMR.
    """
    c = np.asarray(cos_to_reference, float)
    current = np.asarray(read_current_a, float)
    voltage = current * resistance_p_ohm * np.ones_like(c)
    for _ in range(_FIXED_POINT_ITERATIONS):
        updated = current / conductance_s(c, resistance_p_ohm, tmr_at_bias(tmr0, voltage, half_bias_v))
        if np.all(np.abs(updated - voltage) <= 1e-14 * (np.abs(voltage) + 1e-30)):
            voltage = updated
            break
        voltage = updated
    tmr = tmr_at_bias(tmr0, voltage, half_bias_v)
    g_p = 1.0 / resistance_p_ohm
    g = conductance_s(c, resistance_p_ohm, tmr)
    dg_dc = 0.5 * g_p * tmr / (1.0 + tmr)
    dg_dtmr = -0.5 * g_p * (1.0 - c) / (1.0 + tmr) ** 2
    dtmr_dv = -tmr0 * 2.0 * voltage / half_bias_v**2 / (1.0 + (voltage / half_bias_v) ** 2) ** 2
    # V = I R(c, V)  =>  dV/dc = I dR/dc / (1 - I dR/dV), with dR = -dG / G^2.
    dr_dc = -dg_dc / g**2
    dr_dv = -dg_dtmr * dtmr_dv / g**2
    dv_dc = current * dr_dc / (1.0 - current * dr_dv)
    return voltage, dv_dc


def johnson_psd_v2_per_hz(resistance_ohm, temperature_k):
    """Johnson–Nyquist voltage noise density 4 k_B T R (V^2/Hz), eq. N1."""
    return 4.0 * BOLTZMANN_J_PER_K * temperature_k * np.asarray(resistance_ohm)


def flicker_psd_v2_per_hz(voltage_v, hooge, frequency_hz):
    """1/f (flicker) voltage noise density  hooge * V^2 / f  (V^2/Hz), eq. N2."""
    return hooge * np.asarray(voltage_v) ** 2 / frequency_hz


def dc_noise_std_v(voltage_v, resistance_ohm, temperature_k, hooge, integration_time_s, lowest_frequency_hz=0.01):
    """Standard deviation (V) of a DC reading averaged over ``integration_time_s``.

    White noise through a boxcar average has bandwidth 1/(2 t_int); 1/f noise
    integrates to hooge V^2 ln(f_high / f_low) between the reading's bandwidth
    and the lowest frequency a measurement session sees (eq. N3).
    """
    f_high = 1.0 / (2.0 * integration_time_s)
    white = johnson_psd_v2_per_hz(resistance_ohm, temperature_k) * f_high
    flicker = hooge * np.asarray(voltage_v) ** 2 * np.log(max(f_high / lowest_frequency_hz, 1.0))
    return np.sqrt(white + flicker)




def lockin_noise_std_v(voltage_v, resistance_ohm, temperature_k, hooge, frequency_hz, time_constant_s, slope_db_per_oct):
    """Standard deviation (V, peak amplitude units) of a lock-in X or Y output (eq. N4)."""
    enbw_hz = ENBW_TIMES_TAU[int(slope_db_per_oct)] / time_constant_s
    psd = johnson_psd_v2_per_hz(resistance_ohm, temperature_k) + flicker_psd_v2_per_hz(voltage_v, hooge, frequency_hz)
    return np.sqrt(2.0 * psd * enbw_hz)
