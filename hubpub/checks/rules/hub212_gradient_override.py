"""An op carries a gradient override that exists only in the process that built the module.

What: a node of a variant has the `_gradient_op_type` attribute: `tf.custom_gradient` (or
`graph.gradient_override_map`) tied it to a gradient function registered in the publisher's
Python process, under a name such as `CustomGradient-42`. hubpub removes the override where
automatic differentiation through the forward ops gives the same gradient (`tf.nn.silu` /
swish, as EfficientNet uses it) and records that in the build report; every other override
is reported here, at the publisher's line.

Why: the gradient function is Python code; it does not travel with the module. A consumer's
first training step fails in `hub.Module(trainable=True)` and in `hub.KerasLayer` alike with
"No gradient defined for operation IdentityN": the module cannot be fine-tuned.

Example: `y = my_clipped_identity(x)` where `my_clipped_identity` is decorated with
`@tf.custom_gradient`.

Fix: write the forward computation so that its ordinary gradient is the one you want (for a
straight-through estimator, `x + tf.stop_gradient(f(x) - x)`), or set
`fine_tunable: false` and suppress this rule if the module is for inference only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB212"
NAME = "gradient-override"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

ATTRIBUTE = "_gradient_op_type"


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    if module.metadata.get("fine_tunable") is False:
        return
    for variant in module.variants:
        for name, node in sorted(variant.nodes.items()):
            if ATTRIBUTE not in node.attr:
                continue
            override = node.attr[ATTRIBUTE].s.decode(errors="replace")
            yield Hit(f"{node.op} node '{name}' uses gradient function '{override}', which "
                      "exists only in the process that built the module (tf.custom_gradient): "
                      "fine-tuning fails with 'No gradient defined'", variant.locate(name))
