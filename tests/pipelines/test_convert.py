"""`hubpub convert`: TF1 Hub modules as TF2 Reusable SavedModels, checked on real consumers.

Sources: modules written by tensorflow_hub 0.15 (an image classifier with batch norm, dropout
and a regularizer; a text module with a vocabulary table), hubpub's export of the same image
module, and the TF Hub team's half_plus_two. Each is converted once for this file. The
consumers are tf.saved_model.load, TF1 hubpub.Module (the reference outputs) and
tensorflow_hub 0.16's hub.KerasLayer (tests/keras_consumer.py, in a subprocess).
"""

from __future__ import annotations

import functools
import shutil

import numpy as np
import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.cli import main
from hubpub.execution.smoke import run_smoke_test
from hubpub.execution.smoke_tf2 import check_tf2_export
from hubpub.pipelines.convert import convert_module, tf2_metadata
from tests import modulefns
from tests.fixture_paths import HALF_PLUS_TWO
from tests.keras_consumer import VERSION, run_consumer, tensorflow_hub_016
from tests.oracle import import_tensorflow_hub

pytestmark = [pytest.mark.slow, pytest.mark.interop]

v1 = tf.compat.v1
TRAIN_AND_DEFAULT = [({"train"}, {"training": True}), (set(), {"training": False})]
IMAGES = np.random.default_rng(0).uniform(0, 1, [6, 8, 8, 3]).astype(np.float32)
WORDS = np.array([b"dog", b"emu", b"bird"])


def _export_with_tensorflow_hub(oracle, module_fn, variants, target) -> None:
    spec = oracle.create_module_spec(module_fn, variants)
    with tf.Graph().as_default():
        module = oracle.Module(spec)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            module.export(str(target), session)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """``{name: (TF1 module dir, TF2 export dir)}``, each converted once."""
    oracle = import_tensorflow_hub()
    root = tmp_path_factory.mktemp("convert")
    vocab = root / "vocab.txt"
    vocab.write_text("cat\ndog\nbird\n")
    sources = {"tfhub_image": root / "tfhub_image", "tfhub_text": root / "tfhub_text",
               "hubpub_image": root / "hubpub_image", "half_plus_two": root / "half_plus_two"}
    _export_with_tensorflow_hub(oracle, functools.partial(modulefns.image_classifier,
                                                          api=oracle),
                                TRAIN_AND_DEFAULT, sources["tfhub_image"])
    _export_with_tensorflow_hub(oracle, functools.partial(modulefns.text_module,
                                                          vocab_file=str(vocab), api=oracle),
                                None, sources["tfhub_text"])
    hub.create_module_spec(modulefns.image_classifier, TRAIN_AND_DEFAULT).export(
        sources["hubpub_image"], checkpoint_path=None)
    shutil.unpack_archive(HALF_PLUS_TWO, sources["half_plus_two"])
    return {name: (source, convert_module(source, root / "tf2" / name).out_dir)
            for name, source in sources.items()}


def _tf1_inference(module_dir, inputs, signature="default"):
    with hub.eval_function_for_module(str(module_dir)) as run:
        return run(inputs, signature=signature, as_dict=True)


def _tf1_regularization_losses(module_dir):
    with tf.Graph().as_default():
        hub.Module(str(module_dir), trainable=True, tags={"train"})
        losses = v1.get_collection(v1.GraphKeys.REGULARIZATION_LOSSES)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            return session.run(losses)


@pytest.mark.parametrize("name", ["tfhub_image", "tfhub_text", "hubpub_image",
                                  "half_plus_two"])
def test_export_gives_the_tf1_inference_outputs(converted, name):
    source, out = converted[name]
    result = run_smoke_test(source, out)  # signatures and __call__ vs hubpub.Module, 1e-5
    assert result.ok, result.problems


