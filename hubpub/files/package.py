"""Reproducible ``.tar.gz`` of a module directory, deflated fast with ISA-L.

Reproducible means: packing the same files gives the same bytes, whatever their owners, modes,
mtimes, the order the filesystem lists them in, or the number of threads used. So:

- members sorted by path components, module files at the archive root (``saved_model.pb``,
  ``variables/variables.index``, ``assets/``), directories included, no ``./`` entry;
- POSIX pax format; uid/gid 0, empty owner names, mode 0644 for files and 0755 for folders,
  mtime ``SOURCE_DATE_EPOCH`` when set, else the ``mtime`` argument, else 0;
- a gzip header without file name or timestamp (OS byte 255, "unknown").

Speed: embedding matrices barely compress, and zlib's deflate runs near 25 MB/s on them.
ISA-L runs at hundreds of MB/s on one core. The tar stream is cut into fixed 1 MiB blocks,
each deflated on its own with the previous 32 KiB as preset dictionary and ended with a sync
flush (pigz's scheme), so blocks can be deflated on several threads and the output depends
only on the input and the level, never on the number of threads. ISA-L picks its code path by
CPU features; identical bytes are verified on one machine and ISA-L version [NV across CPUs].
"""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import stat
import struct
import tarfile
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib

from hubpub.errors import ExportError, ModuleFormatError
from hubpub.files.inputs import open_input

__all__ = ["DEFAULT_LEVEL", "PackResult", "pack", "sha256_of", "write_checksum"]

LOG = logging.getLogger(__name__)

DEFAULT_LEVEL = 1  # ISA-L levels are 0-3; 1 and 2 give nearly the same size on weights
BLOCK_SIZE = 1024 * 1024  # part of the output format: changing it changes every tarball
_WINDOW = 32 * 1024
_COPY_BUFSIZE = 1024 * 1024
# Fixed header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class PackResult:
    """The tarball written by :func:`pack`."""

    path: Path
    sha256: str  # hex digest of the whole .tar.gz
    size: int  # bytes
    # Each packed file's SHA-256 by its path in the archive, hashed as it was read: the
    # build report needs no second pass over gigabytes of weights.
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Entry:
    parts: tuple[str, ...]
    source: Path
    is_dir: bool
    size: int


