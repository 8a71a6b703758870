"""What every measurement procedure shares: a Bench, its snapshot, safe shutdown.

Procedures are pymeasure :class:`~pymeasure.experiment.Procedure` subclasses, so
they run in pymeasure's ``Worker`` (and later in the GUI's queue) and write
pymeasure ``Results`` CSV files point by point: the header carries the
procedure, its parameters and, as metadata, the bench snapshot (instrument
identities, settings, calibration, limits). Column names carry their units.

A procedure opens the bench of its ``bench_file`` parameter (empty: the
packaged simulated bench) in ``startup()`` and makes it safe in
``shutdown()``, which pymeasure's Worker calls on every exit: finished,
stopped, or failed. A bench handed in with :meth:`BenchProcedure.use_bench`
(the GUI's connected bench, or a test's) is made safe but left connected.

Before any of that, :meth:`BenchProcedure.preflight` loads and validates the
bench file and checks the parameters and every request the procedure will
make against the bench's limits, with nothing connected and no data file
made, so a refused sweep ends in one line and leaves nothing behind. The
checks follow the parameters' names (units in every name, DESIGN.md):
``device_id`` must be on the chip; ``read_current_a`` and
``read_current_max_a`` positive and within the read limit;
``modulation_amplitude_a`` positive and within the sine's limit;
``saturating_input_a``, ``input_min_a`` and ``input_max_a`` within the input
limit together with the modulation; ``max_field_oe``, ``bias_field_oe`` and
each of ``bias_fields_oe`` within the field limit. A procedure adds its own
checks by extending :meth:`BenchProcedure.check_requests`.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from pymeasure.experiment import Metadata, Parameter, Procedure

from ..errors import ConfigError, MtjlabError, SafetyLimitError

log = logging.getLogger(__name__)


def _positive(name: str, value: float) -> float:
    """``value`` as a float, refused (one line naming the option) unless finite and above zero."""
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"--{name.replace('_', '-')} {value:g}: must be a positive number")
    return value


class BenchProcedure(Procedure):
    """A procedure that measures on a Bench (simulated or real)."""

    bench_file = Parameter("Bench file", default="")
    bench_snapshot = Metadata("Bench", fget="snapshot_json")

    #: Data columns that hold text (all others are numbers with their unit in the name).
    TEXT_COLUMNS: tuple[str, ...] = ()

    _bench: Any = None
    _owns_bench = False

    def use_bench(self, bench: Any) -> "BenchProcedure":
        """Measure on an already connected bench (made safe, not disconnected, at the end)."""
        self._bench, self._owns_bench = bench, False
        return self

    @property
    def bench(self) -> Any:
        if self._bench is None:
            raise RuntimeError("the procedure has no bench before startup()")
        return self._bench

    _config: Any = None

    def preflight(self) -> Any:
        """Load the bench file and check every request before anything is connected or written.

        Returns the bench config (kept, so that ``startup()`` opens exactly the
        file that was checked). Raises an MtjlabError in one line: a bad bench
        file names the file, a refused request the option and the limit.
        """
        from ..instruments.limits import SafetyLimits

        if self._config is not None:  # already checked (the CLI checks before drawing its progress bar)
            return self._config
        if self._bench is not None:
            config, limits = self._bench.config, self._bench.limits
        else:
            from ..config import load_bench, load_default_bench

            config = load_bench(Path(self.bench_file)) if self.bench_file else load_default_bench()
            limits = SafetyLimits.from_bench(config)
        self.check_requests(config, limits)
        self._config = config
        return config

    def check_requests(self, config: Any, limits: Any) -> None:
        """Refuse parameters the procedure cannot use on this bench (see the module doc).

        Each refusal names the option, its value and the bench whose limit it meets.
        """
        values = {name: getattr(self, name) for name in self.parameter_objects()}

        def check(name: str, value: Any, limit_check: Any, *more: Any) -> float:
            try:
                return limit_check(value, *more)
            except SafetyLimitError as exc:
                raise SafetyLimitError(f"--{name.replace('_', '-')} {value:g}: {exc.one_line()} "
                                       f"(bench {config.name!r})") from None

        if "device_id" in values:
            ids = config.chip.ids()
            if values["device_id"] not in ids:
                raise MtjlabError(f"--device-id {values['device_id']}: not on the chip of bench {config.name!r} "
                                  f"(devices {ids[0]} to {ids[-1]})")
        for name in ("read_current_a", "read_current_max_a"):
            if name in values:
                check(name, _positive(name, values[name]), limits.check_read_current)
        modulation_a = 0.0
        if "modulation_amplitude_a" in values:
            name = "modulation_amplitude_a"
            modulation_a = check(name, _positive(name, values[name]), limits.check_modulation, 0.0)
        if "saturating_input_a" in values:
            name = "saturating_input_a"
            check(name, _positive(name, values[name]), limits.check_input_current, modulation_a)
        for name in ("input_min_a", "input_max_a"):
            if name in values:
                check(name, float(values[name]), limits.check_input_current, modulation_a)
        if "input_min_a" in values and "input_max_a" in values and values["input_min_a"] == values["input_max_a"]:
            raise ConfigError(f"--input-min-a and --input-max-a are both {values['input_min_a']:g}: nothing to sweep")
        if "max_field_oe" in values:
            check("max_field_oe", _positive("max_field_oe", values["max_field_oe"]), limits.check_field)
        if "bias_field_oe" in values:
            check("bias_field_oe", float(values["bias_field_oe"]), limits.check_field)
        if "bias_fields_oe" in values:
            from .activation import parse_fields_oe

            try:
                fields = parse_fields_oe(str(values["bias_fields_oe"]))
            except ValueError as exc:
                raise ConfigError(f"--bias-fields-oe: {exc}") from None
            for field_oe in fields:
                check("bias_fields_oe", field_oe, limits.check_field)

    def startup(self) -> None:
        if self._bench is None:
            from ..config import load_bench, load_default_bench
            from ..instruments.bench import Bench

            config = self._config
            if config is None:
                config = load_bench(Path(self.bench_file)) if self.bench_file else load_default_bench()
            self._bench, self._owns_bench = Bench.open(config), True
        log.info("%s on bench %s", type(self).__name__, self._bench.config.name)

    def snapshot_json(self) -> str:
        """The bench snapshot, one line of JSON for the file header."""
        return json.dumps(self.bench.snapshot(), separators=(",", ":"), default=str)

    def shutdown(self) -> None:
        if self._bench is not None:
            self._bench.shutdown(raise_errors=False)
            log.info("%s: bench ramped down and safe", type(self).__name__)
