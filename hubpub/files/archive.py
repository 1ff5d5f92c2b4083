"""Safe reading of module tarballs: hostile members are refused and the unpacked size is capped.

A module tarball comes from the network or from another publisher, so it is read as hostile
input. Every member is checked before anything is written, and everything is written inside
a private folder the caller made:

- names: absolute paths, ``..`` components and empty names are refused (tensorflow_hub 0.15
  re-rooted absolute names and failed later with an opaque NotFoundError);
- types: only regular files and directories are extracted. Symbolic and hard links are refused
  even when they point inside the folder, because a TF1 Hub module never needs one and a link
  is the usual way to write outside the target; with no links, no member can be written
  through one. Devices, FIFOs and sparse files are refused too;
- names the filesystem cannot hold are refused before anything is created: a NUL byte, a
  component longer than the filesystem allows, a path too long for it, or more than
  ``MAX_DEPTH`` nested folders;
- repeats: a regular file stored twice is written twice, the last copy winning, as tar does
  (``tarfile.add(folder)`` followed by adding each file again makes such archives); a name
  that changes type (a file, then a folder of that name, or the reverse) is refused;
- size: the declared sizes of all members are summed as each header is read, *before* its
  data is decompressed or skipped, against a cap (``DEFAULT_MAX_UNPACKED_BYTES``, raised with
  ``HUBPUB_MAX_UNPACKED_BYTES``), so a gzip bomb or a header claiming 2^62 bytes fails at its
  first oversized member, not on a full disk or after decompressing it all; the member count,
  the size of metadata headers (pax, GNU long names, which tarfile reads into memory), alone
  and together, and the length of a chain of them (which tarfile follows recursively) are
  capped too, and so is the whole decompressed stream.

The compression layer is opened here rather than by tarfile's ``r|*`` so that a truncated or
corrupt gzip stream (CRC, length) is detected too; gzip goes through ISA-L, which is faster.
"""

from __future__ import annotations

import bz2
import contextlib
import io
import logging
import lzma
import os
import queue
import shutil
import tarfile
import tempfile
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol, cast

from isal import igzip, isal_zlib

from hubpub.errors import ArchiveError
from hubpub.files.inputs import limit_from_env, limit_of_member

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_UNPACKED_BYTES",
    "MAX_MEMBERS_ENV",
    "MAX_UNPACKED_BYTES_ENV",
    "Member",
    "iter_members",
    "list_members",
    "remove_tree",
    "safe_extract",
    "unpacked",
]

LOG = logging.getLogger(__name__)

DEFAULT_MAX_UNPACKED_BYTES = 8 * 1024**3
MAX_UNPACKED_BYTES_ENV = "HUBPUB_MAX_UNPACKED_BYTES"
DEFAULT_MAX_MEMBERS = 100_000
MAX_MEMBERS_ENV = "HUBPUB_MAX_MEMBERS"
# Pax and GNU long-name headers are read into memory whole; real ones are a few hundred bytes.
MAX_METADATA_HEADER_BYTES = 1024 * 1024
# All metadata headers together: tarfile scans each pax record with a regular expression
# (about 15 ms per MB); real archives carry a few hundred bytes per member.
MAX_METADATA_TOTAL_BYTES = 32 * 1024 * 1024
# Metadata headers in a row before a member (tarfile reads them recursively): real archives
# have at most a pax global header, a pax header and GNU long name and link headers.
MAX_METADATA_CHAIN = 16
# After the end-of-archive marker only record padding is expected (10 KiB for GNU tar).
MAX_TRAILING_BYTES = 64 * 1024 * 1024
# Nested folders in a member name; module assets nest a few levels at most.
MAX_DEPTH = 64
# Reads that return nothing in a row before a stream counts as ended in a member's data.
_MAX_EMPTY_READS = 64
# Headers, padding and pax records a member may add to the decompressed stream on top of its
# data (a pax header and its record, the member's header, padding: under 2 KiB in practice).
_OVERHEAD_PER_MEMBER = 4096

_CHUNK = 1024 * 1024
_MAGIC_GZIP = b"\x1f\x8b"
_MAGIC_BZIP2 = b"BZh"
_MAGIC_XZ = b"\xfd7zXZ\x00"

