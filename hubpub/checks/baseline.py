"""Baselines: adopt the lint on a module that is already published, fail only on new findings.

``hubpub lint --write-baseline FILE`` records a fingerprint per finding; ``--baseline FILE``
drops the findings recorded there. A fingerprint is the code, the variant, signature, node and
member, and the message with its numbers blanked: no line numbers and no paths of the machine
that ran the lint, so rebuilding the module, moving the repository or nudging a threshold
(0.999 -> 0.9995) does not turn old findings into new ones. Identical fingerprints are
counted, so a second copy of an old problem is still new.

The file is stable JSON (sorted, no timestamps), meant to be committed:

    {"version": 1,
     "findings": [{"fingerprint": "...", "code": "HUB102", "count": 1,
                   "where": "variant {}, signature 'default'", "message": "..."}]}

HUB000 (target could not be loaded) and suppressed findings are never written or dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from hubpub.checks.config import LOAD_FAILURE
from hubpub.checks.findings import Finding
from hubpub.errors import HubpubError, InputError, ManifestError, ManifestProblem
from hubpub.files.atomic import write_text_atomically
from hubpub.files.inputs import load_json

__all__ = ["BASELINE_VERSION", "filter_new", "fingerprint", "load_baseline", "write_baseline"]

BASELINE_VERSION = 1
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def fingerprint(finding: Finding) -> str:
    """A stable id for a finding that survives rebuilds, moves and changed numbers."""
    loc = finding.location
    parts = [finding.code, None if loc.variant is None else list(loc.variant), loc.signature,
             loc.node, loc.member, _NUMBER.sub("#", finding.message)]
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()[:32]


def _baselinable(finding: Finding) -> bool:
    return finding.code != LOAD_FAILURE and finding.suppressed is None


def write_baseline(path: Path, findings: Sequence[Finding]) -> int:
    """Write the baseline atomically; returns how many findings it records."""
    counts: Counter[str] = Counter()
    first: dict[str, Finding] = {}
    for finding in findings:
        if _baselinable(finding):
            fp = fingerprint(finding)
            counts[fp] += 1
            first.setdefault(fp, finding)
    entries = [{"fingerprint": fp, "code": first[fp].code, "count": counts[fp],
                "where": first[fp].location.describe(), "message": first[fp].message}
               for fp in sorted(counts, key=lambda fp: (first[fp].code, fp))]
    text = json.dumps({"version": BASELINE_VERSION, "findings": entries}, indent=2,
                      sort_keys=True) + "\n"
    write_text_atomically(path, text, what="baseline")
    return sum(counts.values())


def load_baseline(path: Path) -> Counter[str]:
    """Fingerprint -> count from a baseline file; errors name the file and what to do."""
    path = Path(path)
    try:
        document = load_json(path, what="baseline")
    except InputError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise HubpubError(f"baseline {path} does not exist; create it with "
                              f"`hubpub lint TARGET --write-baseline {path}`") from None
        raise ManifestError([ManifestProblem(str(path), exc.line or 1, exc.column or 1,
                                             exc.detail)]) from exc
    entries = document.get("findings") if isinstance(document, dict) else None
    if (not isinstance(document, dict) or document.get("version") != BASELINE_VERSION
            or not isinstance(entries, list)
            or not all(isinstance(e, dict) and isinstance(e.get("fingerprint"), str)
                       and isinstance(e.get("count", 1), int) for e in entries)):
        raise ManifestError([ManifestProblem(
            str(path), 1, 1, f"not a hubpub baseline (version {BASELINE_VERSION}); "
                             f"rewrite it with --write-baseline")])
    counts: Counter[str] = Counter()
    for entry in entries:
        counts[entry["fingerprint"]] += entry.get("count", 1)
    return counts


def filter_new(findings: Sequence[Finding], baseline: Counter[str]) -> list[Finding]:
    """The findings that are not in the baseline (each baseline entry absorbs `count` copies)."""
    remaining = Counter(baseline)
    out = []
    for finding in findings:
        if _baselinable(finding):
            fp = fingerprint(finding)
            if remaining[fp] > 0:
                remaining[fp] -= 1
                continue
        out.append(finding)
    return out
