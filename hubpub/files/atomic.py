"""Writing a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hubpub.errors import ExportError

__all__ = ["write_text_atomically"]


def write_text_atomically(path: str | Path, text: str, *, what: str = "") -> Path:
    """Write to a temporary file beside ``path``, then rename it over ``path``.

    A failure leaves an existing file untouched and no temporary file behind.
    """
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    if path.is_dir():  # checked before a temporary file is made beside it
        raise ExportError(f"cannot write {label}: it is a directory; give the path of a "
                          f"file (in that directory or elsewhere)")
    if path.exists() and not path.is_file():  # /dev/stdout, a FIFO: write into it, never
        return _write_into(path, text, label)  # replace it (a rename would swap the node)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {label}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, or a directory made there meanwhile
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"cannot write {label}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_into(path: Path, text: str, label: str) -> Path:
    try:
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    except OSError as exc:  # /dev/full, a closed pipe
        raise ExportError(f"cannot write {label}: {exc.strerror or exc}") from exc
    return path
