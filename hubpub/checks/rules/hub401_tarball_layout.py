"""A module tarball has its files below the archive root, junk members, or foreign files.

What: only for tarball targets. Reported: module files that sit in a folder instead of at the
archive root (`mymodule/saved_model.pb`); macOS junk (`._*` AppleDouble files, `__MACOSX/`,
`.DS_Store`); members outside the TF1 Hub file set, which is `tfhub_module.pb`,
`saved_model.pb`, `variables/*`, `assets/**` and `assets.extra/**`.

Why: tensorflow_hub and hubpub unpack a module tarball and expect `tfhub_module.pb` at the
top; modules packed with `tar -czf m.tar.gz mymodule/` only load through hubpub's fallback.
Junk and foreign files (checkpoints, notebooks, `.git`, a `saved_model.pbtxt`) are downloaded
by every consumer, can leak the publisher's data, and make the archive look tampered with.

Example: `tar -czf flowers.tar.gz flowers/` on a Mac gives
`files are not at the archive root: 'flowers/tfhub_module.pb'` and
`junk member 'flowers/._saved_model.pb' (macOS metadata)`.

Fix: pack from inside the module folder with only the module files:
`COPYFILE_DISABLE=1 tar -czf flowers.tar.gz -C flowers .`, or use `hubpub build`, which packs
reproducibly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Location, Severity
from hubpub.errors import shortened_name

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

CODE = "HUB401"
NAME = "tarball-layout"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

MODULE_FILES = ("tfhub_module.pb", "saved_model.pb")
FOLDERS = ("variables", "assets", "assets.extra")  # allowed folders (variables: flat only)


def _normalized(name: str) -> str:
    """``./a/b/`` -> ``a/b/`` (a trailing slash marks a directory)."""
    while name.startswith("./"):
        name = name[2:]
    return "" if name in (".", "./") else name


def _junk(name: str) -> str | None:
    parts = name.rstrip("/").split("/")
    if "__MACOSX" in parts:
        return "macOS resource fork folder"
    if parts[-1].startswith("._"):
        return "macOS metadata"
    if parts[-1] == ".DS_Store":
        return "macOS Finder metadata"
    return None


def _in_module_set(relative: str) -> bool:
    parts = relative.rstrip("/").split("/")
    is_dir = relative.endswith("/")
    if len(parts) == 1:
        return (parts[0] in FOLDERS and is_dir) or (parts[0] in MODULE_FILES and not is_dir)
    if parts[0] == "variables":
        return len(parts) == 2 and not is_dir
    return parts[0] in ("assets", "assets.extra")


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    if module.members is None:
        return
    names = [(raw, _normalized(raw)) for raw in module.members]
    names = [(raw, name) for raw, name in names if name]
    root = ""
    if not any(name == "tfhub_module.pb" for _, name in names):
        nested = sorted(name for _, name in names
                        if name.endswith("/tfhub_module.pb") and not _junk(name))
        if nested:
            root = nested[0][: -len("tfhub_module.pb")]
            yield Hit(f"files are not at the archive root: '{shortened_name(nested[0])}'; "
                      f"consumers expect tfhub_module.pb at the top of the archive",
                      Location(path=module.path, member=nested[0]))
    macosx_seen = False
    for raw, name in names:
        why = _junk(name)
        if why == "macOS resource fork folder":
            if macosx_seen:
                continue
            macosx_seen = True
        if why:
            yield Hit(f"junk member '{shortened_name(raw)}' ({why}); pack without it",
                      Location(path=module.path, member=raw))
            continue
        if root and name == root:
            continue
        relative = name[len(root):] if name.startswith(root) else None
        if relative is None or not _in_module_set(relative):
            yield Hit(f"member '{shortened_name(raw)}' is not part of a TF1 Hub module "
                      f"(tfhub_module.pb, saved_model.pb, variables/*, assets/**, "
                      f"assets.extra/**)",
                      Location(path=module.path, member=raw))
