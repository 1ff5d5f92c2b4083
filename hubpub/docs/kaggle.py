"""Kaggle Models: ``model-instance-metadata.json`` for a TensorFlow1 framework instance.

Kaggle names an instance ``owner/model/framework/instance``; hubpub maps the manifest handle
``publisher/name`` to ``ownerSlug``/``modelSlug`` (slugs: lower case, digits and ``-``), the
instance slug comes from ``docs.kaggle_instance`` (default ``default``), and the framework is
``tensorFlow1`` because a TF1 Hub format module is what Kaggle files under that framework.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hubpub.docs.meta import PLACEHOLDER

__all__ = ["FRAMEWORK", "METADATA_FILE", "TF2_FOLDER", "TF2_FRAMEWORK", "USAGE_FILE",
           "instance_metadata"]

FRAMEWORK = "tensorFlow1"
# A build with a TF2 export (`hubpub build --tf2`) is a second instance, under this framework;
# its files go into a folder of their own, as Kaggle uploads one instance per folder.
TF2_FRAMEWORK = "tensorFlow2"
TF2_FOLDER = "tensorflow2"
METADATA_FILE = "model-instance-metadata.json"
USAGE_FILE = "usage.md"
# SPDX id -> the name Kaggle's licenseName expects, where the two differ.
_KAGGLE_LICENSES = {"Apache-2.0": "Apache 2.0"}


def _slug(text: str) -> str:
    if PLACEHOLDER in text:  # keep it visible to --check
        return text
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def instance_metadata(module: Mapping[str, Any], *, overview: str, usage: str,
                      framework: str = FRAMEWORK) -> str:
    """The metadata file's text (stable key order, two-space indent, final newline).

    Args:
        module: the page values of ``DocMeta.for_page()`` (placeholders included).
        overview: Markdown shown as the instance's overview.
        usage: Markdown with the usage snippets.
    """
    fine_tunable = module["fine_tunable"]
    document = {
        "ownerSlug": _slug(str(module["publisher"])),
        "modelSlug": _slug(str(module["name"])),
        "instanceSlug": _slug(str(module["kaggle_instance"])),
        "framework": framework,
        "overview": overview,
        "usage": usage,
        "licenseName": _KAGGLE_LICENSES.get(module["license"], module["license"]),
        # Unknown stays a placeholder string so that --check flags it.
        "fineTunable": module["fine_tunable_text"] if fine_tunable is None else fine_tunable,
        "trainingData": [module["dataset"]] if module["dataset"] else [],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
