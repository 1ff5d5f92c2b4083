"""The module does not load or run in a fresh process.

What: reported by `hubpub validate` and `hubpub build`, not by a graph check: the exported
module was loaded in a new Python process with `hubpub.Module` (TF1 graph mode) and with TF2's
`tf.saved_model.load(dir, tags=[...])` (what `hub.load` does), every signature of every variant
was run on inputs made from its declared dtypes and shapes, and something failed: a load, a
signature call, NaN or infinite outputs, or different outputs from the two loaders.

Why: a module that passes every static check can still fail for a consumer: a variable
missing from the checkpoint, a table whose vocabulary asset was not packed, a placeholder no
signature feeds, an op that only works in the publisher's process.

Example: `variant {train}: tf.saved_model.load failed: ValueError: A SavedModel signature
needs an input for each placeholder the signature's outputs use`.

Fix: reproduce it with `hubpub validate MODULE`; the message names the variant and
signature. Feed every placeholder through the signature, create every variable in every
variant, and declare vocabularies as assets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB501"
NAME = "smoke-test"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    """Nothing to check statically: the smoke test runs the module in a child process."""
    return iter(())
