"""Protocol facts about the instruments: the (command, reply) pairs of pymeasure's own tests,
transcribed as data, one module per instrument, run against the emulators by the tests beside this
package."""

from typing import NamedTuple


class Pair(NamedTuple):
    """One exchange of pymeasure's test: a command, the reply (None: a command that answers
    nothing), the commands that set up the state the reply presumes, and why the emulator does not
    answer it, if it does not."""

    test: str  #: the pymeasure test function (and parameters) the pair comes from
    command: str
    reply: str | None
    given: tuple[str, ...] = ()
    skip: str | None = None
