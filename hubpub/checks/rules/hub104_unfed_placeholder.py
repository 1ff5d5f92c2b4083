"""A signature output depends on a placeholder that is not one of the signature's inputs.

What: walking back from each output of each signature (data and control inputs, stopping at
the signature's own input tensors, which a consumer feeds), a `Placeholder` node is reached.
`PlaceholderWithDefault` is fine: it has a value when nothing is fed.

Why: nothing can feed that placeholder. `hub.Module` imports it unfed and the consumer's
`session.run` fails; `tf.saved_model.load` and `hub.load` refuse the whole module ("A
SavedModel signature needs an input for each placeholder the signature's outputs use").

Example: a `keep_prob = tf.compat.v1.placeholder(tf.float32, [])` used by dropout but left out
of `hub.add_signature(inputs={"images": images}, ...)`.

Fix: add the placeholder to the signature's inputs, or replace it by
`tf.compat.v1.placeholder_with_default(value, shape)` or a constant (for train-only behaviour,
use a separate `train` variant).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB104"
NAME = "unfed-placeholder"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderV2"})


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        for name in variant.signatures:
            for node in sorted(variant.signature_nodes(name)):
                if variant.nodes[node].op not in PLACEHOLDER_OPS:
                    continue
                yield Hit(f"signature '{name}' needs placeholder '{node}', which is not one of "
                          f"its inputs: add it to the signature's inputs or give it a default "
                          f"(tf.compat.v1.placeholder_with_default)",
                          variant.locate(node, signature=name))
