"""HUB101: signatures that claim a common signature are validated against its schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.checks.config import LintConfig
from hubpub.checks.engine import run_checks
from hubpub.spec.files import read_saved_model
from hubpub.spec.view import ModuleView
from tests.checks.lintmodules import export, lint

v1 = tf.compat.v1
THIS_FILE = str(Path(__file__).resolve())


def _line(marker: str) -> int:
    """The line of this file that carries ``# <marker>``."""
    lines = Path(THIS_FILE).read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.endswith(f"# {marker}"))


def _features(images):
    return tf.reduce_mean(images, axis=[1, 2])  # [batch, 3]


def image_features_ok():
    images = v1.placeholder(tf.float32, [None, 224, 224, 3], name="images")
    out = {"default": _features(images)}
    hub.add_signature(inputs={"images": images}, outputs=out)
    hub.add_signature("image_feature_vector", inputs={"images": images}, outputs=out)


def image_features_uint8():
    images = v1.placeholder(tf.uint8, [None, 224, 224, 3], name="images")  # uint8-images
    out = {"default": _features(tf.cast(images, tf.float32))}
    hub.add_signature("image_feature_vector", inputs={"images": images}, outputs=out)


def image_classification_any_size(with_size: bool):
    images = v1.placeholder(tf.float32, [None, None, None, 3], name="images")
    logits = tf.reduce_mean(images, axis=[1, 2])
    hub.add_signature("image_classification", inputs={"images": images},
                      outputs={"default": logits})
    if with_size:
        info = hub.ImageModuleInfo()
        info.default_image_size.height = 192
        info.default_image_size.width = 192
        hub.attach_image_module_info(info)


def text_embedding(rank2: bool):
    shape = [None, 1] if rank2 else [None]
    sentences = v1.placeholder(tf.string, shape, name="sentences")
    lengths = tf.cast(tf.strings.length(tf.reshape(sentences, [-1])), tf.float32)
    embeddings = tf.stack([lengths, 2.0 * lengths], axis=1)  # [batch, 2]
    hub.add_signature(inputs={"sentences": sentences}, outputs={"default": embeddings})


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub101")
    return {
        "ok": export(image_features_ok, root / "ok"),
        "uint8": export(image_features_uint8, root / "uint8"),
        "any_size": export(lambda: image_classification_any_size(False), root / "any_size"),
        "any_size_attached": export(lambda: image_classification_any_size(True),
                                    root / "attached"),
        "text_ok": export(lambda: text_embedding(False), root / "text_ok"),
        "text_rank2": export(lambda: text_embedding(True), root / "text_rank2"),
    }


def _view(module_dir: Path, claims: dict[str, str]) -> ModuleView:
    return ModuleView.from_saved_model(read_saved_model(module_dir), path=str(module_dir),
                                       claims=claims)


def _hub101(view: ModuleView):
    return run_checks(view, LintConfig(select=("HUB101",)))


@pytest.mark.slow
def test_conforming_feature_vector_claimed_by_name_and_by_manifest_passes(modules):
    assert lint(modules["ok"], codes=["HUB101"]) == []
    assert _hub101(_view(modules["ok"], {"default": "image_feature_vector",
                                         "image_feature_vector": "image_feature_vector"})) == []


@pytest.mark.slow
def test_uint8_images_fail_with_signature_input_and_source_line(modules):
    [finding] = lint(modules["uint8"], codes=["HUB101"])
    assert finding.message.startswith(
        "signature 'image_feature_vector' does not meet image_feature_vector: "
        "input 'images' dtype: 'float32' was expected")
    assert "values in [0, 1]" in finding.message
    loc = finding.location
    assert (loc.variant, loc.signature, loc.node) == ((), "image_feature_vector", "images")
    assert (loc.path, loc.source, loc.line) == (str(modules["uint8"]), None, None)


@pytest.mark.slow
def test_in_memory_spec_points_at_the_publisher_line():
    spec = hub.create_module_spec(image_features_uint8)
    view = ModuleView.from_saved_model(spec.saved_model, source_lines=spec.source_lines,
                                       path="hubpub.yaml")
    [finding] = _hub101(view)
    assert (finding.location.source, finding.location.line) == (THIS_FILE, _line("uint8-images"))


@pytest.mark.slow
def test_unknown_image_size_needs_the_image_module_info_attachment(modules):
    [finding] = lint(modules["any_size"], codes=["HUB101"])
    assert "does not meet image_classification" in finding.message
    assert "attachments: 'image_module_info' is a required property" in finding.message
    assert "hub.attach_image_module_info" in finding.message
    assert lint(modules["any_size_attached"], codes=["HUB101"]) == []


@pytest.mark.slow
def test_text_embedding_claim(modules):
    claims = {"default": "text_embedding"}
    assert _hub101(_view(modules["text_ok"], claims)) == []
    [finding] = _hub101(_view(modules["text_rank2"], claims))
    assert finding.message == (
        "signature 'default' does not meet text_embedding: input 'sentences' shape: "
        "[None, 1] is too long (the text input has shape [batch]: one sentence per element)")
    assert finding.location.node == "sentences"


@pytest.mark.slow
def test_a_claimed_signature_missing_from_the_module_is_reported(modules):
    [finding] = _hub101(_view(modules["ok"], {"classify": "image_classification"}))
    assert finding.message == ("signature 'classify' is claimed as image_classification but "
                               "variant {} has no such signature")
    assert finding.location.signature == "classify"


@pytest.mark.slow
def test_publisher_schema_file(modules, tmp_path):
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "properties": {"outputs": {"required": ["default", "logits"]}}}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(schema))
    [finding] = _hub101(_view(modules["ok"], {"default": str(path)}))
    assert finding.message == ("signature 'default' does not meet mine.json: outputs: "
                               "'logits' is a required property")


@pytest.mark.slow
def test_without_a_source_line_the_claim_in_the_manifest_is_the_location(modules):
    view = ModuleView.from_saved_model(
        read_saved_model(modules["uint8"]), path="hubpub.yaml",
        claims={"image_feature_vector": "image_feature_vector"},
        manifest_lines={"signatures.image_feature_vector": (9, 3)})
    [finding] = _hub101(view)
    loc = finding.location
    assert (loc.path, loc.line, loc.column, loc.signature, loc.node) == (
        "hubpub.yaml", 9, 3, "image_feature_vector", "images")
