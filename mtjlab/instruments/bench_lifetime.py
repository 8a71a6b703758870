"""The Bench's lifetime: connecting, signals, shutdown, and recovery from interruptions.

:class:`BenchLifetime` owns the instruments of a bench file (the adapters are
private: nothing outside the Bench moves an output) and everything about
entering and leaving a bench safely; :class:`~.bench.Bench` adds the checked
requests on top. Leaving by any path (normal exit, exception, Ctrl-C, SIGTERM,
an instrument fault) ramps every output to zero and turns it off
(:mod:`.bench_recovery`); a Ctrl-C or SIGTERM that arrives during the
ramp-down waits for it and is raised once it is over. After an operation that
did not finish, the state is read back from the instruments before the next
request is checked.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

from ..config.bench import BenchConfig
from ..config.instrument_models import ROLES
from ..errors import InstrumentError
from .adapters import ClosedLoopField, KeithleySourceMeter, MatrixSwitch, SRSLockIn
from .bench_recovery import make_everything_safe, read_back_settings
from .bench_state import BenchSettings, Terminated
from .connect import Connector
from .limits import SafetyLimits
from .quantise import KEITHLEY_NUMBER_FORMAT, at_most_as_sent
from .timing import WallClock

log = logging.getLogger(__name__)

#: Voltage compliance of the input source (V): the field line is ~50 ohm, so
#: 20 mA needs 1 V; 10 V still stops at once on an open line.
INPUT_COMPLIANCE_V = 10.0
#: Largest step of the input current at once (A), in ramps and hardware-timed lists: 5 mA,
#: 25 Oe on the packaged chip's field line. A magnet crossing the same fields faster ends
#: in the same state; finer steps only add bus traffic. The step time follows from the rate.
INPUT_RAMP_STEP_A = 5e-3


def input_ramp_step_time_s(rate_a_per_s: float) -> float:
    """Step time of the input source's ramps (s): one INPUT_RAMP_STEP_A per step at ``rate_a_per_s``."""
    return INPUT_RAMP_STEP_A / rate_a_per_s


#: Step time at the default input rate (10 A/s), s.
INPUT_RAMP_STEP_TIME_S = input_ramp_step_time_s(10.0)


