"""``hubpub verify TARBALL``: is this the module it claims to be, and can it be rebuilt?

Checks, in order: the SHA-256 against a ``.sha256`` file; the archive layout (rule HUB401);
that the module format reads (``tfhub_module.pb``, ``saved_model.pb``, the checkpoint index,
and every tensor inside its data file); with a manifest, that a rebuild in a private
temporary folder gives the same bytes, and if not, which member differs and what differs
inside a graph or a checkpoint. Nothing but the rebuild imports TensorFlow.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubpub.diff.side import CHECKPOINT_INDEX, Side, read_directory, read_tarball, same_bytes
from hubpub.errors import HandleError, HubpubError
from hubpub.files.package import sha256_of
from hubpub.files.signing import TrustedSigner
from hubpub.spec.files import SAVED_MODEL_FILE

__all__ = ["Check", "VerifyResult", "read_checksum_file", "signature_check", "verify_tarball"]

_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Check:
    """One verification step: its name, whether it passed, and what it found."""

    name: str  # digest | layout | format | rebuild | signature
    ok: bool
    message: str
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "message": self.message,
                "details": self.details}


@dataclass(frozen=True)
class VerifyResult:
    tarball: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"tarball": self.tarball, "verified": self.ok,
                "checks": [c.to_json() for c in self.checks]}


def read_checksum_file(path: Path) -> str:
    """The digest in a ``sha256sum``-style file (``<hex>  <name>``, or the hex alone).

    Raises:
        HubpubError: the file is missing or holds no SHA-256 (exit code 2).
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise HandleError(f"cannot read the checksum file {path}: {exc.strerror}") from exc
    first = text.split()[0] if text.split() else ""
    if not _HEX.match(first):
        raise HubpubError(f"{path}: expected a SHA-256 (64 hex digits, as `sha256sum` writes), "
                          f"found {first[:40]!r}")
    return first.lower()


def _digest_check(tarball: Path, actual: str, sha256_file: Path | None) -> Check:
    if sha256_file is None:
        beside = tarball.with_name(tarball.name + ".sha256")
        if not beside.is_file():
            return Check("digest", True, f"sha256 {actual} (no .sha256 file to compare with)")
        sha256_file = beside
    expected = read_checksum_file(sha256_file)
    if expected == actual:
        return Check("digest", True, f"sha256 {actual} matches {sha256_file}")
    return Check("digest", False, f"sha256 {actual} does not match {sha256_file}",
                 [f"expected {expected}"])


def _layout_check(side: Side) -> Check:
    from hubpub.checks.rules import hub401_tarball_layout

    hits = list(hub401_tarball_layout.check(side.view, hub401_tarball_layout.DEFAULTS))
    if hits:
        return Check("layout", False, f"{len(hits)} layout problem(s) ({hub401_tarball_layout.CODE})",
                     [hit.message for hit in hits])
    return Check("layout", True, "module files at the archive root, nothing else")


def _format_check(side: Side) -> Check:
    """The protos parsed when the side was read; here: the checkpoint is complete."""
    problems = []
    variables = {v.name for variant in side.view.variants for v in variant.variables}
    if side.checkpoint is None:
        if variables:
            problems.append(f"the graph has {len(variables)} variables but there is no "
                            f"{CHECKPOINT_INDEX}")
    else:
        problems += _checkpoint_problems(side, variables)
    summary = (f"{len(side.view.variants)} variant(s), {len(variables)} variable(s)"
               + (f" in {side.checkpoint.num_shards} shard(s)" if side.checkpoint else ""))
    if problems:
        return Check("format", False, f"the module does not read: {summary}", problems)
    return Check("format", True, f"the module reads: {summary}")


def _checkpoint_problems(side: Side, variables: set[str]) -> list[str]:
    assert side.checkpoint is not None
    index = side.checkpoint
    problems = [f"variable '{name}' has no entry in {CHECKPOINT_INDEX}"
                for name in sorted(variables - index.tensors.keys())]
    for entry in index.tensors.values():
        if entry.slice_crcs:
            continue  # the slices have their own entries
        shard = f"variables/variables.data-{entry.shard:05d}-of-{index.num_shards:05d}"
        record = side.files.get(shard)
        if record is None:
            problems.append(f"tensor '{entry.name}' is in {shard}, which is missing")
        elif entry.offset + entry.size > record.size:
            problems.append(f"tensor '{entry.name}' ends at byte {entry.offset + entry.size} "
                            f"of {shard}, which has {record.size}")
    return problems


