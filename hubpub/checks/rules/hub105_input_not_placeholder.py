"""A signature input is not a placeholder: it is computed inside the module.

What: an input tensor of a signature (any component, for sparse and ragged inputs) is the
output of an op other than `Placeholder` / `PlaceholderWithDefault`, for example one output
of a `Split` or the result of a preprocessing op.

Why: a consumer feeds every input, so whatever computed that tensor inside the module never
runs (`hub.Module` cuts the graph above it, as the old library did), and an input taken from
one output of a multi-output op ties the module's colocation to ops the consumer does not
see. Code that builds such a module usually meant to feed a placeholder.

Example: `x, y = tf.split(v, 2)` then `hub.add_signature(inputs={"x": x, "y": y}, ...)`.

Fix: declare the input with `tf.compat.v1.placeholder` (or `sparse_placeholder`,
`ragged.placeholder`) and compute from it; keep preprocessing below the placeholder.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB105"
NAME = "input-not-placeholder"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        for name, signature in sorted(variant.signatures.items()):
            for key, tensor in sorted(signature.inputs.items()):
                for tensor_name in tensor.tensor_names:
                    node = tensor_name.split(":")[0]
                    op = variant.nodes[node].op if node in variant.nodes else None
                    if op is None or op in PLACEHOLDER_OPS:
                        continue
                    yield Hit(f"input '{key}' of signature '{name}' is tensor '{tensor_name}' "
                              f"of {op} node '{node}', not a placeholder: what computes it in "
                              "the module never runs, since consumers feed it",
                              variant.locate(node, signature=name))