class BenchLifetime:
    """Connecting to the instruments of a bench file and leaving them safe (see :class:`~.bench.Bench`)."""

    def __init__(self, config: BenchConfig, *, lab: Any = None, visa_library: str = "") -> None:
        self.config = config
        self.limits = SafetyLimits.from_bench(config)
        if lab is None and config.uses_sim:
            from .sim.lab import VirtualLab

            lab = VirtualLab(config)
        self.lab = lab
        all_sim = all(i.backend == "sim" for i in config.instruments)
        self.clock = lab.clock if all_sim else WallClock()
        self._settings = BenchSettings()
        self.identities: dict[str, str] = {}
        self._connector = Connector(config, lab, visa_library)
        self._drivers: dict[str, Any] = {}
        self._read_source: KeithleySourceMeter | None = None
        self._input_source: KeithleySourceMeter | None = None
        self._lockin: SRSLockIn | None = None
        self._field: ClosedLoopField | None = None
        self._switch: MatrixSwitch | None = None
        self._safe = True
        self._unfinished = False  # an operation was cut short: the settings may be wrong
        self._deferred_interrupt: BaseException | None = None  # a Ctrl-C that came during a shutdown
        self._outputs_on: set[str] = set()
        self._previous_handlers: dict[int, Any] = {}

    # ---------------------------------------------------------------- state
    @property
    def settings(self) -> BenchSettings:
        """What the Bench has set (a copy: changing it changes nothing)."""
        return replace(self._settings)

    def unsafe_instruments(self) -> SimpleNamespace:
        """The raw adapters (read_source, input_source, lockin, field, switch): NOTHING done
        through them is checked against the limits, ramped or tracked. For work the Bench
        does not offer, by someone who knows the hardware; the Bench reads its state back
        from the instruments before its next request."""
        log.warning("raw instrument access handed out: the Bench's limits do not apply to it")
        leave_lists = getattr(self, "_leave_lists", None)
        if leave_lists is not None:
            leave_lists()
        self._unfinished = True
        self._arm()
        return SimpleNamespace(read_source=self._read_source, input_source=self._input_source,
                               lockin=self._lockin, field=self._field, switch=self._switch)

    # ---------------------------------------------------------------- lifetime
    @classmethod
    def open(cls, config: BenchConfig, **kwargs: Any) -> Any:
        """Build and connect a Bench (everything made safe again if connecting fails)."""
        bench = cls(config, **kwargs)
        bench.connect()
        return bench

    @classmethod
    def from_file(cls, path: str | Path | None = None, **kwargs: Any) -> Any:
        """Connect the bench of a bench file (default: the packaged simulated bench)."""
        from ..config import load_bench, load_default_bench

        return cls.open(load_bench(path) if path is not None else load_default_bench(), **kwargs)

    def connect(self) -> None:
        """Open every instrument, identify it and put it in a known, safe state."""
        self._arm()
        try:
            failed: list[InstrumentError] = []
            for role in ROLES:  # every one we can reach, so that all of them can be made safe
                try:
                    self._drivers[role] = self._connector.open(role)
                except InstrumentError as exc:
                    failed.append(exc)
            if failed:
                raise failed[0]
            self._build_adapters()
            self.identities = {role: self._identify(role) for role in ROLES}
            self._configure()
        except BaseException:
            # what did connect may have been left on by someone else: make it safe too
            try:
                self._build_adapters(set(self._drivers))
            except Exception:  # noqa: BLE001 - the original error is the one to report
                log.exception("could not prepare the connected instruments for a safe shutdown")
            self.shutdown(raise_errors=False)
            raise

    def _arm(self) -> None:
        """Something may be on from now: the next shutdown must do its work."""
        if self._safe:
            self._safe = False
            atexit.register(self.shutdown)

    def _build_adapters(self, only: set[str] | None = None) -> None:
        w, d, lim = self.config.wiring, self._drivers, self.limits
        want = (only or set(ROLES)) & set(d)  # only what is connected
        if "read_source" in want:
            self._read_source = KeithleySourceMeter(d["read_source"], self.clock, name="read_source")
        if "input_source" in want:
            self._input_source = KeithleySourceMeter(d["input_source"], self.clock, name="input_source",
                                                     step_time_s=input_ramp_step_time_s(lim.max_input_ramp_a_per_s))
        if "lockin" in want:
            self._lockin = SRSLockIn(d["lockin"], self.clock, name="lockin")
        if want & {"field_supply", "gaussmeter"} and {"field_supply", "gaussmeter"} <= d.keys():
            self._field = ClosedLoopField(
                d["field_supply"], d["gaussmeter"], self.clock,
                coil_oe_per_a=w.coil_oe_per_a, remanence_oe=w.coil_remanence_oe,
                ramp_rate_oe_per_s=lim.max_field_ramp_oe_per_s, max_current_a=lim.max_coil_current_a,
                max_field_oe=lim.max_field_oe, agreement_oe=w.gaussmeter_agreement_oe,
                agreement_fraction=w.gaussmeter_agreement_fraction,
            )
        if "switch" in want:
            chip = self.config.chip
            self._switch = MatrixSwitch(d["switch"], self.clock, rows=chip.rows, cols=chip.cols, settle_s=w.relay_settle_s)

    def _reconnect(self, roles: tuple[str, ...]) -> None:
        """Open fresh connections for ``roles`` (after a dropped one) and rebuild their adapters."""
        for role in roles:
            self._drivers[role] = self._connector.open(role)
        self._build_adapters(set(roles))

    def _identify(self, role: str) -> str:
        adapter = {"read_source": self._read_source, "input_source": self._input_source, "lockin": self._lockin,
                   "switch": self._switch}.get(role)
        if adapter is not None:
            return adapter.identity
        return self._field.supply_identity if role == "field_supply" else self._field.gaussmeter_identity

    def _configure(self) -> None:
        w = self.config.wiring
        # someone may have left outputs on: a relay moves only with the sources at zero
        self._settings = read_back_settings(self)
        if self._settings.read_current_a or self._settings.input_current_a:
            self._zero_sources()
        self._switch.open_all()
        # %g would send a compliance of 0.4999999 V as 0.5 V: never above the limit
        bias_compliance_v = at_most_as_sent(self.limits.max_bias_v, KEITHLEY_NUMBER_FORMAT)
        for source, compliance_v in ((self._read_source, bias_compliance_v), (self._input_source, INPUT_COMPLIANCE_V)):
            source.source_current(compliance_v=compliance_v)
            source.set_nplc(w.source_nplc)
        self._lockin.frequency_hz = w.lockin_frequency_hz
        self._lockin.time_constant_s = w.lockin_time_constant_s
        self._lockin.slope_db_per_oct = w.lockin_slope_db_per_oct
        self._lockin.modulation_amplitude_v = self._lockin.minimum_amplitude_v
        self._settings = self._resting_settings()

    def _resting_settings(self) -> BenchSettings:
        """Everything at zero, except the lock-in's sine, which cannot go below its minimum:
        that residual modulation (5.7 uA peak for 4 mV rms into 1 kOhm) still counts
        against the input limit."""
        minimum_v = self._lockin.minimum_amplitude_v if self._lockin is not None else 0.0
        return BenchSettings(modulation_peak_a=self.limits.modulation_peak_a(minimum_v))

    def __enter__(self) -> Any:
        if not self._drivers:
            self.connect()
        self._install_signal_handlers(self._on_sigterm)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.shutdown(raise_errors=exc_type is None)
        finally:
            self._restore_signal_handlers()

    # ---------------------------------------------------------------- signals
    @staticmethod
    def _on_sigterm(signum, frame) -> None:
        raise Terminated()

    def _defer_during_shutdown(self, signum, frame) -> None:
        log.warning("signal %d while ramping everything down: finishing the safe shutdown first", signum)
        if self._deferred_interrupt is None:
            self._deferred_interrupt = KeyboardInterrupt() if signum == signal.SIGINT else Terminated()

    def _install_signal_handlers(self, handler: Callable) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may handle signals; atexit still covers us
        for signum in (signal.SIGTERM,):
            previous = signal.signal(signum, handler)
            self._previous_handlers.setdefault(signum, previous)

    def _restore_signal_handlers(self) -> None:
        for signum, previous in self._previous_handlers.items():
            signal.signal(signum, previous)
        self._previous_handlers.clear()

    # ----------------------------------------------------------------- shutdown
    def shutdown(self, raise_errors: bool = True) -> None:
        """Ramp every output to zero, turn it off, open every relay (idempotent).

        Each instrument is made safe on its own; one whose connection dropped
        is reconnected first. What cannot be made safe is logged as critical
        and raised as one InstrumentError (unless ``raise_errors`` is False).
        """
        if self._safe:
            return
        in_main = threading.current_thread() is threading.main_thread()
        held = {}
        if in_main:  # a second Ctrl-C or SIGTERM must not abort the ramp-down
            for signum in (signal.SIGINT, signal.SIGTERM):
                held[signum] = signal.signal(signum, self._defer_during_shutdown)
        try:
            leave_lists = getattr(self, "_leave_lists", None)
            if leave_lists is not None:  # hardware-timed lists left the read source waiting for triggers
                try:
                    leave_lists()
                except (KeyboardInterrupt, SystemExit) as exc:  # waits for the ramp-down, like any other
                    if self._deferred_interrupt is None:
                        self._deferred_interrupt = exc
                except Exception:  # noqa: BLE001 - the ramp-down below does not depend on it
                    log.warning("could not take the instruments out of list mode before the shutdown")
            failures = self._make_everything_safe()
        finally:
            for signum, previous in held.items():
                signal.signal(signum, previous)
        self._safe = True
        atexit.unregister(self.shutdown)
        interrupt, self._deferred_interrupt = self._deferred_interrupt, None
        if failures:
            message = "could not make safe: " + "; ".join(failures)
            log.critical(message)
            if raise_errors:
                raise InstrumentError(message) from interrupt
        if interrupt is not None:  # the Ctrl-C or SIGTERM that waited for the ramp-down
            raise interrupt

    def _make_everything_safe(self) -> list[str]:
        failures = make_everything_safe(self)
        self._settings = self._resting_settings()
        self._unfinished = bool(failures)  # what could not be made safe is read back next time
        self._outputs_on.clear()
        return failures

    # --------------------------------------------------- interrupted operations
    @contextmanager
    def _operation(self) -> Iterator[None]:
        """Around everything that moves an output: the settings are trusted again only if it ends."""
        self._arm()
        self._unfinished = True
        yield
        self._unfinished = False

    def _up_to_date(self) -> None:
        """Before checking a request: after an unfinished operation, believe the instruments."""
        if self._unfinished:
            log.warning("the last operation did not finish: reading the bench's state back from the instruments")
            self._settings = read_back_settings(self)
            self._outputs_on = {name for name, source in (("read_source", self._read_source),
                                                          ("input_source", self._input_source))
                                if source is not None and source.output_enabled}
            self._unfinished = False

    def _zero_sources(self) -> None:
        """Ramp both sources to zero (before relays move)."""
        for source, rate in ((self._input_source, self.limits.max_input_ramp_a_per_s),
                             (self._read_source, self.limits.max_source_ramp_a_per_s)):
            source.ramp_to(0.0, rate)  # with the output off, the level moves and nothing flows
        self._settings.input_current_a = self._settings.read_current_a = 0.0
