"""load_manifest: good manifests resolve, bad ones report every problem as file:line:col."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from hubpub.errors import ManifestError, ManifestProblem
from hubpub.manifest import (
    Manifest,
    Variant,
    Weights,
    load_manifest,
    problems_as_json,
    split_callable,
)

HEAD = """\
module:
  handle: acme/flowers
  version: 1
module_fn: module.py:module_fn
"""


def write(folder: Path, text: str, files: tuple[str, ...] = ("module.py",)) -> Path:
    """Write manifest.yaml and the (empty) files it refers to; returns the manifest path."""
    for name in files:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    manifest = folder / "manifest.yaml"
    manifest.write_text(textwrap.dedent(text))
    return manifest


def problems(folder: Path, text: str, files: tuple[str, ...] = ("module.py",)) -> list[str]:
    """The problems of a bad manifest, as the CLI prints them (path as given: manifest.yaml)."""
    write(folder, text, files)
    with pytest.raises(ManifestError) as caught:
        load_manifest("manifest.yaml")
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# --- bad manifests: (id, manifest text, files that exist, expected lines) ---------------------

BAD = [
    pytest.param(
        HEAD + "variants:\n  - tags: [train\n",
        ("module.py",),
        ["manifest.yaml:7:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
         "(while parsing a flow sequence at line 6)"],
        id="yaml-syntax-error"),
    pytest.param(
        "module:\n\thandle: acme/flowers\n",
        (),
        ["manifest.yaml:2:1: invalid YAML: found character '\\t' that cannot start any token; "
         "indent with spaces, not tabs"],
        id="yaml-tab-indent"),
    pytest.param(
        "module: {handle: a/b, version: 1}\nmodule_fn: module.py:f\n---\nmodule_fn: x.py:f\n",
        (),
        ["manifest.yaml:3:1: invalid YAML: expected a single document in the stream, "
         "but found another document"],
        id="two-yaml-documents"),
    pytest.param(
        HEAD + "module_fn: other.py:module_fn\n",
        ("module.py",),
        ["manifest.yaml:5:1: duplicate key 'module_fn' (first defined at line 4); keep only one"],
        id="duplicate-key"),
    pytest.param(
        HEAD + "metadata:\n  fine_tuneable: true\n",
        ("module.py",),
        ["manifest.yaml:6:3: unknown key 'fine_tuneable' (did you mean 'fine_tunable'?)"],
        id="unknown-key-with-suggestion"),
    pytest.param(
        HEAD + "metadata:\n  owner: me\n",
        ("module.py",),
        ["manifest.yaml:6:3: unknown key 'owner'; expected one of: architecture, dataset, "
         "description, fine_tunable, language, learning_rate_note, license, task "
         "(use an 'x-' prefix for keys of your own)"],
        id="unknown-key-without-suggestion"),
    pytest.param(
        HEAD + "license: MIT\n",
        ("module.py",),
        ["manifest.yaml:5:1: unknown key 'license' (it belongs under 'metadata')"],
        id="section-key-at-top-level"),
    pytest.param(
        HEAD,
        ("modules.py",),
        ["manifest.yaml:4:12: module_fn: file 'module.py' not found "
         "(did you mean 'modules.py'?)"],
        id="missing-module-fn-file"),
    pytest.param(
        HEAD + "assets:\n  vocab_file: data/vocab.txt\n",
        ("module.py",),
        ["manifest.yaml:6:15: assets.vocab_file: file 'data/vocab.txt' not found "
         "(paths are relative to the manifest's folder)"],
        id="missing-asset"),
    pytest.param(
        HEAD + "assets:\n  vocab-file: vocab.txt\n",
        ("module.py", "vocab.txt"),
        ["manifest.yaml:6:3: assets: key 'vocab-file' is not a valid asset name: assets are "
         "passed to module_fn as keyword arguments, so names must be Python identifiers"],
        id="asset-name-not-identifier"),
    pytest.param(
        "module:\n  handle: Acme/Flowers\n  version: 1\nmodule_fn: module.py:f\n",
        ("module.py",),
        ["manifest.yaml:2:11: module.handle 'Acme/Flowers' must be 'publisher/name' like "
         "'acme/flowers-features': lowercase letters, digits, '-' and '_' ('.' also in the name)"],
        id="bad-handle"),
    pytest.param(
        "module:\n  handle: acme/flowers\n  version: 0\nmodule_fn: module.py:f\n",
        ("module.py",),
        ["manifest.yaml:3:12: module.version must be an integer >= 1, not 0"],
        id="version-zero"),
    pytest.param(
        "module:\n  handle: acme/flowers\n  version: 1.0\nmodule_fn: module.py:f\n",
        ("module.py",),
        ["manifest.yaml:3:12: module.version must be an integer, not 1.0"],
        id="version-float"),
    pytest.param(
        "module:\n  handle: acme/flowers\nmodule_fn: module.py:f\n",
        ("module.py",),
        ["manifest.yaml:1:1: module: missing required key 'version'"],
        id="missing-version"),
    pytest.param(
        "module: {handle: acme/flowers, version: 1}\n",
        (),
        ["manifest.yaml:1:1: missing 'module_fn' or 'recipe': exactly one of them is needed"],
        id="neither-module-fn-nor-recipe"),
    pytest.param(
        HEAD + "recipe: {name: text_embedding}\n",
        ("module.py",),
        ["manifest.yaml:5:1: 'module_fn' and 'recipe' are both set: keep only one"],
        id="both-module-fn-and-recipe"),
    pytest.param(
        "module: {handle: acme/flowers, version: 1}\nmodule_fn: module.py\n",
        (),
        ["manifest.yaml:2:12: module_fn 'module.py' must be 'path/to/file.py:function' "
         "(relative to the manifest) or 'package.module:function'"],
        id="module-fn-without-function"),
    pytest.param(
        HEAD + "weights:\n  source: checkpoint\n",
        ("module.py",),
        ["manifest.yaml:5:1: weights: missing required key 'checkpoint' (source: checkpoint "
         "needs a checkpoint prefix such as ckpt/model.ckpt-1000)"],
        id="checkpoint-source-without-checkpoint"),
    pytest.param(
        HEAD + "weights:\n  source: checkpoint\n  checkpoint: ckpt/model.ckpt-100\n",
        ("module.py", "ckpt/model.ckpt-1000.index"),
        ["manifest.yaml:7:15: weights.checkpoint: no checkpoint 'ckpt/model.ckpt-100' "
         "(expected the file 'ckpt/model.ckpt-100.index' next to the manifest's folder)"],
        id="checkpoint-not-found"),
    pytest.param(
        HEAD + "weights:\n  source: checkpoint\n  checkpoint: ckpt\n",
        ("module.py", "ckpt/model.ckpt-1000.index"),
        ["manifest.yaml:7:15: weights.checkpoint: 'ckpt' is a directory; name a checkpoint "
         "prefix such as ckpt/model.ckpt-1000, or use 'source: training_dir'"],
        id="checkpoint-is-a-directory"),
    pytest.param(
        HEAD + "weights:\n  source: training_dir\n  training_dir: train\n",
        ("module.py", "train/events.out"),
        ["manifest.yaml:7:17: weights.training_dir: 'train' holds no checkpoint "
         "(no *.index file)"],
        id="training-dir-without-checkpoint"),
    pytest.param(
        HEAD + "weights:\n  source: hook\n  hook: hooks.py:init_fn\n",
        ("module.py",),
        ["manifest.yaml:7:9: weights.hook: file 'hooks.py' not found "
         "(paths are relative to the manifest's folder)"],
        id="missing-hook-file"),
    pytest.param(
        HEAD + "weights:\n  source: initializers\n  checkpoint: ckpt/model.ckpt-1\n",
        ("module.py", "ckpt/model.ckpt-1.index"),
        ["manifest.yaml:7:3: weights.checkpoint is not used with 'source: initializers'; "
         "remove it or change the source"],
        id="weights-key-unused-by-source"),
    pytest.param(
        HEAD + "weights:\n  source: checkpiont\n",
        ("module.py",),
        ["manifest.yaml:6:11: weights.source must be initializers, checkpoint, training_dir "
         "or hook, not 'checkpiont' (did you mean 'checkpoint'?)"],
        id="weights-source-typo"),
    pytest.param(
        HEAD + "lint:\n  suppress:\n    - {code: HUB204, variant: []}\n",
        ("module.py",),
        ["manifest.yaml:7:7: lint.suppress[0]: missing required key 'reason' "
         "(every suppression must say why the finding is acceptable)"],
        id="suppression-without-reason"),
    pytest.param(
        HEAD + "lint:\n  suppress:\n    - code: HUB204\n      reason: ' '\n",
        ("module.py",),
        ["manifest.yaml:8:15: lint.suppress[0].reason ' ' must say why the finding "
         "is acceptable"],
        id="suppression-with-blank-reason"),
    pytest.param(
        HEAD + "lint:\n  select: [HUB2, E501]\n  severity: {HUB20: error, HUB201: fatal}\n",
        ("module.py",),
        ["manifest.yaml:6:18: lint.select[1] 'E501' must be a rule code or code prefix such as "
         "HUB, HUB2 or HUB203",
         "manifest.yaml:7:14: lint.severity: key 'HUB20' must be a rule code such as HUB203",
         "manifest.yaml:7:36: lint.severity.HUB201 must be error or warning, not 'fatal'"],
        id="lint-codes"),
    pytest.param(
        HEAD + "variants:\n  - tags: [train, gpu]\n  - tags: [gpu, train]\n",
        ("module.py",),
        ["manifest.yaml:7:11: variants[1] has the same tags as variants[0] (line 6); "
         "each variant needs its own tag set"],
        id="duplicate-variant-tag-sets"),
    pytest.param(
        HEAD + "variants:\n  - tags: []\n  - tags: []\n    args: {x: 1}\n",
        ("module.py",),
        ["manifest.yaml:7:11: variants[1] has no tags, like variants[0] (line 6); "
         "only one variant can be the default (tags: [])"],
        id="two-default-variants"),
    pytest.param(
        HEAD + "variants:\n  - tags: [train, train]\n  - args: {}\n",
        ("module.py",),
        ["manifest.yaml:6:19: variants[0].tags lists 'train' more than once",
         "manifest.yaml:7:5: variants[1]: missing required key 'tags' "
         "(use 'tags: []' for the default variant)"],
        id="variant-tags"),
    pytest.param(
        HEAD + "variants: []\n",
        ("module.py",),
        ["manifest.yaml:5:11: variants must list at least one variant "
         "(leave 'variants' out for a single default variant)"],
        id="empty-variants"),
    pytest.param(
        HEAD + "signatures:\n  default: image_feature_vectr\n  mine: {schemaa: mine.json}\n",
        ("module.py",),
        ["manifest.yaml:6:12: signatures.default must be image_feature_vector, "
         "image_classification or text_embedding, not 'image_feature_vectr' "
         "(did you mean 'image_feature_vector'?)",
         "manifest.yaml:7:3: signatures.mine: missing required key 'schema'",
         "manifest.yaml:7:10: unknown key 'schemaa' (did you mean 'schema'?)"],
        id="signature-claims"),
    pytest.param(
        HEAD + "signatures:\n  mine: {schema: schemas/mine.json}\n  other: {schema: bad.json}\n",
        ("module.py", "bad.json"),
        ["manifest.yaml:6:18: signatures.mine.schema: file 'schemas/mine.json' not found "
         "(paths are relative to the manifest's folder)",
         "manifest.yaml:7:19: signatures.other.schema: 'bad.json' is not valid JSON "
         "(line 1, column 1: Expecting value)"],
        id="custom-signature-schema-files"),
    pytest.param(
        HEAD + "metadata:\n  license: apache-2.0\n",
        ("module.py",),
        ["manifest.yaml:6:12: metadata.license: 'apache-2.0' is not an SPDX license id "
         "(did you mean 'Apache-2.0'?)"],
        id="license-near-miss"),
    pytest.param(
        HEAD + "metadata:\n  license: GPL-3.0\n",
        ("module.py",),
        ["manifest.yaml:6:12: metadata.license: 'GPL-3.0' is a deprecated SPDX id; "
         "use 'GPL-3.0-only' or 'GPL-3.0-or-later'"],
        id="license-deprecated-id"),
    pytest.param(
        HEAD + "metadata:\n  license: all rights reserved\n",
        ("module.py",),
        ["manifest.yaml:6:12: metadata.license: 'all rights reserved' is not an SPDX license "
         "id such as 'Apache-2.0' or 'MIT' (see https://spdx.org/licenses/; use "
         "'LicenseRef-<name>' for your own license)"],
        id="license-free-text"),
    pytest.param(
        HEAD + "variable_map:\n  1: a\n  on: b\n",
        ("module.py",),
        ["manifest.yaml:5:1: unknown key 'variable_map' (it belongs under 'weights')",
         "manifest.yaml:6:3: key 1 is read as a number by YAML; quote it (\"1\") to use it "
         "as a name",
         "manifest.yaml:7:3: key on is read as true by YAML; quote it (\"on\") to use it "
         "as a name"],
        id="keys-that-are-not-strings"),
    pytest.param(
        HEAD + "metadata:\noutput:\n",
        ("module.py",),
        ["manifest.yaml:5:10: metadata must be a mapping, not empty",
         "manifest.yaml:6:8: output must be a string, not empty"],
        id="empty-sections"),
    pytest.param(
        "# nothing yet\n",
        (),
        ["manifest.yaml:1:1: the manifest is empty: it needs at least 'module' and 'module_fn'"],
        id="empty-file"),
    pytest.param(
        "- module: {handle: a/b, version: 1}\n",
        (),
        ["manifest.yaml:1:1: the manifest must be a mapping of keys to values, not a list"],
        id="list-at-top-level"),
    pytest.param(
        "x-a: &a [*a]\nmodule: {handle: a/b, version: 1}\nmodule_fn: module.py:f\n",
        ("module.py",),
        ["manifest.yaml:1:6: this value contains an alias of itself; manifests cannot be "
         "recursive"],
        id="recursive-alias"),
]


@pytest.mark.parametrize(("text", "files", "expected"), BAD)
def test_bad_manifest(tmp_path, text, files, expected):
    assert problems(tmp_path, text, files) == expected


def test_every_problem_is_reported_at_once_in_file_order(tmp_path):
    text = """\
    module:
      handle: acme/Flowers
      version: 0
    module_fn: modle.py:module_fn
    variants:
      - tags: [train]
      - tags: [train]
    metadata:
      fine_tuneable: yes
      license: MIT
    lint:
      suppress:
        - {code: HUB204}
    """
    assert problems(tmp_path, text) == [
        "manifest.yaml:2:11: module.handle 'acme/Flowers' must be 'publisher/name' like "
        "'acme/flowers-features': lowercase letters, digits, '-' and '_' ('.' also in the name)",
        "manifest.yaml:3:12: module.version must be an integer >= 1, not 0",
        "manifest.yaml:4:12: module_fn: file 'modle.py' not found (did you mean 'module.py'?)",
        "manifest.yaml:7:11: variants[1] has the same tags as variants[0] (line 6); "
        "each variant needs its own tag set",
        "manifest.yaml:9:3: unknown key 'fine_tuneable' (did you mean 'fine_tunable'?)",
        "manifest.yaml:13:7: lint.suppress[0]: missing required key 'reason' "
        "(every suppression must say why the finding is acceptable)",
    ]


def test_problems_carry_path_as_given_line_and_column(tmp_path):
    manifest = write(tmp_path / "pub", HEAD + "metadata: {fine_tuneable: true}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    assert caught.value.problems == [
        ManifestProblem(str(manifest), 5, 12,
                        "unknown key 'fine_tuneable' (did you mean 'fine_tunable'?)")]
    assert caught.value.exit_code == 2
    assert problems_as_json(caught.value) == [
        {"path": str(manifest), "line": 5, "column": 12,
         "message": "unknown key 'fine_tuneable' (did you mean 'fine_tunable'?)"}]
    json.dumps(problems_as_json(caught.value))  # machine output must be plain JSON


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.mkdir ['{pwned}']",
    "!!python/object/new:os.mkdir ['{pwned}']",
    "!!python/name:os.mkdir",
])
def test_python_tags_are_refused_not_executed(tmp_path, tag):
    pwned = tmp_path / "pwned"
    text = HEAD + "metadata:\n  description: " + tag.format(pwned=pwned) + "\n"
    shown = tag.split()[0]
    assert problems(tmp_path, text) == [
        f"manifest.yaml:6:16: YAML tag '{shown}' is not allowed in a manifest: use plain "
        "strings, numbers, true/false, lists and mappings"]
    assert not pwned.exists()


@pytest.mark.parametrize(("target", "message"), [
    ("missing.yaml", "cannot read the manifest: No such file or directory"),
    (".", "is a directory; pass the manifest file, e.g. manifest.yaml"),
], ids=["no-such-file", "directory"])
def test_unreadable_manifest(target, message):
    with pytest.raises(ManifestError) as caught:
        load_manifest(target)
    assert str(caught.value) == f"{target}:1:1: {message}"


def test_non_utf8_manifest(tmp_path):
    (tmp_path / "manifest.yaml").write_bytes(HEAD.encode() + b"metadata: {dataset: caf\xe9}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest("manifest.yaml")
    offset = len(HEAD.encode()) + len(b"metadata: {dataset: caf")
    assert str(caught.value) == (f"manifest.yaml:5:24: the manifest is not UTF-8 text "
                                 f"(byte 0xe9 at offset {offset})")


def test_alias_bomb_is_refused(tmp_path):
    lines = ["x-0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x-{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
    assert problems(tmp_path, "\n".join(lines) + "\n") == [
        "manifest.yaml:1:1: invalid YAML: the manifest expands to more than 100000 values "
        "(YAML aliases nested too deeply?)"]


# --- good manifests -----------------------------------------------------------------------------

FULL = """\
module:
  handle: acme/flowers-features
  version: 3
