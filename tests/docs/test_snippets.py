"""Every code snippet of a generated page runs against the module it documents.

Snippets are taken from the rendered pages (all formats) by their ```python fences, the
documented handle is replaced with the module's real path, and each runs in a fresh Python
process, as a reader would paste it. TF2 snippets need TensorFlow only; TF1 snippets need
``hubpub.Module``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hubpub.docs import kaggle
from hubpub.docs.render import render_docs
from tests.docs.conftest import view_of
from tests.docs.pages import (
    HALF_PLUS_TWO_HANDLE,
    HALF_PLUS_TWO_META,
    PETS_HANDLE,
    PETS_META,
    for_module,
    python_blocks,
)

pytestmark = pytest.mark.slow
# 0.5 * [1, 2, 10] + 2, as numpy prints it in either style.
HALF_PLUS_TWO_OUTPUT = re.compile(r"\[\s*2\.5,?\s+3\.\s*,?\s+7\.\s*\]")


def _snippets(view, meta, handle) -> list[str]:
    """Unique snippets of the markdown, tfhub and kaggle pages (the JSON's fields included)."""
    texts = []
    for fmt in ("markdown", "tfhub", "kaggle"):
        for name, text in render_docs(view, meta, fmt=fmt, handle=handle).items():
            if name == kaggle.METADATA_FILE:
                document = json.loads(text)
                texts += [document["overview"], document["usage"]]
            else:
                texts.append(text)
    found = []
    for text in texts:
        found += [code for code in python_blocks(text) if code not in found]
    return found


def _run(code: str, cwd: Path) -> str:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"snippet failed:\n{code}\n--- stderr ---\n{done.stderr[-3000:]}"
    return done.stdout


def _split(snippets: list[str]) -> tuple[list[str], list[str]]:
    """(TF1 snippets, inference before fine-tuning; TF2 snippets)."""
    tf1 = sorted((s for s in snippets if "hub.Module(" in s), key=lambda s: "trainable=True" in s)
    return tf1, [s for s in snippets if s not in tf1]


def test_half_plus_two_tf2_snippet_computes_half_plus_two(half_plus_two_dir, tmp_path):
    _, tf2 = _split(_snippets(view_of(half_plus_two_dir), HALF_PLUS_TWO_META,
                              HALF_PLUS_TWO_HANDLE))
    assert len(tf2) == 1
    out = _run(for_module(tf2[0], HALF_PLUS_TWO_HANDLE, half_plus_two_dir), tmp_path)
    assert HALF_PLUS_TWO_OUTPUT.search(out), out  # 0.5 * [1, 2, 10] + 2


def test_half_plus_two_tf1_snippets(half_plus_two_dir, tmp_path):
    pytest.importorskip("hubpub.module", reason="hubpub.Module (the core API) is not there yet")
    tf1, _ = _split(_snippets(view_of(half_plus_two_dir), HALF_PLUS_TWO_META,
                              HALF_PLUS_TWO_HANDLE))
    assert len(tf1) == 2  # inference and fine-tuning
    inference, fine_tuning = tf1
    out = _run(for_module(inference, HALF_PLUS_TWO_HANDLE, half_plus_two_dir), tmp_path)
    assert HALF_PLUS_TWO_OUTPUT.search(out), out
    out = _run(for_module(fine_tuning, HALF_PLUS_TWO_HANDLE, half_plus_two_dir), tmp_path)
    losses = [float(line.split()[1]) for line in out.splitlines()]
    assert len(losses) == 3 and losses[2] < losses[0]  # training reduces the loss


def test_pets_tf2_snippet_runs_every_signature(pets_dir, tmp_path):
    _, tf2 = _split(_snippets(view_of(pets_dir), PETS_META, PETS_HANDLE))
    assert len(tf2) == 1
    out = _run(for_module(tf2[0], PETS_HANDLE, pets_dir), tmp_path)
    printed = {line.split(" ", 1)[0] for line in out.splitlines() if " {'" in line}
    assert printed == {"default", "fruit_to_pet", "image_feature_vector", "sparse_tokens",
                       "text_embedding"}
    assert "'cats'" in out and "'dogs'" in out


def test_pets_tf1_snippets(pets_dir, tmp_path):
    pytest.importorskip("hubpub.module", reason="hubpub.Module (the core API) is not there yet")
    tf1, _ = _split(_snippets(view_of(pets_dir), PETS_META, PETS_HANDLE))
    assert len(tf1) == 2
    inference, fine_tuning = tf1
    out = _run(for_module(inference, PETS_HANDLE, pets_dir), tmp_path)
    for key in ("'fruit_to_pet'", "'cats'", "'dogs'", "'text_embedding'", "'sparse_tokens'"):
        assert key in out
    out = _run(for_module(fine_tuning, PETS_HANDLE, pets_dir), tmp_path)
    assert len(out.splitlines()) == 3


def test_tarball_handle_snippet_resolves(tmp_path):
    """For a .tar.gz handle the TF2 snippet unpacks it with hub.resolve first."""
    pytest.importorskip("hubpub.resolver", reason="hubpub.resolve is not there yet")
    from tests.docs.conftest import FIXTURE

    tarball = tmp_path / "half_plus_two_v1.tar.gz"
    tarball.write_bytes(FIXTURE.read_bytes())
    import tarfile

    module_dir = tmp_path / "unpacked"
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(module_dir, filter="data")
    _, tf2 = _split(_snippets(view_of(module_dir), HALF_PLUS_TWO_META, "half_plus_two_v1.tar.gz"))
    assert "hub.resolve('half_plus_two_v1.tar.gz')" in tf2[0]
    env = {**os.environ, "TFHUB_CACHE_DIR": str(tmp_path / "cache"),
           "HUBPUB_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", tf2[0]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert HALF_PLUS_TWO_OUTPUT.search(done.stdout), done.stdout
