"""``path:line:col: CODE message`` lines for people, then a one-line summary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hubpub.checks.findings import Finding, Location, Severity

__all__ = ["render_text", "shown_path", "summary_counts", "where"]

_RED, _YELLOW, _BOLD, _DIM, _RESET = "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


def summary_counts(findings: Sequence[Finding]) -> dict[str, int]:
    """Unsuppressed errors and warnings, and how many findings were suppressed."""
    active = [f for f in findings if f.suppressed is None]
    return {"errors": sum(f.severity is Severity.ERROR for f in active),
            "warnings": sum(f.severity is Severity.WARNING for f in active),
            "suppressed": len(findings) - len(active)}


def shown_path(path: str, root: Path | None) -> str:
    """``path`` relative to ``root`` when it lies under it (what editors and CI expect)."""
    candidate = Path(path)
    if root is not None and candidate.is_absolute() and candidate.is_relative_to(root):
        return candidate.relative_to(root).as_posix()
    return path


def where(location: Location, root: Path | None = None) -> str:
    """``file:line:col`` when a line is known (the publisher's source or the manifest), else
    the path that was linted."""
    file = shown_path(location.source or location.path or "", root)
    if location.line is None:
        return file
    text = f"{file}:{location.line}"
    return f"{text}:{location.column}" if location.column is not None else text


def _printable(text: str) -> str:
    """Control characters other than newlines and tabs escaped: names inside a hostile module
    or tarball (``\x1b]0;...``) must not drive the terminal that shows the report."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def render_text(findings: Sequence[Finding], *, target: str = "", color: bool = False,
                root: Path | None = None) -> str:
    """One line per unsuppressed finding; suppressed ones are only counted."""
    lines = []
    for finding in findings:
        if finding.suppressed is not None:
            continue
        code = finding.code
        if color:
            tint = _RED if finding.severity is Severity.ERROR else _YELLOW
            code = f"{_BOLD}{tint}{code}{_RESET}"
        line = (f"{_printable(where(finding.location, root) or target)}: {code} "
                f"{_printable(finding.message)}")
        detail = _printable(finding.location.describe())
        if detail:
            line += f" [{_DIM}{detail}{_RESET}]" if color else f" [{detail}]"
        lines.append(line)
    if findings:
        counts = summary_counts(findings)
        summary = (f"{counts['errors']} error{'s' * (counts['errors'] != 1)}, "
                   f"{counts['warnings']} warning{'s' * (counts['warnings'] != 1)}")
        if counts["suppressed"]:
            summary += f" ({counts['suppressed']} suppressed)"
        lines.append(summary)
    return "\n".join(lines) + ("\n" if lines else "")
