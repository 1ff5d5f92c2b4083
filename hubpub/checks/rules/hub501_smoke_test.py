"""The module does not load or run in a fresh process.

What: reported by `hubpub validate` and `hubpub build`, not by a graph check: the exported
module was loaded in a new Python process with `hubpub.Module` (TF1 graph mode) and with TF2's
`tf.saved_model.load(dir, tags=[...])` (what `hub.load` does), every signature of every variant
was run on inputs made from its declared dtypes and shapes, and something failed: a load, a
signature call, NaN or infinite outputs, or different outputs from the two loaders. Then one
real training step of each variant consumers fine-tune (`hubpub.Module(trainable=True)` with
UPDATE_OPS and the regularization losses, feeding only the signature inputs; the same on a
TF2 export as `hub.KerasLayer(trainable=True)` takes it) failed: a placeholder it needs that
no signature feeds, an op without a gradient, update ops outside the train variant, or
weights that did not change.

Why: a module that passes every static check can still fail for a consumer: a variable
missing from the checkpoint, a table whose vocabulary asset was not packed, a placeholder no
signature feeds, an op that only works in the publisher's process.

Example: `variant {train}: tf.saved_model.load failed: ValueError: A SavedModel signature
needs an input for each placeholder the signature's outputs use`, or `variant {train}
fine-tuning (hub.Module, trainable=True): the training step needs placeholder
'module_apply_default/input_1', which is not a signature input`.

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
