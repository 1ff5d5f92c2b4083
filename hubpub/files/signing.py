"""Signed modules: OpenSSF model signing of a module directory, and checking a signature.

A signature covers every file of the module directory (their SHA-256s, in a DSSE envelope of
a Sigstore bundle, as the ``model-signing`` package writes it), not the tarball's bytes: the
same signature then holds for the tarball, the folder it unpacks to and the folder Kaggle
serves. It is written beside the tarball as ``<base>.tar.gz.sig`` and travels inside a
published folder as ``model.sig``, which the signature itself leaves out of what it covers.

Two ways to sign: an elliptic-curve private key (PEM) offline, checked with its public key;
or Sigstore keyless, with the OIDC identity of a CI job, checked with that identity and its
issuer. ``model-signing`` is an optional extra (``pip install "hubpub[sign]"``), imported only
when a signature is made or checked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubpub.errors import InputError, MissingExtraError, SignatureError
from hubpub.files.inputs import read_bounded

__all__ = [
    "IDENTITY_ENV",
    "ISSUER_ENV",
    "PASSWORD_ENV",
    "PUBLIC_KEY_ENV",
    "SIGNATURE_NAME",
    "SignatureVerdict",
    "TrustedSigner",
    "check_installed",
    "check_private_key",
    "require_signature",
    "sign_directory",
    "signature_beside",
    "verify_directory",
]

SIGNATURE_NAME = "model.sig"  # inside a published module folder
PUBLIC_KEY_ENV = "HUBPUB_SIGNATURE_PUBLIC_KEY"
IDENTITY_ENV = "HUBPUB_SIGNATURE_IDENTITY"
ISSUER_ENV = "HUBPUB_SIGNATURE_ISSUER"
PASSWORD_ENV = "HUBPUB_SIGNING_KEY_PASSWORD"
_MAX_KEY_BYTES = 64 * 1024
_MAX_SIGNATURE_BYTES = 16 * 1024 * 1024  # one digest per file: large only for huge folders
_FETCH_TIMEOUT_SEC = 60.0


@dataclass(frozen=True)
class TrustedSigner:
    """Whom a valid signature must come from: a public key, or a Sigstore identity."""

    public_key: Path | None = None
    identity: str | None = None
    issuer: str | None = None

    def __post_init__(self) -> None:
        if (self.public_key is None) == (self.identity is None):
            raise SignatureError("name either a public key or a Sigstore identity (with its "
                                 "issuer) to check a signature against, not both")
        if self.identity is not None and not self.issuer:
            raise SignatureError("a Sigstore identity needs its OIDC issuer too, e.g. "
                                 "https://token.actions.githubusercontent.com")

    @classmethod
    def from_env(cls) -> TrustedSigner | None:
        """``HUBPUB_SIGNATURE_PUBLIC_KEY``, or ``HUBPUB_SIGNATURE_IDENTITY`` with
        ``HUBPUB_SIGNATURE_ISSUER``; None when neither is set."""
        key, identity = os.environ.get(PUBLIC_KEY_ENV), os.environ.get(IDENTITY_ENV)
        if not key and not identity:
            return None
        return cls(public_key=Path(key) if key else None, identity=identity or None,
                   issuer=os.environ.get(ISSUER_ENV) or None)

    @classmethod
    def of(cls, value: TrustedSigner | str | os.PathLike[str] | None) -> TrustedSigner | None:
        """An argument as the consumer API takes it: a signer, a public key path, or None
        (then the environment decides)."""
        if value is None:
            return cls.from_env()
        if isinstance(value, TrustedSigner):
            return value
        return cls(public_key=Path(os.fspath(value)))

    def __str__(self) -> str:
        if self.public_key is not None:
            return f"the public key {self.public_key}"
        return f"the Sigstore identity {self.identity} (issuer {self.issuer})"


@dataclass(frozen=True)
class SignatureVerdict:
    """Whether a module directory matches its signature, and what does not."""

    ok: bool
    message: str
    details: list[str] = field(default_factory=list)


def _library() -> Any:
    try:
        import model_signing  # noqa: F401  # the package __init__ pulls in the signers
        from model_signing import hashing, signing, verifying
    except ImportError as exc:
        raise MissingExtraError("model-signing", "sign", "signing or checking a module") from exc
    return hashing, signing, verifying


def check_installed() -> None:
    """Raises MissingExtraError (with the install command) unless model-signing imports."""
    _library()


def _hashing_config(hashing: Any) -> Any:
    # model.sig travels inside published folders: the signature must not cover itself.
    return hashing.Config().set_ignored_paths(paths=[SIGNATURE_NAME])


# --- signing ---------------------------------------------------------------------------------


def sign_directory(module_dir: Path, signature: Path, *, key: Path | None) -> str:
    """Signs every file of ``module_dir`` into ``signature``; returns how it was signed.

    ``key`` is an elliptic-curve private key (PEM; when encrypted, its password comes from
    ``HUBPUB_SIGNING_KEY_PASSWORD``); None signs keyless with Sigstore, using the ambient
    OIDC identity of a CI job (GitHub Actions with ``id-token: write``).

    Raises:
        SignatureError: the key cannot be read or used; Sigstore signing failed.
        MissingExtraError: model-signing is not installed.
    """
    hashing, signing, _ = _library()
    config = signing.Config().set_hashing_config(_hashing_config(hashing))
    if key is None:
        config.use_sigstore_signer(use_ambient_credentials=True)
        from sigstore.errors import Error as SigstoreError

        try:
            config.sign(module_dir, signature)
        except (SigstoreError, OSError, ValueError) as exc:  # no network, no OIDC identity
            raise SignatureError(f"Sigstore keyless signing failed: {exc}; it needs network "
                                 "access and an OIDC identity (in GitHub Actions: "
                                 "`permissions: id-token: write`)") from exc
        return "sigstore"
    password = os.environ.get(PASSWORD_ENV)
    check_private_key(key, password)
    config.use_elliptic_key_signer(private_key=key, password=password)
    config.sign(module_dir, signature)
    return "key"


def check_private_key(key: Path, password: str | None = None) -> None:
    """Reads the key as model-signing will, so a bad key is a message, not a traceback."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = _read(key, "signing key")
    try:
        private = serialization.load_pem_private_key(
            data, password.encode() if password else None)
    except TypeError as exc:
        raise SignatureError(f"{key}: the private key is encrypted; put its password in "
                             f"{PASSWORD_ENV}" if password is None else
                             f"{key}: {exc}") from exc
    except ValueError as exc:
        hint = (" (this is a public key: signing needs the private one)"
                if b"PUBLIC KEY-----" in data else "")
        raise SignatureError(f"{key}: not a PEM private key{hint}: {exc}") from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise SignatureError(f"{key}: model signing uses elliptic-curve keys (P-256, P-384 or "
                             "P-521), e.g. `openssl ecparam -name prime256v1 -genkey -noout "
                             "-out private.pem`")


