"""pymeasure's protocol pairs for the Kepco BOP, transcribed as data.

Source: pymeasure, ``tests/instruments/kepco/test_kepcobop.py`` (driver
``pymeasure/instruments/kepco/kepcobop.py``, class ``KepcoBOP3612``). Each
``expected_protocol`` pair of that file is one :class:`Pair` (of this package), named by
its test function; a test with several pairs gives several entries. The
replies were recorded on a real BOP 36-12 with the BIT 4886 interface (its
``*IDN?`` is in ``test_id_getter``), so they are facts about the instrument.

``given`` lists the commands that put the supply in the state the reply
presumes (pymeasure's test checks the driver only, so the state is implicit
there); the runner sends them, lets the coil settle, then sends ``command``.
``reply`` None means a command: the supply answers nothing and queues no error.
A pair outside what the emulator models keeps its place with a ``skip`` reason.
"""

from __future__ import annotations

from . import Pair

SOURCE = "pymeasure tests/instruments/kepco/test_kepcobop.py"

#: Tests of that file that exchange nothing (they check construction only).
NO_TRAFFIC = ("test_init",)



PAIRS: tuple[Pair, ...] = (
    Pair("test_bop_test_getter", "DIAG:TST?", "0"),
    Pair("test_confidence_test_getter", "*TST?", "0"),
    Pair("test_current_getter", "MEASure:CURRent?", "4.99E-3",
         given=("FUNCtion:MODE CURR", "VOLTage 36", "CURRent 0.00499", "OUTPut 1")),
    Pair("test_current_setpoint_setter", "CURRent 0.1", None),
    # the recorded unit's calibration turned 0.1 A into 9.989E-2; the emulator has no
    # calibration constants, so the set-point that reads back so is given directly
    Pair("test_current_setpoint_getter", "CURRent?", "9.989E-2", given=("CURRent 0.09989",)),
    Pair("test_id_getter", "*IDN?", "KEPCO,BIT 4886 36-12  08-04-2023,H249977,4.04-1.82",
         skip="the identity of one BOP 36-12 (serial H249977); the emulated supply is a 36-6M "
              "with its own identity string"),
    Pair("test_output_enabled_getter", "OUTPut?", "0", given=("OUTPut 0",)),
    # voltage mode, 8 mV programmed, the current set-point as its compliance: the coil
    # settles at 8 mV / R and the supply measures the 8 mV across it
    Pair("test_voltage_getter", "MEASure:VOLTage?", "8.0E-3",
         given=("FUNCtion:MODE VOLT", "CURRent 1", "VOLTage 0.008", "OUTPut 1")),
    Pair("test_voltage_setpoint_setter", "VOLTage 0.1", None),
    Pair("test_voltage_setpoint_getter", "VOLTage?", "1.000E-1", given=("VOLTage 0.1",)),
    Pair("test_beep", "SYSTem:BEEP", None),
)
