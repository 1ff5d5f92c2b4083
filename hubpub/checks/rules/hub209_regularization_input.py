"""A regularization loss depends on a signature input instead of only on variables.

What: an entry of a variant's `regularization_losses` collection is computed from a
signature input or another `Placeholder` (an activity penalty, say), or names a tensor that
is not in the graph.

Why: `hub.Module(..., trainable=True)` imports the regularization losses once, with the
module's state, not with each call; nothing feeds the module's inputs there. A loss that
reads an input cannot be evaluated in the consumer's graph (the import fails or the
placeholder is never fed), so the consumer cannot fine-tune the module.

Example: an activity penalty put into the collection:
    penalty = 0.01 * tf.reduce_sum(tf.abs(activations))
    tf.compat.v1.add_to_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, penalty)   # HUB209

Fix: put only weight penalties in `REGULARIZATION_LOSSES` (`kernel_regularizer=`); leave
activity regularization to the consumer's loss, or return it as an extra signature output.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB209"
NAME = "regularization-loss-depends-on-input"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        for entry in variant.collection("regularization_losses"):
            name = entry.lstrip("^").split(":")[0]
            if name not in variant.nodes:
                yield Hit(f"regularization loss '{entry}' of variant {variant.describe()} names "
                          f"no node of the graph", variant.locate())
                continue
            inputs = sorted(n for n in variant.ancestors([entry])
                            if n in variant.fed_nodes or variant.nodes[n].op == "Placeholder")
            if inputs:
                yield Hit(
                    f"regularization loss '{entry}' of variant {variant.describe()} depends on "
                    f"input {', '.join(repr(n) for n in inputs)}: consumers import it once, "
                    f"without inputs; regularize weights only", variant.locate(name))
