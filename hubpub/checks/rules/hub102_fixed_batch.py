"""A signature input has a fixed batch dimension.

What: a signature input of rank 1 or more whose first dimension is a number instead of None,
in any variant. Scalar inputs and inputs of unknown rank are not reported.

Why: consumers feed whatever batch size suits them (one image at serving time, 32 while
fine-tuning, the remainder of an epoch). `hub.Module` checks shapes when it is called, so a
module exported with `[1, 224, 224, 3]` rejects every other batch size, and a consumer cannot
change the exported graph.

Example: `images = tf.compat.v1.placeholder(tf.float32, [8, 224, 224, 3])` gives
`signature 'default' input 'images' has a fixed batch dimension 8 (shape [8, 224, 224, 3])`.

Fix: create the input with `None` as its first dimension
(`tf.compat.v1.placeholder(tf.float32, [None, 224, 224, 3])`) and make sure the graph does
not rely on the batch size being constant (use `tf.shape(x)[0]`, not `x.shape[0]`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB102"
NAME = "fixed-batch-dimension"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        for name, signature in variant.signatures.items():
            for key, tensor in signature.inputs.items():
                if not tensor.shape or tensor.shape[0] is None:
                    continue
                yield Hit(f"signature '{name}' input '{key}' has a fixed batch dimension "
                          f"{tensor.shape[0]} (shape {_shape_text(tensor.shape)}); use None "
                          f"so consumers can feed any batch size",
                          variant.locate(tensor.tensor_names[0].split(":")[0], signature=name))
