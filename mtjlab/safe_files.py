"""Opening the files a user hands to mtjlab: regular files only, each kind below a size limit.

Every file mtjlab reads (bench and training YAML, datasets, recorded sweeps,
calibration files, the files of a run directory) goes through :func:`open_regular`
or :func:`read_bytes` before any parser sees it, so that:

- a named pipe never blocks: the file is opened with ``O_NONBLOCK`` and checked
  with ``fstat`` on the opened descriptor (no window between check and use);
- a device (``/dev/zero``, a tty), a socket or a folder is refused in one line;
- a file larger than its kind's limit is refused *before* it is read, and reading
  stops at ``limit + 1`` bytes, so a file that grows while it is read is caught too.

Errors are raised as ``error_class(one line)`` (``DataFileError`` unless the caller
passes ``ConfigError``), naming the file as the user gave it. This module only uses
the standard library and :mod:`mtjlab.errors`: config, experiments and training all
import it.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from mtjlab.errors import DataFileError, MtjlabError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: Bench and training YAML files (and a run directory's config.yaml and bench.yaml).
#: The packaged ones are about 5 KB; 1 MiB leaves room for any amount of comments and
#: a 64 x 64 chip's device ids, and PyYAML (pure Python) parses it in about a second.
CONFIG_MAX_BYTES = 1 * MIB

#: Calibration files (calibration.yaml): about 200 bytes per device, so a 64 x 64
#: chip (the largest a bench file admits) needs under 1 MiB; 16 MiB is generous.
CALIBRATION_MAX_BYTES = 16 * MIB

#: Recorded sweeps (pymeasure Results CSV) read by replay: about 100 bytes a point,
#: so 512 MiB holds five million points (every device of a 64 x 64 chip at 1000
#: inputs); pandas needs a few times the file size in memory to read it.
SWEEP_MAX_BYTES = 512 * MIB

#: CSV datasets: MNIST written as CSV is 110 MB. Parsing takes several times the
#: file size in memory (a one-character value becomes an 8-byte float plus pandas'
#: own copies), so 256 MiB keeps the worst case within a few GB.
DATASET_CSV_MAX_BYTES = 256 * MIB

#: MNIST as npz or IDX (also the size once gunzipped, or of the arrays an npz
#: declares): the 70 000 images are 55 MB as uint8, 440 MB as float64, so 512 MiB
#: admits the full set in any layout. Features are held as float64, up to eight
#: times an uint8 file, and a decompression bomb must stop well before that.
DATASET_BINARY_MAX_BYTES = 512 * MIB

#: A run directory's npz files (checkpoints, calibration.npz), also the size of the
#: arrays they declare: the largest network the training schema admits on MNIST
#: (784-4096-4096-10, 20 M weights of 8 bytes) is 160 MB, kept six times (network,
#: baseline, two Adam moments of each): under 1 GiB; 2 GiB leaves a margin.
RUN_NPZ_MAX_BYTES = 2 * GIB

#: metrics.csv of a run: one row of about 200 bytes per epoch and fold; 64 MiB is
#: over 300 000 epochs.
METRICS_MAX_BYTES = 64 * MIB

_KINDS = (
    (stat.S_ISDIR, "is a folder, not a file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def describe_size(n_bytes: int) -> str:
    """``n_bytes`` as a short text in the largest binary unit that keeps it >= 1 (``"1.5 GiB"``)."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n_bytes >= size:
            return f"{n_bytes / size:.4g} {unit}"
    return f"{n_bytes} bytes"


def _fail(error_class: type[MtjlabError], source: str, what: str) -> MtjlabError:
    return error_class(" ".join(f"{source}: {what}".split()))


def _refuse_kind(mode: int, source: str, error_class: type[MtjlabError]) -> None:
    for test, why in _KINDS:
        if test(mode):
            raise _fail(error_class, source, why)
    if not stat.S_ISREG(mode):
        raise _fail(error_class, source, "is not a regular file")


