"""The manifest: a publisher's YAML file, checked against ``schema.json`` and turned into a
frozen ``Manifest`` (``model``), with every value's line and column (``marked_yaml``) and
SPDX licence ids (``spdx``). No TensorFlow in this package."""

from __future__ import annotations

from hubpub.manifest.model import (
    KaggleTarget,
    Manifest,
    Previous,
    Signing,
    Variant,
    Weights,
    load_manifest,
    problems_as_json,
    split_callable,
)

__all__ = [
    "KaggleTarget",
    "Manifest",
    "Previous",
    "Signing",
    "Variant",
    "Weights",
    "load_manifest",
    "problems_as_json",
    "split_callable",
]
