"""The target layer: any TARGET (manifest, module directory, tarball, URL) -> spec and view.

Everything that works on "a module" stands on this: build, lint, validate, docs, diff,
verify and convert. It sits below them and above what it reads (manifest, recipes, publisher
code, the format in ``hubpub.spec``, archives and the cache).

Nothing is executed from a module: directories and tarballs are read as protos. A manifest
target runs the publisher's module_fn (that is how its spec is built), in memory, exporting
nothing unless ``module_directory`` is asked for it. Tarballs are unpacked into a private
temporary folder by ``hubpub.files.archive`` (hostile members refused, size capped) and removed
when done.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import re
import shutil
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub.errors import CheckFailure, HandleError, HubpubError, ModuleFormatError
from hubpub.execution.publisher import import_callable, publisher_code, wrap_publisher_error
from hubpub.files.resolver import TARBALL_SUFFIXES
from hubpub.manifest import Manifest

if TYPE_CHECKING:
    from hubpub.spec.module_spec import ModuleSpec
    from hubpub.spec.view import ModuleView

log = logging.getLogger(__name__)

__all__ = [
    "MANIFEST_SUFFIXES",
    "TARBALL_SUFFIXES",
    "Progress",
    "Recipe",
    "build_spec",
    "export_weights",
    "is_manifest",
    "load_recipe",
    "load_view",
    "module_directory",
    "module_view",
]

MANIFEST_SUFFIXES = (".yaml", ".yml")
_URL_SCHEMES = ("http", "https", "file")

# progress(step, done, total): the CLI shows it; None for library callers.
Progress = Callable[[str, int | None, int | None], None]


def is_manifest(target: str) -> bool:
    return target.lower().endswith(MANIFEST_SUFFIXES)


def _is_url(target: str) -> bool:
    return urllib.parse.urlsplit(target).scheme.lower() in _URL_SCHEMES


# --- a manifest: recipe -> spec -> view ------------------------------------------------------

@dataclass
class Recipe:
    """What a weight source needs from a built-in recipe or from the manifest."""

    module_fn: Callable[..., Any]
    tags_and_args: list[tuple[set[str], dict[str, Any]]]
    init_fn: Callable[[Any, Any], None] | None = None
    values: Callable[[], Mapping[str, Any]] | None = None  # variable name -> array
    close: Callable[[], None] = lambda: None  # frees the recipe's memory and temp files


def load_recipe(manifest: Manifest, progress: Progress | None = None) -> Recipe:
    """The module_fn, its variants' arguments and an optional init_fn, from the manifest."""
    if manifest.recipe is not None:
        from hubpub.recipes import get_recipe

        recipe = get_recipe(manifest.recipe, manifest.folder, manifest.variants,
                            progress=(lambda done, total: progress("parse", done, total))
                            if progress else None, manifest=manifest)
        return Recipe(recipe.module_fn, recipe.tags_and_args, values=recipe.variable_values,
                      close=recipe.close)
    assert manifest.module_fn is not None  # the schema wants a recipe or a module_fn
    module_fn = import_callable(manifest.module_fn, manifest.folder, what="module_fn")
    assets = {name: str(path) for name, path in manifest.assets.items()}
    tags_and_args = [(set(v.tags), {**assets, **v.args}) for v in manifest.variants]
    init_fn = None
    if manifest.weights.source == "hook":
        assert manifest.weights.hook is not None  # the schema wants it with source: hook
        init_fn = import_callable(manifest.weights.hook, manifest.folder, what="weights.hook")
    return Recipe(module_fn, tags_and_args, init_fn)


def build_spec(manifest: Manifest, recipe: Recipe | None = None) -> ModuleSpec:
    """Run the publisher's module_fn for every variant; errors point at the publisher's line."""
    from hubpub.spec.authoring import create_module_spec
    from hubpub.spec.requirements import import_requirements

    recipe = recipe or load_recipe(manifest)
    import_requirements(manifest.requires)  # their ops exist before module_fn uses them
    try:
        with publisher_code("module_fn", _source(manifest.module_fn, manifest)):
            # A fixed seed: building the same inputs twice gives byte-identical modules.
            return create_module_spec(recipe.module_fn, recipe.tags_and_args, random_seed=0,
                                      requires=manifest.requires)
    except HubpubError:
        raise
    except Exception as exc:  # publisher code failed: report its own file and line
        raise wrap_publisher_error(exc, "module_fn raised") from exc


def _source(ref: str | None, manifest: Manifest) -> str | None:
    """The file (or module name) of a ``file.py:fn`` reference, for error messages."""
    if ref is None:
        return None
    from hubpub.manifest import split_callable

    return str(split_callable(ref, manifest.folder)[0])


