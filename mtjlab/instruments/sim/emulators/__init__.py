"""Emulated instruments: each answers the command subset its pymeasure driver sends.

:func:`make_emulator` builds the emulator of a bench file's instrument (role and
model) on a virtual lab.
"""

from __future__ import annotations

from typing import Any

from ..scpi import ScpiEmulator


def make_emulator(lab: Any, role: str, model: str) -> ScpiEmulator:
    """The emulator of instrument ``model`` playing ``role`` on ``lab``."""
    from .field import KepcoBOPEmulator, LakeShore425Emulator
    from .keithley import Keithley2400Emulator, Keithley2450Emulator
    from .lockin import SR830Emulator, SR860Emulator
    from .switch import Keithley707BEmulator

    if model == "Keithley2400":
        return Keithley2400Emulator(lab, role)
    if model == "Keithley2450":
        return Keithley2450Emulator(lab, role)
    makers = {
        "SR830": SR830Emulator,
        "SR860": SR860Emulator,
        "KepcoBOP": KepcoBOPEmulator,
        "LakeShore425": LakeShore425Emulator,
        "Keithley707B": Keithley707BEmulator,
    }
    if model not in makers:
        raise ValueError(f"no emulator for instrument model {model!r}")
    return makers[model](lab)


__all__ = ["make_emulator"]
