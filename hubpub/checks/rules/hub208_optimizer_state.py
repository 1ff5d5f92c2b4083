"""Optimizer slot variables or a global step are exported as module variables.

What: a variant's variables include optimizer state: `tf.compat.v1.train` slot variables
named `<var>/Adam`, `<var>/Adam_1`, `<var>/Momentum`, `<var>/Ftrl`, `<var>/Ftrl_1`,
`<var>/Adagrad`, `<var>/ProximalAdagrad`, `<var>/RMSProp`, `<var>/Adadelta`, ... (and
their `_N` copies), Adam's `beta1_power`/`beta2_power`, Keras optimizer variables
(`Adam/iter`, `Adam/<var>/m`, `Ftrl/<var>/linear`, ...), or a `global_step`. One finding
per variant and kind, listing the variables; a variable reported for one variant is not
reported again for the next.

Why: they show an optimizer (or `train.get_or_create_global_step()`) was built inside
`module_fn`. hub.Module imports every module variable into the consumer's graph and
checkpoint: the module gets larger, the consumer's optimizer may collide with the names, and
a consumer's `global_step` lookup can find the module's instead of its own.

Example: an optimizer built inside module_fn:
    def module_fn():
        ...
        tf.compat.v1.train.AdamOptimizer().minimize(loss)   # HUB208: dense/kernel/Adam

Fix: build the optimizer and the global step in the training script, not in `module_fn`;
`module_fn` builds only the model. Export the weights from the training checkpoint with
`weights: {source: checkpoint}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariableView

CODE = "HUB208"
NAME = "optimizer-state-exported"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

# tf.compat.v1.train slots: "<var>/<Optimizer>[_N]".
_SLOT = re.compile(r".+/(?P<kind>Adam|Momentum|Ftrl|Adagrad|ProximalAdagrad|AdagradDA|RMSProp"
                   r"|Adadelta|Nadam|Adamax)(?:_\d+)?")
# Keras optimizers in a graph: "<Optimizer>/iter", "<Optimizer>/<var>/m", ...
_KERAS = re.compile(r"(?P<kind>Adam|Ftrl|SGD|RMSprop|Adagrad|Adadelta|Adamax|Nadam)(?:_\d+)?/.+")
_GLOBAL = re.compile(r"(?:^|/)(?P<kind>global_step|beta1_power|beta2_power)(?:_\d+)?$")


def optimizer_kind(variable: VariableView) -> str | None:
    """The optimizer a variable belongs to ("Adam", ...) or "global_step"; None for weights."""
    match = _SLOT.fullmatch(variable.name) or _KERAS.fullmatch(variable.name)
    if match:
        return match.group("kind")
    match = _GLOBAL.search(variable.name)
    if match is None:
        return None
    return "global_step" if match.group("kind") == "global_step" else "Adam"


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    reported: set[str] = set()
    for variant in module.variants:
        by_kind: dict[str, list[VariableView]] = {}
        for variable in variant.variables:
            kind = optimizer_kind(variable)
            if kind is not None and variable.name not in reported:
                by_kind.setdefault(kind, []).append(variable)
        for kind, variables in by_kind.items():
            reported.update(v.name for v in variables)
            shown = ", ".join(f"'{v.name}'" for v in variables[:4])
            more = f" and {len(variables) - 4} more" if len(variables) > 4 else ""
            what = "a global step" if kind == "global_step" else f"{kind} optimizer state"
            yield Hit(
                f"variant {variant.describe()} exports {what} as module variables ({shown}"
                f"{more}): build optimizers and the global step outside module_fn",
                variant.locate(variables[0].node))