# --- verifying -------------------------------------------------------------------------------


def verify_directory(module_dir: Path, signature: Path, signer: TrustedSigner
                     ) -> SignatureVerdict:
    """Checks ``module_dir`` against ``signature`` made by ``signer``.

    Returns a verdict that is not ok when the signature was made by someone else or the
    files differ from what was signed (each changed, extra or missing member is named).

    Raises:
        SignatureError: the signature or the key cannot be read (bad input, not a mismatch).
        MissingExtraError: model-signing is not installed.
    """
    hashing, _, verifying = _library()
    _check_signature_file(signature)
    config = verifying.Config().set_hashing_config(_hashing_config(hashing))
    if signer.public_key is not None:
        _check_public_key(signer.public_key)
        config.use_elliptic_key_verifier(public_key=signer.public_key)
    else:
        config.use_sigstore_verifier(identity=signer.identity, oidc_issuer=signer.issuer)
    from cryptography.exceptions import InvalidSignature
    from sigstore.errors import Error as SigstoreError

    try:
        config.verify(module_dir, signature)
    except ValueError as exc:
        return _mismatch(str(exc), signer)
    except InvalidSignature:
        return SignatureVerdict(False, f"the signature is not valid for {signer}: its content "
                                       "was changed after signing")
    except SigstoreError as exc:
        return SignatureVerdict(False, f"the signature is not valid for {signer}: {exc}")
    return SignatureVerdict(True, f"signed by {signer}; every file matches")


_MEMBER_PATTERNS = (
    (re.compile(r"Hash mismatch for '([^']+)'"), "member {} differs from what was signed"),
    (re.compile(r"Extra files found in model '[^']*': ([^\"\]]+)"),
     "member {} was not signed (added after signing)"),
    (re.compile(r"Missing files in model '[^']*': ([^\"\]]+)"),
     "member {} was signed but is missing"),
)