def module_view(manifest: Manifest, spec: ModuleSpec, *, path: str | None = None) -> ModuleView:
    """The read-only view the checks and docs work on, with the manifest's context."""
    from hubpub.spec.view import ModuleView

    return ModuleView.from_saved_model(
        spec.saved_model, source_lines=spec.source_lines, path=path or str(manifest.path),
        metadata=manifest.metadata, claims=_claims(manifest),
        checkpoint_path=_checkpoint_for_checks(manifest),
        training_sources=manifest.training_sources,
        manifest_lines=manifest.lines, outside_project=manifest.outside_project)


def _claims(manifest: Manifest) -> dict[str, Any]:
    return {name: (str(claim["schema"]) if isinstance(claim, dict) else claim)
            for name, claim in manifest.signatures.items()}


def _checkpoint_for_checks(manifest: Manifest) -> str | None:
    weights = manifest.weights
    if weights.source == "checkpoint":
        return str(weights.checkpoint)
    if weights.source == "training_dir":
        from hubpub.spec.export import latest_checkpoint

        assert weights.training_dir is not None  # the schema wants it with this source
        try:
            return latest_checkpoint(weights.training_dir)
        except HubpubError:
            return None
    return None


def _name_transform(manifest: Manifest) -> Callable[[str], str] | None:
    weights = manifest.weights
    if not weights.variable_map and not weights.scope:
        return None
    scope = (weights.scope.rstrip("/") + "/") if weights.scope else ""

    def transform(name: str) -> str:
        return weights.variable_map.get(name, scope + name)

    return transform


def export_weights(manifest: Manifest, spec: ModuleSpec, recipe: Recipe, target: Path, *,
                   progress: Callable[[int, int | None], None] | None = None) -> None:
    """Create the variables, fill them from the declared source, export the module.

    ``progress(checkpoint_bytes_written, expected_bytes or None)`` is called while it writes.
    Exporting runs the variables' initializers here: refused (CheckFailure) when the module
    has ops hubpub does not run, whatever the lint configuration reports.
    """
    from hubpub.checks.config import config_from_manifest
    from hubpub.checks.engine import execution_blockers, refusal
    from hubpub.consumer.module import Module
    from hubpub.spec.export import export_spec, latest_checkpoint

    blockers = execution_blockers(module_view(manifest, spec), config_from_manifest(manifest))
    if blockers:
        raise CheckFailure(refusal(blockers, "export"), findings=blockers)

    weights = manifest.weights
    checkpoint = None
    if weights.source == "checkpoint":
        checkpoint = str(weights.checkpoint)
    elif weights.source == "training_dir":
        assert weights.training_dir is not None  # the schema wants it with this source
        checkpoint = latest_checkpoint(weights.training_dir)
    init_fn = recipe.init_fn
    if init_fn is not None and manifest.recipe is None:
        hook = init_fn

        def init_fn(module: Any, session: Any) -> None:
            try:
                with publisher_code("weights hook", _source(weights.hook, manifest)):
                    hook(module, session)
            except HubpubError:
                raise
            except Exception as exc:  # publisher hook failed
                raise wrap_publisher_error(exc, "weights hook raised") from exc

    values = recipe.values() if recipe.values else None
    expected = sum(v.nbytes for v in values.values()) if values else None
    with _watch_checkpoint(target, expected, progress):
        export_spec(spec, target, checkpoint_path=checkpoint,
                    name_transform_fn=_name_transform(manifest), init_fn=init_fn,
                    values=values, instance_type=Module)  # a hook gets a full hub.Module


