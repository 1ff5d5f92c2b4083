"""The target could not be loaded, built or parsed.

What: reported by the engine, not by a check: the manifest's module_fn raised, a module's
protos are corrupt, a tarball is truncated or hostile (absolute or `..` member names, links,
more bytes than allowed), or the directory is not a TF1 Hub format module. Nothing else is
checked, because there is nothing reliable to check.

Why: a consumer cannot load such a module either. This finding is always an error; it cannot
be ignored, re-levelled, suppressed or written to a baseline, so a broken module never passes
a lint.

Example: `hubpub lint broken.tar.gz` on an archive cut short by a failed upload:
`broken.tar.gz: HUB000 broken.tar.gz is not a valid module tarball: unexpected end of data`.

Fix: follow the message: fix the publisher code at the line it names, re-export, or re-pack
the module with its files at the archive root.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB000"
NAME = "load-failure"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    """Nothing to check on a module that loaded: the engine reports load failures itself."""
    return iter(())
