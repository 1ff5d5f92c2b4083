"""``hubpub verify TARBALL``: is this the module it claims to be, and can it be rebuilt?

Checks, in order: the SHA-256 against a ``.sha256`` file; the archive layout (rule HUB401);
that the module format reads (``tfhub_module.pb``, ``saved_model.pb``, the checkpoint index,
and every tensor inside its data file); with a manifest, that a rebuild in a private
temporary folder gives the same bytes, and if not, which member differs and what differs
inside a graph or a checkpoint. Nothing but the rebuild imports TensorFlow.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubpub.diff.side import CHECKPOINT_INDEX, Side, read_directory, read_tarball, same_bytes
from hubpub.errors import CheckFailure, HandleError, HubpubError, InputError
from hubpub.files.inputs import CHECKSUM_FILE, load_json, read_text
from hubpub.files.outdir import private_temp_folder
from hubpub.files.package import sha256_of
from hubpub.files.signing import TrustedSigner
from hubpub.spec.checkpoint_index import ShardCheck, TensorEntry
from hubpub.spec.files import SAVED_MODEL_FILE

_CHUNK = 1 << 20

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
    """The digest in a ``sha256sum``-style file: one line, ``<hex>  <name>`` or the hex alone.

    Raises:
        InputError: the file is missing, not a small regular file, not UTF-8, holds more
            than one line or no SHA-256 (exit code 2).
    """
    text = read_text(path, CHECKSUM_FILE)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise InputError(f"expected one line (`<sha256>  <file>`, as `sha256sum` writes for "
                         f"one file), found {len(lines)}; which digest is meant?",
                         path=str(path))
    first = lines[0].split()[0]
    if not _HEX.match(first):
        raise InputError(f"expected a SHA-256 (64 hex digits, as `sha256sum` writes), found "
                         f"{first[:40]!r}", path=str(path), line=1)
    return first.lower()


def _digest_check(tarball: Path, actual: str, sha256_file: Path | None) -> Check:
    if sha256_file is None:
        beside = tarball.with_name(tarball.name + ".sha256")
        if not os.path.lexists(beside):  # anything else there (a folder, a FIFO) is an error
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


def _format_check(side: Side, tarball: Path) -> Check:
    """The protos parsed when the side was read; here: the checkpoint reads as TensorFlow
    restores it (every entry inside its shard, with the CRC32C of its bytes)."""
    problems = []
    variables = {v.name for variant in side.view.variants for v in variant.variables}
    if side.checkpoint is None:
        if variables:
            problems.append(f"the graph has {len(variables)} variables but there is no "
                            f"{CHECKPOINT_INDEX}")
    else:
        problems += _checkpoint_problems(side, variables, tarball)
    summary = (f"{len(side.view.variants)} variant(s), {len(variables)} variable(s)"
               + (f" in {side.checkpoint.num_shards} shard(s)" if side.checkpoint else ""))
    if problems:
        return Check("format", False, f"the module does not read: {summary}", problems)
    return Check("format", True, f"the module reads: {summary}")


def _checkpoint_problems(side: Side, variables: set[str], tarball: Path) -> list[str]:
    """Missing entries and shards, then one streaming pass over the tarball's data shards."""
    from hubpub.files.archive import iter_members

    assert side.checkpoint is not None
    index = side.checkpoint
    problems = [f"variable '{name}' has no entry in {CHECKPOINT_INDEX}"
                for name in sorted(variables - index.tensors.keys())]
    by_shard: dict[str, list[TensorEntry]] = {}
    for entry in index.stored():
        by_shard.setdefault(f"variables/{index.shard_name(entry.shard)}", []).append(entry)
    for shard, entries in sorted(by_shard.items()):
        if shard not in side.files:
            names = ", ".join(f"'{e.name}'" for e in entries[:3])
            problems.append(f"tensor {names}{' ...' if len(entries) > 3 else ''} in {shard}, "
                            f"which is missing")
    checks = {shard: ShardCheck(entries, shard, side.files[shard].size)
              for shard, entries in by_shard.items() if shard in side.files}
    if checks:
        for _, parts, data in iter_members(tarball, name=side.shown):
            check = checks.get("/".join(parts[-2:])) if len(parts) <= 3 else None
            if check is None or data is None:
                continue
            while chunk := data.read(_CHUNK):
                check.feed(chunk)
    for _, check in sorted(checks.items()):
        problems += check.problems()
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
    if sha256_file is not None:
        read_checksum_file(sha256_file)  # a bad checksum file fails before the tarball is read
    side = read_tarball(path, shown=shown)
    checks = [_digest_check(path, sha256_of(path), sha256_file), _layout_check(side),
              _format_check(side, path)]
    if signature is not None:
        checks.append(signature_check(path, *signature))
    if manifest is not None:
        checks.append(_rebuild_check(path, side, Path(manifest), progress))
    return VerifyResult(shown, checks)


def _rebuild_check(tarball: Path, side: Side, manifest_path: Path,
                   progress: Callable[[str, int | None, int | None], None] | None) -> Check:
    """Rebuild in a child process: publisher code that ends its process (``posix._exit``,
    a native ``exit``) ends the child, never this one, and a child that ends without its
    build report is a failure, not a match."""
    with private_temp_folder("hubpub-verify-") as folder:
        if progress is not None:
            progress("rebuild", None, None)
        report = _rebuild_in_child(manifest_path, folder / "out")
        sha256 = report["tarball"]["sha256"]
        if sha256 == sha256_of(tarball):
            return Check("rebuild", True, f"rebuilt from {manifest_path}: byte-identical "
                                          f"(sha256 {sha256})")
        module_dir = folder / "out" / report["tarball"]["file"].removesuffix(".tar.gz")
        rebuilt = read_directory(module_dir, shown=f"the rebuild of {manifest_path}")
        return Check("rebuild", False, f"rebuilt from {manifest_path}: the bytes differ",
                     member_differences(side, rebuilt))


def _rebuild_in_child(manifest_path: Path, out: Path) -> dict[str, Any]:
    """``hubpub build --no-smoke-test`` in a child; its build report, or an error."""
    import sys

    from hubpub.execution.process_exit import missing_result, run_child

    done = run_child([sys.executable, "-m", "hubpub", "build", str(manifest_path), "--out",
                      str(out), "--no-smoke-test", "--quiet"], what="the rebuild")
    if done.returncode == 0:
        try:
            report = load_json(out / "build-report.json", what="build report")
            if (out / report["tarball"]["file"]).is_file():
                return dict(report)
        except (InputError, KeyError, TypeError):
            pass
    errors = [line.removeprefix("hubpub: error: ") for line in done.stderr.splitlines()
              if line.strip() and not line.endswith("...")]  # not the progress lines
    if done.returncode == CheckFailure.exit_code:
        raise CheckFailure(f"the rebuild from {manifest_path} failed its checks:\n"
                           + "\n".join(errors[-15:]))
    if done.returncode == HubpubError.exit_code and errors:
        raise HubpubError("\n".join(errors[-15:]))
    raise HubpubError(missing_result(f"the rebuild from {manifest_path}", done.returncode,
                                     "\n".join(errors)))


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
    with private_temp_folder("hubpub-verify-") as folder:
        (folder / "module").mkdir()
        safe_extract(tarball, folder / "module")
        verdict = verify_directory(folder / "module", Path(signature), signer)
    return Check("signature", verdict.ok, verdict.message, verdict.details)
