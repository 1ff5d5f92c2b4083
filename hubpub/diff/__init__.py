"""``hubpub diff OLD NEW``: what changed between two module versions, and whether it breaks.

Verdicts:
    identical   the same interface and the same file bytes;
    compatible  a consumer of OLD keeps working (additions, new weights, ...);
    breaking    a consumer of OLD can fail; every reason is listed.

The JSON form, ``{"verdict": ..., "changes": [{"kind", "path", "old", "new", "breaking",
"message"}]}``, is a public contract (CI gates releases on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubpub.diff.compare import Change, compare
from hubpub.diff.side import Side, open_side

if TYPE_CHECKING:
    from hubpub.manifest import Manifest

__all__ = ["BREAKING", "COMPATIBLE", "IDENTICAL", "Change", "DiffResult", "diff_previous",
           "diff_sides", "diff_targets", "release_blocker", "verdict_of"]

IDENTICAL, COMPATIBLE, BREAKING = "identical", "compatible", "breaking"


def verdict_of(changes: Sequence[Change]) -> str:
    """Numeric measurements (``--numeric``) are reports, not changes: they never decide."""
    if any(c.breaking for c in changes):
        return BREAKING
    return COMPATIBLE if any(c.kind != "numeric" for c in changes) else IDENTICAL


@dataclass(frozen=True)
class DiffResult:
    old: str
    new: str
    changes: list[Change]

    @property
    def verdict(self) -> str:
        return verdict_of(self.changes)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "changes": [c.to_json() for c in self.changes]}


def diff_sides(old: Side, new: Side, *, numeric: bool = False) -> DiffResult:
    """Compare two opened sides; ``numeric`` also runs both (needs TensorFlow)."""
    changes = compare(old, new)
    if numeric:
        from hubpub.diff.numeric import numeric_changes

        changes += numeric_changes(old, new)
    return DiffResult(old.shown, new.shown, changes)


def diff_targets(old: str, new: str, *, numeric: bool = False) -> DiffResult:
    """Compare two targets: manifests, module directories, tarballs or URLs.

    Raises:
        HubpubError: a target is missing, corrupt or not a module (exit code 2).
    """
    with open_side(old) as before, open_side(new) as after:
        return diff_sides(before, after, numeric=numeric)


def diff_previous(manifest: Manifest, *, new: Side | None = None,
                  numeric: bool = False) -> DiffResult:
    """The manifest's module (built here, or ``new`` when already exported) against the
    release its ``previous:`` key names."""
    assert manifest.previous is not None
    with open_side(manifest.previous.module, shown=manifest.previous.shown) as before:
        if new is not None:
            return diff_sides(before, new, numeric=numeric)
        with open_side(str(manifest.path)) as after:
            return diff_sides(before, after, numeric=numeric)


def release_blocker(result: DiffResult, *, breaking_ok: str | None) -> str | None:
    """Why the new version must not be released, or None.

    A breaking verdict blocks unless the manifest's ``previous.breaking_ok`` gives the reason
    the break is intended. (Versions are whole numbers, so a version cannot say "new major"
    by itself; ``breaking_ok`` is how a manifest says it.)
    """
    if result.verdict != BREAKING or breaking_ok:
        return None
    count = len(result.breaking)
    return (f"{count} change{'s' * (count != 1)} break consumers of {result.old}; release it "
            f"as a new module, undo the change{'s' * (count != 1)}, or state why the break is "
            f"intended with previous.breaking_ok in the manifest")
