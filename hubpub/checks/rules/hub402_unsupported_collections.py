"""A graph variant keeps collections that the TF1 Hub format does not allow.

What: a collection other than the supported ones (`variables`, `trainable_variables`,
`model_variables`, `table_initializer`, `update_ops`, `regularization_losses`,
`asset_filepaths`, `cond_context`, `while_context`, `hub_module_attachments`, and the
`saved_model_assets` written at export) in any variant. Typical offenders: `losses`,
`summaries`, `local_variables`, `savers`, `global_step`, `metric_variables`.

Why: `hub.Module` and hubpub refuse to load such a module ("Unsupported collections in
graph"), because a consumer imports the module into its own graph and foreign collections would
mix the publisher's losses, summaries or savers into it.

Example: a module_fn that calls `tf.compat.v1.losses.softmax_cross_entropy` leaves a
`losses` collection: `variant {train} keeps unsupported collections: losses`.

Fix: build the spec with `drop_collections=["losses"]` (manifest: do not create them in
module_fn), or move the computation out of module_fn.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity
from hubpub.spec.files import ASSETS_COLLECTION, SUPPORTED_COLLECTIONS

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB402"
NAME = "unsupported-collections"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

# saved_model_assets exists on disk only and is stripped when loading.
SUPPORTED = SUPPORTED_COLLECTIONS | {ASSETS_COLLECTION}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        unsupported = [key for key in variant.collection_keys if key not in SUPPORTED]
        if unsupported:
            yield Hit(f"variant {variant.describe()} keeps unsupported collections: "
                      f"{', '.join(unsupported)}; consumers cannot load it (drop them with "
                      f"drop_collections)", variant.locate())
