"""The variant consumers fine-tune has weights but exports no regularization losses.

What: the fine-tuned variant (the `train` variant, or the default or only one when there is
none) has trainable weight variables (kernels, embeddings: rank >= 2, not biases or batch-norm
parameters), but its `regularization_losses` collection is empty. Modules whose metadata says
`fine_tunable: false` are skipped.

Why: `hub.Module(..., trainable=True)` hands a consumer the module's `REGULARIZATION_LOSSES`
so the training loss can include them (`tf.compat.v1.losses.get_regularization_loss()`).
A module that exports none is fine-tuned without the weight decay it was trained with, which
overfits quickly on the small datasets consumers usually have.

Example: a dense layer without a regularizer in the variant consumers fine-tune:
    def module_fn(is_training):
        x = tf.compat.v1.placeholder(tf.float32, [None, 128])
        y = tf.compat.v1.layers.dense(x, 10)        # HUB201: no kernel_regularizer
        hubpub.add_signature(inputs=x, outputs=y)

Fix: give the layers a regularizer, e.g. `kernel_regularizer=tf_keras.regularizers.l2(1e-4)`
(tf.compat.v1.layers add it to the collection). Keras layers called in a graph keep their
losses in `layer.losses`: add those with
`tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, loss)`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariableView

CODE = "HUB201"
NAME = "missing-regularization-losses"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

# Last name component of variables that are never weights, whatever their rank.
_NOT_WEIGHTS = frozenset({"bias", "biases", "gamma", "beta", "moving_mean", "moving_variance",
                          "global_step"})
# Weight names for variables whose shape the graph does not record.
_WEIGHT_NAMES = frozenset({"kernel", "weights", "embeddings", "embedding", "depthwise_kernel",
                           "pointwise_kernel", "recurrent_kernel"})


def is_weight(variable: VariableView) -> bool:
    """A trainable kernel or embedding table: what weight decay is meant for."""
    parts = variable.name.split("/")
    last = parts[-2] if parts[-1].startswith("part_") and len(parts) > 1 else parts[-1]
    if not variable.trainable or last in _NOT_WEIGHTS:
        return False
    if variable.shape is not None:
        return len(variable.shape) >= 2
    return last in _WEIGHT_NAMES


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    if module.metadata.get("fine_tunable") is False or not module.variants:
        return
    variant = module.fine_tune_variant
    if variant.collection("regularization_losses"):
        return
    weights = [v for v in variant.variables if is_weight(v)]
    if not weights:
        return
    shown = ", ".join(f"'{v.name}'" for v in weights[:3])
    more = f" and {len(weights) - 3} more" if len(weights) > 3 else ""
    yield Hit(
        f"variant {variant.describe()} is the one consumers fine-tune and has "
        f"{len(weights)} trainable weight variable(s) ({shown}{more}) but no "
        f"regularization_losses: add kernel_regularizer= to those layers",
        variant.locate(weights[0].node))
