"""Every code snippet of a generated page runs against the module it documents.

Snippets are taken from the rendered pages (all formats) by their ```python fences, the
documented handle is replaced with the module's real path, and they run in a fresh Python
process (each as ``__main__`` in its own namespace), as a reader would paste them. TF2
snippets need TensorFlow only; TF1 snippets need ``hubpub.Module``.
"""

from __future__ import annotations

import json
import re
import tarfile
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
    run_snippets,
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


def _split(snippets: list[str]) -> tuple[list[str], list[str]]:
    """(TF1 snippets, inference before fine-tuning; TF2 snippets)."""
    tf1 = sorted((s for s in snippets if "hub.Module(" in s), key=lambda s: "trainable=True" in s)
    return tf1, [s for s in snippets if s not in tf1]


def _run(snippets: list[str], handle: str, module_dir: Path, workdir: Path) -> list[str]:
    return run_snippets([for_module(code, handle, module_dir) for code in snippets], workdir)


def test_half_plus_two_tf2_snippet_computes_half_plus_two(half_plus_two_dir, tmp_path):
    _, tf2 = _split(_snippets(view_of(half_plus_two_dir), HALF_PLUS_TWO_META,
                              HALF_PLUS_TWO_HANDLE))
    assert len(tf2) == 1
    (out,) = _run(tf2, HALF_PLUS_TWO_HANDLE, half_plus_two_dir, tmp_path)
    assert HALF_PLUS_TWO_OUTPUT.search(out), out  # 0.5 * [1, 2, 10] + 2


def test_half_plus_two_tf1_snippets(half_plus_two_dir, tmp_path):
    pytest.importorskip("hubpub.consumer.module", reason="hubpub.Module (the core API) is not there yet")
    tf1, _ = _split(_snippets(view_of(half_plus_two_dir), HALF_PLUS_TWO_META,
                              HALF_PLUS_TWO_HANDLE))
    assert len(tf1) == 2  # inference and fine-tuning
    inference, fine_tuning = _run(tf1, HALF_PLUS_TWO_HANDLE, half_plus_two_dir, tmp_path)
    assert HALF_PLUS_TWO_OUTPUT.search(inference), inference
    losses = [float(line.split()[1]) for line in fine_tuning.splitlines()]
    assert len(losses) == 3 and losses[2] < losses[0]  # training reduces the loss


def test_pets_tf2_snippet_runs_every_signature(pets_dir, tmp_path):
    _, tf2 = _split(_snippets(view_of(pets_dir), PETS_META, PETS_HANDLE))
    assert len(tf2) == 1
    (out,) = _run(tf2, PETS_HANDLE, pets_dir, tmp_path)
    printed = {line.split(" ", 1)[0] for line in out.splitlines() if " {'" in line}
    assert printed == {"default", "fruit_to_pet", "image_feature_vector", "sparse_tokens",
                       "text_embedding"}
    assert "'cats'" in out and "'dogs'" in out


def test_pets_tf1_snippets(pets_dir, tmp_path):
    pytest.importorskip("hubpub.consumer.module", reason="hubpub.Module (the core API) is not there yet")
    tf1, _ = _split(_snippets(view_of(pets_dir), PETS_META, PETS_HANDLE))
    assert len(tf1) == 2
    inference, fine_tuning = _run(tf1, PETS_HANDLE, pets_dir, tmp_path)
    for key in ("'fruit_to_pet'", "'cats'", "'dogs'", "'text_embedding'", "'sparse_tokens'"):
        assert key in inference
    assert len(fine_tuning.splitlines()) == 3


def test_tarball_handle_snippet_resolves(tmp_path):
    """For a .tar.gz handle the TF2 snippet unpacks it with hub.resolve first."""
    pytest.importorskip("hubpub.files.resolver", reason="hubpub.resolve is not there yet")
    from tests.docs.conftest import FIXTURE

    (tmp_path / "half_plus_two_v1.tar.gz").write_bytes(FIXTURE.read_bytes())
    module_dir = tmp_path / "unpacked"
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(module_dir, filter="data")
    tf1, tf2 = _split(_snippets(view_of(module_dir), HALF_PLUS_TWO_META,
                                "half_plus_two_v1.tar.gz"))
    assert "hub.resolve('half_plus_two_v1.tar.gz')" in tf2[0]
    # Run from the tarball's folder: the snippets name it relative to there.
    outputs = run_snippets([tf1[0], tf2[0]], tmp_path,
                           env={"TFHUB_CACHE_DIR": str(tmp_path / "cache")})
    assert all(HALF_PLUS_TWO_OUTPUT.search(out) for out in outputs), outputs
