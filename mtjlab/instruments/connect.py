"""Opening each instrument of a bench file: a real VISA resource or an emulator.

The same bench file format serves both backends. For ``backend: visa`` the
pymeasure driver gets a ``VISAAdapter`` at the configured address; for
``backend: sim`` it gets an :class:`~.sim.scpi.EmulatorAdapter` in front of the
emulator of that model on the shared virtual lab. Either way the driver is made
resilient (bounded retries on timeouts and garbled replies, see
:mod:`.resilience`), and a connection can be reopened after it drops, which the
Bench does to make an instrument safe after a fault.
"""

from __future__ import annotations

import logging
from typing import Any

from ..config.bench import BenchConfig, InstrumentConfig
from ..errors import InstrumentError
from .adapters import DRIVER_CLASSES
from .resilience import resilient

log = logging.getLogger(__name__)

#: Query retries after a timeout or a garbled reply, before giving up.
QUERY_RETRIES = 2


class Connector:
    """Opens (and reopens) the pymeasure driver of each role of a bench file."""

    def __init__(self, bench: BenchConfig, lab: Any = None, visa_library: str = "") -> None:
        self.bench = bench
        self.lab = lab
        self.visa_library = visa_library
        self._emulators: dict[str, Any] = {}

    def open(self, role: str) -> Any:
        """A fresh driver for ``role`` (raises InstrumentError naming role and address)."""
        config = self.bench.instrument(role)
        driver_class = resilient(DRIVER_CLASSES[config.model], role=role, retries=QUERY_RETRIES)
        adapter = self._sim_adapter(config) if config.backend == "sim" else self._visa_adapter(config)
        try:
            driver = driver_class(adapter)
            # a fresh connection may find a reply someone else's query left behind
            driver.clear_interface()
            return driver
        except InstrumentError:
            raise
        except Exception as exc:  # a driver that cannot even start talking
            raise InstrumentError(f"{role}: cannot start the {config.model} driver at "
                                  f"{self.describe(config)}: {exc}") from exc

    @staticmethod
    def describe(config: InstrumentConfig) -> str:
        return config.address if config.backend == "visa" else "the simulated bench"

    def _sim_adapter(self, config: InstrumentConfig) -> Any:
        from .sim.emulators import make_emulator
        from .sim.scpi import EmulatorAdapter

        if self.lab is None:
            raise InstrumentError(f"{config.role}: backend sim needs a virtual lab")
        if config.role not in self._emulators:  # the instrument outlives its connections
            self._emulators[config.role] = make_emulator(self.lab, config.role, config.model)
        return EmulatorAdapter(self._emulators[config.role], faults=self.lab.faults, role=config.role)

    def _visa_adapter(self, config: InstrumentConfig) -> Any:
        from pymeasure.adapters import VISAAdapter

        try:
            return VISAAdapter(config.address, visa_library=self.visa_library, timeout=int(config.timeout_s * 1000))
        except Exception as exc:  # pyvisa raises many kinds: missing library, no such resource...
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InstrumentError(f"{config.role}: cannot connect to {config.address} ({config.model}): {reason}") from exc
