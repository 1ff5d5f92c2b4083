"""Interop with real consumers: tensorflow_hub 0.15.0's hub.Module and TF2's tf.saved_model.load.

The same module_fns (tests/modulefns.py, ``api=`` argument) are exported once by hubpub and
once by tensorflow_hub 0.15.0. Every module is then run three ways: hubpub.Module,
tensorflow_hub's hub.Module (graph mode) and tf.saved_model.load (what hub.load does), and
the outputs must agree, and match the values computed by hand.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hubpub as hub
from hubpub._tf import tf
from tests import modulefns
from tests.fixture_paths import HALF_PLUS_TWO
from tests.oracle import import_tensorflow_hub

pytestmark = [pytest.mark.slow, pytest.mark.interop]

v1 = tf.compat.v1

FIXTURE = HALF_PLUS_TWO
TRAIN_AND_DEFAULT = [({"train"}, {"training": True}), (set(), {"training": False})]


@dataclass(frozen=True)
class Sparse:
    indices: list
    values: list
    dense_shape: list


@dataclass(frozen=True)
class Call:
    """One signature call: inputs by key, and the expected outputs by key."""

    inputs: dict[str, Any]
    expected: dict[str, Any]
    signature: str = "default"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    module_fn: Any  # called as module_fn(api=..., **variant args); may take vocab_file
    calls: list[Call]
    variants: list | None = None
    needs_vocab: bool = False
    extra: dict = field(default_factory=dict)


BN_INPUT = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]], np.float32)
CASES = {
    "half_plus_two": Case(modulefns.half_plus_two, [
        Call({"default": np.array([1.0, 2.0, 10.0], np.float32)},
             {"default": [2.5, 3.0, 7.0]})]),
    "fruit_to_pet": Case(modulefns.fruit_to_pet, [
        Call({"default": np.array([1.0, 2.0], np.float32)}, {"default": [6.0, 12.0]}),
        Call({"apples": np.array([1.0, 2.0], np.float32),
              "pears": np.array([10.0, 20.0], np.float32)},
             {"cats": [13.0, 26.0], "dogs": [-29.0, -58.0]}, signature="fruit_to_pet")]),
    "text": Case(modulefns.text_module, [
        Call({"default": np.array([b"dog", b"emu", b"bird"])},
             {"default": [[1.0, 10.0], [-1.0, -1.0], [2.0, 20.0]], "ids": [1, -1, 2]})],
        needs_vocab=True),
    "batch_norm": Case(modulefns.batch_norm, [
        # Training: batch statistics make each feature -1, 1 (variance 1, epsilon 1e-3).
        Call({"default": BN_INPUT}, {"default": np.array([[-3.0, -3.0], [3.0, 3.0]])
                                     / np.sqrt(1.001)}, tags=("train",)),
        # Inference: moving mean 0 and variance 1 at initialisation, so x / sqrt(1 + 1e-3).
        Call({"default": BN_INPUT}, {"default": (BN_INPUT.sum(1, keepdims=True)
                                                 / np.sqrt(1.001)).repeat(2, 1)})],
        variants=TRAIN_AND_DEFAULT),
    "sparse": Case(modulefns.sparse_input, [
        Call({"default": Sparse([[0, 0], [0, 2], [1, 1]], [1.0, 1.0, 5.0], [2, 3])},
             {"default": [4.0, 10.0]})]),
    "no_variables": Case(modulefns.no_variables, [
        Call({"default": np.array([0.0, 2.0], np.float32)}, {"default": [-1.0, 5.0]})]),
    "partitioned": Case(modulefns.partitioned, [
        Call({"default": np.array([[1.0, 1.0, 1.0, 1.0]], np.float32)},
             {"default": [[6.0, -6.0]]})]),
    "control_flow": Case(modulefns.control_flow, [
        Call({"x": np.array([1.0, 2.0], np.float32), "n": np.array(3, np.int32)},
             {"cond": [2.0, 4.0], "loop": [8.0, 16.0]})]),
    "image": Case(modulefns.image_module, [
        Call({"images": np.ones([1, 4, 4, 3], np.float32)}, {"default": [2.0]})],
        extra={"height": 224, "width": 160}),
}
CALLS = [pytest.param(name, i, id=f"{name}-{i}") for name, case in CASES.items()
         for i in range(len(case.calls))]


@pytest.fixture(scope="module")
def oracle():
    return import_tensorflow_hub()


def _module_fn(case: Case, api: Any, vocab: Path):
    args = dict(case.extra, api=api)
    if case.needs_vocab:
        args["vocab_file"] = str(vocab)
    return functools.partial(case.module_fn, **args)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, oracle):
    """``{(exporter, case name): module dir}`` for both exporters and every case."""
    root = tmp_path_factory.mktemp("interop")
    vocab = root / "src" / "vocab.txt"
    vocab.parent.mkdir()
    vocab.write_text("cat\ndog\nbird\n")
    dirs = {}
    for name, case in CASES.items():
        target = root / "hubpub" / name
        hub.create_module_spec(_module_fn(case, hub, vocab), case.variants).export(
            target, checkpoint_path=None)
        dirs["hubpub", name] = target

        target = root / "tensorflow_hub" / name
        spec = oracle.create_module_spec(_module_fn(case, oracle, vocab), case.variants)
        with tf.Graph().as_default():
            module = oracle.Module(spec)
            with v1.Session() as session:
                session.run(v1.global_variables_initializer())
                module.export(str(target), session)
        dirs["tensorflow_hub", name] = target
    return dirs


def _graph_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {key: tf.SparseTensor(value.indices, value.values, value.dense_shape)
            if isinstance(value, Sparse) else value for key, value in inputs.items()}


def _tf2_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in inputs.items():
        if isinstance(value, Sparse):
            out[f"{key}_indices"] = tf.constant(value.indices, tf.int64)
            out[f"{key}_values"] = tf.constant(value.values, tf.float32)
            out[f"{key}_dense_shape"] = tf.constant(value.dense_shape, tf.int64)
        else:
            out[key] = tf.constant(value)
    return out


def _run_graph_module(module_class: Any, module_dir: Path, call: Call) -> dict[str, Any]:
    with tf.Graph().as_default():
        module = module_class(str(module_dir), tags=set(call.tags))
        outputs = module(_graph_inputs(call.inputs), signature=call.signature, as_dict=True)
        with v1.Session() as session:
            session.run([v1.global_variables_initializer(), v1.tables_initializer()])
            return session.run(outputs)


def _run_tf2(loaded: Any, call: Call) -> dict[str, Any]:
    outputs = loaded.signatures[call.signature](**_tf2_inputs(call.inputs))
    return {key: value.numpy() for key, value in outputs.items()}


def _assert_outputs(actual: dict[str, Any], expected: dict[str, Any], who: str) -> None:
    assert sorted(actual) == sorted(expected), who
    for key, value in expected.items():
        np.testing.assert_allclose(actual[key], value, rtol=1e-5, atol=1e-3,
                                   err_msg=f"{who}: output {key!r}")


@pytest.mark.parametrize("exporter", ["hubpub", "tensorflow_hub"])
@pytest.mark.parametrize("name, index", CALLS)
def test_same_outputs_in_every_consumer(exported, oracle, exporter, name, index):
    call = CASES[name].calls[index]
    module_dir = exported[exporter, name]
    _assert_outputs(_run_graph_module(hub.Module, module_dir, call), call.expected,
                    f"hubpub.Module on a {exporter} export")
    _assert_outputs(_run_graph_module(oracle.Module, module_dir, call), call.expected,
                    f"tensorflow_hub.Module on a {exporter} export")
    loaded = tf.saved_model.load(str(module_dir), tags=list(call.tags))
    _assert_outputs(_run_tf2(loaded, call), call.expected,
                    f"tf.saved_model.load on a {exporter} export")


@pytest.mark.parametrize("exporter", ["hubpub", "tensorflow_hub"])
def test_hub_load_picks_the_default_variant(exported, exporter):
    call = CASES["batch_norm"].calls[1]
    loaded = hub.load(str(exported[exporter, "batch_norm"]))
    _assert_outputs(_run_tf2(loaded, call), call.expected, "hubpub.load")


def test_hubpub_export_has_the_same_shape_as_tensorflow_hubs(exported):
    for name in CASES:
        ours = hub.load_module_spec(str(exported["hubpub", name]))
        theirs = hub.load_module_spec(str(exported["tensorflow_hub", name]))
        assert ours.get_tags() == theirs.get_tags(), name
        for tags in ours.get_tags():
            assert sorted(ours.get_signature_names(tags)) == sorted(
                theirs.get_signature_names(tags)), name
            for signature in ours.get_signature_names(tags):
                for infos in ("get_input_info_dict", "get_output_info_dict"):
                    mine = getattr(ours, infos)(signature, tags)
                    other = getattr(theirs, infos)(signature, tags)
                    assert {k: repr(v) for k, v in mine.items()} == {
                        k: repr(v) for k, v in other.items()}, (name, signature)
        assert sorted(p.name for p in (exported["hubpub", name] / "assets").iterdir()) == \
            sorted(p.name for p in (exported["tensorflow_hub", name] / "assets").iterdir())


def test_trainable_collections_match_tensorflow_hub(exported, oracle):
    found = {}
    for label, module_class in (("hubpub", hub.Module), ("tensorflow_hub", oracle.Module)):
        with tf.Graph().as_default():
            module = module_class(str(exported["hubpub", "batch_norm"]), trainable=True,
                                  tags={"train"})
            module(BN_INPUT)
            found[label] = {
                key: sorted(getattr(item, "name", None) for item in v1.get_collection(key))
                for key in (v1.GraphKeys.TRAINABLE_VARIABLES, v1.GraphKeys.UPDATE_OPS,
                            v1.GraphKeys.REGULARIZATION_LOSSES,
                            v1.GraphKeys.GLOBAL_VARIABLES)}
    assert found["hubpub"] == found["tensorflow_hub"]
    assert found["hubpub"][v1.GraphKeys.UPDATE_OPS]


@pytest.mark.parametrize("exporter, reader", [("hubpub", "tensorflow_hub"),
                                              ("tensorflow_hub", "hubpub")])
def test_image_module_info_is_readable_by_the_other_library(exported, oracle, exporter, reader):
    api = hub if reader == "hubpub" else oracle
    with tf.Graph().as_default():
        module = api.Module(str(exported[exporter, "image"]))
        assert api.get_expected_image_size(module) == [224, 160]
        assert api.get_num_image_channels(module) == 3


# --- the TF Hub team's half_plus_two --------------------------------------------------------

@pytest.fixture(scope="module")
def half_plus_two_tarball():
    if not FIXTURE.is_file():
        pytest.skip(f"{FIXTURE} is not on this machine")
    return FIXTURE


def _half_plus_two_values(handle: str) -> np.ndarray:
    with tf.Graph().as_default():
        module = hub.Module(handle)
        return _run(module([1.0, 2.0, 10.0]))


def _run(fetches):
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        return session.run(fetches)


def test_half_plus_two_from_an_extracted_copy(half_plus_two_tarball, tmp_path):
    from hubpub.files.archive import safe_extract

    safe_extract(half_plus_two_tarball, tmp_path)
    np.testing.assert_allclose(_half_plus_two_values(str(tmp_path)), [2.5, 3.0, 7.0])


def test_half_plus_two_from_the_tarball(half_plus_two_tarball, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    np.testing.assert_allclose(_half_plus_two_values(str(half_plus_two_tarball)),
                               [2.5, 3.0, 7.0])
    loaded = hub.load(str(half_plus_two_tarball))
    out = loaded.signatures["default"](tf.constant([1.0, 2.0, 10.0]))["default"]
    np.testing.assert_allclose(out.numpy(), [2.5, 3.0, 7.0])
