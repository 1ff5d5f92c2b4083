"""A rule's documentation, read from its module docstring (the one source for every rule page).

`hubpub rules`, SARIF ``rules[]`` and the generated reference all read the docstring through
``rule_doc``, so the documentation cannot drift from the code. No TensorFlow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["SECTIONS", "RuleDoc", "rule_doc"]

# Every rule docstring has these sections, in this order, each opened by "<Name>:" at the
# start of a line.
SECTIONS = ("What", "Why", "Example", "Fix")

_SECTION_START = re.compile(rf"^({'|'.join(SECTIONS)}):[ \t]*", re.MULTILINE)


@dataclass(frozen=True)
class RuleDoc:
    code: str
    name: str
    severity: str
    summary: str  # the docstring's first line
    sections: dict[str, str]  # section name -> text, in docstring order
    options: dict[str, Any]  # option name -> default value
    option_types: dict[str, str]  # option name -> type name

    @property
    def missing_sections(self) -> list[str]:
        return [s for s in SECTIONS if not self.sections.get(s)]

    def full_text(self) -> str:
        """The docstring body without the summary: what `hubpub rules CODE` prints."""
        return "\n\n".join(f"{name}: {text}" for name, text in self.sections.items())


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def rule_doc(rule: ModuleType) -> RuleDoc:
    """Split a rule module's docstring into its summary and What / Why / Example / Fix."""
    text = (rule.__doc__ or "").strip()
    summary, _, body = text.partition("\n")
    sections: dict[str, str] = {}
    starts = list(_SECTION_START.finditer(body))
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        end = following.start() if following else len(body)
        sections[match.group(1)] = _dedent(body[match.end():end])
    return RuleDoc(
        code=rule.CODE,
        name=rule.NAME,
        severity=str(rule.SEVERITY),
        summary=summary.strip(),
        sections=sections,
        options=dict(rule.DEFAULTS),
        option_types={k: _type_name(v) for k, v in rule.OPTIONS.items()},
    )


def _dedent(text: str) -> str:
    lines = text.strip("\n").splitlines()
    if not lines:
        return ""
    rest = [ln for ln in lines[1:] if ln.strip()]
    indent = min((len(ln) - len(ln.lstrip()) for ln in rest), default=0)
    return "\n".join([lines[0].strip(), *(ln[indent:] for ln in lines[1:])]).strip()
