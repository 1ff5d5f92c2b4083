"""Runs the selected rules over a module view and turns their hits into findings.

Rules only say what they saw (``Hit``); the engine stamps each hit with the rule's code and
its configured severity, then applies the manifest's suppressions. Policy therefore lives in
one place and a rule cannot get it wrong. No TensorFlow import here: the engine takes a view,
which the caller gets from ``hubpub.target``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hubpub.checks import rules as registry
from hubpub.checks.config import LOAD_FAILURE, UNUSED_SUPPRESSION, LintConfig
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.errors import HubpubError

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

__all__ = ["EXECUTION_GATE", "apply_suppressions", "execution_blockers", "load_failure",
           "refusal", "run_checks"]

LOG = logging.getLogger(__name__)

# Rules whose findings forbid running a module (export, smoke test): unsafe and unknown ops.
EXECUTION_GATE = ("HUB301", "HUB302")


def run_checks(view: ModuleView, config: LintConfig) -> list[Finding]:
    """Every finding of the selected rules, suppressed ones marked, sorted by location."""
    findings: list[Finding] = []
    for code, rule in sorted(registry.RULES.items()):
        if not config.is_selected(code):
            LOG.debug("%s not selected", code)
            continue
        severity = config.severity(rule)
        # Read-only, so a rule cannot change what the next rule (or test) sees.
        options = MappingProxyType(config.options_for(rule))
        findings.extend(_findings(code, severity, rule, view, options))
    return sorted(apply_suppressions(findings, config), key=Finding.sort_key)


def _findings(code: str, severity: Severity, rule: Any, view: ModuleView,
              options: Mapping[str, Any]) -> list[Finding]:
    """The rule's findings; a graph too malformed for it to read (a NodeDef without the
    inputs its op has) is a HUB000 finding, which also forbids running the module."""
    try:
        return [Finding(code, severity, hit.message, hit.location)
                for hit in rule.check(view, options)]
    except (IndexError, KeyError) as exc:
        return [Finding(LOAD_FAILURE, Severity.ERROR,
                        f"the graph is malformed where {code} looked: a node lacks an input "
                        f"or attribute its op has ({type(exc).__name__}: {exc}); TensorFlow "
                        f"would refuse it", Location(path=view.path))]


def execution_blockers(view: ModuleView, config: LintConfig) -> list[Finding]:
    """The findings that forbid running the module on this machine.

    HUB301 and HUB302 run whatever ``select``, ``ignore``, severities, suppressions and
    baselines say: those change what a report shows, not what hubpub executes. Only HUB301's
    ``allow`` option lets an op run, so allowing one is always explicit.
    """
    blockers: list[Finding] = []
    for code in EXECUTION_GATE:
        rule = registry.get(code)
        options = MappingProxyType(config.options_for(rule))
        blockers.extend(_findings(code, Severity.ERROR, rule, view, options))
    return sorted(blockers, key=Finding.sort_key)


def refusal(blockers: Sequence[Finding], doing: str) -> str:
    """Why ``doing`` (e.g. "smoke-testing") was refused, naming the first blocking op."""
    first = blockers[0]
    more = f" and {len(blockers) - 1} more" if len(blockers) > 1 else ""
    advice = []
    if any(b.code != "HUB302" for b in blockers):
        advice.append("allow an unsafe op you trust with --option HUB301.allow=OP (or "
                      "lint.options.HUB301.allow in the manifest)")
    if any(b.code == "HUB302" for b in blockers):
        advice.append("for an unknown op, install the library that defines it and name it "
                      "in the manifest (requires: [LIBRARY])")
    return (f"{doing} refused: hubpub does not run a module with unsafe or unknown ops "
            f"({first.code} {first.message}{more}); remove them, or "
            + "; or ".join(advice))


def apply_suppressions(findings: Sequence[Finding], config: LintConfig) -> list[Finding]:
    """Mark suppressed findings with their reason and report suppressions that matched nothing.

    A suppression whose rule did not run (not selected) is not reported as unused: it had no
    chance to match.
    """
    used: set[int] = set()
    out = []
    for finding in findings:
        if finding.code != LOAD_FAILURE:
            index = next((i for i, s in enumerate(config.suppressions) if s.matches(finding)),
                         None)
            if index is not None:
                used.add(index)
                LOG.debug("%s at %s suppressed: %s", finding.code,
                          finding.location.describe(), config.suppressions[index].reason)
                finding = replace(finding, suppressed=config.suppressions[index].reason)
        out.append(finding)
    if config.is_selected(UNUSED_SUPPRESSION):
        severity = config.severity(registry.get(UNUSED_SUPPRESSION))
        for i, suppression in enumerate(config.suppressions):
            if i in used or not config.is_selected(suppression.code):
                continue
            out.append(Finding(
                UNUSED_SUPPRESSION, severity,
                f"suppression of {suppression.describe()} matched no finding; delete it "
                f"(reason given: {suppression.reason!r})",
                suppression.location))
    return out


def load_failure(error: HubpubError, target: str) -> Finding:
    """HUB000 for a target that could not be loaded, built or parsed (never suppressed).

    Errors from the publisher's code carry its file and line; an archive error its member.
    """
    source, line = getattr(error, "path", None), getattr(error, "line", None)
    member = getattr(error, "member", None)
    message = str(error)
    if source and line and message.startswith(f"{source}:{line}: "):
        message = message[len(f"{source}:{line}: "):]
    if member:  # the location names it
        message = getattr(error, "detail", message)
    location = Location(path=target, source=source if line else None, line=line,
                        member=member)
    return Finding(LOAD_FAILURE, Severity.ERROR, message, location)
