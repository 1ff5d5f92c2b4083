"""Pages of the shipped example and of every `hubpub init` scaffold.

Golden files (tests/docs/golden/example.*, scaffold-*.*) are rendered from the spec built in
memory, as `hubpub docs hubpub.yaml` does before a build; regenerate them with
HUBPUB_UPDATE_GOLDEN=1. Every snippet of each page also runs against the exported module,
in place of the tarball the snippets name (hub.resolve and hub.Module take either).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hubpub.docs.meta import DocMeta
from hubpub.docs.render import default_handle, render_docs
from hubpub.manifest import load_manifest
from hubpub.pipelines.scaffold import TEMPLATES, write_scaffold
from hubpub.target import build_spec, export_weights, load_recipe, module_view
from tests.docs.pages import for_module, python_blocks, run_snippets
from tests.docs.test_golden import _compare

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "text-embedding" / "hubpub.yaml"


def _project(name: str, root: Path) -> Path:
    if name == "example":
        return EXAMPLE
    write_scaffold(name, root / name, handle=f"acme/{name}")
    return root / name / "hubpub.yaml"


def _page(manifest_path: Path) -> str:
    manifest = load_manifest(manifest_path)
    view = module_view(manifest, build_spec(manifest))
    (page,) = render_docs(view, manifest, fmt="markdown").values()
    return page


@pytest.mark.parametrize("name", ["example", *TEMPLATES])
def test_page_matches_golden(name, tmp_path):
    page = _page(_project(name, tmp_path))
    _compare("example" if name == "example" else f"scaffold-{name}", {"README.md": page})


@pytest.mark.parametrize("name", ["example", *TEMPLATES])
def test_snippets_run_against_the_exported_module(name, tmp_path):
    manifest = load_manifest(_project(name, tmp_path))
    recipe = load_recipe(manifest)
    spec = build_spec(manifest, recipe)
    (page,) = render_docs(module_view(manifest, spec), manifest, fmt="markdown").values()
    module_dir = tmp_path / "export"
    export_weights(manifest, spec, recipe, module_dir)  # what hubpub build exports
    snippets = python_blocks(page)
    assert any("hub.Module(" in s for s in snippets)
    assert any("tf.saved_model.load(" in s for s in snippets)
    handle = default_handle(DocMeta.from_manifest(manifest))  # the tarball's name
    outputs = run_snippets([for_module(code, handle, module_dir) for code in snippets], tmp_path)
    assert all(outputs)  # each one prints its results
