"""SPDX license ids: is a manifest's ``metadata.license`` one, and if not, what was meant?"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence

__all__ = ["SPDX_IDS", "license_ids", "license_problem"]

# Common SPDX license ids (https://spdx.org/licenses/). Ids not listed are accepted when they
# are well formed; only near misses of these are reported.
SPDX_IDS = (
    "0BSD", "AFL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0",
    "Artistic-2.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear",
    "BSD-4-Clause", "BSL-1.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-4.0",
    "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0",
    "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "EPL-1.0", "EPL-2.0", "EUPL-1.2",
    "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "ISC",
    "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "MIT", "MIT-0",
    "MPL-2.0", "ODbL-1.0", "OFL-1.1", "PDDL-1.0", "PostgreSQL", "Python-2.0", "UPL-1.0",
    "Unlicense", "WTFPL", "Zlib",
)
SPDX_DEPRECATED = {
    "AGPL-3.0": ("AGPL-3.0-only", "AGPL-3.0-or-later"),
    "GPL-2.0": ("GPL-2.0-only", "GPL-2.0-or-later"),
    "GPL-3.0": ("GPL-3.0-only", "GPL-3.0-or-later"),
    "LGPL-2.1": ("LGPL-2.1-only", "LGPL-2.1-or-later"),
    "LGPL-3.0": ("LGPL-3.0-only", "LGPL-3.0-or-later"),
}
SPDX_IDSTRING = re.compile(r"[A-Za-z0-9.+-]+")
SPDX_OPERATORS = {"AND", "OR", "WITH"}


def _quoted(choices: Sequence[str]) -> str:
    words = [f"'{c}'" for c in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def license_ids(expression: str) -> Iterator[str]:
    """License ids of an SPDX expression ('MIT OR Apache-2.0'); exception ids are skipped.

    Free text such as 'Apache License 2.0' comes back whole, so it can be matched as one id.
    """
    words = expression.replace("(", " ").replace(")", " ").split()
    if not any(word in SPDX_OPERATORS for word in words):
        yield expression.strip()
        return
    after_with = False
    for word in words:
        if word not in SPDX_OPERATORS and not after_with:
            yield word
        after_with = word == "WITH"


def license_problem(license_id: str) -> str | None:
    if license_id in SPDX_IDS or license_id.startswith(("LicenseRef-", "DocumentRef-")):
        return None
    if license_id.rstrip("+") in SPDX_DEPRECATED:
        choices = SPDX_DEPRECATED[license_id.rstrip("+")]
        return f"'{license_id}' is a deprecated SPDX id; use {_quoted(choices)}"
    wanted = _license_key(license_id)
    exact = [known for known in SPDX_IDS if _license_key(known) == wanted]
    # An abbreviation ('Apache2', 'BSD-3') names a longer id; a longer unknown id may be real.
    close = exact or [known for known in SPDX_IDS
                      if wanted and _license_key(known).startswith(wanted)]
    if not close and not SPDX_IDSTRING.fullmatch(license_id):
        keys = {_license_key(known): known for known in SPDX_IDS}
        close = [keys[k] for k in difflib.get_close_matches(wanted, list(keys), n=1, cutoff=0.6)]
    if close:
        return (f"'{license_id}' is not an SPDX license id "
                f"(did you mean {_quoted(close[:3])}?)")
    if SPDX_IDSTRING.fullmatch(license_id):
        return None  # well formed, just not in our short list
    return (f"'{license_id}' is not an SPDX license id such as 'Apache-2.0' or 'MIT' "
            "(see https://spdx.org/licenses/; use 'LicenseRef-<name>' for your own license)")


def _license_key(text: str) -> str:
    """Lowercase letters and digits only, without 'license' and 'version' words."""
    key = re.sub(r"licen[cs]e|version|\bv(?=\d)", "", text.lower())
    return re.sub(r"[^a-z0-9]", "", key)
