"""Handle -> local module directory, downloading and unpacking tarballs into a shared cache.

Handles, as tensorflow_hub resolved them:

- a local directory: returned as it is, no cache;
- a local tarball (``.tar.gz``, ``.tgz``, ``.tar``; also bz2/xz), or a ``file://`` URL of one;
- an ``http://`` or ``https://`` URL of a tarball; the query ``tf-hub-format=compressed`` is
  appended, as tfhub.dev expects (static file servers ignore it);
- a TensorFlow filesystem URL (``gs://``, ``s3://``, ``hdfs://``, ``ram://``) of a module
  directory (used in place) or of a tarball (read with ``tf.io.gfile`` into the cache).

Tarballs are unpacked by :func:`hubpub.files.archive.safe_extract` into
``<cache>/<sha1 hex>``, where ``<cache>`` is ``TFHUB_CACHE_DIR`` or
``<system temp>/tfhub_modules``. For URLs the hash is of the handle string exactly as given, so
a cache filled by tensorflow_hub is reused. For local tarballs it also covers the file's path,
size and mtime: a tarball rebuilt in place is unpacked again instead of served stale.

Concurrency: the first process takes ``<dir>.lock`` (created with O_EXCL; content
``host.pid.uuid``), unpacks into ``<dir>.<uuid>.tmp``, writes ``<dir>.descriptor.txt`` and
renames the temp folder to ``<dir>``; the others poll until the lock is gone and return the
finished folder. A lock is stolen when its owner is a dead process on this host (at once) or
when neither the lock nor its owner's temp folder changed for ``HUBPUB_LOCK_TIMEOUT_SEC``
seconds (default 600). A failed or interrupted download removes its temp folder and lock, so
no half module is ever left under the final name.

The default cache lives in the shared system temp folder, where another user could plant a
module under the name a handle hashes to. There the cache is used only when the current user
owns it and nobody else can write to it (else ``<temp>/tfhub_modules-<uid>``, checked the same
way); a module folder in it that is a symlink, belongs to someone else or is writable by
others is moved aside and downloaded again. A cache named by ``TFHUB_CACHE_DIR`` is the user's
choice (it may be shared by a team on purpose) and is not checked.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import http.client
import logging
import os
import re
import socket
import ssl
import stat
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from hubpub.errors import HandleError
from hubpub.files import fspath
from hubpub.files.archive import remove_tree, safe_extract
from hubpub.files.inputs import seconds_from_env
from hubpub.files.signing import TrustedSigner

__all__ = ["CACHE_DIR_ENV", "DOWNLOAD_DEADLINE_ENV", "LOCK_TIMEOUT_ENV", "cache_dir", "resolve"]

LOG = logging.getLogger(__name__)

CACHE_DIR_ENV = "TFHUB_CACHE_DIR"
LOCK_TIMEOUT_ENV = "HUBPUB_LOCK_TIMEOUT_SEC"
PROGRESS_ENV = "TFHUB_DOWNLOAD_PROGRESS"  # any non-empty value: show download progress
DEFAULT_LOCK_TIMEOUT_SEC = 600.0
# Per socket operation; tensorflow_hub set none, and a stalled server then hung forever.
HTTP_TIMEOUT_SEC = 60.0
# The whole download: a server sending one byte every few seconds never trips the per-read
# timeout, so every download also has an overall deadline.
DOWNLOAD_DEADLINE_ENV = "HUBPUB_DOWNLOAD_DEADLINE_SEC"
DEFAULT_DOWNLOAD_DEADLINE_SEC = 3600.0
TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")

_CHUNK = 1024 * 1024
_POLL_START_SEC = 0.05
_POLL_MAX_SEC = 1.0
_WAIT_LOG_EVERY_SEC = 10.0
_LOCK_CONTENT = re.compile(r"^(?P<host>.*)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]{32})$")

Progress = Callable[[int, "int | None"], None]
Fetch = Callable[[Path], None]


def cache_dir() -> Path:
    """The cache root: ``TFHUB_CACHE_DIR`` when set, else ``<temp dir>/tfhub_modules``."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        if not fspath.is_local(configured):
            raise HandleError(f"{CACHE_DIR_ENV}={configured}: hubpub keeps its module cache on "
                              "a local filesystem (it needs exclusive lock files and atomic "
                              "renames); use a local folder or a file:// URL.")
        return Path(fspath.to_local(configured)).expanduser()
    return Path(tempfile.gettempdir()) / "tfhub_modules"