def verify_tarball(tarball: str | Path, *, sha256_file: Path | None = None,
                   manifest: Path | None = None,
                   progress: Callable[[str, int | None, int | None], None] | None = None,
                   signature: tuple[Path, TrustedSigner] | None = None) -> VerifyResult:
    """Verify a module tarball; see the module docstring for the checks.

    With ``signature`` (a signature file and whom it must come from), also check that the
    tarball's files are the ones that were signed (``signature_check``).

    Raises:
        HandleError: the tarball or the checksum file is missing.
        ArchiveError / ModuleFormatError: the tarball is corrupt or not a module.
        ManifestError, PublisherCodeError, CheckFailure: the rebuild could not run.
    """
    shown = str(tarball)
    path = Path(tarball)
    if not path.is_file():
        raise HandleError(f"{shown} does not exist or is not a file: give a module .tar.gz"
                          if not path.is_dir() else
                          f"{shown} is a directory: verify checks a module .tar.gz")
    if sha256_file is not None and not Path(sha256_file).is_file():
        raise HandleError(f"the checksum file {sha256_file} does not exist")
    side = read_tarball(path, shown=shown)
    checks = [_digest_check(path, sha256_of(path), sha256_file), _layout_check(side),
              _format_check(side)]
    if signature is not None:
        checks.append(signature_check(path, *signature))
    if manifest is not None:
        checks.append(_rebuild_check(path, side, Path(manifest), progress))
    return VerifyResult(shown, checks)


def _rebuild_check(tarball: Path, side: Side, manifest_path: Path,
                   progress: Callable[[str, int | None, int | None], None] | None) -> Check:
    from hubpub.manifest import load_manifest
    from hubpub.pipelines.build import build

    manifest = load_manifest(manifest_path)
    folder = Path(tempfile.mkdtemp(prefix="hubpub-verify-"))
    try:
        result = build(manifest, out_dir=folder, progress=progress, smoke=False)
        if result.sha256 == sha256_of(tarball):
            return Check("rebuild", True, f"rebuilt from {manifest_path}: byte-identical "
                                          f"(sha256 {result.sha256})")
        rebuilt = read_directory(result.module_dir, shown=f"the rebuild of {manifest_path}")
        return Check("rebuild", False, f"rebuilt from {manifest_path}: the bytes differ",
                     member_differences(side, rebuilt))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def member_differences(given: Side, rebuilt: Side) -> list[str]:
    """Which members differ, and for the graph and the checkpoint, what differs inside."""
    from hubpub.diff.graphs import checkpoint_differences, graph_differences

    lines = []
    for name in sorted(given.files.keys() | rebuilt.files.keys()):
        a, b = given.files.get(name), rebuilt.files.get(name)
        if a is None or b is None:
            lines.append(f"member {name} only in {'the rebuild' if a is None else 'the tarball'}")
            continue
        if same_bytes(a, b):
            continue
        lines.append(f"member {name} differs ({a.size:,} -> {b.size:,} bytes)")
        if name == SAVED_MODEL_FILE:
            lines += [f"  {line}" for line in graph_differences(given, rebuilt)]
        elif name == CHECKPOINT_INDEX or name.startswith("variables/variables.data"):
            lines += [f"  {line}" for line in checkpoint_differences(given, rebuilt)
                      if f"  {line}" not in lines]
    if not lines:
        lines.append("every member holds the same bytes: the archive itself differs (member "
                     "order, headers, owners, times or compression); rebuild it with "
                     "`hubpub build`, which packs reproducibly")
    return lines


def signature_check(tarball: Path, signature: Path, signer: TrustedSigner) -> Check:
    """The tarball's members against an OpenSSF model signature (``hubpub build --sign``).

    Raises:
        SignatureError: the signature or key file cannot be read.
        MissingExtraError: model-signing is not installed.
    """
    from hubpub.files.archive import safe_extract
    from hubpub.files.signing import check_installed, verify_directory

    check_installed()
    if not Path(signature).is_file():
        raise HandleError(f"the signature file {signature} does not exist; `hubpub build "
                          "--sign` writes it beside the tarball as <tarball>.sig")
    folder = Path(tempfile.mkdtemp(prefix="hubpub-verify-"))
    try:
        (folder / "module").mkdir()
        safe_extract(tarball, folder / "module")
        verdict = verify_directory(folder / "module", Path(signature), signer)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Check("signature", verdict.ok, verdict.message, verdict.details)
