"""Plain data of the Bench: what it has set, what a point reads, how SIGTERM arrives."""

from __future__ import annotations

from dataclasses import dataclass

#: Exit status of a process stopped by SIGTERM (128 + 15).
SIGTERM_EXIT_STATUS = 143


class Terminated(SystemExit):
    """Raised in the main thread when the process receives SIGTERM."""

    def __init__(self) -> None:
        super().__init__(SIGTERM_EXIT_STATUS)


@dataclass(frozen=True)
class PointReading:
    """One measured point: source-meter DC voltage and lock-in X, Y (V rms)."""

    voltage_v: float
    x_v_rms: float
    y_v_rms: float
    in_compliance: bool


@dataclass
class BenchSettings:
    """What the Bench has set (the source of truth for ramps and snapshots)."""

    read_current_a: float = 0.0
    input_current_a: float = 0.0
    modulation_peak_a: float = 0.0
    field_oe: float = 0.0
    routed: tuple[int, int] | None = None


@dataclass(frozen=True)
class BenchReadouts:
    """What a bench display shows, read from the instruments at ``lab_time_s``."""

    read_current_a: float
    junction_voltage_v: float  # NaN with the read source off
    input_current_a: float
    modulation_v_rms: float
    field_set_oe: float
    field_measured_oe: float
    lockin_x_v: float
    lockin_y_v: float
    lockin_overload: bool
    closed_relays: tuple[int, int] | None
    lab_time_s: float