# Errors that mean "the bytes are not a readable archive" (as opposed to a failing disk).
# (isal's stub declares its error as an instance, hence the cast.)
_CORRUPT: tuple[type[BaseException], ...] = (
    tarfile.TarError, EOFError, zlib.error, cast("type[BaseException]", isal_zlib.error),
    lzma.LZMAError, igzip.BadGzipFile)

_TYPE_NAMES = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "chardev",
    tarfile.BLKTYPE: "blockdev",
    tarfile.FIFOTYPE: "fifo",
    tarfile.GNUTYPE_SPARSE: "sparse",
}


@dataclass(frozen=True)
class Member:
    """One tarball member as stored (name unnormalised, so lint can point at it)."""

    name: str
    type: str  # file | dir | symlink | hardlink | chardev | blockdev | fifo | sparse | other
    size: int
    mode: int
    linkname: str = ""


class _CheckedTarInfo(tarfile.TarInfo):
    """Refuses oversized metadata headers before tarfile reads them into memory.

    Overrides tarfile's private ``_proc_member`` hook (stable since Python 3.2): there is no
    public place to see a header's size before its payload is read.
    """

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        metadata_types = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                          tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
        if self.type not in metadata_types:
            return super()._proc_member(tarfile_)  # type: ignore[misc]  # private hook
        if self.size > MAX_METADATA_HEADER_BYTES:
            raise ArchiveError(
                f"a metadata header of {self.size} bytes is larger than the "
                f"{MAX_METADATA_HEADER_BYTES} bytes allowed", member=self.name)
        total = getattr(tarfile_, "_hubpub_metadata_bytes", 0) + self.size
        if total > MAX_METADATA_TOTAL_BYTES:
            raise ArchiveError(f"the archive's pax and GNU long-name headers add up to more "
                               f"than {MAX_METADATA_TOTAL_BYTES} bytes", member=self.name)
        tarfile_._hubpub_metadata_bytes = total  # type: ignore[attr-defined]
        # tarfile reads the member a metadata header describes by recursing; count the depth
        # on the TarFile so that a chain of thousands fails here, not with RecursionError.
        depth = getattr(tarfile_, "_hubpub_metadata_depth", 0) + 1
        if depth > MAX_METADATA_CHAIN:
            raise ArchiveError(
                f"more than {MAX_METADATA_CHAIN} pax or GNU long-name headers in a row; real "
                f"archives have a few at most", member=self.name)
        tarfile_._hubpub_metadata_depth = depth  # type: ignore[attr-defined]
        try:
            return super()._proc_member(tarfile_)  # type: ignore[misc]  # private hook
        finally:
            tarfile_._hubpub_metadata_depth = depth - 1  # type: ignore[attr-defined]


def _describe(tarball: Path | BinaryIO | str, name: str | None) -> str:
    if name:
        return name
    if isinstance(tarball, (str, os.PathLike)):
        return os.fspath(tarball)
    return str(getattr(tarball, "name", "<stream>"))


