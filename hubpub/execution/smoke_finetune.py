"""The smoke test's fine-tuning step: one real training step, as a consumer takes it.

A module that loads and runs can still fail a consumer's first training step: an update op
that needs a placeholder no signature feeds (a Keras model's first build on its own
``Input``), an op whose gradient function lived only in the publisher's process
(``tf.custom_gradient``), an update op in the inference variant. Each is found here by doing
what the consumer does: a scalar loss on the outputs plus the regularization losses,
gradients for every trainable variable, one step with the update ops, feeding only the
signature inputs; the trainable weights (and, with update ops, the moving statistics) must
change. ``tf1_fine_tuning_problems`` does it with ``hubpub.Module(trainable=True)``,
``tf2_fine_tuning_problems`` with ``hub.KerasLayer(trainable=True)``'s calls on a TF2 export.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubpub.spec.module_spec import ModuleSpec

__all__ = ["LEARNING_RATE", "inference_update_problems", "tf1_fine_tuning_problems",
           "tf2_fine_tuning_problems"]

LEARNING_RATE = 0.1
_UNFED = re.compile(r"You must feed a value for placeholder tensor '([^']+)'")


def _scalar_loss(outputs: Iterable[Any]) -> Any:
    """The mean squared distance of every floating-point output from 1: a scalar that depends
    on them all, whose gradient vanishes only where an output is exactly 1, not where it is 0
    (a text embedding of unknown words is zero, and the mean square's gradient there too)."""
    from hubpub._tf import tf

    terms = [tf.reduce_mean(tf.square(tf.cast(value, tf.float32) - 1.0)) for value in outputs
             if isinstance(value, tf.Tensor) and value.dtype.is_floating]
    return tf.add_n(terms) if terms else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _step_failure(where: str, exc: BaseException) -> str:
    """What a failed training step means for the consumer, in their words."""
    unfed = _UNFED.search(str(exc))
    if unfed:
        return (f"{where}: the training step needs placeholder '{unfed.group(1)}', which is not "
                "a signature input (an update op or regularization loss was built on another "
                "input, such as a Keras model's first build on its own Input); consumers feed "
                "only the signature inputs")
    return f"{where}: the training step failed: {type(exc).__name__}: {_first_line(exc)}"


def _gradient_failure(where: str, exc: BaseException) -> str:
    return (f"{where}: no gradient for the trainable variables: {_first_line(exc)} "
            "(a tf.custom_gradient or RegisterGradient of the publisher's process does not "
            "travel with the module)")


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    import numpy as np

    return {name for name, value in before.items()
            if not np.array_equal(np.asarray(value), np.asarray(after[name]))}


# A variable larger than this is judged by its gradient (not all zero: one SGD step moves it)
# rather than by a copy before and after the step: a 2.2 M-token embedding would need two
# 2.6 GB copies, more than the whole build otherwise holds.
_COPIED_ELEMENTS = 1 << 22


def _is_large(variable: Any) -> bool:
    elements = variable.shape.num_elements()
    return elements is not None and elements > _COPIED_ELEMENTS


def _moves(gradient: Any) -> Any:
    """A boolean tensor: the gradient (dense or IndexedSlices) has a non-zero entry."""
    from hubpub._tf import tf

    values = gradient.values if isinstance(gradient, tf.IndexedSlices) else gradient
    return tf.reduce_any(tf.not_equal(values, 0))


def _unchanged_problems(where: str, trainable: list[str], moving: list[str],
                        changed: set[str], has_updates: bool) -> list[str]:
    problems = []
    if trainable and not changed & set(trainable):
        problems.append(f"{where}: one training step changed none of the {len(trainable)} "
                        "trainable variables")
    if has_updates and moving and not changed & set(moving):
        problems.append(f"{where}: the update ops ran but no non-trainable variable (such "
                        f"as the batch-norm moving statistics {moving[:3]}) changed")
    return problems


def tf1_fine_tuning_problems(module: str | ModuleSpec, tags: frozenset,
                             inputs: Mapping[str, Callable[[], dict]]) -> list[str]:
    """One training step of the variant ``tags`` with ``hubpub.Module(trainable=True)``;
    ``module`` is its directory (or a spec not exported yet)."""
    from hubpub._tf import tf
    from hubpub.consumer.module import Module

    v1 = tf.compat.v1
    where = "variant {" + ",".join(sorted(tags)) + "} fine-tuning (hub.Module, trainable=True)"
    with tf.Graph().as_default():
        try:
            instance = Module(module, tags=tags, trainable=True)
            outputs = [value for name, make in sorted(inputs.items())
                       for value in instance(make(), signature=name, as_dict=True).values()]
        except Exception as exc:  # the module is what is under test: report, don't crash
            return [f"{where}: {type(exc).__name__}: {_first_line(exc)}"]
        trainable = v1.trainable_variables()
        loss = _scalar_loss(outputs)
        if loss is None or not trainable:
            return []  # nothing a consumer could fine-tune
        regularization = v1.losses.get_regularization_losses()
        total = tf.add_n([loss, *regularization]) if regularization else loss
        try:
            gradients = tf.gradients(total, trainable)
        except LookupError as exc:  # "No gradient defined for operation ..."
            return [_gradient_failure(where, exc)]
        pairs = [(g, v) for g, v in zip(gradients, trainable, strict=True) if g is not None]
        if not pairs:
            return [f"{where}: the outputs do not depend on any of the {len(trainable)} "
                    "trainable variables"]
        updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(updates):
            step = v1.train.GradientDescentOptimizer(LEARNING_RATE).apply_gradients(pairs)
        variables = {v.op.name: v for v in v1.global_variables()}
        copied = {name: v for name, v in variables.items() if not _is_large(v)}
        judged_by_gradient = {v.op.name: _moves(g) for g, v in pairs if _is_large(v)}
        with v1.Session() as session:
            session.run([v1.global_variables_initializer(), v1.tables_initializer()])
            before = session.run(copied)
            try:
                _, moved = session.run([step, judged_by_gradient])
            except tf.errors.OpError as exc:
                return [_step_failure(where, exc)]
            after = session.run(copied)
    trained = [v.op.name for _, v in pairs]
    moving = sorted(set(variables) - {v.op.name for v in trainable})
    changed = _changed(before, after) | {name for name, moves in moved.items() if moves}
    return _unchanged_problems(where, trained, moving, changed, bool(updates))


def inference_update_problems(meta: Any, train_tags: frozenset) -> list[str]:
    """Update ops in a variant that is not for training: running them changes the weights."""
    from hubpub._tf import tf

    key = tf.compat.v1.GraphKeys.UPDATE_OPS
    tags = frozenset(meta.meta_info_def.tags)
    if tags == train_tags or "train" in tags or key not in meta.collection_def:
        return []
    names = list(meta.collection_def[key].node_list.value)
    if not names:
        return []
    shown = ", ".join(names[:3]) + (f", and {len(names) - 3} more" if len(names) > 3 else "")
    return [f"variant {{{','.join(sorted(tags))}}}: {len(names)} update op(s) outside the "
            f"train variant ({shown}); a consumer fine-tuning with "
            f"tags={sorted(train_tags)} gets none, and one running this variant changes the "
            "moving statistics. Build update ops only where the module trains (is_training)"]


def tf2_fine_tuning_problems(loaded: Any, make: Callable[[], dict], *, has_updates: bool
                             ) -> list[str]:
    """One training step on a TF2 export, as ``hub.KerasLayer(trainable=True)`` takes it:
    ``__call__(inputs, training=True)`` and the ``regularization_losses`` under a tape.

    ``has_updates``: the TF1 train variant has update ops, so the moving statistics must move.
    """
    from hubpub._tf import tf

    where = "TF2 export fine-tuning (hub.KerasLayer, trainable=True)"
    trainable = list(getattr(loaded, "trainable_variables", None) or [])
    if not trainable:
        return []
    args = make()
    arg = next(iter(args.values())) if len(args) == 1 else args
    variables = [v for v in loaded.variables if not _is_large(v)]
    before = {v.name: v.numpy() for v in variables}
    try:
        with tf.GradientTape() as tape:
            outputs = loaded(arg, training=True)
            flat = list(outputs.values()) if isinstance(outputs, Mapping) else [outputs]
            loss = _scalar_loss(flat)
            if loss is None:
                return []
            for regularization in loaded.regularization_losses:
                loss += regularization()
        gradients = tape.gradient(loss, trainable)
    except LookupError as exc:
        return [_gradient_failure(where, exc)]
    except Exception as exc:  # the export is what is under test: report, don't crash
        return [_step_failure(where, exc)]
    pairs = [(g, v) for g, v in zip(gradients, trainable, strict=True) if g is not None]
    if not pairs:
        return [f"{where}: the outputs do not depend on any of the {len(trainable)} "
                "trainable variables"]
    moved = {variable.name for gradient, variable in pairs
             if _is_large(variable) and bool(_moves(gradient))}
    for gradient, variable in pairs:
        if isinstance(gradient, tf.IndexedSlices):  # sparse, as optimizers apply it
            variable.scatter_sub(tf.IndexedSlices(LEARNING_RATE * gradient.values,
                                                  gradient.indices, gradient.dense_shape))
        else:
            variable.assign_sub(LEARNING_RATE * gradient)
    after = {v.name: v.numpy() for v in variables}
    trainable_names = {v.name for v in trainable}
    moving = sorted(set(before) - trainable_names)
    return _unchanged_problems(where, [v.name for _, v in pairs], moving,
                               _changed(before, after) | moved, has_updates)

