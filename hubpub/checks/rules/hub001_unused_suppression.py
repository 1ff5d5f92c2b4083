"""A suppression in the manifest matched no finding.

What: reported by the engine after all rules ran: a `lint.suppress` entry whose rule ran but
produced no finding with the suppression's code, variant, signature and node.

Why: suppressions outlive the problems they hid. A stale one silently hides the next real
finding at the same place, so it should be deleted as soon as it is no longer needed.

Example:
    lint:
      suppress:
        - {code: HUB204, variant: [], reason: "dropout is deterministic here"}
after the dropout was removed from the default variant.

Fix: delete the entry, or correct its code, variant, signature or node so it matches the
finding it was meant for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB001"
NAME = "unused-suppression"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    """Nothing to check in the module: the engine compares suppressions with findings."""
    return iter(())