class _RawReader(io.RawIOBase):
    """Adapts any object with ``read(n)`` to RawIOBase, so BufferedReader can peek at it."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._fileobj = fileobj

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._fileobj.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _StreamGuard:
    """Caps the decompressed bytes tarfile reads, and fails reads past the end of the stream.

    The declared sizes are capped per header; this caps everything else a hostile archive
    can inflate to (pax records, headers), so decompression stops at the cap. And tarfile
    skips a member's data by reading it block by block, ignoring short reads: a header
    claiming 2^62 bytes in a 96-byte archive would keep it reading nothing for ever.
    """

    def __init__(self, stream: BinaryIO, what: str, budget: int) -> None:
        self._stream = stream
        self._what = what
        self._budget = budget
        self._total = 0
        self._empty = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._total += len(data)
        if self._total > self._budget:
            raise ArchiveError(f"{self._what} inflates to more than {self._budget} bytes of "
                               f"tar data; if this module really is that large, raise the "
                               f"limit with {MAX_UNPACKED_BYTES_ENV}=<bytes>")
        if data or size == 0:
            self._empty = 0
            return data
        self._empty += 1
        if self._empty > _MAX_EMPTY_READS:
            raise tarfile.ReadError("unexpected end of data: the archive ends inside a member")
        return data


def _decompressed(raw: BinaryIO) -> BinaryIO:
    """Wraps ``raw`` in the decompressor its magic bytes call for (none for a plain tar).

    A decompressor runs on a thread of its own (``_ReadAhead``)."""
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(_RawReader(raw), _CHUNK)
    head = buffered.peek(len(_MAGIC_XZ))[: len(_MAGIC_XZ)]
    if head.startswith(_MAGIC_GZIP):
        return _ReadAhead.of(igzip.IGzipFile(fileobj=buffered, mode="rb"))
    if head.startswith(_MAGIC_BZIP2):
        return _ReadAhead.of(bz2.BZ2File(buffered, mode="rb"))
    if head.startswith(_MAGIC_XZ):
        return _ReadAhead.of(lzma.LZMAFile(buffered, mode="rb"))
    return buffered


class _Decompressor(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class _ReadAhead(io.RawIOBase):
    """A decompressed stream inflated on a thread, a few blocks ahead of its reader.

    Inflating runs in C without the GIL, so on a second core it overlaps tarfile's parsing and
    the reader's hashing or writing: a 1 GiB module tarball streams in about the time inflating
    alone takes, not that plus tarfile's. At most ``depth`` blocks wait, so memory stays
    bounded. What the decompressor raises (corrupt data, a network error) is raised to the
    reader at the point of the stream where it happened.
    """

    @classmethod
    def of(cls, source: _Decompressor) -> BinaryIO:
        """``source`` read ahead, as the binary file tarfile and the callers take."""
        return cast(BinaryIO, cls(source))

    def __init__(self, source: _Decompressor, *, block: int = _CHUNK, depth: int = 4) -> None:
        super().__init__()
        self._source = source
        self._block = block
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._stop = threading.Event()
        self._pending = b""
        self._offset = 0
        self._ended = False
        self._thread = threading.Thread(target=self._inflate, name="hubpub-inflate",
                                        daemon=True)
        self._thread.start()

    def _inflate(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._source.read(self._block)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reader, who raises it
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=0.1)
                return

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(self._block), b""))
        if self._offset >= len(self._pending):
            if self._ended or size == 0:
                return b""
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._ended = True
                raise item
            self._pending, self._offset = item, 0
            if not item:
                self._ended = True
                return b""
        start = self._offset
        self._offset = min(start + size, len(self._pending))
        if start == 0 and self._offset == len(self._pending):
            return self._pending  # the whole block: no copy
        return self._pending[start:self._offset]

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            with contextlib.suppress(queue.Empty):  # room for a put() under way: it returns
                while True:
                    self._queue.get_nowait()
            # A read stalled on a network never holds up an interrupted command: the thread
            # is a daemon, and closing the connection below it ends that read.
            self._thread.join(timeout=1.0)
            if not self._thread.is_alive():
                self._source.close()
        super().close()


@contextlib.contextmanager
def _open_stream(tarball: Path | BinaryIO | str, what: str, max_members: int, max_bytes: int
                 ) -> Iterator[Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]]:
    """Yields an iterator over (tar, member) in archive order, mapping corruption to errors.

    The members' declared sizes are summed against ``max_bytes`` as each header is read, so
    an oversized member is refused before tarfile decompresses or skips its data.
    """
    with contextlib.ExitStack() as stack:
        if isinstance(tarball, (str, os.PathLike)):
            try:
                raw: BinaryIO = stack.enter_context(open(tarball, "rb"))
            except OSError as exc:
                raise ArchiveError(f"cannot read {what}: {exc.strerror}") from exc
        else:
            raw = tarball
        try:
            stream = stack.enter_context(_decompressed(raw))
            budget = max_bytes + MAX_METADATA_TOTAL_BYTES + _OVERHEAD_PER_MEMBER * max_members
            tar = stack.enter_context(tarfile.open(  # type: ignore[call-overload]
                fileobj=_StreamGuard(stream, what, budget), mode="r|",  # (a duck-typed file)
                tarinfo=_CheckedTarInfo))
        except _CORRUPT as exc:
            raise ArchiveError(f"{what} is not a valid module tarball: {exc}") from exc

        def members() -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
            count = declared = 0
            previous: str | None = None
            while True:
                try:
                    member = tar.next()
                except _CORRUPT as exc:
                    # Reading the next header first skips the rest of the previous member.
                    raise ArchiveError(f"{what} is not a valid module tarball: {exc}",
                                       member=previous) from exc
                if member is None:
                    break
                count += 1
                if count > max_members:
                    raise ArchiveError(
                        f"{what} has more than {max_members} members; if this is expected, "
                        f"raise the limit with {MAX_MEMBERS_ENV}", member=member.name)
                declared += max(member.size, 0)
                if declared > max_bytes:
                    raise ArchiveError(
                        f"{what} unpacks to more than {max_bytes} bytes (the limit); if this "
                        f"module really is that large, raise the limit with "
                        f"{MAX_UNPACKED_BYTES_ENV}=<bytes>", member=member.name)
                previous = member.name
                yield tar, member
            _drain(stream, what)

        yield members()


def _drain(stream: BinaryIO, what: str) -> None:
    """Reads to the end so the gzip/bz2/xz trailer (and its checksum) is verified."""
    trailing = 0
    try:
        while chunk := stream.read(_CHUNK):
            trailing += len(chunk)
            if trailing > MAX_TRAILING_BYTES:
                raise ArchiveError(f"{what} has more than {MAX_TRAILING_BYTES} bytes of data "
                                   f"after the end of the archive; it is not a module tarball")
    except _CORRUPT as exc:
        raise ArchiveError(f"{what} is not a valid module tarball: {exc}") from exc


def _type_name(member: tarfile.TarInfo) -> str:
    return _TYPE_NAMES.get(member.type, "other")


def list_members(tarball: Path | BinaryIO | str, *, max_bytes: int | None = None,
                 name: str | None = None) -> list[Member]:
    """Lists a tarball's members in archive order without extracting anything.

    The caps of :func:`safe_extract` on size, member count and metadata apply, so listing a
    hostile archive fails as fast as extracting it; member names are listed as stored.
    """
    what = _describe(tarball, name)
    limit = max_bytes if max_bytes is not None else limit_from_env(
        MAX_UNPACKED_BYTES_ENV, DEFAULT_MAX_UNPACKED_BYTES)
    max_members = limit_from_env(MAX_MEMBERS_ENV, DEFAULT_MAX_MEMBERS)
    with _open_stream(tarball, what, max_members, limit) as members:
        return [Member(m.name, _type_name(m), m.size, m.mode, m.linkname)
                for _, m in members]


def _safe_parts(member: tarfile.TarInfo) -> tuple[str, ...]:
    """The member's path as components below the target folder, or ArchiveError."""
    name = member.name
    if "\0" in name:
        raise ArchiveError("refused a name with a NUL byte, which no filesystem can hold",
                           member=name)
    if name.startswith("/"):
        raise ArchiveError("refused an absolute path; module tarballs hold relative paths "
                           "(pack them with `tar -C <module dir> -czf x.tar.gz .`)",
                           member=name)
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise ArchiveError("refused a path with a '..' component, which could point outside "
                           "the module folder", member=name)
    if len(parts) > MAX_DEPTH:
        raise ArchiveError(f"refused a path {len(parts)} folders deep; at most {MAX_DEPTH} "
                           f"are allowed", member=name)
    _check_fits(parts, name, _NameLimits())
    return parts


