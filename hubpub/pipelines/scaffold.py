"""``hubpub init``: a working starting point (manifest, module_fn, README) from a template."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from hubpub.errors import ExportError, HubpubError

__all__ = ["TEMPLATES", "write_scaffold"]

TEMPLATES = ("basic", "image-feature-vector", "image-classification", "text-embedding")
_HANDLE = re.compile(r"^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9._-]*$")


def write_scaffold(template: str, dest: str | Path, *, handle: str | None = None) -> list[Path]:
    """Copy a template into ``dest`` (new or empty), filling in the handle; returns the files."""
    if template not in TEMPLATES:
        raise HubpubError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
    dest = Path(dest)
    handle = handle or f"my-org/{dest.resolve().name.lower().replace(' ', '-') or template}"
    if not _HANDLE.match(handle):
        raise HubpubError(f"handle {handle!r} is not of the form publisher/name (lower case); "
                          "pass --handle")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ExportError(f"{dest} already exists and is not empty; choose a new directory")
    source = resources.files("hubpub.templates") / "scaffolds" / template
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    except OSError as exc:
        raise ExportError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    written = []
    try:
        for entry in sorted(source.iterdir(), key=lambda e: e.name):
            if not entry.is_file() or entry.name.startswith((".", "__")):
                continue
            text = entry.read_text(encoding="utf-8").replace("{{ handle }}", handle)
            (tmp / entry.name).write_text(text, encoding="utf-8")
            written.append(dest / entry.name)
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return written