def resolve(handle: str | os.PathLike[str], *, progress: Progress | None = None,
            require_signature: TrustedSigner | str | os.PathLike[str] | None = None) -> str:
    """Returns a local directory holding the module that ``handle`` names.

    With ``require_signature`` (a public key's path or a ``TrustedSigner``), or when
    ``HUBPUB_SIGNATURE_PUBLIC_KEY`` (or ``HUBPUB_SIGNATURE_IDENTITY`` and ``_ISSUER``) is set,
    the module must carry a valid signature by that signer (``hubpub.files.signing``), else
    SignatureError; nothing is checked when neither is given.
    """
    module_dir = _resolve_unchecked(handle, progress=progress)
    signer = TrustedSigner.of(require_signature)
    if signer is not None:
        from hubpub.files.signing import require_signature as check

        check(os.fspath(handle), module_dir, signer)
    return module_dir


def _resolve_unchecked(handle: str | os.PathLike[str], *, progress: Progress | None = None
                       ) -> str:
    """Returns a local directory holding the module that ``handle`` names.

    Args:
        handle: a module directory, a module tarball, or a file/http(s) URL of a tarball.
        progress: called as ``progress(bytes_read, total_or_None)`` while a tarball is read
            (compressed bytes, so ``total`` is the download size when the server sends it).

    Raises:
        HandleError: the handle names nothing, cannot be downloaded, or the cache is not
            writable.
        ArchiveError: the tarball is corrupt, hostile or too large (see hubpub.files.archive).
    """
    handle = os.fspath(handle)
    if progress is None and os.environ.get(PROGRESS_ENV):
        shown = _StderrProgress(handle)
        try:
            return _resolve_unchecked(handle, progress=shown)
        finally:
            shown.close()
    scheme = fspath.scheme(handle)
    if scheme in ("http", "https"):
        return str(_cached(handle, _sha1(handle), lambda tmp: _fetch_http(handle, tmp, progress)))
    if not fspath.is_local(handle):
        return _resolve_gfile(handle, progress)
    path = Path(fspath.to_local(handle))
    if path.is_dir():
        return str(path) if scheme == "file" else handle
    if not path.exists():
        raise HandleError(f"{handle} does not exist.")
    if not path.is_file() or not path.name.lower().endswith(TARBALL_SUFFIXES):
        raise HandleError(f"{handle} is neither a module directory nor a module tarball "
                          f"({', '.join(TARBALL_SUFFIXES[:3])})")
    stat = path.stat()
    key = _sha1(f"{handle}\0{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}")
    return str(_cached(handle, key, lambda tmp: _fetch_file(handle, path, tmp, progress)))


def _resolve_gfile(handle: str, progress: Progress | None) -> str:
    """A TensorFlow filesystem URL (gs://, s3://, hdfs://, ram://...), read with tf.io.gfile."""
    gfile = fspath.gfile()
    if gfile.isdir(handle):
        return handle
    if not gfile.exists(handle):
        raise HandleError(f"{handle} does not exist.")
    if not handle.lower().endswith(TARBALL_SUFFIXES):
        raise HandleError(f"{handle} is neither a module directory nor a module tarball "
                          f"({', '.join(TARBALL_SUFFIXES[:3])})")
    stat = gfile.stat(handle)
    key = _sha1(f"{handle}\0{stat.length}\0{stat.mtime_nsec}")

    def fetch(dest: Path) -> None:
        with gfile.GFile(handle, "rb") as raw:
            safe_extract(_CountingReader(raw, handle, stat.length, progress),  # type: ignore[arg-type]
                         dest, name=handle)

    return str(_cached(handle, key, fetch))


class _StderrProgress:
    """The old library's TFHUB_DOWNLOAD_PROGRESS: one line on stderr, rewritten in place."""

    def __init__(self, handle: str) -> None:
        self._handle = handle
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and self._shown:
            return
        self._last, self._shown = now, True
        amount = f"{done / 2**20:.1f} MiB" + (f" of {total / 2**20:.1f} MiB" if total else "")
        sys.stderr.write(f"\rDownloading {self._handle}: {amount}\x1b[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf8")).hexdigest()  # a name, not a security digest


# --- reading ----------------------------------------------------------------------------------

