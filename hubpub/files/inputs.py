"""Opening a file hubpub is about to read: every reader goes through here.

Any path hubpub reads can name ``/dev/zero``, a FIFO, a directory or a 50 GB file, by mistake
or on purpose, and a module directory can hold such entries, or links out of it. Each is
refused before it is read, naming the file and what it is:

- only regular files are read (a link is followed only when it stays inside the module);
- each kind of file has a size limit far above any real one (``Limit``: a checksum file is
  a few hundred bytes, a manifest or a page a few MB, ``saved_model.pb`` at most the 2 GiB
  protobuf can parse), raised with an environment variable per kind, as
  ``HUBPUB_MAX_UNPACKED_BYTES`` raises the archive cap;
- text is UTF-8, else an error with the file and the byte offset;
- JSON nested thousands deep and numbers with thousands of digits are errors with the file's
  line and column, not tracebacks.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from hubpub.errors import HubpubError, InputError

__all__ = [
    "CHECKPOINT_INDEX",
    "CHECKSUM_FILE",
    "EMBEDDING_LINE",
    "JSON_FILE",
    "LIMITS",
    "MANIFEST",
    "MAX_JSON_BYTES",
    "MAX_MANIFEST_BYTES",
    "MODULE_DEF",
    "PAGE",
    "SAVED_MODEL",
    "Limit",
    "check_module_files",
    "decode_utf8",
    "describe_size",
    "file_kind",
    "limit_from_env",
    "seconds_from_env",
    "limit_of_member",
    "load_json",
    "open_input",
    "read_bounded",
    "read_input",
    "read_text",
]


def limit_from_env(name: str, default: int) -> int:
    """A positive whole number from the environment variable ``name``, else ``default``.

    Raises:
        HubpubError: the variable is set to something else (exit 2).
    """
    return int(_positive_from_env(name, default, int, "a whole number", HubpubError))


def seconds_from_env(name: str, default: float,
                     error: type[HubpubError] = HubpubError) -> float:
    """A positive, finite number of seconds from the environment variable ``name``, else
    ``default``.

    Raises:
        HubpubError: ``error``, the variable is set to something else (exit 2).
    """
    return _positive_from_env(name, default, float, "a number of seconds", error)


def _positive_from_env(name: str, default: float, parse: type, unit: str,
                       error: type[HubpubError]) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise error(f"{name}={raw!r} is not {unit}") from None
    if not value > 0 or value == float("inf"):
        raise error(f"{name}={raw!r} must be a positive number"
                          + ("" if parse is int else " of seconds"))
    return float(value)


@dataclass(frozen=True)
class Limit:
    """The largest file of one kind hubpub reads: ``default`` bytes, or ``$env``."""

    what: str
    default: int
    env: str

    @property
    def max_bytes(self) -> int:
        return limit_from_env(self.env, self.default)

    def refusal(self, size: int | None) -> str:
        is_ = f"is {describe_size(size)}, more than" if size is not None else "is larger than"
        return (f"the {self.what} {is_} the {describe_size(self.max_bytes)} a {self.what} may "
                f"have; is it the right file? (raise the limit with {self.env}=<bytes>)")


_MIB = 1024 * 1024
# A sha256sum line: 64 hex digits, two spaces, a file name.
CHECKSUM_FILE = Limit("checksum file", 4096, "HUBPUB_MAX_CHECKSUM_BYTES")
MANIFEST = Limit("manifest", _MIB, "HUBPUB_MAX_MANIFEST_BYTES")
PAGE = Limit("page", 16 * _MIB, "HUBPUB_MAX_PAGE_BYTES")
JSON_FILE = Limit("JSON file", 64 * _MIB, "HUBPUB_MAX_JSON_BYTES")  # baselines, schemas
MODULE_DEF = Limit("tfhub_module.pb", _MIB, "HUBPUB_MAX_MODULE_DEF_BYTES")
# Protocol buffers cannot be larger than 2 GiB: a larger saved_model.pb cannot be parsed.
SAVED_MODEL = Limit("saved_model.pb", 2 * 1024 * _MIB - 1, "HUBPUB_MAX_SAVED_MODEL_BYTES")
# About 100 bytes per tensor: 1 GiB is ten million variables.
CHECKPOINT_INDEX = Limit("variables.index", 1024 * _MIB, "HUBPUB_MAX_CHECKPOINT_INDEX_BYTES")
# One line of an embedding text file: its token and D numbers (see recipes.embedding_file).
EMBEDDING_LINE = Limit("embedding line", 64 * _MIB, "HUBPUB_MAX_EMBEDDING_LINE_BYTES")

LIMITS = (CHECKSUM_FILE, MANIFEST, PAGE, JSON_FILE, MODULE_DEF, SAVED_MODEL, CHECKPOINT_INDEX,
          EMBEDDING_LINE)
MAX_MANIFEST_BYTES = MANIFEST.default
MAX_JSON_BYTES = JSON_FILE.default

# Module files read whole into memory, by their name in the module.
_MODULE_FILES = {"tfhub_module.pb": MODULE_DEF, "saved_model.pb": SAVED_MODEL,
                 "variables/variables.index": CHECKPOINT_INDEX}

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


def describe_size(count: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def file_kind(path: str | Path) -> str | None:
    """What ``path`` is when it is not a regular file ("a FIFO (named pipe)", "missing"...),
    None for a regular file (links followed)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return None if stat.S_ISREG(info.st_mode) else _kind(info.st_mode)


