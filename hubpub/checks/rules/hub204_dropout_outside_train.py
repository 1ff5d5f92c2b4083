"""Dropout active in a variant that is not a `train` variant.

What: a dropout mask is drawn in a variant without the `train` tag: a `RandomUniform` op
(or a stateless one) under a `dropout` name scope, or in a `<scope>/random_uniform/` next
to a `<scope>/GreaterEqual` (the pattern of
`tf.nn.dropout`, `tf.compat.v1.layers.dropout` and `tf_keras.layers.Dropout`). Dropout
inside `If` branch functions counts when the branch is statically taken: its predicate is a
constant or an unfed `placeholder_with_default`. A predicate fed through a signature input is
the consumer's choice and is not reported. TF1 `tf.cond` (Switch/Merge) is not resolved: such
dropout counts as active.

Why: consumers use the default variant for inference and for fine-tuning with
`trainable=False`. Active dropout there makes every output random: predictions change from
call to call and features are scaled by `1 / (1 - rate)` at random.

Example: dropout built in training mode whatever the variant:
    def module_fn(is_training):
        x = tf.compat.v1.placeholder(tf.float32, [None, 128])
        y = tf.compat.v1.layers.dropout(x, rate=0.3, training=True)   # HUB204 in tags=[]
        hubpub.add_signature(inputs=x, outputs=y)

Fix: pass the variant's `is_training` argument as `training=` (a Python bool), so the
default variant is built with `training=False`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB204"
NAME = "dropout-outside-train"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

_DROPOUT_SCOPE = re.compile(r"(?:^|/)dropout(?:_\d+)?(?:/|$)")
_RANDOM_OPS = frozenset({"RandomUniform", "StatelessRandomUniform", "StatelessRandomUniformV2"})
_RANDOM_SCOPE = re.compile(r"(?P<scope>.*)/(?:stateless_)?random_uniform/[^/]+")


@dataclass(frozen=True)
class DropoutSite:
    """One dropout mask: its RandomUniform node, where it lives and its rate if constant."""

    node: str
    function: str | None  # library function holding it; None at top level
    report_node: str | None  # top-level node to report: the node, or a caller of the function
    rate: float | None
    active: bool | None  # runs in this variant: True, False, or None (depends on an input)


def dropout_sites(variant: VariantView) -> list[DropoutSite]:
    """Every dropout mask of a variant, top level and function bodies (format doc §9.4)."""
    bodies: dict[str, dict[str, Any]] = {}
    out = []
    for fname, node in variant.iter_nodes():
        if node.op not in _RANDOM_OPS:
            continue
        if fname is None:
            nodes: Mapping[str, Any] = variant.nodes
        else:
            nodes = bodies.setdefault(fname, {n.name: n for n in variant.functions[fname].node_def})
        match = _RANDOM_SCOPE.fullmatch(node.name)
        scope = match.group("scope") if match else None
        # A random_uniform initializer has neither the scope nor the GreaterEqual.
        if not _DROPOUT_SCOPE.search(node.name) and (
                scope is None or f"{scope}/GreaterEqual" not in nodes):
            continue
        active: bool | None
        if fname is None:
            report, active = node.name, True
        else:
            report = variant.function_callers.get(fname, [None])[0]
            active = variant.branch_taken(fname)
        out.append(DropoutSite(node.name, fname, report, _rate(variant, nodes, scope), active))
    return out


def _rate(variant: VariantView, nodes: Mapping[str, Any], scope: str | None) -> float | None:
    """``GreaterEqual/y`` holds the rate; TF1-era graphs kept ``keep_prob`` instead."""
    if scope is None:
        return None
    for suffix, to_rate in (("/GreaterEqual/y", lambda v: v), ("/keep_prob", lambda v: 1.0 - v),
                            ("/rate", lambda v: v)):
        node = nodes.get(scope + suffix)
        if node is not None and node.op == "Const":
            value = variant.const_value(node)
            if isinstance(value, float):
                return to_rate(value)
    return None


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        if variant.is_train:
            continue
        for site in dropout_sites(variant):
            if not site.active:
                continue
            rate = "" if site.rate is None else f" (rate {site.rate:g})"
            where = f" inside function '{site.function}'" if site.function else ""
            yield Hit(
                f"dropout '{site.node}'{rate}{where} is active in variant {variant.describe()}, "
                f"which is not a train variant: consumers get random outputs; build it with "
                f"training=False", variant.locate(site.report_node))