class _Deadline:
    """The overall deadline of one download (``HUBPUB_DOWNLOAD_DEADLINE_SEC``).

    Checked after each read; a read blocked past it is ended by shutting the socket down
    from a timer thread, so the deadline holds however slowly the server sends.
    """

    def __init__(self, handle: str) -> None:
        self.handle = handle
        self.seconds = seconds_from_env(DOWNLOAD_DEADLINE_ENV, DEFAULT_DOWNLOAD_DEADLINE_SEC,
                                        HandleError)
        self._at = time.monotonic() + self.seconds
        self._expired = threading.Event()
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        return max(0.001, self._at - time.monotonic())

    def watch(self, response: object) -> None:
        """Shut ``response``'s socket down when the deadline passes."""
        sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
        self._timer = threading.Timer(self.remaining(), self._expire, (sock,))
        self._timer.daemon = True
        self._timer.start()

    def _expire(self, sock: socket.socket | None) -> None:
        self._expired.set()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def passed(self) -> bool:
        return self._expired.is_set() or time.monotonic() > self._at

    def error(self, done: int) -> HandleError:
        return HandleError(f"downloading {self.handle} did not finish within {self.seconds:g} "
                           f"s ({done} bytes arrived); if it is just slow, raise the limit with "
                           f"{DOWNLOAD_DEADLINE_ENV}=<seconds>")

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _CountingReader:
    """Reports bytes read to ``progress``; turns network failures (and a passed deadline)
    into HandleError."""

    def __init__(self, source: BinaryIO, handle: str, total: int | None,
                 progress: Progress | None, deadline: _Deadline | None = None) -> None:
        self._deadline = deadline
        self._source = source
        # read1: return what has arrived instead of blocking until `size` bytes are there,
        # so progress moves on slow links (HTTPResponse and open() files both have it).
        self._read = getattr(source, "read1", source.read)
        self._handle = handle
        self._total = total
        self._progress = progress
        self._done = 0
        self.name = handle

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._read(size)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if self._deadline is not None and self._deadline.passed:
                raise self._deadline.error(self._done) from None
            if isinstance(exc, ValueError):
                raise
            raise HandleError(f"reading {self._handle} failed after {self._done} bytes: "
                              f"{exc!r}; try again") from exc
        if self._deadline is not None and self._deadline.passed:
            raise self._deadline.error(self._done + len(data))
        if not data and size != 0 and self._total is not None and self._done < self._total:
            raise HandleError(f"reading {self._handle} stopped after {self._done} of "
                              f"{self._total} bytes (connection closed?); try again")
        self._done += len(data)
        if self._progress is not None and data:
            self._progress(self._done, self._total)
        return data


def _fetch_file(handle: str, path: Path, dest: Path, progress: Progress | None) -> None:
    with open(path, "rb") as raw:
        reader = _CountingReader(raw, handle, os.fstat(raw.fileno()).st_size, progress)
        safe_extract(reader, dest, name=handle)  # type: ignore[arg-type]


