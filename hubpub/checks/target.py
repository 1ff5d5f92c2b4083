"""Turns a lint TARGET into a ModuleView: a manifest, a module directory, a tarball or a URL.

Nothing is executed from a module: directories and tarballs are read as protos. A manifest
target runs the publisher's module_fn (that is how its spec is built), in memory, exporting
nothing. Tarballs are unpacked into a private temporary folder by ``hubpub.archive`` (hostile
members refused, size capped) and removed before this returns.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub.errors import HandleError
from hubpub.resolver import TARBALL_SUFFIXES

if TYPE_CHECKING:
    from hubpub.checks.graph import ModuleView

__all__ = ["MANIFEST_SUFFIXES", "TARBALL_SUFFIXES", "is_manifest", "load_view"]

MANIFEST_SUFFIXES = (".yaml", ".yml")
_URL_SCHEMES = ("http", "https", "file")


def is_manifest(target: str) -> bool:
    return target.lower().endswith(MANIFEST_SUFFIXES)


def load_view(target: str, *, manifest: Any = None) -> ModuleView:
    """Read TARGET without executing the module (except a manifest's module_fn).

    Raises:
        HandleError: TARGET does not exist or is of no known kind.
        ManifestError: the manifest is malformed.
        ModuleFormatError / ArchiveError: the module or tarball is corrupt or hostile.
        PublisherCodeError: the manifest's module_fn failed.
    """
    if is_manifest(target):
        return _from_manifest(target, manifest)
    if urllib.parse.urlsplit(target).scheme.lower() in _URL_SCHEMES:
        from hubpub.resolver import resolve

        return _from_directory(Path(resolve(target)), shown=target)
    path = Path(target)
    if path.is_dir():
        return _from_directory(path, shown=target)
    if path.is_file() and path.name.lower().endswith(TARBALL_SUFFIXES):
        return _from_tarball(path, shown=target)
    if not path.exists():
        raise HandleError(f"{target} does not exist: give a manifest (hubpub.yaml), a module "
                          f"directory, a .tar.gz or a URL")
    raise HandleError(f"{target} is neither a manifest (.yaml), a module directory nor a "
                      f"module tarball (.tar.gz)")


def _from_manifest(target: str, manifest: Any) -> ModuleView:
    from hubpub.build import build_spec, module_view
    from hubpub.manifest import load_manifest

    manifest = manifest or load_manifest(target)
    return module_view(manifest, build_spec(manifest), path=target)


# In both readers the archive and tfhub_module.pb are checked before anything imports
# TensorFlow, so a hostile or broken target is refused in a fraction of a second.

def _from_directory(folder: Path, *, shown: str) -> ModuleView:
    from hubpub.spec.files import check_loadable, read_saved_model

    saved_model = read_saved_model(folder)
    check_loadable(folder, saved_model)
    from hubpub.checks.graph import ModuleView

    checkpoint = folder / "variables" / "variables"
    return ModuleView.from_saved_model(
        saved_model, path=shown,
        checkpoint_path=str(checkpoint) if checkpoint.with_suffix(".index").is_file() else None)


def _from_tarball(tarball: Path, *, shown: str) -> ModuleView:
    from hubpub.archive import find_module_root, list_members, unpacked
    from hubpub.spec.files import check_loadable, read_module_def, read_saved_model

    # Directories get a trailing slash, so HUB401 can tell `variables/` from a file.
    members = [m.name.rstrip("/") + "/" if m.type == "dir" else m.name
               for m in list_members(tarball)]
    with unpacked(tarball) as folder:
        root = find_module_root(folder)
        read_module_def(root)
        saved_model = read_saved_model(root)
        check_loadable(root, saved_model)
    from hubpub.checks.graph import ModuleView

    return ModuleView.from_saved_model(saved_model, path=shown, members=members)