def test_the_smoke_test_reports_a_differing_export(converted):
    source, out = converted["tfhub_image"]
    inputs = {"default": lambda: {"images": tf.constant(IMAGES)}}
    expected = _tf1_inference(source, {"images": IMAGES})
    assert check_tf2_export(str(out), {"default": expected}, inputs) == []
    shifted = {"default": {"default": expected["default"] + 1e-3}}
    problems = check_tf2_export(str(out), shifted, inputs)
    assert any("signature 'default' output 'default' differs" in p for p in problems)
    assert any("__call__(training=False) output 'default' differs" in p for p in problems)


def test_one_set_of_variables_serves_both_modes(converted):
    source, out = converted["tfhub_image"]
    loaded = tf.saved_model.load(str(out))
    names = sorted(v.name for v in loaded.variables)
    assert len(names) == 8 and len(loaded.trainable_variables) == 6
    moving = [v for v in loaded.variables if "moving" in v.name]
    assert len(moving) == 2 and not any(v.trainable for v in moving)
    before = [v.numpy().copy() for v in moving]
    inference = loaded(IMAGES, training=False).numpy()
    np.testing.assert_array_equal(inference, loaded(IMAGES, training=False).numpy())
    a, b = loaded(IMAGES, training=True).numpy(), loaded(IMAGES, training=True).numpy()
    assert not np.allclose(a, b)  # dropout is on in training
    assert all(not np.allclose(v.numpy(), old) for v, old in zip(moving, before, strict=True))
    # The moved statistics are the inference graph's too: one set of variables.
    assert not np.allclose(loaded(IMAGES, training=False).numpy(), inference)


def test_regularization_losses_are_the_train_variants(converted):
    source, out = converted["tfhub_image"]
    loaded = tf.saved_model.load(str(out))
    values = [float(loss()) for loss in loaded.regularization_losses]
    np.testing.assert_allclose(values, _tf1_regularization_losses(source), rtol=1e-6)
    assert values and values[0] > 0


def test_attachments_and_source_are_recorded(converted):
    source, out = converted["tfhub_image"]
    metadata = tf2_metadata(out)
    assert metadata["image_size"] == [8, 8]
    assert metadata["source"] == str(source)
    assert metadata["train_tags"] == ["train"] and metadata["inference_tags"] == []
    assert "image_module_info" in metadata["attachments"]


def test_serving_signatures_keep_the_tf1_names_and_keys(converted):
    source, out = converted["tfhub_text"]
    loaded = tf.saved_model.load(str(out))
    assert sorted(loaded.signatures) == ["default"]
    outputs = loaded.signatures["default"](default=tf.constant(WORDS))
    expected = _tf1_inference(source, WORDS)
    assert sorted(outputs) == sorted(expected) == ["default", "ids"]
    np.testing.assert_array_equal(outputs["ids"].numpy(), expected["ids"])


@pytest.fixture(scope="module")
def hub016():
    return tensorflow_hub_016()


def test_keras_layer_fine_tunes_the_image_module(converted, hub016):
    source, out = converted["tfhub_image"]
    report = run_consumer(hub016, {"path": str(out), "x": IMAGES.tolist(), "dtype": "float32",
                                   "trainable": True, "fit": True})
    assert report["version"] == VERSION
    np.testing.assert_allclose(report["losses"], _tf1_regularization_losses(source), rtol=1e-6)
    expected = _tf1_inference(source, {"images": IMAGES})["default"]
    np.testing.assert_allclose(report["inference"], expected, rtol=1e-5, atol=1e-5)
    assert report["inference"] == report["inference_again"]
    assert len(report["trainable"]) == 6 and len(report["non_trainable"]) == 2
    changed = set(report["changed"])
    # fit() trains the weights (the conv bias feeds batch norm, so its gradient is 0)
    assert set(report["trainable"]) - {"conv2d/bias:0"} <= changed
    assert set(report["non_trainable"]) <= changed  # and moves the batch-norm statistics