@dataclass(frozen=True)
class _NameLimits:
    """What the filesystem holding the target folder allows (POSIX's usual by default)."""

    name_max: int = 255
    path_max: int = 4096
    dest_length: int = 0

    @classmethod
    def of(cls, dest: Path) -> _NameLimits:
        def conf(key: str, default: int) -> int:
            try:
                value = os.pathconf(dest, key)
            except (OSError, ValueError, AttributeError):
                return default
            return value if value and value > 0 else default

        return cls(conf("PC_NAME_MAX", 255), conf("PC_PATH_MAX", 4096),
                   len(os.fsencode(os.path.abspath(dest))))


def _check_fits(parts: tuple[str, ...], name: str, limits: _NameLimits) -> None:
    """Refuses a name the filesystem cannot hold, before any of its folders is made."""
    encoded = [os.fsencode(p) for p in parts]
    longest = max((len(p) for p in encoded), default=0)
    if longest > limits.name_max:
        raise ArchiveError(f"refused a name component of {longest} bytes; the filesystem "
                           f"allows {limits.name_max}", member=name)
    length = limits.dest_length + sum(len(p) + 1 for p in encoded)
    if length >= limits.path_max:
        raise ArchiveError(f"refused a path of {length} bytes once unpacked; the filesystem "
                           f"allows {limits.path_max - 1}", member=name)