def limit_of_member(name: str) -> Limit | None:
    """The limit of a module file read whole (``saved_model.pb``...), by its path in the module."""
    return _MODULE_FILES.get(name)


def open_input(path: str | Path, limit: Limit | None = None, *, what: str | None = None,
               max_bytes: int | None = None, inside: str | Path | None = None) -> BinaryIO:
    """The open file ``path``, once it is known to be a regular file within its limit.

    ``what`` names the file in messages (default: the limit's); ``max_bytes`` overrides the
    limit's size; ``inside`` is the module folder a link must stay in. Opening never waits
    (a FIFO is refused, not waited on). The caller reads as much as the limit allows.

    Raises:
        InputError: missing or unreadable (``OSError`` kept as the cause), not a regular file,
            a link out of ``inside``, or larger than the limit.
    """
    shown = os.fspath(path)
    what = what or (limit.what if limit else "file")
    if inside is not None:
        _check_inside(shown, inside, what)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(shown, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror or exc}", path=shown) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"the {what} must be a regular file, and this is "
                             f"{_kind(info.st_mode)}", path=shown)
        cap = max_bytes if max_bytes is not None else limit.max_bytes if limit else None
        if cap is not None and info.st_size > cap:
            if limit is not None and max_bytes is None:
                raise InputError(limit.refusal(info.st_size), path=shown)
            raise InputError(f"the {what} is {describe_size(info.st_size)}, more than the "
                             f"{describe_size(cap)} a {what} may have; is it the right file?",
                             path=shown)
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_inside(path: str, folder: str | Path, what: str) -> None:
    """A link in a module may point only inside the module."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise InputError(f"the {what} is a link to {real}, outside the module {root}; a "
                         f"module's files must be inside it", path=path)


def _read_at_most(source: BinaryIO, cap: int) -> bytes:
    """Up to ``cap + 1`` bytes; memory is allocated for what the file holds, not for the cap
    (``read(n)`` reserves n bytes first: 2 GiB for a small ``saved_model.pb``)."""
    data = source.read(min(cap, os.fstat(source.fileno()).st_size) + 1)
    while len(data) <= cap:  # the file may grow while we read it
        more = source.read(min(cap + 1 - len(data), 1 << 20))
        if not more:
            break
        data += more
    return data


def read_input(path: str | Path, limit: Limit, *, what: str | None = None,
               inside: str | Path | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` (see ``open_input``)."""
    cap = limit.max_bytes
    with open_input(path, limit, what=what, inside=inside) as source:
        data = _read_at_most(source, cap)
    if len(data) > cap:
        raise InputError(limit.refusal(None), path=os.fspath(path))
    return data


def read_bounded(path: str | Path, *, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (see ``open_input``)."""
    shown = os.fspath(path)
    with open_input(shown, what=what, max_bytes=max_bytes) as source:
        data = _read_at_most(source, max_bytes)
    if len(data) > max_bytes:
        raise InputError(f"the {what} is larger than the {describe_size(max_bytes)} a {what} "
                         f"may have; is it the right file?", path=shown)
    return data


def decode_utf8(raw: bytes, *, path: str | Path, what: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); InputError at the first bad byte, with its
    line, column and byte offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line, column = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        raise InputError(f"the {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                         f"offset {exc.start})", path=os.fspath(path), line=line,
                         column=column) from None


def read_text(path: str | Path, limit: Limit, *, what: str | None = None) -> str:
    """A bounded regular file's UTF-8 text; InputError naming the file and the bad byte."""
    return decode_utf8(read_input(path, limit, what=what), path=path,
                       what=what or limit.what)


def load_json(path: str | Path, *, what: str, max_bytes: int | None = None) -> Any:
    """A JSON document from a bounded regular file; InputError with line and column."""
    shown = os.fspath(path)
    raw = (read_input(shown, JSON_FILE, what=what) if max_bytes is None
           else read_bounded(shown, what=what, max_bytes=max_bytes))
    text = decode_utf8(raw, path=shown, what=what)
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


def check_module_files(folder: str | Path) -> None:
    """Every entry of a module folder is a folder or a regular file within its limit.

    A FIFO or a device (which TensorFlow, a hash or a diff would block on or read for ever),
    a link out of the module or to something that is not a regular file, and a
    ``saved_model.pb`` over its limit are refused before anything reads the module.

    Raises:
        InputError: naming the entry and what it is.
    """
    root = os.path.realpath(folder)
    for path, relative in _entries(root):
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            _check_inside(path, root, f"module file {relative}")
            info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"the module file {relative} must be a regular file or a folder, "
                             f"and this is {_kind(info.st_mode)}", path=path)
        limit = _MODULE_FILES.get(relative)
        if limit is not None and info.st_size > limit.max_bytes:
            raise InputError(limit.refusal(info.st_size), path=path)


def _entries(root: str) -> Iterator[tuple[str, str]]:
    """(path, path below root with ``/``) of every entry, links to folders not followed."""
    pending = [("", root)]
    while pending:
        prefix, folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise InputError(f"cannot list the module folder: {exc.strerror or exc}",
                             path=folder) from exc
        for entry in entries:
            relative = f"{prefix}{entry.name}"
            yield entry.path, relative
            if entry.is_dir(follow_symlinks=False):
                pending.append((f"{relative}/", entry.path))
