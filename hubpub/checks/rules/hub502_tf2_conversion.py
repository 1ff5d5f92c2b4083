"""Something in the module cannot be converted to a TF2 SavedModel.

What: what `hubpub convert` and `hubpub build --tf2` refuse, found without running anything:
a reference variable (`VariableV2`) or another reference-typed state op in any variant; a
sparse or composite (ragged) tensor in the `default` signature of the inference variant (tags
`[]`, or the only variant), or in another signature, which the export leaves out (the TF1
module keeps it); no inference variant among several; a variable or table of the inference
variant that the `train` variant lacks.

Why: TF2 consumers (`hub.KerasLayer`, `tf.saved_model.load`) fine-tune the TF2 export, and
it needs one set of resource variables shared by the train and inference graphs, and dense
signature tensors for `__call__` and the serving signatures. A warning, because a TF1 module
is valid without a TF2 export.

Example: `node 'dense/kernel' (VariableV2) cannot be converted to TF2: a reference variable;
TF2 only has resource variables ...`.

Fix: build with resource variables (TF2's default; avoid `use_resource=False` and
`tf.compat.v1.disable_resource_variables()`), feed dense tensors to signatures (densify
sparse inputs in the caller), give every variant the same variables, or do not ask for a TF2
export.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB502"
NAME = "tf2-conversion"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    from hubpub.spec.op_registry import live_registry, op_registry
    from hubpub.spec.tf2 import pick_variants, unconvertible_state

    registry = op_registry()  # no TensorFlow import when a snapshot answers
    if registry.state_ops is None:  # a snapshot written before state ops were recorded
        registry = live_registry()
    state_ops = registry.state_ops or frozenset()

    def is_state_op(node: Any) -> bool:
        """Registered, stateful and input-less: variables, tables and other resources."""
        return not node.input and node.op in state_ops

    for variant in module.variants:
        for name, node in variant.nodes.items():
            problem = is_state_op(node) and unconvertible_state(node, registry)
            if problem:
                yield Hit(f"node '{name}' ({node.op}) cannot be converted to TF2: {problem}",
                          variant.locate(name))
    by_tags = {frozenset(v.tags): v for v in module.variants}
    picked = pick_variants(list(by_tags))
    if picked is None:
        yield Hit("no inference variant (tags []) among "
                  f"{', '.join(v.describe() for v in module.variants)}: a TF2 export needs "
                  "one", module.variants[0].locate())
        return
    train, inference = by_tags[picked[0]], by_tags[picked[1]]
    yield from _composite_tensors(inference)
    yield from _state_missing_in_train(train, inference, is_state_op)


def _composite_tensors(variant: VariantView) -> Iterator[Hit]:
    for name, signature in sorted(variant.signatures.items()):
        for side, tensors in (("input", signature.inputs), ("output", signature.outputs)):
            for key, tensor in sorted(tensors.items()):
                if tensor.kind == "dense":
                    continue
                effect = ("the TF2 export's __call__ takes dense tensors only" if
                          name == "default" else "the TF2 export leaves this signature out "
                          "(its serving signatures take dense tensors only)")
                yield Hit(f"signature '{name}' {side} '{key}' is a {tensor.kind} tensor; "
                          f"{effect}", variant.locate(signature=name))


def _state_missing_in_train(train: VariantView, inference: VariantView,
                            is_state_op: Any) -> Iterator[Hit]:
    if train is inference:
        return
    for name, node in inference.nodes.items():
        other = train.nodes.get(name)
        if is_state_op(node) and (other is None or other.op != node.op):
            yield Hit(f"node '{name}' ({node.op}) of variant {inference.describe()} is not in "
                      f"variant {train.describe()}: the TF2 export shares one set of "
                      "variables between them", inference.locate(name))
