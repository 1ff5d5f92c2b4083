"""Batch norm or dropout present, but the module has no `train` variant.

What: some variant contains batch normalization (a `FusedBatchNorm*` op, `moving_mean` /
`moving_variance` variables or `AssignMovingAvg` updates) or dropout (a dropout mask, or a
`dropout` name scope, which is all `training=False` leaves), yet no variant carries the
`train` tag. One finding per kind.

Why: a layer that behaves differently in training needs two graphs. `hub.Module(spec,
trainable=True, tags={"train"})` is how a consumer asks for the training behaviour (batch
statistics, moving-average updates, dropout); without a `train` variant fine-tuning runs the
inference graph, so batch norm never adapts to the consumer's data and dropout never
regularizes.

Example: a spec with one variant, built from a module_fn that has dropout:
    hubpub.create_module_spec(module_fn)        # HUB205: one variant, module_fn has dropout

Fix: export two variants, e.g. in the manifest
`variants: [{tags: [train], args: {is_training: true}}, {tags: [], args: {is_training: false}}]`
(`tags_and_args` in `create_module_spec`), and pass `is_training` to the layers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity
from hubpub.checks.patterns import FUSED_BATCH_NORM_OPS
from hubpub.checks.rules.hub204_dropout_outside_train import dropout_sites

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB205"
NAME = "no-train-variant"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

_BN_VARIABLE = re.compile(r"/moving_(?:mean|variance)$")
_BN_UPDATE = re.compile(r"(?:^|/)AssignMovingAvg(?:_\d+)?/")
_DROPOUT_SCOPE = re.compile(r"(?:^|/)dropout(?:_\d+)?/")


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    if module.train_variants:
        return
    found: dict[str, tuple[VariantView, str | None]] = {}
    for variant in module.variants:
        if "batch norm" not in found:
            node = _batch_norm_node(variant)
            if node is not None:
                found["batch norm"] = (variant, node)
        if "dropout" not in found:
            node = _dropout_node(variant)
            if node is not None:
                found["dropout"] = (variant, node)
    for kind, (variant, node) in found.items():
        yield Hit(
            f"the module has {kind} ('{node}') but no train variant: consumers who fine-tune "
            f"it run the inference graph; add a variant tagged 'train' built with "
            f"is_training=True", variant.locate(node))


def _batch_norm_node(variant: VariantView) -> str | None:
    for fname, node in variant.iter_nodes():
        if node.op in FUSED_BATCH_NORM_OPS or _BN_UPDATE.search(node.name):
            return node.name if fname is None else variant.function_callers.get(fname, [None])[0]
    return next((v.node for v in variant.variables if _BN_VARIABLE.search(v.name)), None)


def _dropout_node(variant: VariantView) -> str | None:
    sites = dropout_sites(variant)
    if sites:
        return sites[0].report_node
    return next((name for name in variant.nodes if _DROPOUT_SCOPE.search(name)), None)
