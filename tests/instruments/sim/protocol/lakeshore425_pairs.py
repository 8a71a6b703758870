"""pymeasure's protocol pairs for the Lake Shore 425 gaussmeter, transcribed as data.

Source: pymeasure, ``tests/instruments/lakeshore/test_lakeshore425.py``
(driver ``pymeasure/instruments/lakeshore/lakeshore425.py``, class
``LakeShore425``), the revision with ``test_range`` through
``test_measure_aborts_early``. Each ``expected_protocol`` pair of that file is
one :class:`Pair`, named by its test function; pairs marked "from manual" in
that file come from the Lake Shore 425 manual, chapter 6.

``given`` lists the commands that set up the state the reply presumes, and
``field_g`` the field (gauss) the probe reads, when the reply is a reading;
the runner sets both on a noiseless probe, then sends ``command``. ``reply``
None means a command: the gaussmeter answers nothing and sets no error bit in
its event status register. A pair outside what the emulator models keeps its
place with a ``skip`` reason.
"""

from __future__ import annotations

from typing import NamedTuple

SOURCE = "pymeasure tests/instruments/lakeshore/test_lakeshore425.py"

#: Tests of that file that exchange nothing (they check construction only).
NO_TRAFFIC = ("test_init",)


class Pair(NamedTuple):
    test: str  #: the pymeasure test function the pair comes from
    command: str
    reply: str | None  #: None: a command, no reply
    given: tuple[str, ...] = ()  #: commands that set up the state the reply presumes
    field_g: float | None = None  #: the field the probe reads (G), for a reading
    skip: str | None = None  #: why the emulator does not answer this pair, if it does not


PAIRS: tuple[Pair, ...] = (
    Pair("test_unit", "UNIT?", "1", given=("UNIT 1",)),
    Pair("test_unit_setter", "UNIT 2", None),
    Pair("test_field", "RDGFIELD?", "+123.456E-01", given=("UNIT 1",), field_g=12.3456,
         skip="the manual's format example: 12.3456 G has one digit more than the 35 G range "
              "resolves (35000 counts, 0.001 G), so the emulator reads +123.460E-01"),
    Pair("test_zero_probe", "ZPROBE", None),
    Pair("test_range", "RANGE?", "1", given=("RANGE 1",)),
    Pair("test_range", "RANGE?", "2", given=("RANGE 2",)),
    Pair("test_range", "RANGE?", "3", given=("RANGE 3",)),
    Pair("test_range", "RANGE?", "4", given=("RANGE 4",)),
    Pair("test_range_setter", "RANGE 3", None),
    Pair("test_range_setter_truncated_discrete_set", "RANGE 2", None),
    Pair("test_range_setter_truncated_discrete_set_above_max", "RANGE 4", None),
    Pair("test_auto_range", "AUTO", None),
    Pair("test_mode_getter", "RDGMODE?", "1,0,1", given=("RDGMODE 1,0,1",)),
    Pair("test_mode_setter", "RDGMODE 2,1,1", None),
    Pair("test_dc_mode_wideband", "RDGMODE 1,0,1", None),
    Pair("test_dc_mode_narrowband", "RDGMODE 1,0,2", None),
    Pair("test_ac_mode_wideband", "RDGMODE 2,1,1", None),
    Pair("test_ac_mode_narrowband", "RDGMODE 2,1,2", None),
    Pair("test_measure", "RDGFIELD?", "+100.000E-01", given=("UNIT 1",), field_g=10.0),
    Pair("test_measure", "RDGFIELD?", "+200.000E-01", given=("UNIT 1",), field_g=20.0),
    Pair("test_measure_aborts_early", "RDGFIELD?", "+100.000E-01", given=("UNIT 1",), field_g=10.0),
)