def _check_type(member: tarfile.TarInfo) -> None:
    if member.issym() or member.islnk():
        raise ArchiveError(f"refused a {_type_name(member)} to {member.linkname!r}: a TF1 Hub "
                           f"module holds only files and directories", member=member.name)
    if member.issparse():
        raise ArchiveError("refused a sparse file; re-create the tarball without --sparse",
                           member=member.name)
    if not (member.isreg() or member.isdir()):
        raise ArchiveError(f"refused a {_type_name(member)}: a TF1 Hub module holds only "
                           f"files and directories", member=member.name)


def _make_parents(dest: Path, parts: tuple[str, ...], member_name: str) -> Path:
    """Creates the member's parent folders inside ``dest``; refuses to go through a file."""
    current = dest
    for part in parts[:-1]:
        current = current / part
        try:
            os.mkdir(current, 0o755)
        except FileExistsError:
            if not current.is_dir() or current.is_symlink():
                raise ArchiveError(f"refused a member below {part!r}, which the archive "
                                   f"already holds as a file", member=member_name) from None
    return current / parts[-1]


def iter_members(tarball: Path | BinaryIO | str, *, max_bytes: int | None = None,
                 name: str | None = None
                 ) -> Iterator[tuple[Member, tuple[str, ...], _CheckedStream | None]]:
    """Streams a module tarball's members after the checks ``safe_extract`` makes.

    Yields ``(member, parts, data)`` in archive order: ``parts`` is the member's path below
    the archive root as components (``()`` for the root itself), ``data`` a stream of a
    regular file's bytes (read it before the next member) or None for a directory. Nothing
    is written anywhere, so a reader can hash or parse members on the fly. A regular file
    stored twice is yielded twice; the last copy is the one tar (and ``safe_extract``) keeps.

    Raises:
        ArchiveError: as ``safe_extract``.
    """
    what = _describe(tarball, name)
    limit = max_bytes if max_bytes is not None else limit_from_env(
        MAX_UNPACKED_BYTES_ENV, DEFAULT_MAX_UNPACKED_BYTES)
    max_members = limit_from_env(MAX_MEMBERS_ENV, DEFAULT_MAX_MEMBERS)
    seen: dict[tuple[str, ...], str] = {}  # path -> "file" or "dir" (parents included)
    with _open_stream(tarball, what, max_members, limit) as members:
        for tar, member in members:
            parts = _safe_parts(member)
            _check_type(member)
            record = Member(member.name, _type_name(member), member.size, member.mode)
            if not parts:  # "." or "./": the folder itself
                yield record, parts, None
                continue
            kind = "dir" if member.isdir() else "file"
            if seen.get(parts, kind) != kind:
                raise ArchiveError(f"refused a {kind} over a {seen[parts]} of the same name",
                                   member=member.name)
            for depth in range(1, len(parts)):
                if seen.setdefault(parts[:depth], "dir") != "dir":
                    raise ArchiveError(f"refused a member below {parts[depth - 1]!r}, which "
                                       f"the archive already holds as a file",
                                       member=member.name)
            seen[parts] = kind
            if member.isdir():
                yield record, parts, None
                continue
            cap = limit_of_member("/".join(parts[-2:])) or limit_of_member(parts[-1])
            if cap is not None and member.size > cap.max_bytes:  # before it is read
                raise ArchiveError(cap.refusal(member.size), member=member.name)
            source = tar.extractfile(member)
            assert source is not None  # regular files always have data
            yield record, parts, _CheckedStream(source, what, member.name)


class _CheckedStream:
    """A member's bytes; corruption found while reading them is an ArchiveError."""

    def __init__(self, source: IO[bytes], what: str, member: str) -> None:
        self._source, self._what, self._member = source, what, member

    def read(self, size: int = -1) -> bytes:
        try:
            return self._source.read(size)
        except _CORRUPT as exc:
            raise ArchiveError(f"{self._what} is not a valid module tarball: {exc}",
                               member=self._member) from exc