module_fn: src/module.py:module_fn
variants:
  - tags: [train, gpu]
    args: {is_training: true}
  - tags: []
    args: {is_training: false}
signatures:
  default: image_feature_vector
  custom: {schema: schemas/mine.json}
weights:
  source: checkpoint
  checkpoint: ckpt/model.ckpt-1000
  variable_map: {dense/kernel: tower/dense/kernel}
  scope: module
assets:
  vocab_file: vocab.txt
training_sources: [train.py]
metadata:
  description: "Flower features."
  license: MIT OR Apache-2.0
  fine_tunable: true
  task: image-feature-vector
  dataset: imagenet
  architecture: mobilenet-v2
  language: en
  learning_rate_note: "use 1e-4"
  x-team: vision
lint:
  select: [HUB]
  ignore: [HUB102, HUB3]
  severity: {HUB201: error}
  options: {HUB203: {max_momentum: 0.99}}
  suppress:
    - {code: HUB204, variant: [], reason: "dropout is deterministic here"}
  baseline: lint-baseline.json
docs:
  template: docs/page.md.j2
  out: README.md
output: build/out
"""
FULL_FILES = ("src/module.py", "schemas/mine.json", "ckpt/model.ckpt-1000.index",
              "ckpt/model.ckpt-1000.data-00000-of-00001", "vocab.txt", "train.py",
              "docs/page.md.j2")


@pytest.fixture
def full(tmp_path) -> Manifest:
    path = write(tmp_path, FULL, FULL_FILES)
    (tmp_path / "schemas/mine.json").write_text('{"type": "object"}')
    return load_manifest(path)


def test_full_manifest(tmp_path, full):
    assert full.path == tmp_path / "manifest.yaml"
    assert full.folder == tmp_path.resolve()
    assert (full.handle, full.publisher, full.name, full.version) == (
        "acme/flowers-features", "acme", "flowers-features", 3)
    assert full.module_fn == "src/module.py:module_fn"
    assert full.recipe is None
    assert full.variants == [Variant(("gpu", "train"), {"is_training": True}),
                             Variant((), {"is_training": False})]
    root = tmp_path.resolve()
    assert full.signatures == {"default": "image_feature_vector",
                               "custom": {"schema": root / "schemas/mine.json"}}
    assert full.weights == Weights(source="checkpoint", checkpoint=root / "ckpt/model.ckpt-1000",
                                   variable_map={"dense/kernel": "tower/dense/kernel"},
                                   scope="module")
    assert full.assets == {"vocab_file": root / "vocab.txt"}
    assert full.training_sources == [root / "train.py"]
    assert full.metadata["fine_tunable"] is True
    assert full.metadata["x-team"] == "vision"
    assert full.lint["suppress"] == [
        {"code": "HUB204", "variant": [], "reason": "dropout is deterministic here"}]
    assert full.docs == {"template": "docs/page.md.j2", "out": "README.md"}
    assert full.output == root / "build/out"
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.version = 4  # type: ignore[misc]


def test_lines_and_location(full):
    assert full.lines["module.version"] == (3, 3)
    assert full.lines["variants.0.tags"] == (6, 5)
    assert full.lines["variants.0.tags.1"] == (6, 19)
    assert full.lines["metadata.fine_tunable"] == (24, 3)
    assert full.lines["lint.suppress.0"] == (37, 7)
    assert full.location("lint.suppress.0.reason") == (37, 35)
    # Keys that are not in the file fall back to their nearest parent, then to the top.
    assert full.location("variants.1.args.dropout") == (9, 5)
    assert full.location("docs.nothing.here") == (39, 1)
    assert full.location("nothing") == (1, 1)


def test_minimal_manifest_defaults(tmp_path):
    manifest = load_manifest(write(tmp_path, HEAD))
    assert manifest.variants == [Variant((), {})]
    assert manifest.weights == Weights()
    assert manifest.weights.source == "initializers"
    assert (manifest.signatures, manifest.assets, manifest.training_sources) == ({}, {}, [])
    assert (manifest.metadata, manifest.lint, manifest.docs) == ({}, {}, {})
    assert manifest.output == tmp_path.resolve() / "dist"


def test_recipe_and_package_module_fn(tmp_path):
    recipe = load_manifest(write(tmp_path, """\
        module: {handle: acme/words, version: 1}
        recipe: {name: text_embedding, embedding_file: emb.txt, num_oov_buckets: 1}
        """, ()))
    assert recipe.module_fn is None
    assert recipe.recipe == {"name": "text_embedding", "embedding_file": "emb.txt",
                             "num_oov_buckets": 1}
    # A package module_fn is imported at build time, not looked up on disk.
    package = load_manifest(write(tmp_path, """\
        module: {handle: acme/words, version: 1}
        module_fn: acme_models.towers:module_fn
        """, ()))
    assert package.module_fn == "acme_models.towers:module_fn"


def test_weights_sources(tmp_path):
    write(tmp_path, "", ("train/model.ckpt-5.index", "hooks.py"))
    training = load_manifest(write(
        tmp_path, HEAD + "weights: {source: training_dir, training_dir: train}\n"))
    assert training.weights.training_dir == tmp_path.resolve() / "train"
    hook = load_manifest(write(tmp_path, HEAD + "weights: {source: hook, hook: hooks.py:init}\n"))
    assert (hook.weights.source, hook.weights.hook) == ("hook", "hooks.py:init")


def test_yaml_merge_keys_and_anchors(tmp_path):
    manifest = load_manifest(write(tmp_path, """\
        x-defaults: &defaults {handle: acme/flowers, version: 2}
        module:
          <<: *defaults
          version: 5
        module_fn: module.py:f
        """))
    assert (manifest.handle, manifest.version) == ("acme/flowers", 5)
    assert manifest.lines["module.version"] == (4, 3)


def test_quoted_and_dated_scalars_stay_strings(tmp_path):
    text = HEAD + "metadata: {dataset: 2020-01-01, language: 'no', description: !!str 12}\n"
    manifest = load_manifest(write(tmp_path, text))
    assert manifest.metadata == {"dataset": "2020-01-01", "language": "no", "description": "12"}


@pytest.mark.parametrize("license_id", [
    "Apache-2.0", "MIT", "GPL-1.0-only", "BSD-2-Clause-Patent", "LicenseRef-acme",
    "(MIT OR Apache-2.0) AND CC-BY-4.0", "Apache-2.0 WITH LLVM-exception",
])
def test_valid_license_ids_are_accepted(tmp_path, license_id):
    manifest = load_manifest(write(tmp_path, HEAD + f"metadata: {{license: '{license_id}'}}\n"))
    assert manifest.metadata["license"] == license_id


def test_split_callable(tmp_path):
    assert split_callable("src/module.py:module_fn", tmp_path) == (
        (tmp_path / "src/module.py").resolve(), "module_fn")
    assert split_callable("acme.towers:build", tmp_path) == ("acme.towers", "build")


# --- the schema and the import cost ------------------------------------------------------------


def test_shipped_schema_is_a_valid_draft_2020_12_schema():
    text = resources.files("hubpub.manifest").joinpath("schema.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


PROBE = """\
import sys, time
start = time.perf_counter()
from hubpub.errors import ManifestError
from hubpub.manifest import load_manifest
try:
    load_manifest(sys.argv[1])
