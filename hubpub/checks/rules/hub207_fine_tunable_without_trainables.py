"""The metadata says the module is fine-tunable, but it has nothing to train.

What: the manifest's `metadata.fine_tunable` is true, and the variant consumers fine-tune
(the `train` variant, or the default or only one) has no trainable variables: either no
variables at all (weights frozen into constants) or variables all created with
`trainable=False`.

Why: `hub.Module(spec, trainable=True)` then adds nothing to the consumer's
`TRAINABLE_VARIABLES`, so fine-tuning silently trains only the consumer's own head while the
model page promises more. This shipped in real modules before anything checked it.

Example: a manifest that promises fine-tuning for a module whose layers use trainable=False:
    metadata:
      fine_tunable: true          # HUB207: every variable has trainable=False

Fix: build the layers with `trainable=True` (the default) in the fine-tuned variant and keep
the weights as variables, or set `fine_tunable: false` in the manifest metadata.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB207"
NAME = "fine-tunable-without-trainables"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    if module.metadata.get("fine_tunable") is not True or not module.variants:
        return
    variant = module.fine_tune_variant
    variables = variant.variables
    if any(v.trainable for v in variables):
        return
    if variables:
        why = f"all {len(variables)} of its variables are created with trainable=False"
    else:
        why = "it has no variables at all (weights are constants)"
    location = module.manifest_location("metadata.fine_tunable")
    yield Hit(
        f"metadata.fine_tunable is true but variant {variant.describe()}, the one consumers "
        f"fine-tune, has no trainable variables: {why}; make the weights trainable variables "
        f"or set fine_tunable: false", location)
