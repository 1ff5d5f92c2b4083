"""The manifest reaches files outside its own folder for code or assets.

What: `module_fn` or `weights.hook` names a `.py` file, or an entry of `assets` names a
file, that lies outside the manifest's folder: given as an absolute path, reached with `..`,
or through a symbolic link inside the project that points elsewhere. Reported at the
manifest key.

Why: the project folder is what a publisher reviews and commits. Code outside it runs when
hubpub builds or lints, and an asset outside it is packed into the published module, though
neither is part of the project: a symbolic link planted in a checked-out repository, or a
path that only exists on one machine, is easy to miss. Checkpoints and training folders are
not reported: they usually live elsewhere.

Example: `assets: {vocab: ../../shared/vocab.txt}`: `assets.vocab '../../shared/vocab.txt'
is /srv/shared/vocab.txt, outside the manifest's folder /home/me/project (reached through
'..'): hubpub packs it into the published module`.

Fix: copy the file into the project and name it relative to the manifest. If it is meant to
stay outside, suppress this finding with the reason (`lint.suppress`): that is the explicit
opt-in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB403"
NAME = "outside-project"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for key, how in sorted(module.outside_project.items()):
        consequence = ("hubpub packs it into the published module" if key.startswith("assets.")
                       else "hubpub runs its code")
        yield Hit(f"{key} {how}: {consequence}", module.manifest_location(key))
