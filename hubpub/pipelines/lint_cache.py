"""Answering ``hubpub lint hubpub.yaml`` from a cache when nothing the build reads has changed.

Linting a manifest runs its module_fn, which imports TensorFlow: seconds, every time. An
unchanged project gets the same findings, so they are stored and given back, without running
module_fn and without importing TensorFlow.

What is cached: the findings themselves (JSON), not the built graphs. They are what the user
sees; re-running the rules on stored graphs would still have to re-read the checkpoint,
training sources and schemas, and would need TensorFlow's registry for any op library the
module_fn loaded. The price is that everything findings depend on must be in the key.

The key, in two steps (as ccache's "manifest mode"):

1. the lookup key: the manifest's bytes and resolved path, the target as given (findings name
   it), the lint configuration after command-line overrides, and the versions of hubpub (and
   a digest of its own source files, so an edited rule is a new key), of TensorFlow (from its
   package metadata, no import) and of Python;
2. the entry records every file the build read, each with its digest, and is used only if all
   still match: the Python files of the project imported while module_fn was loaded and run
   (found in ``sys.modules`` after the build) and the ``.py`` files beside them (a new module
   could shadow an import), every file the manifest names (``build_inputs.named_inputs``:
   module_fn and hook files, assets, signature schemas, training sources, the recipe's
   embedding file, the checkpoint) and the whole training directory.

Files are compared by SHA-256 of their content, except checkpoint data shards: their index
(hashed) holds the CRC32C of every tensor, so a shard is compared by size and modification
time. A build that failed (HUB000) or timed out is never stored: when in doubt, rebuild.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import platform
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hubpub.checks.config import LOAD_FAILURE, LintConfig
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.files.private_cache import PrivateCache
from hubpub.manifest import Manifest

__all__ = ["ManifestLint"]

LOG = logging.getLogger(__name__)

_FORMAT = 1
_CHUNK = 1 << 20


class ManifestLint:
    """One manifest target: ``lookup()`` before linting, ``recording()`` around it, ``store()``.

    Usage::

        job = ManifestLint(cache, target, manifest, config)
        findings = job.lookup()
        if findings is None:
            with job.recording():
                findings = lint(...)
            job.store(findings)
    """

    def __init__(self, cache: PrivateCache, target: str, manifest: Manifest,
                 config: LintConfig) -> None:
        self.cache = cache
        self.target = target
        self.manifest = manifest
        self.key = _lookup_key(target, manifest, config)
        self._imported: list[Path] = []

    def lookup(self) -> list[Finding] | None:
        """The stored findings when every recorded input is unchanged, else None."""
        raw = self.cache.get(self.key)
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            if entry.get("format") != _FORMAT:
                return None
            inputs = entry["inputs"]
            if _digests(list(inputs)) != inputs:
                LOG.debug("lint cache: an input of %s changed", self.target)
                return None
            return [_finding(item) for item in entry["findings"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            LOG.debug("lint cache: entry for %s unreadable (%s); linting afresh", self.target,
                      exc)
            return None

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Note which project modules are imported while the block loads and runs module_fn."""
        try:
            yield
        finally:
            self._imported = _project_modules(self.manifest.folder)

    def store(self, findings: Sequence[Finding]) -> bool:
        """Keep the findings of a completed build (never those of a failed one)."""
        if any(f.code == LOAD_FAILURE for f in findings):
            return False
        files = _build_inputs(self.manifest, self._imported)
        entry = {"format": _FORMAT, "target": self.target, "inputs": _digests(files),
                 "findings": [f.to_json() for f in findings]}
        return self.cache.put(self.key, json.dumps(entry, sort_keys=True).encode())


# --- the lookup key --------------------------------------------------------------------------

def _lookup_key(target: str, manifest: Manifest, config: LintConfig) -> str:
    from hubpub.spec.op_registry import installed_tensorflow_version

    manifest_path = Path(manifest.path).resolve()
    parts = {
        "format": _FORMAT,
        "target": target,
        "manifest": str(manifest_path),
        "manifest_sha256": _sha256(manifest_path),
        "config": repr(config),
        "hubpub": _hubpub_fingerprint(),
        "tensorflow": installed_tensorflow_version(),
        "python": [sys.version, sys.implementation.cache_tag, platform.machine()],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _hubpub_fingerprint() -> str:
    """hubpub's version and a digest of its own files: an edited rule is another key."""
    import hubpub

    package = Path(hubpub.__file__).parent
    digest = hashlib.sha256(hubpub.__version__.encode())
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".json") and path.is_file():
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --- what the build read ---------------------------------------------------------------------

def _project_modules(folder: Path) -> list[Path]:
    """Source files of the imported modules that live under the project folder (module_fn's
    file, the helpers it imports, the weights hook); hubpub's own are in the lookup key."""
    import hubpub

    own = Path(hubpub.__file__).resolve().parent
    found = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        path = Path(file).resolve()
        if path.is_relative_to(folder) and not path.is_relative_to(own):
            found.add(path)
    return sorted(found)


def _build_inputs(manifest: Manifest, imported: Sequence[Path]) -> list[str]:
    """Every file (or folder) the build and the rules read, as absolute resolved paths: what
    the manifest names (as ``build-report.json`` records it), the project modules module_fn
    imported with the ``.py`` files beside them, and the whole training directory."""
    from hubpub.pipelines.build_inputs import named_inputs

    paths: set[Path] = set(imported) | set(named_inputs(manifest))
    for module in imported:  # a new sibling module could shadow an import next time
        with contextlib.suppress(OSError):
            paths.update(module.parent.glob("*.py"))
    if manifest.weights.training_dir is not None:
        paths.add(Path(manifest.weights.training_dir))
    if manifest.weights.checkpoint is not None:
        paths.add(Path(manifest.weights.checkpoint))  # a V1 checkpoint, or a missing prefix
    return sorted({str(p.resolve()) for p in paths})


def _digests(paths: Sequence[str]) -> dict[str, str]:
    return {path: _digest(Path(path)) for path in paths}


def _digest(path: Path) -> str:
    """Content digest of a file; of a folder, its files' names and digests; "missing"."""
    try:
        if path.is_dir():
            inner = hashlib.sha256()
            for child in sorted(path.rglob("*")):
                if child.is_file():
                    inner.update(child.relative_to(path).as_posix().encode() + b"\0")
                    inner.update(_digest(child).encode() + b"\n")
            return "dir:" + inner.hexdigest()
        if ".data-" in path.name:  # a checkpoint shard: its .index holds its tensors' CRCs
            info = path.stat()
            return f"stat:{info.st_size}:{info.st_mtime_ns}"
        return _sha256(path)
    except OSError:
        return "missing"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _finding(item: Mapping[str, Any]) -> Finding:
    location = dict(item["location"])
    if "variant" in location:
        location["variant"] = tuple(location["variant"])
    return Finding(str(item["code"]), Severity.parse(item["severity"]), str(item["message"]),
                   Location(**location), item.get("suppressed"))
