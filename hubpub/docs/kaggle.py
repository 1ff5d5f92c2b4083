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

__all__ = ["FRAMEWORK", "KAGGLE_LICENSES", "METADATA_FILE", "TF2_FOLDER", "TF2_FRAMEWORK",
           "USAGE_FILE", "instance_metadata", "kaggle_license"]

FRAMEWORK = "tensorFlow1"
# A build with a TF2 export (`hubpub build --tf2`) is a second instance, under this framework;
# its files go into a folder of their own, as Kaggle uploads one instance per folder.
TF2_FRAMEWORK = "tensorFlow2"
TF2_FOLDER = "tensorflow2"
METADATA_FILE = "model-instance-metadata.json"
USAGE_FILE = "usage.md"
# SPDX id -> the license name Kaggle Models accepts (the list in Kaggle's
# docs/models_metadata.md). "-or-later" ids map to the version Kaggle lists.
KAGGLE_LICENSES = {
    "Apache-2.0": "Apache 2.0",
    "MIT": "MIT",
    "BSD-3-Clause": "BSD-3-Clause",
    "CC0-1.0": "CC0: Public Domain",
    "CC-BY-3.0": "Attribution 3.0 Unported (CC BY 3.0)",
    "CC-BY-3.0-IGO": "Attribution 3.0 IGO (CC BY 3.0 IGO)",
    "CC-BY-4.0": "Attribution 4.0 International (CC BY 4.0)",
    "CC-BY-ND-4.0": "Attribution-NoDerivatives 4.0 International (CC BY-ND 4.0)",
    "CC-BY-NC-4.0": "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)",
    "CC-BY-NC-ND-4.0": "Attribution-NonCommercial-NoDerivatives 4.0 International "
                       "(CC BY-NC-ND 4.0)",
    "CC-BY-NC-SA-3.0-IGO": "Attribution-NonCommercial-ShareAlike 3.0 IGO (CC BY-NC-SA 3.0 IGO)",
    "CC-BY-NC-SA-4.0": "CC BY-NC-SA 4.0",
    "CC-BY-SA-3.0": "CC BY-SA 3.0",
    "CC-BY-SA-4.0": "CC BY-SA 4.0",
    "CDLA-Permissive-1.0": "Community Data License Agreement - Permissive - Version 1.0",
    "CDLA-Sharing-1.0": "Community Data License Agreement - Sharing - Version 1.0",
    "AGPL-3.0-only": "GNU Affero General Public License 3.0",
    "AGPL-3.0-or-later": "GNU Affero General Public License 3.0",
    "GFDL-1.3-only": "GNU Free Documentation License 1.3",
    "GFDL-1.3-or-later": "GNU Free Documentation License 1.3",
    "LGPL-3.0-only": "GNU Lesser General Public License 3.0",
    "LGPL-3.0-or-later": "GNU Lesser General Public License 3.0",
    "GPL-2.0-only": "GPL 2",
    "GPL-2.0-or-later": "GPL 2",
    "GPL-3.0-only": "GPL 3",
    "GPL-3.0-or-later": "GPL 3",
    "ODC-By-1.0": "ODC Attribution License (ODC-By)",
    "PDDL-1.0": "ODC Public Domain Dedication and Licence (PDDL)",
}


def kaggle_license(spdx: str | None) -> str | None:
    """The Kaggle license name for an SPDX id; None when Kaggle accepts no such license (an
    expression such as 'MIT OR Apache-2.0' included: an instance has one license)."""
    return KAGGLE_LICENSES.get((spdx or "").strip())


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
        "licenseName": kaggle_license(module["license"]) or module["license"],
        # Unknown stays a placeholder string so that --check flags it.
        "fineTunable": module["fine_tunable_text"] if fine_tunable is None else fine_tunable,
        "trainingData": [module["dataset"]] if module["dataset"] else [],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
