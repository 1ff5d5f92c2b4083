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
- duplicates: a second member with the same name is refused instead of overwriting the first;
- size: the declared sizes of all members are summed *before* a member is written, against a
  cap (``DEFAULT_MAX_UNPACKED_BYTES``, raised with ``HUBPUB_MAX_UNPACKED_BYTES``), so a gzip
  bomb fails at its first oversized member, not on a full disk; the member count and the size
  of metadata headers (pax, GNU long names, which tarfile reads into memory) are capped too.

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
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from isal import igzip, isal_zlib

from hubpub.errors import ArchiveError, HubpubError, ModuleFormatError

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_UNPACKED_BYTES",
    "MAX_MEMBERS_ENV",
    "MAX_UNPACKED_BYTES_ENV",
    "Member",
    "find_module_root",
    "iter_members",
    "list_members",
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
# After the end-of-archive marker only record padding is expected (10 KiB for GNU tar).
MAX_TRAILING_BYTES = 64 * 1024 * 1024

_CHUNK = 1024 * 1024
_MAGIC_GZIP = b"\x1f\x8b"
_MAGIC_BZIP2 = b"BZh"
_MAGIC_XZ = b"\xfd7zXZ\x00"

# Errors that mean "the bytes are not a readable archive" (as opposed to a failing disk).
_CORRUPT = (tarfile.TarError, EOFError, zlib.error, isal_zlib.error, lzma.LZMAError,
            igzip.BadGzipFile)

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
        if self.type in metadata_types and self.size > MAX_METADATA_HEADER_BYTES:
            raise ArchiveError(
                f"a metadata header of {self.size} bytes is larger than the "
                f"{MAX_METADATA_HEADER_BYTES} bytes allowed", member=self.name)
        return super()._proc_member(tarfile_)


def _limit_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HubpubError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise HubpubError(f"{name}={raw!r} must be a positive number")
    return value


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


def _decompressed(raw: BinaryIO) -> BinaryIO:
    """Wraps ``raw`` in the decompressor its magic bytes call for (none for a plain tar)."""
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(_RawReader(raw), _CHUNK)
    head = buffered.peek(len(_MAGIC_XZ))[: len(_MAGIC_XZ)]
    if head.startswith(_MAGIC_GZIP):
        return igzip.IGzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    if head.startswith(_MAGIC_BZIP2):
        return bz2.BZ2File(buffered, mode="rb")  # type: ignore[return-value]
    if head.startswith(_MAGIC_XZ):
        return lzma.LZMAFile(buffered, mode="rb")  # type: ignore[return-value]
    return buffered  # type: ignore[return-value]


@contextlib.contextmanager
def _open_stream(tarball: Path | BinaryIO | str, what: str, max_members: int
                 ) -> Iterator[Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]]:
    """Yields an iterator over (tar, member) in archive order, mapping corruption to errors."""
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
            tar = stack.enter_context(
                tarfile.open(fileobj=stream, mode="r|", tarinfo=_CheckedTarInfo))
        except _CORRUPT as exc:
            raise ArchiveError(f"{what} is not a valid module tarball: {exc}") from exc

        def members() -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
            count = 0
            while True:
                try:
                    member = tar.next()
                except _CORRUPT as exc:
                    raise ArchiveError(f"{what} is not a valid module tarball: {exc}") from exc
                if member is None:
                    break
                count += 1
                if count > max_members:
                    raise ArchiveError(
                        f"{what} has more than {max_members} members; if this is expected, "
                        f"raise the limit with {MAX_MEMBERS_ENV}", member=member.name)
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


def list_members(tarball: Path | BinaryIO | str, *, name: str | None = None) -> list[Member]:
    """Lists a tarball's members in archive order without extracting anything."""
    what = _describe(tarball, name)
    max_members = _limit_from_env(MAX_MEMBERS_ENV, DEFAULT_MAX_MEMBERS)
    with _open_stream(tarball, what, max_members) as members:
        return [Member(m.name, _type_name(m), m.size, m.mode, m.linkname)
                for _, m in members]