def _mismatch(text: str, signer: TrustedSigner) -> SignatureVerdict:
    if not text.startswith("Signature mismatch"):
        reason = "it was made with another key" if text.startswith("Key mismatch") else text
        return SignatureVerdict(False, f"the signature is not valid for {signer}: {reason}")
    details = []
    # model-signing lists its findings as a Python list's repr, which escapes quotes.
    unquoted = text.replace("\\'", "'")
    for pattern, phrase in _MEMBER_PATTERNS:
        for match in pattern.finditer(unquoted):
            details += [phrase.format(name.strip().rstrip("'"))
                        for name in match.group(1).split(", ")]
    return SignatureVerdict(False, f"the files do not match the signature of {signer}",
                            details or [text])


def _read(path: Path, what: str, limit: int = _MAX_KEY_BYTES) -> bytes:
    try:
        return read_bounded(path, what=what, max_bytes=limit)
    except (InputError, OSError) as exc:
        raise SignatureError(str(exc)) from exc


def _check_public_key(key: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    data = _read(key, "public key")
    try:
        serialization.load_pem_public_key(data)
    except ValueError as exc:
        hint = (" (this is a private key: give its public half, `openssl ec -in private.pem "
                "-pubout -out public.pem`)" if b"PRIVATE KEY-----" in data else "")
        raise SignatureError(f"{key}: not a PEM public key{hint}") from exc


def _check_signature_file(signature: Path) -> None:
    data = _read(signature, "signature", _MAX_SIGNATURE_BYTES)
    try:
        bundle = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SignatureError(f"{signature}: not a signature (a Sigstore bundle in JSON, as "
                             "`hubpub build --sign` writes)") from exc
    if not isinstance(bundle, dict) or "sigstore.bundle" not in str(bundle.get("mediaType")):
        raise SignatureError(f"{signature}: not a Sigstore bundle (no 'mediaType' of "
                             "application/vnd.dev.sigstore.bundle...)")


# --- consumers: a signature required for a handle --------------------------------------------


def signature_beside(tarball: str) -> str:
    """Where the signature of a tarball (path or URL) is published: ``<tarball>.sig``."""
    return f"{tarball}.sig"


def require_signature(handle: str, module_dir: str, signer: TrustedSigner) -> None:
    """Raises SignatureError unless the module of ``handle`` is signed by ``signer``.

    The signature is ``model.sig`` in the module folder (as Kaggle serves it), else
    ``<tarball>.sig`` beside a tarball handle (a path or an http(s) URL), else
    ``<dir>.tar.gz.sig`` beside a directory handle (as ``hubpub build`` writes them).
    """
    with _signature_of(handle, Path(module_dir)) as signature:
        verdict = verify_directory(Path(module_dir), signature, signer)
    if not verdict.ok:
        details = "".join(f"\n  {line}" for line in verdict.details)
        raise SignatureError(f"{handle}: {verdict.message}{details}")


@contextmanager
def _signature_of(handle: str, module_dir: Path) -> Iterator[Path]:
    inside = module_dir / SIGNATURE_NAME
    if inside.is_file():
        yield inside
        return
    if re.match(r"^https?://", handle, re.IGNORECASE):
        folder = Path(tempfile.mkdtemp(prefix="hubpub-signature-"))
        try:
            yield _download(signature_beside(handle), folder / SIGNATURE_NAME)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    local = Path(handle.removeprefix("file://"))
    beside = Path(signature_beside(str(local) if not local.is_dir()
                                   else f"{str(local).rstrip('/')}.tar.gz"))
    if not beside.is_file():
        raise SignatureError(f"{handle}: a signature is required but there is none: no "
                             f"{SIGNATURE_NAME} in the module folder and no {beside}")
    yield beside


def _download(url: str, dest: Path) -> Path:
    try:
        with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_SEC) as response:
            data = response.read(_MAX_SIGNATURE_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SignatureError(f"a signature is required but {url} cannot be fetched: "
                             f"{reason}") from exc
    if len(data) > _MAX_SIGNATURE_BYTES:
        raise SignatureError(f"{url}: larger than any signature ({_MAX_SIGNATURE_BYTES:,} "
                             "bytes); refused")
    dest.write_bytes(data)
    return dest