def _refuse_size(size: int, source: str, what: str, max_bytes: int,
                 error_class: type[MtjlabError]) -> None:
    if size > max_bytes:
        shown = describe_size(size)
        if shown == describe_size(max_bytes):  # just over the limit: the rounded sizes look equal
            shown = f"{size:,} bytes"
        raise _fail(error_class, source, f"is {shown}, larger than the {describe_size(max_bytes)} limit for {what}")


def check_regular_file(path: str | os.PathLike[str], *, what: str, max_bytes: int,
                       source: str | None = None,
                       error_class: type[MtjlabError] = DataFileError) -> int:
    """Refuse ``path`` unless it is an existing regular file of at most ``max_bytes``; its size.

    Only ``stat`` is used (nothing is opened), so a named pipe cannot block here.
    ``what`` names the kind of file for the size message (``"a bench file"``);
    ``source`` is how the user wrote the path (default ``path`` itself).
    """
    source = os.fspath(path) if source is None else source
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _fail(error_class, source, "file not found") from None
    except PermissionError:
        raise _fail(error_class, source, "permission denied") from None
    except OSError as exc:
        raise _fail(error_class, source, f"cannot read file ({exc.strerror or type(exc).__name__})") from None
    _refuse_kind(info.st_mode, source, error_class)
    _refuse_size(info.st_size, source, what, max_bytes, error_class)
    return info.st_size


def open_regular(path: str | os.PathLike[str], *, what: str, max_bytes: int, source: str | None = None,
                 error_class: type[MtjlabError] = DataFileError) -> BinaryIO:
    """``path`` opened for binary reading, once it is known to be a regular file within ``max_bytes``.

    The file is opened without blocking (a FIFO with no writer would otherwise
    block ``open`` forever), then checked with ``fstat`` on the open descriptor,
    so the checked file is the one that is read. The caller closes it.
    """
    source = os.fspath(path) if source is None else source
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _fail(error_class, source, "file not found") from None
    except IsADirectoryError:
        raise _fail(error_class, source, "is a folder, not a file") from None
    except PermissionError:
        raise _fail(error_class, source, "permission denied") from None
    except OSError as exc:
        raise _fail(error_class, source, f"cannot read file ({exc.strerror or type(exc).__name__})") from None
    try:
        info = os.fstat(fd)
        _refuse_kind(info.st_mode, source, error_class)
        _refuse_size(info.st_size, source, what, max_bytes, error_class)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file: plain blocking reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike[str], *, what: str, max_bytes: int, source: str | None = None,
               error_class: type[MtjlabError] = DataFileError) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see :func:`open_regular`).

    At most ``max_bytes + 1`` bytes are read: a file that grew past the limit
    after it was checked is refused rather than read to the end.
    """
    source = os.fspath(path) if source is None else source
    with open_regular(path, what=what, max_bytes=max_bytes, source=source, error_class=error_class) as stream:
        try:
            data = stream.read(max_bytes + 1)
        except OSError as exc:
            raise _fail(error_class, source, f"cannot read file ({exc.strerror or type(exc).__name__})") from None
    _refuse_size(len(data), source, what, max_bytes, error_class)
    return data


def decode_text(data: bytes, source: str, error_class: type[MtjlabError] = DataFileError) -> str:
    """``data`` decoded as UTF-8 (a leading byte-order mark is dropped); one line naming what is wrong."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(error_class, source, "is UTF-16 text; save it as UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(error_class, source, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                    f"{exc.start}); save it as UTF-8") from None
    if "\x00" in text:
        raise _fail(error_class, source, "holds NUL bytes: a binary file, not text")
    return text.removeprefix("\ufeff")


__all__ = [
    "CALIBRATION_MAX_BYTES", "CONFIG_MAX_BYTES", "DATASET_BINARY_MAX_BYTES", "DATASET_CSV_MAX_BYTES",
    "METRICS_MAX_BYTES", "RUN_NPZ_MAX_BYTES", "SWEEP_MAX_BYTES", "check_regular_file", "decode_text",
    "describe_size", "open_regular", "read_bytes",
]
