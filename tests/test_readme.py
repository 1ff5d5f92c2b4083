"""The README's examples are real: its manifest reference loads, its library example runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from hubpub.manifest import load_manifest
from tests.fixture_paths import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_the_manifest_reference_is_a_valid_manifest(tmp_path):
    reference = next(b for b in _blocks("yaml") if "module_fn:" in b)
    (tmp_path / "hubpub.yaml").write_text(reference)
    (tmp_path / "module.py").write_text("def module_fn(is_training, vocab_file):\n    pass\n")
    (tmp_path / "vocab.txt").write_text("a\nb\n")
    (tmp_path / "train.py").write_text("")
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "mine.json").write_text(json.dumps({"type": "object"}))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md.j2").write_text("{{ handle }}\n")
    (tmp_path / "lint-baseline.json").write_text(json.dumps({"version": 1, "findings": []}))
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "acme-flowers-features-1.tar.gz").write_bytes(b"")  # previous:
    manifest = load_manifest(tmp_path / "hubpub.yaml")
    assert manifest.previous.shown == "dist/acme-flowers-features-1.tar.gz"
    assert manifest.handle == "acme/flowers-features"
    assert [v.tags for v in manifest.variants] == [("train",), ()]


@pytest.mark.slow
def test_the_library_example_runs(tmp_path):
    example = next(b for b in _blocks("python") if "create_module_spec" in b)
    example = example.replace('"/tmp/my_module"', repr(str(tmp_path / "my_module")))
    proc = subprocess.run([sys.executable, "-c", example + "\nprint(y.shape)\n"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(1, 4)" in proc.stdout
    assert (tmp_path / "my_module" / "tfhub_module.pb").is_file()
