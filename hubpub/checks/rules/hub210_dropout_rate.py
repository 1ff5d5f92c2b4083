"""Dropout rate outside a sane range.

What: a dropout layer whose rate, read from its `<scope>/GreaterEqual/y` constant (or
`1 - keep_prob` in TF1-era graphs), is not above `min_rate` (default 0.0) or is above
`max_rate` (default 0.5), top level or inside `If` branch functions that can run. A layer
built into several variants is reported once, in a `train` variant when it has one.
Split from HUB204 because it is a warning, and the engine gives one severity per code.

Why: the publisher picks the dropout rate that every consumer fine-tunes with. A rate of 0
is dead weight in the graph (and usually a mistake in a flag); a very high rate suits the
publisher's huge dataset but leaves a consumer's small training run badly underfitting.

Example: a dropout rate that suits only huge datasets:
    y = tf.compat.v1.layers.dropout(x, rate=0.8, training=is_training)   # HUB210: 0.8 > 0.5

Fix: choose a rate in (0, 0.5], for example 0.1 to 0.3 for feature extractors, or set
`min_rate`/`max_rate` under the manifest's `lint.options` if the value is deliberate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity
from hubpub.checks.rules.hub204_dropout_outside_train import dropout_sites

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB210"
NAME = "dropout-rate"
SEVERITY = Severity.WARNING
OPTIONS = {"min_rate": float, "max_rate": float}
DEFAULTS = {"min_rate": 0.0, "max_rate": 0.5}

# float32 constants: a rate of 0.5 is stored exactly, 0.3 as 0.30000001.
_TOLERANCE = 1e-6


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    low, high = float(options["min_rate"]), float(options["max_rate"])
    seen = set()
    # Train variants first: a layer built in every variant is reported once, where it trains.
    for variant in sorted(module.variants, key=lambda v: not v.is_train):
        for site in dropout_sites(variant):
            rate = site.rate
            if rate is None or site.active is False or low + _TOLERANCE < rate <= high + _TOLERANCE:
                continue
            key = (site.report_node, round(rate, 6))
            if key in seen:
                continue
            seen.add(key)
            bound = f"not above {low:g}" if rate <= low + _TOLERANCE else f"above {high:g}"
            where = f" inside function '{site.function}'" if site.function else ""
            yield Hit(
                f"dropout '{site.node}'{where} in variant {variant.describe()} has rate "
                f"{rate:.6g}, {bound}: pick a rate that suits consumers' fine-tuning",
                variant.locate(site.report_node))
