"""Per-device parameters of a simulated chip, drawn from seeded spreads.

Each junction draws its own R_P, TMR0, Hk, reference angle phi_p and Néel offset
field; each crossbar row draws the coupling kappa of its field line (the same
input field reaches every device of a row). Positive quantities are lognormal
with the configured *relative spread* = standard deviation of ln(value) and
median = nominal; angles and offset fields are normal with the configured
absolute spread (docs/physics.md, "Variability"). Junctions are dead by the
explicit list of the chip's physics, or at random with the configured
probability, shorted or open.

The mechanisms of docs/chip_realism.md add, each only when its spread is set:

- a tilt epsilon of each free layer's easy axis (normal, eq. R1);
- a per-device factor on kappa (lognormal, eq. R2);
- one geometry per device, lateral size w and free-layer thickness t (lognormal
  factors about the nominal), from which (eq. R3)::

      R_P ~ 1/w^2       Hk ~ t/w (shape anisotropy)       Delta ~ Hk w^2 t ~ w t^2

  on top of the independent R_P (barrier RA) and Hk (residual) spreads;
- a second reference layer on the rows ``double_rows`` (eq. R7).

The draws happen in a fixed order from ``numpy.random.default_rng(seed)``, so a
seed reproduces a chip bit for bit; the mechanisms draw after the original
parameters, so a chip without them is the chip of earlier versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from ...config import ChipPhysics

ALIVE, SHORT, OPEN = 0, 1, 2
_UNIFORM_PARAMETERS = (
    "resistance_p_ohm", "tmr0", "tmr_half_bias_v", "anisotropy_field_oe",
    "reference_angle_deg", "offset_field_oe", "field_line_oe_per_ma", "stability_factor",
)
#: Parameters of :func:`uniform_devices` that are not ``chip.physics`` fields of the same name.
_UNIFORM_EXTRAS = {"easy_axis_tilt_deg": 0.0, "second_reference_angle_deg": 0.0, "second_barrier_share": 0.0}
DEAD_KINDS = {"short": SHORT, "open": OPEN}


@dataclass(frozen=True)
class DeviceParameters:
    """The truth of each junction (arrays of shape ``(n_devices,)``, row-major)."""

    device_ids: tuple[str, ...]
    row: np.ndarray
    col: np.ndarray
    resistance_p_ohm: np.ndarray
    tmr0: np.ndarray
    tmr_half_bias_v: np.ndarray
    anisotropy_field_oe: np.ndarray
    reference_angle_deg: np.ndarray
    offset_field_oe: np.ndarray
    field_line_oe_per_ma: np.ndarray
    stability_factor: np.ndarray
    dead_kind: np.ndarray
    #: Tilt epsilon of the free layer's easy axis from the chip's x axis, degrees (eq. R1).
    easy_axis_tilt_deg: np.ndarray = field(default=None)  # type: ignore[assignment]
    #: Angle phi_2 of a second reference layer, degrees (eq. R7).
    second_reference_angle_deg: np.ndarray = field(default=None)  # type: ignore[assignment]
    #: Share s of R_P in the second barrier: 0 for a junction with one reference layer (eq. R7).
    second_barrier_share: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in ("easy_axis_tilt_deg", "second_reference_angle_deg", "second_barrier_share"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.zeros(len(self.device_ids)))

    @property
    def double(self) -> np.ndarray:
        """Which junctions have two reference layers."""
        return self.second_barrier_share > 0

    @property
    def n_devices(self) -> int:
        return len(self.device_ids)

    @property
    def dead(self) -> np.ndarray:
        return self.dead_kind != ALIVE

    def index_of(self, device_ids: Sequence[str]) -> np.ndarray:
        """Indices of ``device_ids``; a ``KeyError`` names an unknown id."""
        lookup = {d: i for i, d in enumerate(self.device_ids)}
        return np.array([lookup[d] for d in device_ids], dtype=int)

    def with_values(self, **arrays: Any) -> "DeviceParameters":
        """A copy with some parameters replaced (scalars broadcast to every device)."""
        n = self.n_devices
        return replace(self, **{k: np.broadcast_to(np.asarray(v, float if k != "dead_kind" else int), (n,)).copy()
                                for k, v in arrays.items()})


def uniform_devices(rows: int, cols: int, **values: float) -> DeviceParameters:
    """A chip of identical live junctions (for closed-form checks and studies).

    Unnamed parameters take the nominal defaults of the bench file's
    ``chip.physics`` section (docs/physics.md).
    """
    defaults = ChipPhysics()
    nominal = {name: getattr(defaults, name) for name in _UNIFORM_PARAMETERS} | dict(_UNIFORM_EXTRAS)
    unknown = set(values) - set(nominal)
    if unknown:
        raise TypeError(f"unknown device parameter(s): {sorted(unknown)}")
    nominal.update(values)
    n = rows * cols
    row, col = np.divmod(np.arange(n), cols)
    return DeviceParameters(
        device_ids=tuple(f"r{r}c{c}" for r, c in zip(row, col)),
        row=row, col=col,
        dead_kind=np.zeros(n, int),
        **{k: np.full(n, float(v)) for k, v in nominal.items()},
    )


def sample_devices(physics: Any, rows: int, cols: int, device_ids: Sequence[str] | None = None,
                   double_rows: Sequence[int] = ()) -> DeviceParameters:
    """Draw every junction of a ``rows`` x ``cols`` chip from ``physics``.

    ``physics`` is the bench file's ``chip.physics`` section
    (:class:`mtjlab.config.ChipPhysics`): nominal values, spreads, seed and dead
    junctions. The stability factor of each device scales with its own Hk and
    volume (Delta = mu0 Ms Hk V / (2 k_B T), same Ms). ``double_rows``: rows whose
    junctions have a second reference layer (``chip.double_reference_rows``).
    """
    n = rows * cols
    row, col = np.divmod(np.arange(n), cols)
    ids = tuple(device_ids) if device_ids is not None else tuple(f"r{r}c{c}" for r, c in zip(row, col))
    rng = np.random.default_rng(physics.seed)

    def lognormal(nominal: float, rel_spread: float, size: int) -> np.ndarray:
        return nominal * np.exp(rel_spread * rng.standard_normal(size))

    resistance_p = lognormal(physics.resistance_p_ohm, physics.resistance_p_rel_spread, n)
    tmr0 = lognormal(physics.tmr0, physics.tmr0_rel_spread, n)
    hk = lognormal(physics.anisotropy_field_oe, physics.anisotropy_field_rel_spread, n)
    phi_p = physics.reference_angle_deg + physics.reference_angle_spread_deg * rng.standard_normal(n)
    offset = physics.offset_field_oe + physics.offset_field_spread_oe * rng.standard_normal(n)
    kappa_row = lognormal(physics.field_line_oe_per_ma, physics.field_line_rel_spread, rows)
    random_dead = rng.random(n) < physics.dead_probability
    random_kind = np.where(rng.random(n) < physics.dead_short_fraction, SHORT, OPEN)
    dead_kind = np.where(random_dead, random_kind, ALIVE)
    lookup = {d: i for i, d in enumerate(ids)}
    for device_id, kind in dict(physics.dead_devices).items():
        dead_kind[lookup[device_id]] = DEAD_KINDS[kind]
    # The mechanisms of docs/chip_realism.md draw last, and only when set (earlier chips unchanged).
    tilt = np.full(n, float(physics.easy_axis_tilt_deg))
    if physics.easy_axis_tilt_spread_deg > 0:
        tilt = tilt + physics.easy_axis_tilt_spread_deg * rng.standard_normal(n)
    kappa = kappa_row[row]
    if physics.field_line_device_rel_spread > 0:
        kappa = lognormal(1.0, physics.field_line_device_rel_spread, n) * kappa
    volume_factor = np.ones(n)
    if physics.size_rel_spread > 0 or physics.thickness_rel_spread > 0:
        size = lognormal(1.0, physics.size_rel_spread, n)          # w / w_nominal
        thickness = lognormal(1.0, physics.thickness_rel_spread, n)  # t / t_nominal
        resistance_p = resistance_p / size**2                       # R_P = RA / area
        hk = hk * thickness / size                                  # shape anisotropy ~ t / w
        volume_factor = size**2 * thickness
    double = np.isin(row, np.asarray(list(double_rows), int))
    return DeviceParameters(
        device_ids=ids,
        row=row,
        col=col,
        resistance_p_ohm=resistance_p,
        tmr0=tmr0,
        tmr_half_bias_v=np.full(n, float(physics.tmr_half_bias_v)),
        anisotropy_field_oe=hk,
        reference_angle_deg=phi_p,
        offset_field_oe=offset,
        field_line_oe_per_ma=kappa,
        stability_factor=physics.stability_factor * hk / physics.anisotropy_field_oe * volume_factor,
        dead_kind=dead_kind,
        easy_axis_tilt_deg=tilt,
        second_reference_angle_deg=np.full(n, float(physics.second_reference_angle_deg)),
        second_barrier_share=np.where(double, float(physics.second_barrier_share), 0.0),
    )
