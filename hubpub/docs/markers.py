"""Hand-written sections that survive regeneration of a docs page.

A section is the text between ``<!-- hubpub:keep NAME -->`` and ``<!-- hubpub:end -->``, each
marker alone on its line. Templates emit the markers (with default text); when a page is
regenerated, the text inside each section of the existing file replaces the default, so
publishers can add prose that hubpub cannot know without losing it on the next build.
A section that the template no longer has is appended at the end rather than dropped.
"""

from __future__ import annotations

import logging
import re

from hubpub.errors import ExportError

__all__ = ["END_MARKER", "keep_marker", "merge_sections", "parse_sections"]

log = logging.getLogger(__name__)

_KEEP_RE = re.compile(r"^\s*<!--\s*hubpub:keep\s+(?P<name>[A-Za-z0-9_.-]+)\s*-->\s*$")
_END_RE = re.compile(r"^\s*<!--\s*hubpub:end\s*-->\s*$")
END_MARKER = "<!-- hubpub:end -->"


def keep_marker(name: str) -> str:
    return f"<!-- hubpub:keep {name} -->"


def parse_sections(text: str, path: str = "<page>") -> dict[str, str]:
    """Section name -> its text (the lines between the markers, newlines kept).

    Raises:
        ExportError: a section is not closed, nested, closed twice or named twice; the
            message gives the file and line so the publisher can repair the markers.
    """
    sections: dict[str, str] = {}
    opened: tuple[str, int] | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        keep, end = _KEEP_RE.match(line), _END_RE.match(line)
        if keep:
            if opened:
                raise ExportError(f"{path}:{number}: hubpub:keep section {keep['name']!r} "
                                  f"starts inside section {opened[0]!r} opened on line "
                                  f"{opened[1]}; close that one with {END_MARKER} first")
            if keep["name"] in sections:
                raise ExportError(f"{path}:{number}: hubpub:keep section {keep['name']!r} "
                                  f"appears twice; rename one of them")
            opened, body = (keep["name"], number), []
        elif end:
            if not opened:
                raise ExportError(f"{path}:{number}: {END_MARKER} without a "
                                  f"<!-- hubpub:keep NAME --> before it; remove it")
            sections[opened[0]] = "".join(body)
            opened = None
        elif opened:
            body.append(line)
    if opened:
        raise ExportError(f"{path}:{opened[1]}: hubpub:keep section {opened[0]!r} is never "
                          f"closed; add {END_MARKER} after its text")
    return sections


def merge_sections(generated: str, kept: dict[str, str], path: str = "<page>") -> str:
    """The generated page with each section's text taken from ``kept`` where it has one."""
    parse_sections(generated, f"{path} (as generated)")  # the template's markers must be sound
    out: list[str] = []
    current: str | None = None
    used = set()
    for line in generated.splitlines(keepends=True):
        keep, end = _KEEP_RE.match(line), _END_RE.match(line)
        if keep:
            current = keep["name"]
            out.append(line)
            if current in kept:
                out.append(kept[current])
                used.add(current)
        elif end:
            current = None
            out.append(line)
        elif current is None or current not in kept:
            out.append(line)
    orphans = [name for name in kept if name not in used]
    if orphans:
        log.warning("%s: the template has no section %s; kept at the end of the page",
                    path, ", ".join(repr(n) for n in orphans))
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        for name in orphans:
            out += ["\n", keep_marker(name) + "\n", kept[name], END_MARKER + "\n"]
    return "".join(out)
