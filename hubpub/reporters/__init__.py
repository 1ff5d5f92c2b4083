"""Reporters: pure functions from findings to text, one module per format.

Each takes ``(findings, *, target, color=False, root=None)`` and returns the whole report as a
string; each uses the keywords it needs (``color``: text only; ``root``: SARIF makes paths
under it relative). Only the CLI writes the result anywhere. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Callable

from hubpub.reporters.github import render_github
from hubpub.reporters.json import render_json
from hubpub.reporters.sarif import render_sarif
from hubpub.reporters.text import render_text

__all__ = ["REPORTERS", "render_github", "render_json", "render_sarif", "render_text"]

REPORTERS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}