def _safe_parts(member: tarfile.TarInfo) -> tuple[str, ...]:
    """The member's path as components below the target folder, or ArchiveError."""
    name = member.name
    if name.startswith("/"):
        raise ArchiveError("refused an absolute path; module tarballs hold relative paths "
                           "(pack them with `tar -C <module dir> -czf x.tar.gz .`)",
                           member=name)
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise ArchiveError("refused a path with a '..' component, which could point outside "
                           "the module folder", member=name)
    return parts


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
                 ) -> Iterator[tuple[Member, tuple[str, ...], BinaryIO | None]]:
    """Streams a module tarball's members after the checks ``safe_extract`` makes.

    Yields ``(member, parts, data)`` in archive order: ``parts`` is the member's path below
    the archive root as components (``()`` for the root itself), ``data`` a stream of a
    regular file's bytes (read it before the next member) or None for a directory. Nothing
    is written anywhere, so a reader can hash or parse members on the fly.

    Raises:
        ArchiveError: as ``safe_extract``.
    """
    what = _describe(tarball, name)
    limit = max_bytes if max_bytes is not None else _limit_from_env(
        MAX_UNPACKED_BYTES_ENV, DEFAULT_MAX_UNPACKED_BYTES)
    max_members = _limit_from_env(MAX_MEMBERS_ENV, DEFAULT_MAX_MEMBERS)
    seen: set[tuple[str, ...]] = set()
    declared = 0
    with _open_stream(tarball, what, max_members) as members:
        for tar, member in members:
            parts = _safe_parts(member)
            _check_type(member)
            record = Member(member.name, _type_name(member), member.size, member.mode)
            if not parts:  # "." or "./": the folder itself
                yield record, parts, None
                continue
            if parts in seen:
                raise ArchiveError("refused a second member with the same name",
                                   member=member.name)
            seen.add(parts)
            if member.isdir():
                yield record, parts, None
                continue
            declared += member.size
            if declared > limit:
                raise ArchiveError(
                    f"{what} unpacks to more than {limit} bytes (the limit); if this module "
                    f"really is that large, raise the limit with "
                    f"{MAX_UNPACKED_BYTES_ENV}=<bytes>", member=member.name)
            source = tar.extractfile(member)
            assert source is not None  # regular files always have data
            yield record, parts, _CheckedStream(source, what, member.name)


class _CheckedStream:
    """A member's bytes; corruption found while reading them is an ArchiveError."""

    def __init__(self, source: BinaryIO, what: str, member: str) -> None:
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
    done = 0
    for member, parts, data in iter_members(tarball, max_bytes=max_bytes, name=name):
        if not parts:
            continue
        target = _make_parents(dest, parts, member.name)
        if data is None:
            _make_dir(target, member.name)
            continue
        done = _write_file(data, member.name, target, done, progress)


def _make_dir(target: Path, member_name: str) -> None:
    try:
        os.mkdir(target, 0o755)
    except FileExistsError:
        # A folder made earlier as some member's parent is fine; a file of that name is not.
        if not target.is_dir() or target.is_symlink():
            raise ArchiveError("refused a directory over a file of the same name",
                               member=member_name) from None


def _write_file(data: _CheckedStream, member_name: str, target: Path, done: int,
                progress: Callable[[int], None] | None) -> int:
    # O_EXCL and O_NOFOLLOW: never overwrite, never follow a link (there should be none).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        raise ArchiveError("refused a file over a directory of the same name",
                           member=member_name) from None
    with os.fdopen(fd, "wb") as out:
        while chunk := data.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
    return done


@contextlib.contextmanager
def unpacked(tarball: Path | BinaryIO | str, *, max_bytes: int | None = None,
             progress: Callable[[int], None] | None = None) -> Iterator[Path]:
    """Extracts into a private temporary folder for the ``with`` block, then removes it."""
    folder = Path(tempfile.mkdtemp(prefix="hubpub-unpacked-"))
    try:
        safe_extract(tarball, folder, max_bytes=max_bytes, progress=progress)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def find_module_root(folder: Path) -> Path:
    """The folder holding ``tfhub_module.pb``: ``folder`` itself or its single subfolder.

    Tarballs made with ``tar -czf m.tar.gz mymodule/`` keep the module one level down; lint
    reports that, but can still read the module.
    """
    from hubpub.spec.files import MODULE_DEF_FILE, SAVED_MODEL_FILE

    folder = Path(folder)
    if (folder / MODULE_DEF_FILE).is_file():
        return folder
    candidates = sorted(p for p in folder.iterdir()
                        if p.is_dir() and not p.is_symlink() and (p / MODULE_DEF_FILE).is_file())
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise ModuleFormatError(f"{folder} holds several modules ({names}); a tarball must "
                                f"hold one module, with its files at the archive root")
    hint = (" (it has saved_model.pb: a plain SavedModel, not a TF1 Hub module)"
            if (folder / SAVED_MODEL_FILE).is_file() else "")
    raise ModuleFormatError(f"{folder} is not a TF1 Hub format module: no {MODULE_DEF_FILE} "
                            f"at its root or one folder down{hint}")
