"""Batch-norm momentum above a threshold.

What: a batch-norm layer whose moving averages use a momentum above `max_momentum` (default
0.99). The momentum is read from the graph: unfused batch norm keeps `1 - momentum` in its
`<bn>/AssignMovingAvg/decay` constants, fused batch norm keeps the momentum itself in the
constant that `<bn>/AssignMovingAvg/sub` subtracts from 1. With a tensor `training` flag
these constants sit inside `If`/`StatelessIf` branch functions, which are scanned too.
`tf.compat.v1.layers` and `tf_keras` layers build the same structure. A layer built into
several variants is reported once, in a `train` variant when it has one, and only where it
runs on a signature's inputs (not a Keras model's first build on its own `Input`).

Why: consumers fine-tune on far less data than the publisher trained on. With momentum 0.999
the moving mean and variance need thousands of steps to follow the new data, so inference
keeps normalizing with the publisher's statistics and fine-tuned accuracy suffers.

Example: batch norm with a very slow moving average:
    y = tf.compat.v1.layers.batch_normalization(
        x, momentum=0.999, training=is_training)    # HUB203: momentum 0.999 > 0.99

Fix: build the module with `momentum=0.99` or lower (0.9 to 0.99 suits most consumers),
or raise `max_momentum` in the manifest's `lint.options` if the value is deliberate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB203"
NAME = "batchnorm-momentum"
SEVERITY = Severity.WARNING
OPTIONS = {"max_momentum": float}
DEFAULTS = {"max_momentum": 0.99}

# float32 constants: 0.99 is stored as 0.99000001, 1 - 0.01 gives 0.99000000022.
_TOLERANCE = 1e-6
_DECAY = re.compile(r"(?:^|/)AssignMovingAvg(?:_\d+)?/decay$")
_FUSED_SUB = re.compile(r"(?:^|/)AssignMovingAvg(?:_\d+)?/sub$")


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    limit = float(options["max_momentum"])
    seen = set()
    # Train variants first: a layer built into every variant is reported once, where it trains.
    for variant in sorted(module.variants, key=lambda v: not v.is_train):
        reached = _fed_from_signatures(variant)
        for layer, momentum, node in momenta(variant):
            if momentum <= limit + _TOLERANCE or (layer, round(momentum, 6)) in seen:
                continue
            if not any(name.startswith(layer + "/") for name in reached):
                continue  # another call of the layer, e.g. a Keras model's first build
            seen.add((layer, round(momentum, 6)))
            yield Hit(
                f"batch norm '{layer}' has momentum {momentum:.6g}, above {limit:g}: its "
                f"moving averages barely follow a consumer's data when fine-tuning",
                variant.locate(node))


def _fed_from_signatures(variant: VariantView) -> set[str]:
    """Top-level nodes that depend on a signature input: what runs on a consumer's data."""
    reached: set[str] = set()
    stack = list(variant.fed_nodes)
    while stack:
        name = stack.pop()
        for consumer in variant.consumers.get(name, ()):
            if consumer not in reached:
                reached.add(consumer)
                stack.append(consumer)
    return reached


def momenta(variant: VariantView) -> Iterator[tuple[str, float, str | None]]:
    """(layer scope, momentum, top-level node to report) for each batch-norm update."""
    for fname, node in variant.iter_nodes():
        if node.op == "Const" and _DECAY.search(node.name):
            decay = variant.const_value(node)
            if not isinstance(decay, float):
                continue
            if fname is None:
                yield node.name.split("/AssignMovingAvg")[0], 1.0 - decay, node.name
            for caller in variant.function_callers.get(fname, []) if fname else ():
                yield caller.rpartition("/")[0] or caller, 1.0 - decay, caller
        elif fname is None and node.op == "Sub" and _FUSED_SUB.search(node.name):
            one = variant.nodes.get(node.input[0].split(":")[0])
            if one is None or one.op != "Const" or variant.const_value(one) != 1.0:
                continue  # the unfused ``sub`` is (moving - batch statistic)
            found = _resolve(variant, node.input[1])
            if found is not None:
                momentum, at = found
                yield node.name.split("/AssignMovingAvg")[0], momentum, at


def _resolve(variant: VariantView, ref: str) -> tuple[float, str] | None:
    """The constant behind a top-level tensor, through Identity and ``If`` then-branches.

    Returns the value and the top-level node to report (the Const, or the ``If`` calling the
    function that holds it); the then-branch is the one taken when ``training`` is true.
    """
    name, _, index = ref.partition(":")
    at = name
    nodes: Mapping[str, Any] = variant.nodes
    for _ in range(32):
        node = nodes.get(name)
        if node is None:
            return None
        if nodes is variant.nodes:
            at = node.name
        if node.op == "Const":
            value = variant.const_value(node)
            return (value, at) if isinstance(value, float) else None
        if node.op == "Identity":
            name, _, index = node.input[0].partition(":")
            if nodes is not variant.nodes:
                index = ""  # "x:output:0" inside a function body
            continue
        if node.op in ("If", "StatelessIf") and nodes is variant.nodes:
            func = variant.functions.get(node.attr["then_branch"].func.name)
            if func is None:
                return None
            outputs = func.signature.output_arg
            position = int(index) if index.isdigit() else 0
            if position >= len(outputs):
                return None
            name = func.ret[outputs[position].name].split(":")[0]
            nodes = {n.name: n for n in func.node_def}
            continue
        return None
    return None
