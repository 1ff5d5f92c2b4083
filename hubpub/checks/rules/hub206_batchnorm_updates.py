"""Batch norm trains in a `train` variant, but its moving-average updates are not in UPDATE_OPS.

What: in a variant tagged `train`, the ops that update a batch-norm layer's moving mean and
variance (`<bn>/AssignMovingAvg/AssignSubVariableOp` and `AssignMovingAvg_1`, or the `If`
op that runs them when `training` is a tensor) are not among the `update_ops` collection
entries or their inputs. `tf_keras.layers.BatchNormalization` called in a graph produces
exactly this: it keeps its updates in `layer.updates` and leaves the collection empty.
Updates inside an `If` branch that is statically never taken are ignored.

Why: `hub.Module(..., trainable=True)` imports the module's `UPDATE_OPS` into the
consumer's graph, and the consumer runs them with its train op. Updates missing from the
collection never run: fine-tuning changes the weights while the moving statistics stay the
publisher's, so the fine-tuned model normalizes with statistics that no longer match its
weights at inference.

Example: a tf_keras batch-norm layer called in the module's graph:
    layer = tf_keras.layers.BatchNormalization()
    y = layer(x, training=is_training)          # HUB206: layer.updates not collected

Fix: use `tf.compat.v1.layers.batch_normalization` (it fills the collection), or add
`for op in layer.updates: tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, op)`
after calling the Keras layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB206"
NAME = "batchnorm-updates-not-collected"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

_ASSIGN_OPS = frozenset({"AssignSubVariableOp", "AssignVariableOp", "AssignSub", "Assign"})
_MOVING_AVG = re.compile(r"(?:^|/)AssignMovingAvg(?:_\d+)?(?:/|$)")


@dataclass(frozen=True)
class MovingAverageUpdate:
    """One batch-norm moving-average assignment."""

    layer: str  # name scope of the batch-norm layer
    node: str
    function: str | None  # library function holding it; None at top level
    report_node: str | None  # top-level node that runs it: the node, or a caller of the function
    active: bool | None  # runs in this variant: True, False, or None (depends on an input)


def moving_average_updates(variant: VariantView) -> list[MovingAverageUpdate]:
    """Every batch-norm moving-average assignment, top level and function bodies."""
    out = []
    for fname, node in variant.iter_nodes():
        if node.op not in _ASSIGN_OPS or not _MOVING_AVG.search(node.name):
            continue
        if fname is None:
            layer = _MOVING_AVG.split(node.name)[0]
            out.append(MovingAverageUpdate(layer, node.name, None, node.name, True))
            continue
        active = variant.branch_taken(fname)
        for caller in variant.function_callers.get(fname, []):
            layer = caller.rpartition("/")[0] or caller
            out.append(MovingAverageUpdate(layer, node.name, fname, caller, active))
    return out


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.train_variants:
        collected = variant.ancestors(variant.collection("update_ops"))
        missing: dict[str, list[MovingAverageUpdate]] = {}
        for update in moving_average_updates(variant):
            if update.active is False or update.report_node in collected:
                continue
            missing.setdefault(update.layer, []).append(update)
        for layer, updates in missing.items():
            first = updates[0]
            names = sorted({u.report_node for u in updates if u.report_node})
            yield Hit(
                f"batch norm '{layer}' trains in variant {variant.describe()} but its "
                f"moving-average updates ({', '.join(repr(n) for n in names)}) are not in "
                f"UPDATE_OPS: consumers fine-tuning the module never update its moving "
                f"statistics; add layer.updates to tf.compat.v1.GraphKeys.UPDATE_OPS",
                variant.locate(first.report_node))
