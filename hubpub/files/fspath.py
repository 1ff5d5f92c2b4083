"""Paths as the old library took them: local paths, ``file://`` URLs and TensorFlow filesystems.

tensorflow_hub read and wrote everything through ``tf.io.gfile``, so export targets, asset
files, checkpoints and module handles could be ``gs://``, ``s3://``, ``hdfs://`` (where the
filesystem plugin is installed) or ``ram://`` URLs. hubpub keeps local paths on the local
code (atomic renames, ``pathlib``), maps ``file://`` URLs onto it, and sends every other URL to
``tf.io.gfile``. TensorFlow is imported only when such a URL is used.
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from typing import Any

from hubpub.errors import HandleError

__all__ = ["gfile", "is_local", "join", "scheme", "to_local"]


def scheme(path: str | os.PathLike[str]) -> str:
    """The URL scheme of ``path`` in lower case, ``""`` for a local path (``C:\\x`` included)."""
    text = os.fspath(path)
    if "://" not in text:
        return ""
    found = urllib.parse.urlsplit(text).scheme.lower()
    return found if len(found) > 1 else ""


def is_local(path: str | os.PathLike[str]) -> bool:
    """True for local paths and ``file://`` URLs."""
    return scheme(path) in ("", "file")


def to_local(path: str | os.PathLike[str]) -> str:
    """A local path or ``file://`` URL as a local path."""
    text = os.fspath(path)
    if scheme(text) != "file":
        return text
    parts = urllib.parse.urlsplit(text)
    if parts.netloc not in ("", "localhost"):
        raise HandleError(f"{text}: file:// URLs must name a local file (no host)")
    return urllib.request.url2pathname(parts.path)


def join(base: str | os.PathLike[str], *parts: str) -> str:
    """``os.path.join`` for local paths; ``/``-joined for URLs."""
    text = os.fspath(base)
    if is_local(text):
        return os.path.join(text, *parts)
    return "/".join([text.rstrip("/"), *parts])


def gfile() -> Any:
    """``tf.io.gfile``, imported on first use of a filesystem URL."""
    from hubpub._tf import tf

    return tf.io.gfile
