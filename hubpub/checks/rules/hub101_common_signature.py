"""A signature does not meet the common signature it claims.

What: each signature the manifest claims (`signatures: {default: image_feature_vector}`, or a
publisher schema `{schema: schemas/mine.json}`) is described as JSON (inputs and outputs with
kind, dtype and shape; the image_module_info attachment) in every variant and validated
against the claimed JSON Schema. Without a manifest, a signature named like a built-in common
signature (`image_feature_vector`, `image_classification`) claims it by its name. One finding
per failing signature and variant, from the most relevant schema error.

Why: consumers write code against the common signatures, not against a module:
`hub.image_embedding_column`, `text_embedding_column` and every "swap the module URL" tutorial
assume `images` float32 [batch, height, width, 3] in [0, 1] or a string [batch] input and a
float32 [batch, N] `default` output. A module that only looks like one fails at the
consumer's first call, or worse, computes on wrongly scaled inputs.

Example: `signatures: {default: image_feature_vector}` with
`images = tf.compat.v1.placeholder(tf.uint8, [None, 224, 224, 3])` gives
`signature 'default' does not meet image_feature_vector: input 'images' dtype: 'float32' was
expected (image inputs are float32 RGB values in [0, 1] ...)`.

Fix: change the signature to the contract (names, dtypes, unknown batch dimension, a
`default` output), attach `hub.attach_image_module_info` when height and width are None, or
stop claiming the common signature.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks import schemas
from hubpub.checks.findings import Hit, Location, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB101"
NAME = "common-signature"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def claims_of(module: ModuleView) -> dict[str, str]:
    """The manifest's claims, or the built-in names that signatures carry as their own name."""
    if module.claims:
        return dict(module.claims)
    names = {name for variant in module.variants for name in variant.signatures}
    return {name: name for name in sorted(names) if name in schemas.BUILTIN_SCHEMAS}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for signature, claim in sorted(claims_of(module).items()):
        label, schema = schemas.load_claimed_schema(claim)
        for variant in module.variants:
            view = variant.signatures.get(signature)
            if view is None:
                yield Hit(f"signature '{signature}' is claimed as {label} but variant "
                          f"{variant.describe()} has no such signature",
                          _locate(module, variant, signature, None))
                continue
            error = schemas.find_error(schemas.signature_document(variant, view), schema)
            if error is None:
                continue
            key = schemas.input_key_of(error)
            node = None
            if key is not None and key in view.inputs:
                node = view.inputs[key].tensor_names[0].split(":")[0]
            yield Hit(f"signature '{signature}' does not meet {label}: "
                      f"{schemas.describe_error(error)}",
                      _locate(module, variant, signature, node))


def _locate(module: ModuleView, variant: VariantView, signature: str,
            node: str | None) -> Location:
    """The publisher's source line of the input, else the claim's line in the manifest."""
    location = variant.locate(node, signature=signature)
    if location.line is None and f"signatures.{signature}" in module.manifest_lines:
        line, column = module.manifest_lines[f"signatures.{signature}"]
        location = Location(path=location.path, line=line, column=column,
                            variant=location.variant, signature=signature, node=node)
    return location
