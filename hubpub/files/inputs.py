"""Reading the small files a user names: manifests, baselines, schema files.

Such a path can name ``/dev/zero``, a FIFO or a 50 MB file, by mistake or on purpose. Each is
refused before it is read, naming the file and what it is: only regular files are read, and
only up to a size far above any real one. JSON nested thousands deep and numbers with
thousands of digits are errors with the file's line and column, not tracebacks.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from hubpub.errors import InputError

__all__ = ["MAX_JSON_BYTES", "MAX_MANIFEST_BYTES", "decode_utf8", "load_json", "read_bounded"]

# A real manifest is a few kilobytes; a real baseline holds a few hundred bytes per finding.
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_JSON_BYTES = 64 * 1024 * 1024

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def read_bounded(path: str | Path, *, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``.

    Raises:
        InputError: the file is missing or unreadable (``FileNotFoundError`` is kept as the
            cause), not a regular file, or larger than ``max_bytes``.
    """
    shown = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(shown, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror or exc}", path=shown) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
        raise InputError(f"the {what} must be a regular file, and this is {kind}", path=shown)
    with os.fdopen(fd, "rb") as source:
        if info.st_size > max_bytes:
            raise InputError(f"the {what} is {_size(info.st_size)}, more than the "
                             f"{_size(max_bytes)} a {what} may have; is it the right file?",
                             path=shown)
        data = source.read(max_bytes + 1)  # the file may grow while we read it
    if len(data) > max_bytes:
        raise InputError(f"the {what} is larger than the {_size(max_bytes)} a {what} may "
                         f"have; is it the right file?", path=shown)
    return data


def decode_utf8(raw: bytes, *, path: str | Path, what: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); InputError at the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line, column = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        raise InputError(f"the {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                         path=os.fspath(path), line=line, column=column) from None


def load_json(path: str | Path, *, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON document from a bounded regular file; InputError with line and column."""
    shown = os.fspath(path)
    text = decode_utf8(read_bounded(shown, what=what, max_bytes=max_bytes), path=shown,
                       what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON: {exc.msg}", path=shown,
                         line=exc.lineno, column=exc.colno) from exc
    except RecursionError:
        raise InputError(f"the {what} nests arrays or objects too deeply to be read",
                         path=shown) from None
    except ValueError:  # the only other: an integer with more digits than Python converts
        raise InputError(f"the {what} holds a number with more digits than can be read",
                         path=shown) from None
