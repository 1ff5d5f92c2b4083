"""GitHub Actions workflow commands: one ``::error``/``::warning`` annotation per finding."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hubpub.checks.findings import Finding, Severity
from hubpub.reporters.text import shown_path

__all__ = ["render_github"]


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding], *, target: str = "", color: bool = False,
                  root: Path | None = None) -> str:
    """Suppressed findings are left out: an annotation cannot say it was accepted."""
    lines = []
    for finding in findings:
        if finding.suppressed is not None:
            continue
        loc = finding.location
        level = "error" if finding.severity is Severity.ERROR else "warning"
        props = [f"file={_escape_prop(shown_path(loc.source or loc.path or target, root))}"]
        if loc.line is not None:
            props.append(f"line={loc.line}")
            if loc.column is not None:
                props.append(f"col={loc.column}")
        props.append(f"title={_escape_prop(finding.code)}")
        detail = loc.describe()
        message = f"{finding.message} [{detail}]" if detail else finding.message
        lines.append(f"::{level} {','.join(props)}::{_escape_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")
