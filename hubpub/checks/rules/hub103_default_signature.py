"""A variant has no `default` signature.

What: a graph variant whose signatures do not include `default`.

Why: `default` is the signature a consumer gets without naming one: `module(x)` in TF1,
`hub.KerasLayer(handle)` and `hub.load(handle).signatures["default"]` in TF2. Without it every
consumer must know and pass the signature name, and `hub.KerasLayer` fails with "Unknown
signature default" (tensorflow/hub#823).

Example: a module_fn that only calls `hub.add_signature("image_feature_vector", ...)`.

Fix: also register the main task's signature as `default`
(`hub.add_signature(inputs=..., outputs=...)` with no name), or suppress this finding with a
reason if the module deliberately has no main task.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB103"
NAME = "no-default-signature"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        if "default" in variant.signatures:
            continue
        names = ", ".join(f"'{n}'" for n in variant.signatures) or "none"
        yield Hit(f"variant {variant.describe()} has no 'default' signature (it has {names}); "
                  f"consumers calling the module without a signature name fail",
                  variant.locate())
