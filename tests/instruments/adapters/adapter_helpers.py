"""Helpers of the adapter tests: a recording fake clock, emulated instruments, protocol checks."""

from __future__ import annotations

import pytest

from mtjlab.instruments.adapters import DRIVER_CLASSES


class FakeClock:
    """A Clock that only records: ``sleeps`` lists every requested wait (s)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now_s(self) -> float:
        return self.t

    def sleep(self, duration_s: float) -> None:
        self.sleeps.append(duration_s)
        self.t += max(duration_s, 0.0)


def make_emulator_for(lab, role: str, model: str):
    """The emulator of ``model`` playing ``role`` on ``lab`` (via make_emulator).

    While ``sim/emulators/switch.py`` is not there yet, ``make_emulator`` cannot
    import; the other models are then built from their own modules.
    """
    from mtjlab.instruments.sim.emulators import make_emulator

    try:
        return make_emulator(lab, role, model)
    except ModuleNotFoundError as exc:
        if model == "Keithley707B" or "switch" not in str(exc):
            pytest.skip(f"no emulator for {model} yet: {exc}")
        from mtjlab.instruments.sim.emulators import field, keithley, lockin

        if model.startswith("Keithley"):
            return getattr(keithley, f"{model}Emulator")(lab, role)
        module = lockin if model.startswith("SR") else field
        return getattr(module, f"{model}Emulator")(lab)


def emulated_driver(lab, role: str, model: str):
    """The real pymeasure driver of ``model`` talking to its emulator on ``lab``."""
    from mtjlab.instruments.sim.scpi import EmulatorAdapter

    return DRIVER_CLASSES[model](EmulatorAdapter(make_emulator_for(lab, role, model)))


def protocol_members(protocol: type) -> set[str]:
    """The public methods, properties and attributes a typing.Protocol declares."""
    names = {n for n in vars(protocol) if not n.startswith("_")}
    return names | set(getattr(protocol, "__annotations__", {}))


def provides(cls: type, protocol: type) -> set[str]:
    """The members of ``protocol`` that ``cls`` lacks (checked on the class: nothing is sent)."""
    return {name for name in protocol_members(protocol) if not hasattr(cls, name)}
