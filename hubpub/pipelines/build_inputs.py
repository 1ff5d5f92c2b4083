"""The files a build reads, with their SHA-256, so that a later step can tell a stale build.

``hubpub build`` records them in ``build-report.json`` (``inputs``); ``hubpub publish``
hashes them again and refuses a build whose inputs changed since. They are the manifest and
every file it names: module_fn and hook files, checkpoints, assets, schemas, training
sources, the docs template, the lint baseline, a local ``previous:`` tarball and the files a
recipe names. Modules that ``module_fn`` imports are not among them; ``hubpub verify
--manifest`` (``publish --rebuild``) rebuilds and compares the bytes for that.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from hubpub.files.package import sha256_of
from hubpub.manifest import Manifest, split_callable

__all__ = ["input_digests", "named_inputs", "stale_inputs"]


def input_digests(manifest: Manifest) -> dict[str, str]:
    """Path (relative to the manifest's folder when inside it) -> SHA-256 of each input."""
    folder = manifest.folder
    digests = {}
    for path in sorted(set(named_inputs(manifest))):
        if path.is_file():
            shown = path.relative_to(folder) if path.is_relative_to(folder) else path
            digests[shown.as_posix()] = sha256_of(path)
    return digests


def stale_inputs(manifest: Manifest, recorded: dict[str, str]) -> list[str]:
    """What changed since ``recorded``: one line per changed, new or removed input."""
    now = input_digests(manifest)
    lines = [f"{name} changed" for name in sorted(now.keys() & recorded.keys())
             if now[name] != recorded[name]]
    lines += [f"{name} is new" for name in sorted(now.keys() - recorded.keys())]
    lines += [f"{name} is gone" for name in sorted(recorded.keys() - now.keys())]
    return lines


def named_inputs(manifest: Manifest) -> Iterator[Path]:
    """The manifest and every file it names (some may not exist; folders are yielded as is)."""
    folder = manifest.folder
    yield manifest.path.resolve()
    for ref in (manifest.module_fn, manifest.weights.hook):
        if ref:
            target, _ = split_callable(ref, folder)
            if isinstance(target, Path):
                yield target
    checkpoint = manifest.weights.checkpoint
    if checkpoint is not None:
        yield from checkpoint.parent.glob(f"{checkpoint.name}*")
    if manifest.weights.training_dir is not None:
        yield manifest.weights.training_dir / "checkpoint"
    yield from manifest.assets.values()
    yield from (claim["schema"] for claim in manifest.signatures.values()
                if isinstance(claim, dict))
    yield from manifest.training_sources
    for relative in (manifest.docs.get("template"), manifest.lint.get("baseline")):
        if isinstance(relative, str):
            yield folder / relative
    if manifest.previous is not None and "://" not in manifest.previous.module:
        yield Path(manifest.previous.module)
    for value in (manifest.recipe or {}).values():
        if isinstance(value, str) and value:
            yield folder / value
