"""The output folder of a build: refused when it is a system folder, filled all or nothing.

A build stages everything in a private ``.hubpub-build-*`` folder inside ``--out``, holding an
exclusive lock on a file in it. ``publish`` then moves the staged files in; if any move
fails, the ones already moved go back and what they replaced is restored, so ``--out`` is as
it was. A process killed with SIGKILL cannot clean up, but the kernel releases its lock: the
next build in that folder removes every staging folder whose lock it can take.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from hubpub.errors import ExportError
from hubpub.files.archive import remove_tree

__all__ = ["STAGING_PREFIX", "hold_lock", "private_temp_folder", "publish", "refuse_system_folder",
           "remove_stale_staging", "staging", "system_folder_problem"]

log = logging.getLogger(__name__)

STAGING_PREFIX = ".hubpub-build-"
_LOCK = ".lock"

# Folders a build must never fill: the whole tree below these ...
_SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
                 "/proc", "/run", "/sbin", "/sys", "/usr", "/System", "/Library",
                 "/Applications", "/private/etc", "/private/var/db")
# ... and these folders themselves (their subfolders are where users work).
_SYSTEM_FOLDERS = ("/home", "/Users", "/root", "/var", "/opt", "/srv", "/mnt", "/media",
                   "/tmp", "/private", "/private/tmp", "/private/var", "/snap", "/var/tmp")
_WINDOWS_TREES = ("Windows", "Program Files", "Program Files (x86)", "ProgramData")


def system_folder_problem(folder: Path) -> str | None:
    """Why ``folder`` must not be a build's output, or None when it may."""
    resolved = Path(os.path.abspath(folder)).resolve()
    if resolved == Path(resolved.anchor):
        return f"{folder} is the root of a file system"
    with contextlib.suppress(RuntimeError, KeyError):  # no home folder known
        if resolved == Path.home().resolve():
            return f"{folder} is your home folder itself"
    if sys.platform == "win32":
        parts = resolved.parts
        if len(parts) > 1 and parts[1].lower() in {t.lower() for t in _WINDOWS_TREES}:
            return f"{folder} is inside the system folder {Path(*parts[:2])}"
        return None
    text = resolved.as_posix()
    for tree in _SYSTEM_TREES:
        if text == tree or text.startswith(tree + "/"):
            return f"{folder} is inside the system folder {tree}"
    if text in _SYSTEM_FOLDERS:
        return f"{folder} is a system folder"
    return None


def refuse_system_folder(out_dir: Path, label: str | None = None) -> None:
    """ExportError when ``out_dir`` is a system folder (``label`` names it, e.g. ``--out``)."""
    problem = system_folder_problem(out_dir)
    if problem:
        raise ExportError(f"refusing to build into {label or out_dir}: {problem}; choose a "
                          f"project folder such as ./dist")


@contextlib.contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A fresh, locked staging folder inside ``out_dir``, removed at the end.

    Stale staging folders of dead builds are removed first.
    """
    refuse_system_folder(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(out_dir)
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as exc:
        raise ExportError(f"cannot write to output directory {out_dir} "
                          f"({exc.strerror or exc}); choose a writable --out") from exc
    lock = None
    try:
        lock = hold_lock(stage)
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def hold_lock(stage: Path) -> int | None:
    """Lock ``stage/.lock`` until the returned descriptor is closed or this process ends
    (None where flock is missing).

    The file is locked under a temporary name, then renamed: another build never sees an
    unlocked ``.lock`` in a live staging folder.
    """
    try:
        import fcntl
    except ImportError:  # Windows: stale folders are not removed automatically
        return None
    fd, temporary = tempfile.mkstemp(prefix=".lock-", dir=stage)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, f"{os.getpid()}\n".encode())
    os.replace(temporary, stage / _LOCK)
    return fd


def remove_stale_staging(out_dir: Path, prefix: str = STAGING_PREFIX) -> list[Path]:
    """Remove the folders ``prefix*`` in ``out_dir`` whose owner is provably dead.

    Dead means its ``.lock`` can be locked: the kernel drops a lock when its process ends,
    however it ends. A folder without a lock file is left alone (it cannot be proved dead).
    """
    try:
        import fcntl
    except ImportError:
        return []
    removed = []
    for folder in sorted(out_dir.glob(glob.escape(prefix) + "*")):
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            fd = os.open(folder / _LOCK, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live build holds it
        finally:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed %s, left by a build that did not finish", folder)
        removed.append(folder)
    return removed


@contextlib.contextmanager
def private_temp_folder(prefix: str) -> Iterator[Path]:
    """A private folder ``prefix*`` in the system's temporary folder, locked while this block
    runs and removed after it. Folders of the same prefix whose process was killed outright
    (SIGKILL, the OOM killer) are removed first: their lock died with them."""
    base = Path(tempfile.gettempdir())
    remove_stale_staging(base, prefix)
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    lock = hold_lock(folder)
    try:
        yield folder
    finally:
        if lock is not None:
            os.close(lock)
        remove_tree(folder, missing_ok=True)


def publish(stage: Path, out_dir: Path, names: Sequence[str]) -> None:
    """Move the staged ``names`` into ``out_dir``: all of them, or none.

    What they replace is moved into the staging folder first (and removed with it); if a move
    fails, everything already moved goes back, so ``out_dir`` is left as it was.
    """
    for name in names:
        source, target = stage / name, out_dir / name
        if os.path.lexists(target) and _is_folder(target) != _is_folder(source):
            kind = "folder" if _is_folder(target) else "file"
            raise ExportError(f"cannot publish {name} into {out_dir}: a {kind} of that name is "
                              f"in the way; move or delete it (nothing was changed)")
    done: list[tuple[str, Path | None]] = []
    try:
        for name in names:
            source, target = stage / name, out_dir / name
            backup = None
            if os.path.lexists(target):
                backup = stage / f".old-{name}"
                os.replace(target, backup)
            try:
                os.replace(source, target)
            except OSError:
                if backup is not None:
                    os.replace(backup, target)
                raise
            done.append((name, backup))
    except OSError as exc:
        for name, backup in reversed(done):
            os.replace(out_dir / name, stage / name)
            if backup is not None:
                os.replace(backup, out_dir / name)
        raise ExportError(f"cannot publish into {out_dir} ({exc.strerror or exc}); it was left "
                          f"as it was") from exc


def _is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
