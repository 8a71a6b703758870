"""The one exception family of mtjlab.

Every error a user can cause (a bad file, a bad address, a request beyond a safety
limit) is an :class:`MtjlabError`. Its message is one line that names the file,
field or instrument and says what is wrong; the CLI prints it on stderr and exits
with status 2, without a traceback.
"""

from __future__ import annotations


class MtjlabError(Exception):
    """Base class of every error mtjlab raises on purpose."""

    def one_line(self) -> str:
        """The message folded onto one line, as the CLI prints it."""
        return " ".join(str(self).split())


class ConfigError(MtjlabError):
    """A configuration file is missing, unreadable, not YAML, or fails validation."""


class DataFileError(MtjlabError):
    """A data file (sweep, run record, dataset) is missing or malformed."""


class InstrumentError(MtjlabError):
    """An instrument did not answer, answered garbage, or reported an error."""


class SafetyLimitError(MtjlabError):
    """A request would exceed a safety limit of the bench; nothing was sent."""


class DeadDeviceError(MtjlabError):
    """A junction is dead (shorted or open) and cannot be used as a neuron."""


class StopRequested(MtjlabError):
    """A measurement ended between two points because its owner asked it to stop (not a fault)."""


class ConnectionLostError(InstrumentError):
    """The connection to an instrument dropped; its outputs may still be on."""
