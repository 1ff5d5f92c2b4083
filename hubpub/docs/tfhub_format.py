"""The legacy tfhub.dev model page format, and a validator of its rules.

Shape of a page (one Markdown file per module version)::

    # Module publisher/name/1              line 1: kind and handle with version
    One-sentence description.              line 2: non-empty; continues to a blank line
                                           then only metadata lines and blank lines,
    <!-- asset-path: https://.../m.tar.gz -->      up to the first heading
    <!-- module-type: image-feature-vector -->
    <!-- fine-tunable: true -->
    <!-- format: hub -->
    <!-- license: Apache-2.0 -->

    ## Overview                            free Markdown from the first heading on

Metadata keys (``KEYS``): ``asset-path``, ``module-type`` (the task; ``task`` is accepted as
its newer name, but not both), ``fine-tunable`` and ``format`` are required and may appear
once; ``license`` is optional and may appear once; ``dataset``, ``network-architecture`` and
``language`` are optional and may repeat (one line per value). Any other key is an error,
because the registry rejected pages it could not parse with errors that did not say why.
Allowed values: ``module-type`` starts with ``image-``, ``text-``, ``audio-`` or ``video-``;
``fine-tunable`` is ``true`` or ``false``; ``format`` is ``hub`` (TF1 Hub format),
``saved_model`` or ``saved_model_2``; ``license`` is one of ``LICENSES``; ``asset-path`` is an
``http(s)://`` or ``gs://`` URL of a ``.tar.gz``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Problem = Callable[[int, str], None]  # problem(line, message)

__all__ = ["KEYS", "LICENSES", "PageProblem", "validate_tfhub_page"]


@dataclass(frozen=True)
class _Key:
    required: bool
    repeatable: bool


KEYS = {
    "asset-path": _Key(required=True, repeatable=False),
    "module-type": _Key(required=True, repeatable=False),
    "fine-tunable": _Key(required=True, repeatable=False),
    "format": _Key(required=True, repeatable=False),
    "license": _Key(required=False, repeatable=False),
    "dataset": _Key(required=False, repeatable=True),
    "network-architecture": _Key(required=False, repeatable=True),
    "language": _Key(required=False, repeatable=True),
}
_TASK_ALIAS = "task"  # newer pages name module-type "task"
LICENSES = ("Apache-2.0", "BSD-3-Clause", "BSD-2-Clause", "GPL-2.0", "GPL-3.0", "LGPL-2.0",
            "LGPL-2.1", "LGPL-3.0", "MIT", "MPL-2.0", "CDDL-1.0", "EPL-2.0", "custom")
FORMATS = ("hub", "saved_model", "saved_model_2")
TASK_PREFIXES = ("image-", "text-", "audio-", "video-")

_FIRST_LINE = re.compile(
    r"^# Module (?P<publisher>[\w-]+)/(?P<name>[\w.-]+(?:/[\w.-]+)*)/(?P<version>\d+)\s*$")
_METADATA = re.compile(r"^<!--(?P<key>[\w\s-]+):(?P<value>.*)-->\s*$")
_URL = re.compile(r"^(https?|gs)://\S+\.tar\.gz$")


@dataclass(frozen=True)
class PageProblem:
    """One broken rule of the format, at a 1-based line."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def validate_tfhub_page(text: str, path: str = "<page>") -> list[PageProblem]:
    """Every problem of a tfhub.dev model page, in line order (empty: the page is valid)."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    problems: list[PageProblem] = []

    def problem(line: int, message: str) -> None:
        problems.append(PageProblem(path, line, message))

    if not _FIRST_LINE.match(lines[0]):
        problem(1, f"first line must be '# Module publisher/name/version', "
                   f"e.g. '# Module acme/text-embedding/1'; found {lines[0]!r}")
    index = _check_description(lines, problem)
    seen: dict[str, list[int]] = {}
    while index < len(lines) and not lines[index].startswith("#"):
        line = lines[index]
        number = index + 1
        index += 1
        if not line.strip():
            continue
        match = _METADATA.match(line)
        if not match:
            problem(number, f"unexpected line in the metadata block: {line!r}; before the "
                            f"first heading only '<!-- key: value -->' lines and blank lines "
                            f"may follow the description")
            continue
        key, value = match["key"].strip(), match["value"].strip()
        canonical = _check_key(key, value, number, seen, problem)
        if canonical:
            seen.setdefault(canonical, []).append(number)
    _check_required(seen, index + 1, problem)
    for offset, line in enumerate(lines[index:], index + 1):
        match = _METADATA.match(line)
        if match and (match["key"].strip() in KEYS or match["key"].strip() == _TASK_ALIAS):
            problem(offset, f"metadata {match['key'].strip()!r} after the first heading is "
                            f"ignored; move it to the metadata block after the description")
    return sorted(problems, key=lambda p: p.line)


def _check_description(lines: list[str], problem: Problem) -> int:
    """Checks line 2; returns the index of the first line after the description."""
    if len(lines) < 2 or not lines[1].strip() or lines[1].startswith(("#", "<!--")):
        problem(2, "second line must be a short description of the module, e.g. "
                   "'Feature vectors of images with MobileNet V2.'")
        return 1
    index = 2
    while index < len(lines) and lines[index].strip() and not lines[index].startswith("<!--"):
        index += 1
    return index


def _check_key(key: str, value: str, number: int, seen: dict[str, list[int]],
               problem: Problem) -> str | None:
    """Checks one metadata line; returns the key it counts for, None if it counts for none."""
    if key == _TASK_ALIAS:
        key = "module-type"
    if key not in KEYS:
        problem(number, f"unknown metadata key {key!r}; known keys: {', '.join(sorted(KEYS))}")
        return None
    if not KEYS[key].repeatable and key in seen:
        problem(number, f"metadata {key!r} appears again (first on line {seen[key][0]}); "
                        f"it may appear only once")
        return None
    if not value:
        problem(number, f"metadata {key!r} has no value")
    elif key == "module-type" and not value.startswith(TASK_PREFIXES):
        problem(number, f"module-type {value!r} must start with one of "
                        f"{', '.join(TASK_PREFIXES)} (e.g. image-feature-vector)")
    elif key == "fine-tunable" and value not in ("true", "false"):
        problem(number, f"fine-tunable must be 'true' or 'false', not {value!r}")
    elif key == "format" and value not in FORMATS:
        problem(number, f"format must be one of {', '.join(FORMATS)} ('hub' for the TF1 Hub "
                        f"format), not {value!r}")
    elif key == "license" and value not in LICENSES:
        problem(number, f"license {value!r} is not accepted; use one of {', '.join(LICENSES)}")
    elif key == "asset-path" and not _URL.match(value):
        problem(number, f"asset-path must be an http(s):// or gs:// URL of a .tar.gz, "
                        f"not {value!r}")
    return key


def _check_required(seen: dict[str, list[int]], block_end: int, problem: Problem) -> None:
    for key, rule in KEYS.items():
        if rule.required and not seen.get(key):
            example = {"format": "hub", "fine-tunable": "true"}.get(key, "...")
            problem(block_end, f"missing required metadata {key!r}: add "
                               f"'<!-- {key}: {example} -->' before line {block_end}")