def test_text_module_works_after_the_export_is_moved(converted, hub016, tmp_path):
    source, out = converted["tfhub_text"]
    expected = _tf1_inference(source, WORDS)
    moved = tmp_path / "elsewhere" / "text-tf2"
    shutil.copytree(out, tmp_path / "copy")
    shutil.move(tmp_path / "copy", moved)
    loaded = tf.saved_model.load(str(moved))
    np.testing.assert_array_equal(loaded(WORDS)["default"].numpy(), expected["default"])
    report = run_consumer(hub016, {"path": str(moved), "x": WORDS.astype(str).tolist(),
                                   "dtype": "string", "trainable": False,
                                   "output_key": "default"})
    np.testing.assert_allclose(report["inference"], expected["default"])
    assert report["losses"] == []


def test_cli_converts_a_tarball(tmp_path, capsys):
    out = tmp_path / "h2-tf2"
    assert main(["convert", str(HALF_PLUS_TWO), str(out), "--no-smoke-test"]) == 0
    assert "converted" in capsys.readouterr().out
    loaded = tf.saved_model.load(str(out))
    np.testing.assert_allclose(loaded(np.array([1.0, 2.0], np.float32)).numpy(), [2.5, 3.0])
    assert main(["convert", str(HALF_PLUS_TWO), str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_names_what_cannot_be_converted(tmp_path, capsys):
    hub.create_module_spec(modulefns.sparse_input).export(tmp_path / "sparse",
                                                         checkpoint_path=None)
    assert main(["convert", str(tmp_path / "sparse"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "variant [] signature 'default': input 'default' is a sparse tensor" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_new_user_converts_a_template_from_the_cli(tmp_path):
    """`hubpub init`, then `hubpub convert hubpub.yaml OUT` (smoke test included) in a real
    process; the export keeps working after it is moved."""
    import subprocess
    import sys

    from hubpub.pipelines.scaffold import write_scaffold

    write_scaffold("text-embedding", tmp_path / "project", handle="acme/words")
    out = tmp_path / "words-tf2"
    done = subprocess.run([sys.executable, "-m", "hubpub", "convert",
                           str(tmp_path / "project" / "hubpub.yaml"), str(out)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "converted" in done.stdout and "Traceback" not in done.stderr
    moved = tmp_path / "moved" / "words-tf2"
    shutil.move(out, moved)
    shutil.rmtree(tmp_path / "project")  # the vocabulary now lives in the export only
    loaded = tf.saved_model.load(str(moved))
    sentences = tf.constant(["hello world", "the quick brown fox"])
    first, second = loaded(sentences).numpy(), loaded(sentences).numpy()
    assert first.shape[0] == 2 and np.isfinite(first).all()
    np.testing.assert_array_equal(first, second)
    assert len(loaded.regularization_losses) == 1


def _takes_x():
    x = v1.placeholder(tf.float32, [None], name="x")
    return {"default": ({"x": x}, {"default": 2.0 * x})}


def _takes_y():
    y = v1.placeholder(tf.float32, [None], name="y")
    return {"default": ({"y": y}, {"default": 3.0 * y})}


def test_variants_whose_default_signatures_differ_are_named(tmp_path, capsys):
    from tests.checks.lintmodules import raw_saved_model, write_module

    module = write_module(tmp_path / "m", raw_saved_model((_takes_x, ["train"]), (_takes_y, [])))
    assert main(["convert", str(module), str(tmp_path / "out"), "--no-smoke-test"]) == 2
    err = capsys.readouterr().err
    assert "the 'default' signature of variant ['train'] takes ['x']" in err
    assert "inference variant's takes ['y']" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_example_converts_from_its_manifest(tmp_path, capsys):
    """The bundled text-embedding example (a recipe with a vocabulary table), smoke-tested."""
    from tests.fixture_paths import REPO

    out = tmp_path / "example-tf2"
    assert main(["convert", str(REPO / "examples" / "text-embedding" / "hubpub.yaml"),
                 str(out)]) == 0, capsys.readouterr().err
    loaded = tf.saved_model.load(str(out))
    vectors = loaded(tf.constant(["the quick brown fox", ""])).numpy()
    assert vectors.shape[0] == 2 and np.isfinite(vectors).all()
    assert sorted(loaded.signatures) == ["default"]
