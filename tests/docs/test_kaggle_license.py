"""SPDX ids -> the license names Kaggle Models accepts (Kaggle's docs/models_metadata.md)."""

from __future__ import annotations

import pytest

from hubpub.docs.kaggle import KAGGLE_LICENSES, kaggle_license

# The list Kaggle documents for models; every mapped name must be one of them.
KAGGLE_ACCEPTED = {
    "Apache 2.0", "Attribution 3.0 IGO (CC BY 3.0 IGO)", "Attribution 3.0 Unported (CC BY 3.0)",
    "Attribution 4.0 International (CC BY 4.0)",
    "Attribution-NoDerivatives 4.0 International (CC BY-ND 4.0)",
    "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)",
    "Attribution-NonCommercial-NoDerivatives 4.0 International (CC BY-NC-ND 4.0)",
    "Attribution-NonCommercial-ShareAlike 3.0 IGO (CC BY-NC-SA 3.0 IGO)", "BSD-3-Clause",
    "CC BY-NC-SA 4.0", "CC BY-SA 3.0", "CC BY-SA 4.0", "CC0: Public Domain",
    "Community Data License Agreement - Permissive - Version 1.0",
    "Community Data License Agreement - Sharing - Version 1.0",
    "GNU Affero General Public License 3.0", "GNU Free Documentation License 1.3",
    "GNU Lesser General Public License 3.0", "GPL 2", "MIT", "ODC Attribution License (ODC-By)",
    "ODC Public Domain Dedication and Licence (PDDL)", "GPL 3",
}


@pytest.mark.parametrize("spdx, name", [
    ("Apache-2.0", "Apache 2.0"),
    ("MIT", "MIT"),
    ("CC0-1.0", "CC0: Public Domain"),
    ("CC-BY-4.0", "Attribution 4.0 International (CC BY 4.0)"),
    ("CC-BY-NC-SA-4.0", "CC BY-NC-SA 4.0"),
    ("GPL-3.0-or-later", "GPL 3"),
    ("LGPL-3.0-only", "GNU Lesser General Public License 3.0"),
    (" BSD-3-Clause ", "BSD-3-Clause"),
])
def test_spdx_ids_map_to_kaggle_names(spdx, name):
    assert kaggle_license(spdx) == name


@pytest.mark.parametrize("spdx", ["BSD-2-Clause", "MIT OR Apache-2.0", "LicenseRef-acme", "",
                                  None, "apache-2.0"])
def test_licenses_kaggle_does_not_take_map_to_none(spdx):
    assert kaggle_license(spdx) is None


def test_every_mapped_name_is_one_kaggle_accepts():
    assert set(KAGGLE_LICENSES.values()) <= KAGGLE_ACCEPTED