def safe_extract(tarball: Path | BinaryIO | str, dest: Path, *, max_bytes: int | None = None,
                 progress: Callable[[int], None] | None = None, name: str | None = None
                 ) -> None:
    """Extracts a module tarball into ``dest`` (an empty private folder the caller made).

    Streams the archive once (gzip, bzip2, xz or plain), so ``tarball`` may be a network
    response. On an error ``dest`` may hold part of the archive; the caller removes it.

    Args:
        tarball: a path or a readable binary stream.
        dest: the folder to fill; nothing is ever written outside it.
        max_bytes: cap on the sum of the members' sizes; default ``HUBPUB_MAX_UNPACKED_BYTES``
            or 8 GiB.
        progress: called with the number of bytes unpacked so far.
        name: how error messages name the tarball (default: its path).

    Raises:
        ArchiveError: the archive is corrupt or truncated, holds a refused member (named in
            the message), or unpacks to more than allowed.
    """
    dest = Path(dest)
    limits = _NameLimits.of(dest)
    written: set[tuple[str, ...]] = set()
    done = 0
    for member, parts, data in iter_members(tarball, max_bytes=max_bytes, name=name):
        if not parts:
            continue
        _check_fits(parts, member.name, limits)
        try:
            target = _make_parents(dest, parts, member.name)
            if data is None:
                _make_dir(target, member.name)
                continue
            # A repeated regular file replaces the earlier copy: the last one wins.
            done = _write_file(data, member.name, target, done, progress,
                               replace=parts in written)
        except OSError as exc:
            raise ArchiveError(f"cannot unpack it into {dest}: {exc.strerror or exc}",
                               member=member.name) from exc
        written.add(parts)


def _make_dir(target: Path, member_name: str) -> None:
    try:
        os.mkdir(target, 0o755)
    except FileExistsError:
        # A folder made earlier (as some member's parent, or by a repeated member) is fine;
        # a file of that name is not.
        if not target.is_dir() or target.is_symlink():
            raise ArchiveError("refused a directory over a file of the same name",
                               member=member_name) from None


def _write_file(data: _CheckedStream, member_name: str, target: Path, done: int,
                progress: Callable[[int], None] | None, *, replace: bool) -> int:
    # O_NOFOLLOW: never follow a link (there can be none). O_EXCL unless the archive wrote
    # this very file before: nothing else is ever overwritten.
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    flags |= os.O_TRUNC if replace else os.O_EXCL
    try:
        fd = os.open(target, flags, 0o644)
    except (FileExistsError, IsADirectoryError):
        raise ArchiveError("refused a file over a directory of the same name",
                           member=member_name) from None
    with os.fdopen(fd, "wb") as out:
        while chunk := data.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
    return done


def remove_tree(folder: Path | str, *, missing_ok: bool = False) -> None:
    """Removes a folder tree, however deep (shutil.rmtree recurses once per level).

    Trees hubpub unpacks are at most ``MAX_DEPTH`` deep, but a cache can hold older or planted
    ones; those are flattened: each subfolder is moved up to the top, then emptied.

    Raises:
        OSError: the tree or part of it cannot be removed.
    """
    folder = Path(folder)
    if folder.is_symlink():  # the link, never what it points to
        folder.unlink()
        return
    try:
        shutil.rmtree(folder)
        return
    except FileNotFoundError:
        if missing_ok:
            return
        raise
    except (RecursionError, OSError):
        if not folder.exists():
            return
    parent_fd = os.open(folder.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        pending = [folder.name]
        while pending:
            name = pending.pop()
            try:
                fd = os.open(name, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
                             | getattr(os, "O_NOFOLLOW", 0), dir_fd=parent_fd)
            except FileNotFoundError:  # removed by someone else meanwhile
                continue
            moved: list[str] = []
            try:
                with os.scandir(fd) as entries:
                    children = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
                for child, is_dir in children:
                    if is_dir:
                        moved.append(f"{folder.name}.{uuid.uuid4().hex}.removing")
                        os.rename(child, moved[-1], src_dir_fd=fd, dst_dir_fd=parent_fd)
                    else:
                        os.unlink(child, dir_fd=fd)
            finally:
                os.close(fd)
            if moved:  # empty the moved folders first, then look at this one again
                pending.append(name)
                pending.extend(moved)
            else:
                os.rmdir(name, dir_fd=parent_fd)
    finally:
        os.close(parent_fd)


@contextlib.contextmanager
def unpacked(tarball: Path | BinaryIO | str, *, max_bytes: int | None = None,
             progress: Callable[[int], None] | None = None) -> Iterator[Path]:
    """Extracts into a private temporary folder for the ``with`` block, then removes it."""
    folder = Path(tempfile.mkdtemp(prefix="hubpub-unpacked-"))
    try:
        safe_extract(tarball, folder, max_bytes=max_bytes, progress=progress)
        yield folder
    finally:
        with contextlib.suppress(OSError):
            remove_tree(folder, missing_ok=True)
