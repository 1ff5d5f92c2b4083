"""HUB502: what a TF2 export (`hubpub convert`, `build --tf2`) cannot hold, named by node."""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from tests.checks.lintmodules import lint, raw_saved_model, write_module

pytestmark = pytest.mark.slow

v1 = tf.compat.v1


def ref_variable():
    x = v1.placeholder(tf.float32, [None], name="x")
    w = v1.get_variable("w", [], initializer=v1.ones_initializer(), use_resource=False)
    return {"default": ({"default": x}, {"default": w * x})}


def resource_variable():
    x = v1.placeholder(tf.float32, [None], name="x")
    w = v1.get_variable("w", [], initializer=v1.ones_initializer(), use_resource=True)
    return {"default": ({"default": x}, {"default": w * x})}


def sparse_input():
    sp = v1.sparse_placeholder(tf.float32, [None, 3], name="sp")
    return {"default": ({"default": sp}, {"default": tf.sparse.reduce_sum(sp, axis=1)})}


def extra_variable():
    x = v1.placeholder(tf.float32, [None], name="x")
    w = v1.get_variable("w", [], initializer=v1.ones_initializer(), use_resource=True)
    b = v1.get_variable("only_here", [], initializer=v1.ones_initializer(), use_resource=True)
    return {"default": ({"default": x}, {"default": w * x + b})}


def _write_checkpoint(module, graph_fn):
    """variables/ with the values of the variables ``graph_fn`` creates."""
    with tf.Graph().as_default():
        graph_fn()
        saver = v1.train.Saver()
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            saver.save(session, str(module / "variables" / "variables"), write_meta_graph=False)


def _messages(tmp_path, *variants, values=None):
    module = write_module(tmp_path / "m", raw_saved_model(*variants))
    if values is not None:
        _write_checkpoint(module, values)
    return [(f.message, f.location.node, f.location.signature)
            for f in lint(module, codes=["HUB502"])]


def test_a_reference_variable_is_named(tmp_path):
    [(message, node, _)] = _messages(tmp_path, (ref_variable, []), values=ref_variable)
    assert node == "w"
    assert message.startswith("node 'w' (VariableV2) cannot be converted to TF2: a reference "
                              "variable")


def test_a_sparse_signature_input_is_named(tmp_path):
    [(message, _, signature)] = _messages(tmp_path, (sparse_input, []))
    assert signature == "default"
    assert message == ("signature 'default' input 'default' is a sparse tensor; the TF2 "
                       "export's __call__ takes dense tensors only")


def test_inference_state_missing_from_the_train_variant(tmp_path):
    [(message, node, _)] = _messages(tmp_path, (resource_variable, ["train"]),
                                     (extra_variable, []), values=extra_variable)
    assert node == "only_here"
    assert "is not in variant {train}" in message


def test_no_inference_variant(tmp_path):
    [(message, _, _)] = _messages(tmp_path, (resource_variable, ["train"]),
                                  (resource_variable, ["serve"]), values=resource_variable)
    assert message.startswith("no inference variant (tags []) among")


def test_a_convertible_module_passes(tmp_path):
    assert _messages(tmp_path, (resource_variable, ["train"]), (resource_variable, []),
                     values=resource_variable) == []
