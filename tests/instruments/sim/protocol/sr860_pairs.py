"""pymeasure's protocol pairs for the Stanford Research SR860, transcribed as data.

Source: pymeasure, ``tests/instruments/srs/test_sr860.py`` (driver
``pymeasure/instruments/srs/sr860.py``, class ``SR860``): its only test,
``test_aux_out_small_values``, sets each aux output to values down to 1 nV.
Each parameter set is one :class:`Pair`; the lock-in answers nothing and sets
no error bit. The runner and the fields are those of :mod:`.sr830_pairs`.
"""

from __future__ import annotations

from . import Pair

SOURCE = "pymeasure tests/instruments/srs/test_sr860.py"



_AUX_VALUES = (1e-9, 1e-7, -1e-7, 0.5, 1.5, -10.5, 10.5)

PAIRS: tuple[Pair, ...] = tuple(
    Pair(f"test_aux_out_small_values[{value:g}-aux_out_{channel + 1}]", f"AUXV {channel}, {value:g}", None)
    for value in _AUX_VALUES for channel in range(4)
)
