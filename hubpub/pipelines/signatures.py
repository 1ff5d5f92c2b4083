"""The signing step of ``hubpub build --sign``: sign the exports, record the signatures.

Each exported module directory (the TF1 module and, with ``tf2``, its TF2 export) is signed
as it was packed; the signature goes beside its tarball as ``<tarball>.sig`` and into
``build-report.json`` (``signature``), so that ``hubpub publish`` finds and uploads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hubpub.errors import ManifestError, ManifestProblem, SignatureError
from hubpub.files.package import sha256_of
from hubpub.files.signing import (
    PASSWORD_ENV,
    check_installed,
    check_private_key,
    sign_directory,
    signature_beside,
)
from hubpub.manifest import Manifest, Signing

__all__ = ["check_signing", "parse_sign_option", "sign_build"]


def parse_sign_option(value: str) -> Signing:
    """``--sign KEY`` (a PEM private key) or ``--sign sigstore`` (keyless)."""
    if value == "sigstore":
        return Signing()
    return Signing(Path(value).resolve(), value)


def check_signing(manifest: Manifest, signing: Signing) -> None:
    """Fails before the build when the key is missing or model-signing is not installed.

    Raises:
        ManifestError: ``sign.key`` of the manifest names no file (with its line).
        SignatureError: ``--sign KEY`` names no file.
        MissingExtraError: model-signing is not installed.
    """
    check_installed()  # the install hint comes before minutes of building
    if signing.key is None:
        return
    if signing.key.is_file():
        check_private_key(signing.key, os.environ.get(PASSWORD_ENV))
        return
    if signing is manifest.sign:
        line, column = manifest.location("sign.key")
        raise ManifestError([ManifestProblem(
            str(manifest.path), line, column,
            f"sign.key: file '{signing.shown}' not found (paths are relative to the "
            "manifest's folder; a CI job can write the key from a secret there first)")])
    raise SignatureError(f"--sign {signing.shown}: no such file; give a PEM private key, or "
                         "'sigstore' to sign keyless")


def sign_build(signing: Signing, stage: Path, report: dict[str, Any]) -> list[str]:
    """Signs the staged exports named by ``report``; returns the signature files' names."""
    names = []
    exports = [report["tarball"]["file"]]
    if "tf2" in report:
        exports.append(report["tf2"]["tarball"]["file"])
    entries = []
    for tarball in exports:
        signature = Path(signature_beside(str(stage / tarball)))
        method = sign_directory(stage / tarball.removesuffix(".tar.gz"), signature,
                                key=signing.key)
        entries.append({"file": signature.name, "sha256": sha256_of(signature)})
        names.append(signature.name)
    report["signature"] = {"method": method, **entries[0]}
    if len(entries) > 1:
        report["tf2"]["signature"] = entries[1]
    return names
