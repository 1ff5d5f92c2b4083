"""The JSON report: a stable, documented object for tools.

    {"version": 1,
     "target": "<what was linted>",
     "findings": [{"code": "HUB102", "severity": "warning", "message": "...",
                   "location": {"path": ..., "line": ..., "column": ..., "source": ...,
                                "variant": [...], "signature": ..., "node": ..., "member": ...},
                   "suppressed": "<reason>"}],
     "summary": {"errors": 0, "warnings": 1, "suppressed": 0}}

Location keys appear only when known. ``path`` is what was linted (manifest, directory or
tarball); ``line`` and ``column`` point into ``source`` (the publisher's Python file) when
``source`` is present, else into ``path`` (the manifest). ``suppressed`` only on suppressed findings, which are
listed but not counted as errors or warnings. ``version`` changes when a key changes meaning.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from hubpub.checks.findings import Finding
from hubpub.reporters.text import summary_counts

__all__ = ["JSON_VERSION", "render_json"]

JSON_VERSION = 1


def render_json(findings: Sequence[Finding], *, target: str = "", color: bool = False,
                root: Path | None = None) -> str:
    document = {"version": JSON_VERSION, "target": target,
                "findings": [f.to_json() for f in findings],
                "summary": summary_counts(findings)}
    return json.dumps(document, indent=2) + "\n"