def _compressed_url(handle: str) -> str:
    parts = urllib.parse.urlsplit(handle)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query.append(("tf-hub-format", "compressed"))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if os.environ.get("TFHUB_DISABLE_CERT_VALIDATION") == "true":  # as tensorflow_hub
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _fetch_http(handle: str, dest: Path, progress: Progress | None) -> None:
    from hubpub import __version__

    url = _compressed_url(handle)
    request = urllib.request.Request(url, headers={"User-Agent": f"hubpub/{__version__}"})
    deadline = _Deadline(handle)
    try:
        response = urllib.request.urlopen(request, context=_ssl_context(),
                                          timeout=min(HTTP_TIMEOUT_SEC, deadline.remaining()))
    except urllib.error.HTTPError as exc:
        raise HandleError(f"{handle}: the server answered HTTP {exc.code} {exc.reason} "
                          f"for {url}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        if deadline.passed:
            raise deadline.error(0) from exc
        reason = getattr(exc, "reason", exc)
        raise HandleError(f"cannot download {handle}: {reason}") from exc
    deadline.watch(response)
    try:
        with response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            LOG.info("Downloading %s (%s bytes)", url, total if total is not None else "unknown")
            reader = _CountingReader(response, handle, total, progress, deadline)
            safe_extract(reader, dest, name=handle)  # type: ignore[arg-type]
    finally:
        deadline.cancel()


# --- the cache --------------------------------------------------------------------------------

def _cached(handle: str, key: str, fetch: Fetch) -> Path:
    shared_default = not os.environ.get(CACHE_DIR_ENV)
    root = cache_dir()
    if shared_default:
        root = _private_default_root(root)
    else:
        _make_cache_root(root)
    module_dir = root / key
    if shared_default:
        _drop_untrusted(module_dir)
    _atomic_fetch(handle, module_dir, fetch, lock_timeout=_lock_timeout())
    return module_dir


def _make_cache_root(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HandleError(f"cannot create the module cache {root}: {exc.strerror}; set "
                          f"{CACHE_DIR_ENV} to a writable folder") from exc


def _untrusted_because(path: Path) -> str | None:
    """Why ``path`` may have been written by someone else, or None when only we can write it."""
    if not hasattr(os, "geteuid"):  # no owners to compare (Windows): nothing to check
        return None
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if info.st_uid != os.geteuid():
        return f"it belongs to another user (uid {info.st_uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "other users can write to it"
    return None


def _private_default_root(root: Path) -> Path:
    """The default cache if only we can write to it, else a per-user one beside it."""
    _make_cache_root(root)
    reason = _untrusted_because(root)
    if reason == "other users can write to it":  # ours: close it (its entries are checked)
        with contextlib.suppress(OSError):
            os.chmod(root, stat.S_IMODE(os.lstat(root).st_mode) & ~0o022)
            reason = _untrusted_because(root)
    if reason is None:
        return root
    mine = root.with_name(f"{root.name}-{os.geteuid()}")
    LOG.warning("Not using the shared module cache %s (%s); using %s", root, reason, mine)
    try:
        mine.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise HandleError(f"cannot create the module cache {mine}: {exc.strerror}; set "
                          f"{CACHE_DIR_ENV} to a folder of your own") from exc
    reason = _untrusted_because(mine)
    if reason is not None:
        raise HandleError(f"the module caches {root} and {mine} cannot be trusted ({reason}); "
                          f"set {CACHE_DIR_ENV} to a folder of your own")
    return mine


def _drop_untrusted(module_dir: Path) -> None:
    """Moves a module folder someone else could have planted or changed out of the way."""
    try:
        reason = _untrusted_because(module_dir)
    except FileNotFoundError:
        return
    if reason is None:
        return
    LOG.warning("Not using the cached module %s (%s); downloading it again", module_dir, reason)
    aside = module_dir.with_name(f"{module_dir.name}.{uuid.uuid4().hex}.untrusted")
    try:
        os.rename(module_dir, aside)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise HandleError(f"cannot move the untrusted cached module {module_dir} aside: "
                          f"{exc.strerror}; remove it or set {CACHE_DIR_ENV}") from exc
    _remove(aside, missing_ok=True)


def _lock_timeout() -> float:
    return seconds_from_env(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT_SEC, HandleError)


def _is_complete(module_dir: Path) -> bool:
    """A finished module folder: renamed into place, so present means complete."""
    try:
        with os.scandir(module_dir) as entries:
            return any(True for _ in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _atomic_fetch(handle: str, module_dir: Path, fetch: Fetch, *, lock_timeout: float) -> None:
    """Runs ``fetch(tmp)`` once across processes and renames ``tmp`` to ``module_dir``."""
    if _is_complete(module_dir):
        return
    token = uuid.uuid4().hex
    lock = Path(f"{module_dir}.lock")
    content = f"{socket.gethostname()}.{os.getpid()}.{token}"
    if not _acquire(lock, content, module_dir, lock_timeout):
        return
    tmp = Path(f"{module_dir}.{token}.tmp")
    try:
        if _is_complete(module_dir):
            return
        _remove(module_dir)  # an empty folder or a stray file left by someone else
        tmp.mkdir()
        fetch(tmp)
        _write_descriptor(module_dir, handle)
        try:
            os.rename(tmp, module_dir)
        except OSError:
            if not _is_complete(module_dir):
                raise
            LOG.warning("%s was filled by another process; keeping that copy", module_dir)
    finally:
        try:
            remove_tree(tmp, missing_ok=True)
        finally:
            _release(lock, content)


def _remove(path: Path, *, missing_ok: bool = False) -> None:
    if path.is_dir() and not path.is_symlink():
        remove_tree(path, missing_ok=missing_ok)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _write_descriptor(module_dir: Path, handle: str) -> None:
    """Informational only (as tensorflow_hub's); never read back."""
    descriptor = Path(f"{module_dir}.descriptor.txt")
    text = (f"Module: {handle}\n"
            f"Download Time: {datetime.datetime.now()}\n"
            f"Downloader Hostname: {socket.gethostname()} (PID:{os.getpid()})\n")
    tmp = descriptor.with_name(f"{descriptor.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf8")
        os.replace(tmp, descriptor)
    finally:
        tmp.unlink(missing_ok=True)


# --- the lock ---------------------------------------------------------------------------------
# Written by hand, not with the filelock package, on purpose. filelock's FileLock uses flock(),
# which is a no-op or an error on NFS mounted with nolock and on many network filesystems.
# Its SoftFileLock (an O_EXCL file, as here) takes over a dead owner only when the owner wrote
# filelock's own marker, and by age only from owners that renew a lease. The cache's lock is
# shared with tensorflow_hub, whose processes write ``host.pid.uuid`` and renew nothing: a
# tensorflow_hub process that died on another machine would block filelock forever, where
# this code takes over once neither the lock nor the owner's temp folder changed for
# HUBPUB_LOCK_TIMEOUT_SEC (the same progress rule tensorflow_hub applies to hubpub's locks).

def _try_lock(lock: Path, content: str) -> bool:
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:
        raise HandleError(f"cannot create the lock file {lock}: {exc.strerror}; set "
                          f"{CACHE_DIR_ENV} to a writable folder") from exc
    with os.fdopen(fd, "w", encoding="utf8") as f:
        f.write(content)
    return True


def _read_lock(lock: Path) -> str | None:
    try:
        return lock.read_text(encoding="utf8")
    except FileNotFoundError:
        return None


def _release(lock: Path, content: str) -> None:
    if _read_lock(lock) == content:
        lock.unlink(missing_ok=True)


def _acquire(lock: Path, content: str, module_dir: Path, timeout: float) -> bool:
    """Takes the lock (True), or returns False once another process finished the module."""
    delay = _POLL_START_SEC
    watched: tuple[str | None, int] | None = None
    changed_at = time.monotonic()
    logged_at = changed_at
    while True:
        if _try_lock(lock, content):
            return True
        if _is_complete(module_dir):
            return False
        owner = _read_lock(lock)
        if owner is None:
            continue  # released just now: compete again
        now = time.monotonic()
        state = (owner, _tree_size(_owner_tmp(module_dir, owner)))
        if state != watched:
            watched, changed_at = state, now
        if _owner_is_dead(owner):
            LOG.warning("Removing the lock %s of a process that no longer runs (%s)",
                        lock, owner)
            _steal(lock, owner, module_dir)
            continue
        if now - changed_at > timeout:
            LOG.warning("Removing the lock %s: no progress for %.0f s (%s)", lock, timeout,
                        owner)
            _steal(lock, owner, module_dir)
            continue
        if now - logged_at >= _WAIT_LOG_EVERY_SEC:
            LOG.info("%s is already being downloaded by %r. Waiting.", module_dir, owner)
            logged_at = now
        time.sleep(delay)
        delay = min(delay * 1.5, _POLL_MAX_SEC)


def _owner_tmp(module_dir: Path, owner: str) -> Path | None:
    match = _LOCK_CONTENT.match(owner)
    return Path(f"{module_dir}.{match['token']}.tmp") if match else None


def _owner_is_dead(owner: str) -> bool:
    match = _LOCK_CONTENT.match(owner)
    if not match or match["host"] != socket.gethostname():
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def _tree_size(folder: Path | None) -> int:
    """Bytes in the files below ``folder``; iterative, so a tree of any depth is fine."""
    if folder is None:
        return -1
    total = 0
    pending = [os.fspath(folder)]
    while pending:
        try:  # removed while we walk, or too deep a path: count what can be seen
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


def _steal(lock: Path, owner: str, module_dir: Path) -> None:
    """Removes a stale lock unless a new owner took it meanwhile; cleans the owner's temp."""
    aside = lock.with_name(f"{lock.name}.{uuid.uuid4().hex}.stale")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return
    try:
        if _read_lock(aside) != owner:
            # Another process released and re-took the lock between our read and the
            # rename: give it back (link does not overwrite a newer lock).
            with contextlib.suppress(FileExistsError):
                os.link(aside, lock)
            return
        tmp = _owner_tmp(module_dir, owner)
        if tmp is not None:
            remove_tree(tmp, missing_ok=True)
    finally:
        aside.unlink(missing_ok=True)
