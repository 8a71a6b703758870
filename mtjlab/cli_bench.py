"""``mtjlab bench check`` and ``mtjlab bench resources``.

``bench check`` connects to every instrument of a bench file, prints who answered
and the limits that apply to it, exercises each one harmlessly (sources at zero
current, the lock-in at its smallest sine, the field loop closed onto zero
field, one relay closed and opened with every source at zero), and leaves
everything at zero, off and open. ``bench resources`` lists what pyvisa sees.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Callable, TextIO

from .errors import InstrumentError, MtjlabError

log = logging.getLogger(__name__)


def _limits_of(role: str, limits: Any) -> str:
    """The safety limits that concern one role, as a short text."""
    table = {
        "read_source": f"<= {limits.max_read_current_a * 1e3:g} mA, junction <= {limits.max_bias_v:g} V",
        "input_source": f"<= {limits.max_input_current_a * 1e3:g} mA, ramp <= {limits.max_source_ramp_a_per_s * 1e3:g} mA/s",
        "lockin": f"sine <= {limits.max_modulation_v_rms:g} V rms",
        "field_supply": f"coil <= {limits.max_coil_current_a:g} A, field <= {limits.max_field_oe:g} Oe",
        "gaussmeter": f"ramp <= {limits.max_field_ramp_oe_per_s:g} Oe/s",
        "switch": "break before make, sources at zero",
    }
    return table[role]


def _say(out: TextIO, line: str = "") -> None:
    out.write(line + "\n")


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        _say(out, "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            _say(out, "  ".join("-" * w for w in widths))


def _exercises(bench: Any) -> list[tuple[str, Callable[[], str]]]:
    """Harmless checks of each instrument: (role, action returning what it saw)."""
    first_device = bench.config.chip.ids()[0]

    def source(role: str) -> Callable[[], str]:
        def run() -> str:
            readouts = bench.readouts()
            level_a = readouts.read_current_a if role == "read_source" else readouts.input_current_a
            return f"at {level_a:g} A"
        return run

    def lockin() -> str:
        readouts = bench.readouts()
        return (f"sine {readouts.modulation_v_rms:g} V rms, X {readouts.lockin_x_v:+.3g} V, "
                f"Y {readouts.lockin_y_v:+.3g} V")

    def field() -> str:
        bench.set_field(0.0)  # closed loop onto zero field: cancels any remanence
        return f"closed loop held the field at {bench.read_field_oe():+.3g} Oe"

    def switch() -> str:
        bench.route(first_device)
        routed = bench.readouts().closed_relays
        bench.disconnect()
        return f"closed and opened {first_device} at {routed}"

    return [
        ("read_source", source("read_source")),
        ("input_source", source("input_source")),
        ("lockin", lockin),
        ("field_supply", field),
        ("gaussmeter", lambda: f"reads {bench.read_field_oe():+.4g} Oe"),
        ("switch", switch),
    ]


def bench_check(bench_file: Path | None, out: TextIO, visa_library: str = "") -> int:
    """Connect, describe, exercise and make safe every instrument of a bench file."""
    from .config import load_bench, load_default_bench
    from .instruments.bench import Bench

    config = load_bench(bench_file) if bench_file is not None else load_default_bench()
    with Bench(config, visa_library=visa_library) as bench:
        rows = [["role", "model", "backend", "address", "identity", "limits"]]
        for inst in config.instruments:
            rows.append([inst.role, inst.model, inst.backend, inst.address or "-",
                         bench.identities.get(inst.role, "?"), _limits_of(inst.role, bench.limits)])
        _say(out, f"bench {config.name}: {len(config.instruments)} instruments connected")
        _table(rows, out)
        mode = bench.acquisition()
        _say(out, f"acquisition: {mode.mode} ({mode.reason})")
        _say(out)
        failures = 0
        for role, action in _exercises(bench):
            try:
                _say(out, f"  {role:<13} ok: {action()}")
            except MtjlabError as exc:
                failures += 1
                _say(out, f"  {role:<13} FAILED: {exc.one_line()}")
    safe = "" if bench.lab is None or bench.lab.everything_safe() else " (the virtual lab disagrees!)"
    _say(out, f"everything ramped to zero and off, every relay open{safe}")
    if failures or safe:
        raise InstrumentError(f"bench check: {failures} instrument(s) failed their check")
    return 0


def bench_resources(out: TextIO, visa_library: str = "") -> int:
    """List the VISA resources pyvisa sees (GPIB, USB, serial, LAN)."""
    import pyvisa

    try:
        manager = pyvisa.ResourceManager(visa_library)
    except (OSError, ValueError) as exc:
        raise InstrumentError(f"no VISA library could be loaded ({visa_library or 'default'}): "
                              f"{' '.join(str(exc).split())}") from exc
    with warnings.catch_warnings():  # discovery warns about optional extras it lacks
        warnings.simplefilter("ignore")
        resources = manager.list_resources()
    _say(out, f"VISA library: {manager.visalib}")
    if not resources:
        _say(out, "no VISA resources found")
    for name in resources:
        _say(out, f"  {name}")
    return 0
