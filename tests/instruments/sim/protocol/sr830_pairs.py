"""pymeasure's protocol pairs for the Stanford Research SR830, transcribed as data.

Source: pymeasure, ``tests/instruments/srs/test_sr830.py`` (driver
``pymeasure/instruments/srs/sr830.py``, class ``SR830``). Each
``expected_protocol`` pair of that file is one :class:`Pair` (of this package), named by
its test function; a parametrised test gives one entry per parameter set, a
test with several pairs several entries. The replies are the instrument's
(the ``*IDN?`` of ``test_id`` names the unit), so they are facts about it:
six significant digits, a 3-digit exponent (``-4.17234e-007``), ``OEXP?``
as ``offset,expand``.

``given`` lists the commands that put the lock-in in the state the reply
presumes (pymeasure's test checks the driver only, so the state is implicit
there); the runner sends them to a fresh emulator, then ``command``, and
compares the reply character for character. ``reply`` None means a command:
the lock-in answers nothing and sets no error bit. A pair outside what the
emulator can reproduce keeps its place with a ``skip`` reason.

``tests/instruments/srs/test_sr830_fake.py`` tests pymeasure's fake adapter,
not the instrument: it holds no pairs.
"""

from __future__ import annotations

from . import Pair

SOURCE = "pymeasure tests/instruments/srs/test_sr830.py"



#: test_aux_out_small_values: each aux output and value, sent with ``%g``.
_AUX_VALUES = (1e-9, 1e-7, -1e-7, 0.5, 1.5, -10.5, 10.5)

PAIRS: tuple[Pair, ...] = (
    Pair("test_id", "*IDN?", "Stanford_Research_Systems,SR830,s/n12345,ver1.07"),
    Pair("test_sensitivity[0-2e-09]", "SENS?", "0", given=("SENS0",)),
    Pair("test_sensitivity[14-0.0001]", "SENS?", "14", given=("SENS14",)),
    Pair("test_sensitivity[25-0.5]", "SENS?", "25", given=("SENS25",)),
    Pair("test_frequency", "FREQ?", "121.98", given=("FREQ1.21980e+02",)),
    Pair("test_snap", "SNAP? 1,2", "-4.17234e-007,-5.9605e-007",
         skip="a reading of the recording author's own sub-microvolt signal; the emulated bench "
              "cannot put those exact volts at the input (the number format is checked by "
              "test_sr830_numbers_are_written_as_the_instrument_writes_them)"),
    Pair("test_get_scaling", "OEXP? 1", "9.7,1", given=("OEXP 1,9.70,1",)),
    Pair("test_output_conversion", "OEXP? 1", "10,1", given=("OEXP 1,10.00,1",)),
    Pair("test_output_conversion", "SENS?", "19", given=("SENS19",)),
    Pair("test_output_conversion", "OUTP?1", "-0.000500266",
         given=("SENS19", "OEXP 1,10.00,1"),
         skip="X minus the 10 % offset (-0.5 mV) plus the recording author's own -0.266 uV "
              "signal, which the emulated bench cannot reproduce exactly (the offset's effect on "
              "OUTP? is checked by test_sr830_offset_is_subtracted_from_outp)"),
    *(Pair(f"test_aux_out_small_values[{value:g}-aux_out_{channel}]", f"AUXV{channel},{value:g};", None)
      for value in _AUX_VALUES for channel in (1, 2, 3, 4)),
)