def pack(module_dir: Path, out_path: Path, *, mtime: int | None = None,
         level: int = DEFAULT_LEVEL, threads: int | None = None,
         progress: Progress | None = None) -> PackResult:
    """Writes a byte-reproducible ``.tar.gz`` of ``module_dir`` to ``out_path``.

    The tarball is written beside ``out_path`` and renamed into place, so a failure leaves
    an existing ``out_path`` untouched.

    Args:
        mtime: timestamp stored for every member when ``SOURCE_DATE_EPOCH`` is not set.
        level: ISA-L deflate level, 0 to 3.
        threads: deflate threads (default: the CPU count, at most 8); never changes the bytes.
        progress: called as ``progress(file_bytes_packed, total_file_bytes)``.

    Raises:
        ModuleFormatError: ``module_dir`` is missing or holds a link or a special file.
        ExportError: ``out_path`` cannot be written, or ``SOURCE_DATE_EPOCH`` is malformed.
    """
    if not 0 <= level <= 3:
        raise ValueError(f"level must be an ISA-L deflate level from 0 to 3, got {level}")
    module_dir, out_path = Path(module_dir), Path(out_path)
    timestamp = _timestamp(mtime)
    entries = _collect(module_dir)
    total = sum(e.size for e in entries)
    workers = threads if threads is not None else min(os.cpu_count() or 1, 8)
    tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        raw = open(tmp, "xb")  # noqa: SIM115 (closed by the with below, before the rename)
    except OSError as exc:
        raise ExportError(f"cannot write {out_path}: {exc.strerror}") from exc
    try:
        with raw:
            digest = _HashingWriter(raw)
            gz = _ParallelGzipWriter(digest, level, max(1, workers))
            try:
                files = _write_tar(gz, entries, timestamp, total, progress)
                gz.finish()
            finally:
                gz.shutdown()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out_path)
    except OSError as exc:
        raise ExportError(f"cannot write {out_path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    LOG.info("Packed %s: %d bytes, sha256 %s", out_path, digest.size, digest.hexdigest())
    return PackResult(out_path, digest.hexdigest(), digest.size, files)


def write_checksum(result: PackResult) -> Path:
    """Writes ``<tarball>.sha256`` in ``sha256sum`` format, atomically; returns its path."""
    path = result.path.with_name(result.path.name + ".sha256")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(f"{result.sha256}  {result.path.name}\n", encoding="utf8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _timestamp(mtime: int | None) -> int:
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is not None and raw.strip():
        # https://reproducible-builds.org/specs/source-date-epoch/: malformed values are errors
        if not raw.strip().isdigit():
            raise ExportError(f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds "
                              f"since 1970; unset it or set it to e.g. $(git log -1 --format=%ct)")
        return int(raw)
    if mtime is None:
        return 0
    if mtime < 0:
        raise ValueError(f"mtime must be >= 0, got {mtime}")
    return int(mtime)


def _collect(module_dir: Path) -> list[_Entry]:
    """Every file and folder below ``module_dir``, sorted by path components."""
    if not module_dir.is_dir():
        raise ModuleFormatError(f"{module_dir} is not a module directory")
    entries = []
    pending = [module_dir]  # iterative walk; lstat so that links are seen, not followed
    while pending:
        folder = pending.pop()
        for path in folder.iterdir():
            info = path.lstat()
            parts = path.relative_to(module_dir).parts
            if stat.S_ISDIR(info.st_mode):
                entries.append(_Entry(parts, path, True, 0))
                pending.append(path)
            elif stat.S_ISREG(info.st_mode):
                entries.append(_Entry(parts, path, False, info.st_size))
            else:
                kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "a special file"
                raise ModuleFormatError(
                    f"{path} is {kind}; module tarballs hold only files and folders "
                    f"(hubpub refuses links when unpacking), so replace it with a copy")
    entries.sort(key=lambda e: e.parts)
    return entries


def _write_tar(out: _ParallelGzipWriter, entries: list[_Entry], timestamp: int, total: int,
               progress: Progress | None) -> dict[str, str]:
    """Write the members; returns each file's SHA-256 by its name in the archive."""
    done = 0
    files = {}
    # copybufsize is a TarFile argument tarfile.open passes on; typeshed's overloads omit it.
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT,  # type: ignore[call-overload]
                      copybufsize=_COPY_BUFSIZE) as tar:
        for entry in entries:
            info = tarfile.TarInfo("/".join(entry.parts))
            info.mtime = timestamp
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry.is_dir:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            info.type, info.mode, info.size = tarfile.REGTYPE, 0o644, entry.size
            try:
                source = open(entry.source, "rb")  # noqa: SIM115 (closed by the with below)
            except OSError as exc:
                raise ModuleFormatError(f"cannot read {entry.source}: {exc.strerror}") from exc
            with source:
                reader = _MemberReader(source, entry.source, done, total, progress)
                try:
                    tar.addfile(info, reader)
                except OSError as exc:
                    if "unexpected end of data" not in str(exc):
                        raise
                    raise ModuleFormatError(f"{entry.source} shrank while it was being "
                                            f"packed; pack again when it is complete") from exc
            files[info.name] = reader.hash.hexdigest()
            done += entry.size
    return files


class _MemberReader:
    """Reads one member's file for tarfile, hashing it and reporting progress."""

    def __init__(self, source: BinaryIO, path: Path, start: int, total: int,
                 progress: Progress | None) -> None:
        self._source = source
        self._path = path
        self._done = start
        self._total = total
        self._progress = progress
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._source.read(size)
        except OSError as exc:
            raise ModuleFormatError(f"cannot read {self._path}: {exc}") from exc
        self.hash.update(data)
        self._done += len(data)
        if self._progress is not None and data:
            self._progress(self._done, self._total)
        return data


class _HashingWriter:
    """Writes through to a file, keeping the SHA-256 and size of everything written."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._out.write(data)
        self.size += len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _deflate_block(block: bytes, zdict: bytes, level: int, final: bool) -> bytes:
    """One independent piece of the deflate stream; a pure function of its arguments."""
    if zdict:
        compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15, zdict=zdict)
    else:
        compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    flush = isal_zlib.Z_FINISH if final else isal_zlib.Z_SYNC_FLUSH
    return compressor.compress(block) + compressor.flush(flush)


class _ParallelGzipWriter:
    """A write-only gzip stream whose bytes do not depend on the number of threads."""

    def __init__(self, out: _HashingWriter, level: int, threads: int) -> None:
        self._out = out
        self._level = level
        self._threads = threads
        self._executor = ThreadPoolExecutor(threads, "hubpub-deflate") if threads > 1 else None
        # One writer thread hashes and writes blocks in order, off the thread feeding tarfile.
        self._writer = ThreadPoolExecutor(1, "hubpub-write") if threads > 1 else None
        self._pending: collections.deque[Future[None]] = collections.deque()
        self._buffer = bytearray()
        self._window = b""
        self._crc = 0
        self._size = 0
        out.write(_GZIP_HEADER)

    def shutdown(self) -> None:
        """Stops the threads; blocks not yet written are dropped (after an error)."""
        for executor in (self._writer, self._executor):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def tell(self) -> int:
        return self._size + len(self._buffer)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= BLOCK_SIZE:
            block = bytes(self._buffer[:BLOCK_SIZE])
            del self._buffer[:BLOCK_SIZE]
            self._submit(block, final=False)
        return len(data)

    def _submit(self, block: bytes, *, final: bool) -> None:
        self._crc = isal_zlib.crc32(block, self._crc)
        self._size += len(block)
        zdict, self._window = self._window, (self._window + block)[-_WINDOW:]
        if self._executor is None or self._writer is None:
            self._out.write(_deflate_block(block, zdict, self._level, final))
            return
        deflated = self._executor.submit(_deflate_block, block, zdict, self._level, final)
        self._pending.append(self._writer.submit(self._write_when_done, deflated))
        # Bounded read-ahead: memory stays near 2 blocks per thread.
        while len(self._pending) > 2 * self._threads:
            self._pending.popleft().result()

    def _write_when_done(self, deflated: Future[bytes]) -> None:
        self._out.write(deflated.result())

    def finish(self) -> None:
        """Deflates what is buffered as the final block and writes the gzip trailer."""
        self._submit(bytes(self._buffer), final=True)
        self._buffer.clear()
        while self._pending:
            self._pending.popleft().result()
        self._out.write(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB chunks (any size, little memory)."""
    digest = hashlib.sha256()
    with open_input(path) as handle:  # a regular file: never a FIFO to wait on
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
