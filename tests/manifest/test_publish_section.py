"""The manifest's `publish:` and `sign:` keys: checked like every key, with file:line:col."""

from __future__ import annotations

import pytest

from hubpub.errors import ManifestError
from hubpub.manifest import load_manifest

HEAD = "module: {handle: acme/m, version: 1}\nrecipe: {name: text_embedding}\n"


def problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "hubpub.yaml"
    path.write_text(HEAD + text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


def test_publish_and_sign_are_read(tmp_path):
    path = tmp_path / "hubpub.yaml"
    path.write_text(HEAD + "publish:\n  kaggle: {owner: acme, model: m-1, variation: v}\n"
                    "sign: {key: keys/private.pem}\n")
    manifest = load_manifest(path)
    assert (manifest.kaggle.owner, manifest.kaggle.model, manifest.kaggle.variation,
            manifest.kaggle.private) == ("acme", "m-1", "v", True)
    assert manifest.sign.key == (tmp_path / "keys" / "private.pem").resolve()
    path.write_text(HEAD + "sign: sigstore\n")
    assert load_manifest(path).sign.sigstore


def test_mistakes_are_named_where_they_are(tmp_path):
    found = problems(tmp_path, "publish:\n  kaggle: {owner: Acme, model: m, varation: v}\n"
                               "sign: sigstor\n")
    assert "4:3: publish.kaggle: missing required key 'variation'" in found
    assert any(p.startswith("4:19: publish.kaggle.owner 'Acme' must be a Kaggle slug")
               for p in found)
    assert "4:35: unknown key 'varation' (did you mean 'variation'?)" in found
    assert "5:7: sign must be sigstore, not 'sigstor' (did you mean 'sigstore'?)" in found
    assert problems(tmp_path, "sign: {path: k.pem}\n") == [
        "3:7: sign must be 'sigstore' or {key: path/to/private-key.pem}, not a mapping"]
