"""One side of a diff: a module read as protos, checkpoint index and file table.

Directories and tarballs are read without TensorFlow and without the variables' values:
``saved_model.pb`` through the lite protos, ``variables.index`` through its table reader, and
file contents only as far as comparing them needs (tarball members are hashed while they
stream past; directory files are compared lazily). A manifest is built into a private
temporary folder first (module_fn, weights, export: no checks, no smoke test).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isal import isal_zlib

from hubpub.errors import HandleError, InputError, ModuleFormatError
from hubpub.files.inputs import check_module_files, limit_of_member, open_input, read_input
from hubpub.files.package import sha256_of
from hubpub.spec.checkpoint_index import CheckpointIndex, parse_checkpoint_index
from hubpub.spec.files import (
    MODULE_DEF_FILE,
    SAVED_MODEL_FILE,
    parse_module_def,
    parse_saved_model,
)
from hubpub.spec.view import ModuleView

__all__ = ["FileRecord", "Side", "open_side", "read_directory", "read_tarball", "same_bytes"]

CHECKPOINT_INDEX = "variables/variables.index"
_CHUNK = 1 << 20
_URL_SCHEMES = ("file", "http", "https")
_KEPT = (MODULE_DEF_FILE, SAVED_MODEL_FILE, CHECKPOINT_INDEX)  # parsed, so kept in memory


@dataclass
class FileRecord:
    """A module file: its size, and where its bytes are (on disk) or their checksums (streamed).

    Equality of bytes is decided by comparing the bytes when both files are on disk, else by
    CRC32 (ISA-L's, over ten times faster than SHA-256: a diff of gigabytes of weights must not
    take longer than importing TensorFlow). SHA-256 digests are what changes report; they are
    computed for every streamed member outside ``variables/`` and on demand from disk.
    """

    size: int
    path: Path | None = None
    sha256: str | None = None
    crc32: int | None = None

    def digest(self) -> str:
        """SHA-256 in hex, or ``crc32:<hex>`` for a streamed member only that was kept."""
        if self.sha256 is None and self.path is not None:
            self.sha256 = sha256_of(self.path)
        return self.sha256 or f"crc32:{self.checksum():08x}"

    def checksum(self) -> int:
        if self.crc32 is None:
            assert self.path is not None
            self.crc32 = _crc32_of(self.path)
        return self.crc32


@dataclass
class Side:
    """Everything a diff compares about one module."""

    shown: str  # as the user named it
    view: ModuleView  # graphs from lite protos: tags, signatures, collections, variables
    checkpoint: CheckpointIndex | None
    files: dict[str, FileRecord]  # posix path below the module root -> record
    metadata: Mapping[str, Any] = field(default_factory=dict)  # a manifest's metadata
    directory: Path | None = None  # the module on disk, when it is there
    members: list[str] | None = None  # tarball members as stored (dirs end in "/")


def _crc32_of(path: Path) -> int:
    crc = 0
    with open_input(path, what="module file") as handle:
        while chunk := handle.read(_CHUNK):
            crc = isal_zlib.crc32(chunk, crc)
    return crc


def same_bytes(a: FileRecord, b: FileRecord) -> bool:
    """Whether two files hold the same bytes; reads as little as it can."""
    if a.size != b.size:
        return False
    if a.path is not None and b.path is not None:
        if os.path.samefile(a.path, b.path):
            return True
        with open_input(a.path, what="module file") as left, \
                open_input(b.path, what="module file") as right:
            while True:
                chunk = left.read(_CHUNK)
                if chunk != right.read(_CHUNK):
                    return False
                if not chunk:
                    return True
    if a.sha256 is not None and b.sha256 is not None:
        return a.sha256 == b.sha256
    return a.checksum() == b.checksum()


def _side(shown: str, module_def: bytes, saved_model: bytes, index: bytes | None,
          files: dict[str, FileRecord], **kwargs: Any) -> Side:
    parse_module_def(module_def, where=f"{shown}: {MODULE_DEF_FILE}")
    lite = parse_saved_model(saved_model, where=f"{shown}: {SAVED_MODEL_FILE}", lite=True)
    checkpoint = None if index is None else parse_checkpoint_index(
        index, where=f"{shown}: {CHECKPOINT_INDEX}")
    view = ModuleView.from_saved_model(lite, path=shown, members=kwargs.get("members"))
    return Side(shown, view, checkpoint, files, **kwargs)


def read_directory(folder: Path, *, shown: str, **kwargs: Any) -> Side:
    """A module directory (files at its root)."""
    folder = Path(folder)
    if not (folder / MODULE_DEF_FILE).is_file():
        from hubpub.spec.files import find_module_root

        folder = find_module_root(folder)  # says what is wrong when it is not a module
    try:  # no FIFO, device, link out of the module or oversized proto to read or hang on
        check_module_files(folder)
    except InputError as exc:
        raise ModuleFormatError(str(exc)) from exc
    files: dict[str, FileRecord] = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            files[path.relative_to(folder).as_posix()] = FileRecord(path.stat().st_size, path)
    if SAVED_MODEL_FILE not in files:
        raise ModuleFormatError(f"{shown} has {MODULE_DEF_FILE} but no {SAVED_MODEL_FILE}")

    def read(name: str) -> bytes | None:
        limit = limit_of_member(name)
        assert limit is not None  # the protos read whole all have one
        try:
            return read_input(folder / name, limit, inside=folder) if name in files else None
        except InputError as exc:
            raise ModuleFormatError(str(exc)) from exc

    module_def, saved_model = read(MODULE_DEF_FILE), read(SAVED_MODEL_FILE)
    assert module_def is not None and saved_model is not None  # both checked above
    return _side(shown, module_def, saved_model, read(CHECKPOINT_INDEX), files,
                 directory=folder, **kwargs)


def read_tarball(tarball: Path, *, shown: str) -> Side:
    """A module tarball, streamed once: members checksummed on the fly, protos kept, nothing
    written. The weights get a CRC32 only (see FileRecord); everything else a SHA-256 too."""
    from hubpub.files.archive import iter_members

    members: list[str] = []
    files: dict[tuple[str, ...], FileRecord] = {}
    kept: dict[tuple[str, ...], bytes] = {}
    for member, parts, data in iter_members(tarball, name=shown):
        members.append(member.name.rstrip("/") + "/" if data is None else member.name)
        if data is None:
            continue
        keep = "/".join(parts[-2:]) in _KEPT or parts[-1] in _KEPT
        digest = None if "variables" in parts[:-1] else hashlib.sha256()
        crc, buffer = 0, bytearray()
        while chunk := data.read(_CHUNK):
            crc = isal_zlib.crc32(chunk, crc)
            if digest is not None:
                digest.update(chunk)
            if keep:
                buffer += chunk
        files[parts] = FileRecord(member.size, crc32=crc,
                                  sha256=None if digest is None else digest.hexdigest())
        if keep:
            kept[parts] = bytes(buffer)
    root = _tarball_root(files, shown)
    below = {"/".join(p[len(root):]): r for p, r in files.items() if p[:len(root)] == root}
    if SAVED_MODEL_FILE not in below:
        raise ModuleFormatError(f"{shown} has {MODULE_DEF_FILE} but no {SAVED_MODEL_FILE}")
    index = kept.get((*root, *CHECKPOINT_INDEX.split("/")))
    return _side(shown, kept[root + (MODULE_DEF_FILE,)], kept[root + (SAVED_MODEL_FILE,)], index,
                 below, members=members)


def _tarball_root(files: Mapping[tuple[str, ...], FileRecord], shown: str) -> tuple[str, ...]:
    """Where ``tfhub_module.pb`` is: the archive root or one folder down (as find_module_root)."""
    if (MODULE_DEF_FILE,) in files:
        return ()
    nested = sorted(p[:1] for p in files if len(p) == 2 and p[1] == MODULE_DEF_FILE)
    if len(nested) == 1:
        return nested[0]
    if nested:
        raise ModuleFormatError(f"{shown} holds several modules; a tarball must hold one module, "
                                f"with its files at the archive root")
    raise ModuleFormatError(f"{shown} is not a TF1 Hub format module: no {MODULE_DEF_FILE} at "
                            f"its root or one folder down")


@contextlib.contextmanager
def open_side(target: str, *, shown: str | None = None) -> Iterator[Side]:
    """Read TARGET (manifest, module directory, tarball or URL) for the ``with`` block.

    ``shown`` is how messages name it (default: TARGET as given).

    Raises:
        HandleError: TARGET does not exist or is of no known kind.
        ManifestError, PublisherCodeError: a manifest target is broken.
        ModuleFormatError / ArchiveError: the module or tarball is corrupt or hostile.
    """
    from hubpub.files.resolver import TARBALL_SUFFIXES
    from hubpub.target import is_manifest

    if is_manifest(target):
        with _built(target, shown or target) as side:
            yield side
        return
    if urllib.parse.urlsplit(target).scheme.lower() in _URL_SCHEMES:
        from hubpub.files.resolver import resolve

        yield read_directory(Path(resolve(target)), shown=shown or target)
        return
    path = Path(target)
    if path.is_dir():
        yield read_directory(path, shown=shown or target)
    elif path.is_file() and path.name.lower().endswith(TARBALL_SUFFIXES):
        yield read_tarball(path, shown=shown or target)
    elif not path.exists():
        raise HandleError(f"{shown or target} does not exist: give a manifest (hubpub.yaml), "
                          f"a module directory, a .tar.gz or a URL")
    else:
        raise HandleError(f"{shown or target} is neither a manifest (.yaml), a module "
                          f"directory nor a module tarball (.tar.gz)")


@contextlib.contextmanager
def _built(target: str, shown: str) -> Iterator[Side]:
    """The module a manifest describes, exported into a private temporary folder."""
    from hubpub.manifest import load_manifest
    from hubpub.target import module_directory

    manifest = load_manifest(target)
    with module_directory(target, manifest=manifest) as folder:
        yield read_directory(folder, shown=shown, metadata=manifest.metadata)
