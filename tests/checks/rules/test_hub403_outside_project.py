"""HUB403: code and assets the manifest names outside its own folder."""

from __future__ import annotations

import textwrap

import pytest

from hubpub.checks.config import config_from_manifest
from hubpub.manifest import load_manifest
from tests.checks.lintmodules import lint

MODULE = """
    import tensorflow as tf
    import hubpub as hub

    def module_fn(**assets):
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        hub.add_signature(inputs=x, outputs=2.0 * x)
"""


def _project(root, *, module_fn: str, assets: dict[str, str]):
    root.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"\n  {key}: {value}" for key, value in assets.items())
    (root / "hubpub.yaml").write_text(textwrap.dedent("""\
        module: {handle: acme/outside, version: 1}
        module_fn: %s
        weights: {source: initializers}
        metadata: {description: d, license: Apache-2.0, fine_tunable: false, task: other}
    """) % module_fn + (f"assets:{lines}\n" if assets else ""))
    return root / "hubpub.yaml"


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub403")
    shared = root / "shared"
    shared.mkdir()
    (shared / "module.py").write_text(textwrap.dedent(MODULE))
    (shared / "vocab.txt").write_text("a\n")
    inside = root / "inside"
    (inside / "data").mkdir(parents=True)
    (inside / "module.py").write_text(textwrap.dedent(MODULE))
    (inside / "data" / "vocab.txt").write_text("a\n")
    (inside / "linked").symlink_to(shared)
    outside = _project(inside, module_fn=f"{shared / 'module.py'}:module_fn", assets={
        "up": "../shared/vocab.txt", "link": "linked/vocab.txt", "ok": "data/vocab.txt"})
    clean = _project(root / "clean", module_fn="module.py:module_fn",
                     assets={"vocab": "data/vocab.txt"})
    (root / "clean" / "module.py").write_text(textwrap.dedent(MODULE))
    (root / "clean" / "data").mkdir()
    (root / "clean" / "data" / "vocab.txt").write_text("a\n")
    return {"outside": outside, "clean": clean, "shared": shared, "inside": inside}


@pytest.mark.slow
def test_module_fn_and_assets_outside_the_folder_are_reported(projects):
    manifest = projects["outside"]
    findings = lint(manifest, config_from_manifest(load_manifest(manifest)), codes=["HUB403"])
    shared, inside = projects["shared"].resolve(), projects["inside"].resolve()
    assert [(f.location.line, f.message) for f in findings] == [
        (2, f"module_fn '{shared / 'module.py'}' is outside the manifest's folder {inside} "
            f"(reached through an absolute path): hubpub runs its code"),
        (6, f"assets.up '../shared/vocab.txt' is {shared / 'vocab.txt'}, outside the "
            f"manifest's folder {inside} (reached through '..'): hubpub packs it into the "
            f"published module"),
        (7, f"assets.link 'linked/vocab.txt' is {shared / 'vocab.txt'}, outside the manifest's "
            f"folder {inside} (reached through a symbolic link): hubpub packs it into the "
            f"published module"),
    ]
    assert {f.severity.name for f in findings} == {"WARNING"}


@pytest.mark.slow
def test_a_project_that_keeps_to_its_folder_passes(projects):
    assert lint(projects["clean"], codes=["HUB403"]) == []
