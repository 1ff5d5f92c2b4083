"""What of a TF1 Hub module a TF2 SavedModel can hold: shared by ``convert`` and HUB502.

TensorFlow is imported inside the functions: rule modules load without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubpub.spec.op_registry import OpRegistry

__all__ = ["TRAIN_TAGS", "is_resource_state", "pick_variants", "unconvertible_state"]

TRAIN_TAGS = frozenset({"train"})
_REF_VARIABLE_OPS = frozenset({"VariableV2", "Variable"})


def unconvertible_state(node: Any, registry: OpRegistry | None = None) -> str | None:
    """Why a state node (variable, table, ...) cannot live in a TF2 SavedModel, or None.

    ``registry`` answers about ops without TensorFlow (HUB502); without it, the registry of
    the TensorFlow in this process does.
    """
    if node.op in _REF_VARIABLE_OPS:
        return ("a reference variable; TF2 only has resource variables. Re-export the module "
                "with resource variables (the default since TF 2.0)")
    known, ref_output = _op_facts(node.op, registry)
    if not known:
        return "an op this TensorFlow does not know"
    if ref_output:
        return "a reference-typed resource (a TF1-only op); rebuild with its V2 op"
    return None


def _op_facts(op: str, registry: OpRegistry | None) -> tuple[bool, bool]:
    """(registered, has a reference-typed output)."""
    if registry is not None and registry.ref_outputs is not None:
        return registry.knows(op), op in registry.ref_outputs
    from tensorflow.python.framework import op_def_registry

    op_def = op_def_registry.get(op)
    return op_def is not None, op_def is not None and any(a.is_ref for a in op_def.output_arg)


def is_resource_state(node: Any) -> bool:
    """Variables and tables: state nodes whose one output is a resource handle."""
    from tensorflow.python.framework import op_def_registry

    from hubpub._tf import tf

    op_def = op_def_registry.get(node.op)
    return (op_def is not None and len(op_def.output_arg) == 1
            and op_def.output_arg[0].type == tf.resource.as_datatype_enum)


def pick_variants(tag_sets: list[frozenset[str]]) -> tuple[frozenset[str], frozenset[str]] | None:
    """(train tags, inference tags) of a TF2 export, or None without an inference variant.

    Inference is the default variant (no tags), or the only one; training is ``{train}``,
    else the inference variant itself.
    """
    inference: frozenset[str]
    if frozenset() in tag_sets:
        inference = frozenset()
    elif len(tag_sets) == 1:
        inference = tag_sets[0]
    else:
        return None
    return (TRAIN_TAGS if TRAIN_TAGS in tag_sets else inference), inference
