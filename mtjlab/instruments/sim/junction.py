"""Static response of junctions: fields in each free layer's own frame, moment, read voltage.

The coil field H_b (at angle psi from the chip's x axis), the Néel offset H_N
(along the reference layer, at phi_p) and the field line's field kappa I_in
(along the chip's y axis) act on a free layer whose easy axis is tilted by
epsilon from x. In the easy axis's frame the reduced fields are
(docs/physics.md eq. F1; docs/chip_realism.md eq. R1)::

    h_x = [H_b cos(psi - eps) + H_N cos(phi_p - eps) + kappa I_in sin(eps)] / Hk
    h_y = [H_b sin(psi - eps) + H_N sin(phi_p - eps) + kappa I_in cos(eps)] / Hk

(epsilon = 0: eq. F1 unchanged). The moment's thermal means <cos theta>,
<sin theta> in that frame (eqs. E1-E4) give its cosine to a reference layer at
lab angle phi as cos(phi - eps) <cos> + sin(phi - eps) <sin>.

A junction with two reference layers (eq. R7) is two barriers in series, the
first (share 1 - s of R_P) read against phi_p, the second (share s) against
phi_2; both carry the read current, so their voltages (eq. T3) add::

    V = V_T3(c_1; I, (1 - s) R_P) + V_T3(c_2; I, s R_P)
"""

from __future__ import annotations

import numpy as np

from . import macrospin, transport
from .parameters import SHORT, DeviceParameters


def reduced_fields(devices: DeviceParameters, index: np.ndarray, input_current_a: np.ndarray,
                   bias_field_oe: float, bias_field_angle_deg: float):
    """``(h_x, h_y)`` = H / Hk in each free layer's frame (eq. R1); inputs broadcast on trailing axes."""
    d = devices
    extra = (None,) * (np.ndim(input_current_a) - 1)
    pick = lambda a: a[index][(slice(None),) + extra]  # noqa: E731
    psi = np.deg2rad(bias_field_angle_deg)
    tilt = np.deg2rad(pick(d.easy_axis_tilt_deg))
    phi_p = np.deg2rad(pick(d.reference_angle_deg))
    hk = pick(d.anisotropy_field_oe)
    offset = pick(d.offset_field_oe)
    line_oe = pick(d.field_line_oe_per_ma) * 1e3 * np.asarray(input_current_a)
    h_x = (bias_field_oe * np.cos(psi - tilt) + offset * np.cos(phi_p - tilt) + line_oe * np.sin(tilt)) / hk
    h_y = (bias_field_oe * np.sin(psi - tilt) + offset * np.sin(phi_p - tilt) + line_oe * np.cos(tilt)) / hk
    return h_x, h_y


def _projection(eq: macrospin.Equilibrium, angle_rad: np.ndarray):
    """Cosine of the moment to a direction ``angle_rad`` (in the free layer's frame), and its
    derivatives with respect to h_x and h_y, each ``(2, n, m)`` (one per branch)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    value = c * eq.mean_cos_by_branch + s * eq.mean_sin_by_branch
    d_dhy = c * eq.dcos_dhy_by_branch + s * eq.dsin_dhy_by_branch
    d_dhx = c * eq.dcos_dhx_by_branch + s * eq.dsin_dhx_by_branch
    return value, d_dhx, d_dhy


def static_response(devices: DeviceParameters, index: np.ndarray, input_current_a: np.ndarray,
                    read_current_a: float, bias_field_oe: float, bias_field_angle_deg: float,
                    escape_log_ratio: float, short_resistance_ohm: float, open_resistance_ohm: float):
    """Exact static response of devices ``index`` at inputs (``(n, m)``, A).

    Returns ``(forced, voltage_v, dvoltage_dinput_v_per_a)``: ``forced`` is
    (n, m) (see :class:`.macrospin.Equilibrium`); the others are ``(2, n, m)``,
    one per branch.
    """
    d = devices
    index = np.asarray(index, int)
    current = np.asarray(input_current_a, float)
    h_x, h_y = reduced_fields(d, index, current, bias_field_oe, bias_field_angle_deg)
    col = (slice(None), None)
    eq = macrospin.equilibrium(h_x, h_y, d.stability_factor[index][col], escape_log_ratio)
    tilt = np.deg2rad(d.easy_axis_tilt_deg[index])[col]
    per_ma = (d.field_line_oe_per_ma[index] * 1e3 / d.anisotropy_field_oe[index])[col]
    dhy_dinput, dhx_dinput = per_ma * np.cos(tilt), per_ma * np.sin(tilt)
    share = d.second_barrier_share[index][col]
    r_p, tmr0, half_bias = (a[index][col] for a in (d.resistance_p_ohm, d.tmr0, d.tmr_half_bias_v))

    cos_ref, dc_dhx, dc_dhy = _projection(eq, np.deg2rad(d.reference_angle_deg[index])[col] - tilt)
    voltage, dv_dcos = transport.read_voltage_v(cos_ref, read_current_a, r_p * (1.0 - share), tmr0, half_bias)
    slope = dv_dcos * dc_dhy * dhy_dinput + dv_dcos * dc_dhx * dhx_dinput
    double = share[:, 0] > 0
    if np.any(double):
        rows = np.flatnonzero(double)
        angle = np.deg2rad(d.second_reference_angle_deg[index])[col][rows] - tilt[rows]
        sub = macrospin.Equilibrium(*(getattr(eq, f)[..., rows, :] if f != "forced" else eq.forced[rows]
                                      for f in macrospin.Equilibrium.__dataclass_fields__))
        cos_2, d2_dhx, d2_dhy = _projection(sub, angle)
        v_2, dv2_dcos = transport.read_voltage_v(cos_2, read_current_a, r_p[rows] * share[rows], tmr0[rows],
                                                 half_bias[rows])
        voltage[:, rows] += v_2
        slope[:, rows] += dv2_dcos * (d2_dhy * dhy_dinput[rows] + d2_dhx * dhx_dinput[rows])
    forced = eq.forced
    dead_kind = d.dead_kind[index][col]
    if np.any(dead_kind):
        dead_r = np.where(dead_kind == SHORT, short_resistance_ohm, open_resistance_ohm)
        voltage = np.where(dead_kind != 0, read_current_a * dead_r, voltage)
        slope = np.where(dead_kind != 0, 0.0, slope)
        forced = np.where(dead_kind != 0, 0, forced).astype(np.int8)
    return forced, voltage, slope
