"""The spec summary: its documented keys and the facts it reads from the protos."""

from __future__ import annotations

import json

import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.docs.summary import summarize
from hubpub.spec.view import ModuleView
from tests.docs.conftest import view_of

VARIANT_KEYS = ["tags", "is_train", "signatures", "attachments", "variables",
                "trainable_variables", "parameters", "trainable_parameters", "variable_bytes",
                "regularization_losses", "update_ops", "assets"]
TOP_KEYS = ["variants", "signatures", "default_variant", "fine_tune_variant",
            "expected_image_size", "assets", "files", "requires"]


def test_half_plus_two(half_plus_two_dir):
    summary = summarize(view_of(half_plus_two_dir), files={"tfhub_module.pb": 2})
    assert list(summary) == TOP_KEYS
    (variant,) = summary["variants"]
    assert list(variant) == VARIANT_KEYS
    assert variant["signatures"] == {"default": {
        "inputs": [{"key": "default", "kind": "dense", "dtype": "float32", "shape": None}],
        "outputs": [{"key": "default", "kind": "dense", "dtype": "float32", "shape": None}],
        "image_size": None}}
    # a and b: float32 scalars, both trainable.
    assert (variant["variables"], variant["trainable_variables"], variant["parameters"],
            variant["variable_bytes"]) == (2, 2, 2, 8)
    assert summary["fine_tune_variant"] == summary["default_variant"] == []
    assert summary["expected_image_size"] is None
    assert summary["files"] == {"tfhub_module.pb": 2}
    assert json.loads(json.dumps(summary)) == summary


@pytest.mark.slow
def test_multi_variant_module(pets_dir):
    summary = summarize(view_of(pets_dir))
    train, default = summary["variants"]
    assert (train["tags"], train["is_train"], default["tags"]) == (["train"], True, [])
    assert summary["fine_tune_variant"] == ["train"] and summary["default_variant"] == []
    # kernel 3x2, bias 2, moving_mean 2 (not trainable), scale 1, conv 3x3x3x4, embeddings 5x2
    assert (train["variables"], train["trainable_variables"]) == (6, 5)
    assert train["parameters"] == 6 + 2 + 2 + 1 + 108 + 10
    assert train["trainable_parameters"] == train["parameters"] - 2
    assert train["variable_bytes"] == 4 * train["parameters"]
    assert (train["update_ops"], default["update_ops"]) == (1, 0)
    assert train["regularization_losses"] == default["regularization_losses"] == 1
    assert summary["assets"] == train["assets"] == ["vocab.txt"]
    assert train["attachments"] == {"image_module_info": {"height": 8, "width": 8}}
    assert summary["expected_image_size"] == {"height": 8, "width": 8,
                                              "source": "image_module_info attachment"}
    sigs = default["signatures"]
    assert sigs["image_feature_vector"]["image_size"] == [8, 8]
    assert sigs["text_embedding"]["image_size"] is None  # takes no images
    assert sigs["sparse_tokens"]["inputs"] == [
        {"key": "tokens", "kind": "sparse", "dtype": "string", "shape": [None, None]}]


def _images_module(height, width):
    images = tf.compat.v1.placeholder(tf.float32, [None, height, width, 3])
    hub.add_signature(inputs={"images": images}, outputs=tf.reduce_mean(images, [1, 2]))


@pytest.mark.parametrize(("height", "width", "expected"), [
    pytest.param(32, 24, {"height": 32, "width": 24, "source": "signature default, input images"},
                 id="from-shape"),
    pytest.param(None, None, None, id="unknown-size"),
])
def test_expected_image_size_from_the_images_input(height, width, expected):
    spec = hub.create_module_spec(lambda: _images_module(height, width))
    summary = summarize(ModuleView.from_saved_model(spec.saved_model))
    assert summary["expected_image_size"] == expected


def test_attachment_wins_over_the_signature_shape():
    def module_fn():
        _images_module(32, 24)
        hub.attach_image_module_info(hub.ImageModuleInfo(
            default_image_size=hub.ImageModuleInfo.InputSize(height=64, width=48)))

    spec = hub.create_module_spec(module_fn)
    summary = summarize(ModuleView.from_saved_model(spec.saved_model))
    assert summary["expected_image_size"]["height"] == 64
    assert summary["variants"][0]["signatures"]["default"]["image_size"] == [64, 48]


def test_unexported_asset_is_named_by_its_basename(tmp_path):
    vocab = tmp_path / "words.txt"
    vocab.write_text("a\nb\n")

    def module_fn():
        table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
            tf.lookup.TextFileIndex.LINE_NUMBER), -1)
        words = tf.compat.v1.placeholder(tf.string, [None])
        hub.add_signature(inputs=words, outputs=table.lookup(words))

    spec = hub.create_module_spec(module_fn)
    assert summarize(ModuleView.from_saved_model(spec.saved_model))["assets"] == ["words.txt"]
