"""SARIF 2.1.0 for code-scanning services (GitHub code scanning, Azure DevOps, IDEs).

``tool.driver.rules`` carries every registered rule with its docstring (summary as
``shortDescription``, the What/Why/Example/Fix sections as ``fullDescription`` and ``help``);
results carry ``ruleId``, ``level``, the message, a physical location (the publisher's source
or manifest line when known, else the linted path) and logical locations for the variant,
signature, node and tarball member. Suppressed findings keep an ``external`` suppression with
the manifest's reason, so services show them as dismissed instead of hiding the decision.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from hubpub import __version__
from hubpub.checks import rules as registry
from hubpub.checks.baseline import fingerprint
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.checks.ruledocs import RuleDoc, rule_doc

__all__ = ["SARIF_SCHEMA", "render_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_ROOT_ID = "SRCROOT"


def _level(severity: Severity | str) -> str:
    return "error" if str(severity) == "error" else "warning"


def _rule(doc: RuleDoc) -> dict[str, Any]:
    text = doc.full_text()
    out: dict[str, Any] = {
        "id": doc.code,
        "name": doc.name,
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": text},
        "help": {"text": text},
        "defaultConfiguration": {"level": _level(doc.severity)},
    }
    if doc.options:
        out["properties"] = {"options": {k: list(v) if isinstance(v, tuple) else v
                                         for k, v in doc.options.items()}}
    return out


def _artifact(path: str, root: Path | None) -> dict[str, Any]:
    """A relative URI under ``root`` (with uriBaseId), a file URI, or the relative path."""
    candidate = Path(path)
    if candidate.is_absolute():
        if root is not None and candidate.is_relative_to(root):
            relative = candidate.relative_to(root).as_posix()
            return {"uri": urllib.parse.quote(relative), "uriBaseId": _ROOT_ID}
        return {"uri": candidate.as_uri()}
    return {"uri": urllib.parse.quote(PurePosixPath(*candidate.parts).as_posix())}


def _logical(location: Location) -> list[dict[str, str]]:
    parts: list[tuple[str, str]] = []
    if location.variant is not None:
        parts.append(("module", "{" + ",".join(location.variant) + "}"))
    if location.signature is not None:
        parts.append(("function", location.signature))
    if location.node is not None:
        parts.append(("object", location.node))
    if location.member is not None:
        parts.append(("resource", location.member))
    out = []
    for i, (kind, name) in enumerate(parts):
        qualified = "/".join(n for _, n in parts[: i + 1])
        out.append({"name": name, "fullyQualifiedName": qualified, "kind": kind})
    return out


def _location(location: Location, target: str, root: Path | None) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": _artifact(location.source or location.path or target, root)}
    if location.line is not None and location.line >= 1:
        region = {"startLine": location.line}
        if location.column is not None and location.column >= 1:
            region["startColumn"] = location.column
        physical["region"] = region
    out: dict[str, Any] = {"physicalLocation": physical}
    logical = _logical(location)
    if logical:
        out["logicalLocations"] = logical
    return out


def _result(finding: Finding, index: dict[str, int], target: str,
            root: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _level(finding.severity),
        "message": {"text": finding.message},
        "locations": [_location(finding.location, target, root)],
        "partialFingerprints": {"hubpub/v1": fingerprint(finding)},
    }
    if finding.code in index:
        out["ruleIndex"] = index[finding.code]
    if finding.suppressed is not None:
        out["suppressions"] = [{"kind": "external", "justification": finding.suppressed}]
    return out


def render_sarif(findings: Sequence[Finding], *, target: str = "", color: bool = False,
                 root: Path | None = None) -> str:
    docs = [rule_doc(rule) for _, rule in sorted(registry.RULES.items())]
    index = {doc.code: i for i, doc in enumerate(docs)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "hubpub", "version": __version__,
                            "semanticVersion": __version__,
                            "rules": [_rule(doc) for doc in docs]}},
        "results": [_result(f, index, target, root) for f in findings],
        "columnKind": "unicodeCodePoints",
    }
    if root is not None:
        run["originalUriBaseIds"] = {_ROOT_ID: {"uri": Path(root).as_uri().rstrip("/") + "/"}}
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"
