"""Batch norm runs in training mode, or update ops are exported, in a non-`train` variant.

What: in a variant without the `train` tag, a batch-norm layer normalizes with batch
statistics (a `FusedBatchNorm*` op with `is_training=True`, or, unfused, moving-average
updates that run). Ops inside `If` branch functions count when the branch is statically
taken; a `training` flag fed through a signature input is the consumer's choice and is not
reported. When the module has a `train` variant, `update_ops` entries of the other
variants that are not batch-norm updates are reported too.

Why: the default variant is what consumers run for inference and for feature extraction
with `trainable=False`. Batch statistics make each example's output depend on the rest of
its batch (and break on batch size 1), and `hub.Module(..., trainable=True)` would run the
exported update ops, overwriting the publisher's moving averages with the consumer's batches.

Example: batch norm built in training mode whatever the variant:
    def module_fn(is_training):
        ...
        y = tf.compat.v1.layers.batch_normalization(x, training=True)   # HUB211 in tags=[]

Fix: pass the variant's `is_training` argument as `training=` so the default variant is
built with `training=False`; it then has no `update_ops`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity
from hubpub.checks.patterns import FUSED_BATCH_NORM_OPS
from hubpub.checks.rules.hub206_batchnorm_updates import MovingAverageUpdate, moving_average_updates

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB211"
NAME = "batchnorm-training-in-inference"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    has_train_variant = bool(module.train_variants)  # once: not a pass per variant
    for variant in module.variants:
        if variant.is_train:
            continue
        updates = moving_average_updates(variant)
        for layer, node in _training_layers(variant, updates).items():
            yield Hit(
                f"batch norm '{layer}' runs in training mode in variant {variant.describe()}, "
                f"which is not a train variant: outputs depend on the batch; build it with "
                f"training=False", variant.locate(node))
        if has_train_variant:
            yield from _other_update_ops(variant, {u.layer for u in updates})


def _training_layers(variant: VariantView,
                     updates: list[MovingAverageUpdate]) -> dict[str, str | None]:
    """Layer scope -> top-level node showing batch norm in training mode.

    A fused layer trains when its ``FusedBatchNorm*`` has ``is_training=True``; its top-level
    updates also exist with a ``training`` tensor that is false (they then subtract zero).
    An unfused layer trains when its moving-average updates run.
    """
    layers: dict[str, str | None] = {}
    fused: set[str] = set()
    for fname, node in variant.iter_nodes():
        if node.op not in FUSED_BATCH_NORM_OPS:
            continue
        # is_training defaults to True and is absent when default attrs were stripped.
        training = "is_training" not in node.attr or node.attr["is_training"].b
        callers = [node.name] if fname is None else variant.function_callers.get(fname, [])
        for caller in callers:
            layer = caller.rpartition("/")[0] or caller
            fused.add(layer)
            if training and (fname is None or variant.branch_taken(fname)):
                layers.setdefault(layer, caller)
    for update in updates:
        if update.active and update.layer not in fused:
            layers.setdefault(update.layer, update.report_node)
    return layers


def _other_update_ops(variant: VariantView, batch_norm_layers: set[str]) -> Iterator[Hit]:
    """UPDATE_OPS entries outside batch-norm layers (those are judged by the layer's mode)."""
    # By name scope: walking each entry's inputs would cross the whole network per entry.
    scopes = tuple(f"{layer}/" for layer in batch_norm_layers)
    other = [entry for entry in variant.collection("update_ops")
             if not entry.lstrip("^").startswith(scopes)]
    if other:
        yield Hit(
            f"variant {variant.describe()} is not a train variant but exports {len(other)} "
            f"update op(s) ('{other[0]}'): consumers with trainable=True would run them; build "
            f"this variant without them", variant.locate(other[0].lstrip("^").split(":")[0]))
