"""A small key -> bytes store in the user's cache folder, private, bounded and crash-safe.

``hubpub lint`` keeps what it found about an unchanged manifest here (``hubpub.pipelines.
lint_cache`` decides what goes in). Every failure of the store is a miss, never an error: a
cache can only make a lint faster, not change or break it.

- Where: ``HUBPUB_CACHE_DIR`` when set, else the user's cache folder (``platformdirs``:
  ``$XDG_CACHE_HOME/hubpub`` or ``~/.cache/hubpub`` on Linux), subfolder ``lint``.
- Private: the folder is created with mode 0700 (and tightened to it when it is ours); an
  entry or a folder owned by another user is ignored, and so is anything that is not a
  regular file (a symlink planted there is not followed).
- Crash-safe and concurrent: an entry is written to a temporary file in the folder and
  renamed into place, so two processes storing the same key leave one whole entry. Each entry
  carries the SHA-256 of its payload: a truncated or corrupt one is ignored (and replaced by
  the next store).
- Bounded: after a store, the oldest entries (by last use) are dropped until the folder
  holds at most ``MAX_BYTES`` and ``MAX_ENTRIES``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["CACHE_DIR_ENV", "MAX_BYTES", "MAX_ENTRIES", "PrivateCache", "default_folder"]

LOG = logging.getLogger(__name__)

CACHE_DIR_ENV = "HUBPUB_CACHE_DIR"
MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 512
_SUFFIX = ".entry"
_MAGIC = b"hubpub-cache 1\n"
_DIGEST = 32


def default_folder() -> Path:
    """``$HUBPUB_CACHE_DIR/lint``, else the user's cache folder's ``hubpub/lint``."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser() / "lint"
    import platformdirs

    return Path(platformdirs.user_cache_dir("hubpub", appauthor=False)) / "lint"


class PrivateCache:
    """Entries named by a hex key in one folder; see the module docstring for the guarantees."""

    def __init__(self, folder: Path, *, max_bytes: int = MAX_BYTES,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.max_entries = max_entries

    def get(self, key: str) -> bytes | None:
        """The payload stored under ``key``, or None (absent, foreign, corrupt, unreadable)."""
        if not self._usable(create=False):
            return None
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or not _ours(info):
                LOG.debug("lint cache: %s is not a file of this user; ignored", path)
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(self.max_bytes + len(_MAGIC) + _DIGEST + 1)
        except OSError as exc:
            LOG.debug("lint cache: cannot read %s: %s", path, exc)
            return None
        finally:
            os.close(fd)
        payload = _unwrap(data)
        if payload is None:
            LOG.debug("lint cache: %s is truncated or corrupt; ignored", path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # last use: what bounding the size drops last
        return payload

    def put(self, key: str, payload: bytes) -> bool:
        """Store ``payload`` under ``key``; False (and nothing changed) when that fails."""
        if len(payload) > self.max_bytes or not self._usable(create=True):
            return False
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=self.folder)
            with os.fdopen(fd, "wb") as out:
                out.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, self._path(key))
        except OSError as exc:  # a read-only or full disk: no cache, same findings
            LOG.debug("lint cache: cannot store %s: %s", key, exc)
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return False
        self._bound()
        return True

    def _path(self, key: str) -> Path:
        if not key or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"cache keys are lowercase hex digests, not {key!r}")
        return self.folder / f"{key}{_SUFFIX}"

    def _usable(self, *, create: bool) -> bool:
        """The folder exists (or was made), is a real folder and is ours and private."""
        try:
            if create:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.folder)
        except OSError as exc:
            if create:
                LOG.debug("lint cache: cannot use %s: %s", self.folder, exc)
            return False
        if not stat.S_ISDIR(info.st_mode) or not _ours(info):
            LOG.debug("lint cache: %s is not a folder of this user; not used", self.folder)
            return False
        if stat.S_IMODE(info.st_mode) & 0o077:
            try:
                os.chmod(self.folder, 0o700)
            except OSError:
                return False
        return True

    def _bound(self) -> None:
        """Drop the least recently used entries beyond the size and count limits."""
        entries = []
        try:
            with os.scandir(self.folder) as found:
                for entry in found:
                    if entry.name.endswith(_SUFFIX) and entry.is_file(follow_symlinks=False):
                        info = entry.stat(follow_symlinks=False)
                        entries.append((info.st_mtime_ns, info.st_size, entry.path))
        except OSError:
            return
        entries.sort(reverse=True)  # newest first
        total = 0
        for count, (_, size, path) in enumerate(entries, start=1):
            total += size
            if total > self.max_bytes or count > self.max_entries:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def _ours(info: os.stat_result) -> bool:
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def _unwrap(data: bytes) -> bytes | None:
    if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + _DIGEST:
        return None
    digest = data[len(_MAGIC):len(_MAGIC) + _DIGEST]
    payload = data[len(_MAGIC) + _DIGEST:]
    return payload if hashlib.sha256(payload).digest() == digest else None
