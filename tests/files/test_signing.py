"""OpenSSF model signing of module folders: a key pair made here, sign, verify, tamper."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hubpub.errors import MissingExtraError, SignatureError
from hubpub.files.package import pack
from hubpub.files.resolver import resolve
from hubpub.files.signing import (
    PUBLIC_KEY_ENV,
    SIGNATURE_NAME,
    TrustedSigner,
    require_signature,
    sign_directory,
    signature_beside,
    verify_directory,
)

DATA = "variables/variables.data-00000-of-00001"


def write_keys(folder: Path, name: str = "signer") -> tuple[Path, Path]:
    """An elliptic-curve key pair in PEM: (private, public)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / f"{name}.pem", folder / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A module folder, its tarball beside it, signed: (folder, signature, public key, root)."""
    root = tmp_path_factory.mktemp("signing")
    module = root / "acme-m-1"
    (module / "variables").mkdir(parents=True)
    (module / "saved_model.pb").write_bytes(bytes(range(256)) * 8)
    (module / "tfhub_module.pb").write_bytes(b"\x08\x03")
    (module / DATA).write_bytes(bytes(4096))
    (module / "variables" / "variables.index").write_bytes(b"index")
    private, public = write_keys(root)
    pack(module, root / "acme-m-1.tar.gz")
    signature = Path(signature_beside(str(root / "acme-m-1.tar.gz")))
    assert sign_directory(module, signature, key=private) == "key"
    return module, signature, public, root


def tampered_copy(module: Path, where: Path) -> Path:
    copy = where / "copy"
    shutil.copytree(module, copy)
    data = bytearray((copy / DATA).read_bytes())
    data[100] ^= 1
    (copy / DATA).write_bytes(data)
    return copy


def test_a_signed_folder_verifies_and_a_flipped_byte_is_named(signed, tmp_path):
    module, signature, public, _ = signed
    verdict = verify_directory(module, signature, TrustedSigner(public_key=public))
    assert verdict.ok and "every file matches" in verdict.message
    verdict = verify_directory(tampered_copy(module, tmp_path), signature,
                               TrustedSigner(public_key=public))
    assert not verdict.ok
    assert verdict.details == [f"member {DATA} differs from what was signed"]


def test_added_and_removed_files_are_named(signed, tmp_path):
    module, signature, public, _ = signed
    copy = tmp_path / "copy"
    shutil.copytree(module, copy)
    (copy / "extra.txt").write_text("planted")
    (copy / "variables" / "variables.index").unlink()
    verdict = verify_directory(copy, signature, TrustedSigner(public_key=public))
    assert sorted(verdict.details) == [
        "member extra.txt was not signed (added after signing)",
        "member variables/variables.index was signed but is missing"]


def test_the_signature_inside_the_folder_is_not_covered_by_itself(signed, tmp_path):
    """As Kaggle serves a published folder: model.sig beside the module files."""
    module, signature, public, _ = signed
    copy = tmp_path / "copy"
    shutil.copytree(module, copy)
    shutil.copyfile(signature, copy / SIGNATURE_NAME)
    assert verify_directory(copy, copy / SIGNATURE_NAME, TrustedSigner(public_key=public)).ok


def test_another_key_is_a_mismatch_and_bad_files_are_input_errors(signed, tmp_path):
    module, signature, public, _ = signed
    private2, public2 = write_keys(tmp_path, "other")
    verdict = verify_directory(module, signature, TrustedSigner(public_key=public2))
    assert not verdict.ok and "made with another key" in verdict.message
    with pytest.raises(SignatureError, match="this is a private key"):
        verify_directory(module, signature, TrustedSigner(public_key=private2))
    with pytest.raises(SignatureError, match="not a signature"):
        verify_directory(module, module / "saved_model.pb", TrustedSigner(public_key=public))
    with pytest.raises(SignatureError, match="does not exist|not found|No such file"):
        verify_directory(module, tmp_path / "missing.sig", TrustedSigner(public_key=public))


def test_signing_refuses_keys_it_cannot_use(signed, tmp_path):
    module, _, public, _ = signed
    with pytest.raises(SignatureError, match="this is a public key"):
        sign_directory(module, tmp_path / "x.sig", key=public)
    rsa_key = tmp_path / "rsa.pem"
    rsa_key.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048)
                        .private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with pytest.raises(SignatureError, match="elliptic-curve"):
        sign_directory(module, tmp_path / "x.sig", key=rsa_key)
    assert not (tmp_path / "x.sig").exists()


def test_resolve_requires_a_valid_signature_when_asked(signed, tmp_path, monkeypatch):
    module, signature, public, root = signed
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    tarball = root / "acme-m-1.tar.gz"
    assert Path(resolve(tarball, require_signature=public)).is_dir()  # <tarball>.sig beside
    assert resolve(module, require_signature=public) == str(module)  # <dir>.tar.gz.sig
    _, public2 = write_keys(tmp_path, "other")
    with pytest.raises(SignatureError, match="made with another key"):
        resolve(module, require_signature=public2)
    monkeypatch.setenv(PUBLIC_KEY_ENV, str(public2))  # the environment opts in too
    with pytest.raises(SignatureError):
        resolve(module)
    monkeypatch.delenv(PUBLIC_KEY_ENV)
    unsigned = tmp_path / "unsigned"
    shutil.copytree(module, unsigned)
    with pytest.raises(SignatureError, match="a signature is required but there is none"):
        resolve(unsigned, require_signature=public)
    assert resolve(unsigned) == str(unsigned)  # nothing asked, nothing checked
    copy = tampered_copy(module, tmp_path)
    shutil.copyfile(signature, copy / SIGNATURE_NAME)
    with pytest.raises(SignatureError, match=f"member {DATA} differs"):
        require_signature(str(copy), str(copy), TrustedSigner(public_key=public))


def test_a_signer_is_a_key_or_an_identity_with_its_issuer():
    with pytest.raises(SignatureError, match="issuer"):
        TrustedSigner(identity="ci@example.com")
    with pytest.raises(SignatureError, match="not both"):
        TrustedSigner(public_key=Path("k.pub"), identity="x", issuer="y")
    assert "Sigstore identity ci@example.com" in str(
        TrustedSigner(identity="ci@example.com", issuer="https://issuer.example"))


def test_without_the_extra_the_message_says_how_to_install_it(signed, monkeypatch):
    module, signature, public, _ = signed
    monkeypatch.setitem(sys.modules, "model_signing", None)  # import fails as if absent
    with pytest.raises(MissingExtraError, match=r'pip install "hubpub\[sign\]"'):
        verify_directory(module, signature, TrustedSigner(public_key=public))