except ManifestError as exc:
    print(exc)
print(f"seconds={time.perf_counter() - start:.3f}")
"""


@pytest.mark.slow
def test_typo_fails_fast_without_tensorflow(tmp_path):
    manifest = write(tmp_path, HEAD + "metadata:\n  fine_tuneable: true\n")
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", PROBE, str(manifest)],
                         capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert "hubpub.manifest" in imported
    assert not {name for name in imported if name.split(".")[0] == "tensorflow"}
    first, timing = out.stdout.splitlines()
    assert first.endswith("manifest.yaml:6:3: unknown key 'fine_tuneable' "
                          "(did you mean 'fine_tunable'?)")
    assert float(timing.removeprefix("seconds=")) < 1.0  # imports included


def test_lint_codes_and_options_are_reported_with_the_other_problems(tmp_path):
    """Schema problems and rule-registry problems of `lint:` come in one ManifestError."""
    (tmp_path / "module.py").write_text("def module_fn():\n    pass\n")
    manifest = tmp_path / "hubpub.yaml"
    manifest.write_text(
        "module: {handle: a/b, version: 1}\n"
        "module_fn: module.py:module_fn\n"
        "lint:\n"
        "  select: [HUB2O3]\n"
        "  ignore: [HUB999]\n"
        "  options: {HUB203: {max_momentm: 0.9}}\n"
        "  suppress:\n"
        "    - {code: HUB777, reason: because}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    located = [(p.line, p.column) for p in caught.value.problems]
    assert located == [(4, 12), (5, 12), (6, 22), (8, 7)]
    messages = " | ".join(p.message for p in caught.value.problems)
    assert "'HUB999' matches no rule" in messages
    assert "no option 'max_momentm'" in messages and "'HUB777'" in messages