@contextlib.contextmanager
def _watch_checkpoint(target: Path, expected: int | None,
                      progress: Callable[[int, int | None], None] | None) -> Iterator[None]:
    """Report the size of the checkpoint being written (in the export's temporary folder)."""
    if progress is None:
        yield
        return
    stop = threading.Event()

    def watch() -> None:
        pattern = f".{glob.escape(target.name)}.*.tmp/variables/variables.data-*"
        while not stop.wait(0.2):
            written = 0
            for path in target.parent.glob(pattern):
                with contextlib.suppress(OSError):  # renamed into place meanwhile
                    written += path.stat().st_size
            progress(written, expected)

    watcher = threading.Thread(target=watch, name="hubpub-export-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


# --- any target -> view ----------------------------------------------------------------------

def load_view(target: str, *, manifest: Manifest | None = None) -> ModuleView:
    """Read TARGET without executing the module (except a manifest's module_fn).

    Raises:
        HandleError: TARGET does not exist or is of no known kind.
        ManifestError: the manifest is malformed.
        ModuleFormatError / ArchiveError: the module or tarball is corrupt or hostile.
        PublisherCodeError: the manifest's module_fn failed.
    """
    if is_manifest(target):
        return _view_of_manifest(target, manifest)
    if _is_url(target):
        from hubpub.files.resolver import resolve

        return _view_of_directory(Path(resolve(target)), shown=target)
    path = Path(target)
    if path.is_dir():
        return _view_of_directory(path, shown=target)
    if _is_tarball(path):
        return _view_of_tarball(path, shown=target)
    raise _unknown_target(target)


def _is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(TARBALL_SUFFIXES)


def _unknown_target(target: str) -> HandleError:
    if not Path(target).exists():
        return HandleError(f"{target} does not exist: give a manifest (hubpub.yaml), a module "
                           f"directory, a .tar.gz or a URL")
    return HandleError(f"{target} is neither a manifest (.yaml), a module directory nor a "
                       f"module tarball (.tar.gz)")


def _view_of_manifest(target: str, manifest: Manifest | None) -> ModuleView:
    from hubpub.manifest import load_manifest

    manifest = manifest or load_manifest(target)
    return module_view(manifest, build_spec(manifest), path=target)


# Neither reader imports TensorFlow: the protos are parsed into hubpub.spec.lite's messages and
# the checkpoint index by hubpub.spec.checkpoint_index, so linting a module directory or
# tarball costs a fraction of `import tensorflow`.

def _view_of_directory(folder: Path, *, shown: str) -> ModuleView:
    from hubpub.spec.files import check_loadable, read_saved_model
    from hubpub.spec.view import ModuleView

    saved_model = read_saved_model(folder, lite=True, check=True)
    check_loadable(folder, saved_model)
    _import_recorded_libraries(saved_model)
    checkpoint = folder / "variables" / "variables"
    return ModuleView.from_saved_model(
        saved_model, path=shown,
        checkpoint_path=str(checkpoint) if checkpoint.with_suffix(".index").is_file() else None)


def _view_of_tarball(tarball: Path, *, shown: str) -> ModuleView:
    from hubpub.files.archive import list_members, unpacked
    from hubpub.spec.files import (
        check_loadable,
        find_module_root,
        read_module_def,
        read_saved_model,
    )
    from hubpub.spec.view import ModuleView

    # Directories get a trailing slash, so HUB401 can tell `variables/` from a file.
    members = [m.name.rstrip("/") + "/" if m.type == "dir" else m.name
               for m in list_members(tarball)]
    with unpacked(tarball) as folder:
        try:
            root = find_module_root(folder)
            read_module_def(root)
            saved_model = read_saved_model(root, lite=True, check=True)
            check_loadable(root, saved_model)
        except ModuleFormatError as exc:  # name the tarball's member, not the temp folder
            raise ModuleFormatError(_in_tarball(str(exc), folder, shown)) from exc
    _import_recorded_libraries(saved_model)
    return ModuleView.from_saved_model(saved_model, path=shown, members=members)


def _in_tarball(message: str, folder: Path, shown: str) -> str:
    """``message`` with paths in the unpacked ``folder`` shown as members of the tarball."""
    def member(match: re.Match[str]) -> str:
        name = match.group(1).strip("/")
        return f"{shown} (member '{name}')" if name else shown

    return re.sub(re.escape(str(folder)) + r"(/[^\s:'\"]*)?", member, message)


def _import_recorded_libraries(saved_model: Any) -> None:
    """Import the known op libraries the module records (``hubpub.spec.requirements``), so
    that the op check knows their ops; a missing one is left to HUB302, which names it."""
    from hubpub.spec.requirements import import_requirements, recorded_requirements

    try:
        import_requirements(recorded_requirements(saved_model.meta_graphs), only_known=True)
    except HubpubError as exc:
        log.info("%s", exc)


# --- any target -> a module directory on disk ------------------------------------------------

@contextlib.contextmanager
def module_directory(target: str, *, manifest: Manifest | None = None,
                     before_export: Callable[[ModuleView], None] | None = None
                     ) -> Iterator[Path]:
    """A directory holding TARGET's module, for the ``with`` block.

    A directory is itself; a URL or handle is its cache directory; a tarball is unpacked
    into a private temporary folder; a manifest is built and exported with its weights into
    a private temporary folder (this runs the publisher's module_fn and weights source);
    ``before_export(view)`` sees the built spec first and may raise to stop the export.
    Temporary folders are removed when the block ends.
    """
    if is_manifest(target):
        with _exported(target, manifest, before_export) as folder:
            yield folder
        return
    if _is_url(target):
        from hubpub.files.resolver import resolve

        yield Path(resolve(target))
        return
    path = Path(target)
    if path.is_dir():
        yield path
        return
    if not _is_tarball(path):
        raise _unknown_target(target)
    from hubpub.files.archive import unpacked
    from hubpub.spec.files import find_module_root

    with unpacked(path) as folder:
        yield find_module_root(folder)


@contextlib.contextmanager
def _exported(target: str, manifest: Manifest | None,
              before_export: Callable[[ModuleView], None] | None) -> Iterator[Path]:
    from hubpub.manifest import load_manifest

    manifest = manifest or load_manifest(target)
    recipe = load_recipe(manifest)
    folder = Path(tempfile.mkdtemp(prefix="hubpub-module-"))
    try:
        try:
            spec = build_spec(manifest, recipe)
            if before_export is not None:
                before_export(module_view(manifest, spec, path=target))
            export_weights(manifest, spec, recipe, folder / "module")
        finally:
            recipe.close()
        yield folder / "module"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
