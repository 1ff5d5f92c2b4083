"""HUB302: op types the installed TensorFlow does not know (custom ops)."""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from tests.checks.lintmodules import lint, raw_saved_model, write_module

v1 = tf.compat.v1


def graph_with_branches():
    x = v1.placeholder(tf.float32, [None], name="x")
    flag = v1.placeholder_with_default(False, [], name="flag")
    y = tf.cond(flag, lambda: x * 2.0, lambda: x - 1.0)
    return {"default": ({"default": x}, {"default": tf.identity(y, name="y")})}


@pytest.fixture(scope="module")
def saved_model():
    return raw_saved_model((graph_with_branches, ()))


@pytest.mark.slow
def test_custom_op_is_reported_once_per_variant(saved_model, tmp_path):
    """A module written by a TensorFlow build with a custom op library loaded."""
    edited = type(saved_model)()
    edited.CopyFrom(saved_model)
    nodes = {n.name: n for n in edited.meta_graphs[0].graph_def.node}
    nodes["y"].op = "ZeroOut"
    body = edited.meta_graphs[0].graph_def.library.function[0]
    body.node_def[0].op = "ZeroOut"
    [finding] = lint(write_module(tmp_path / "m", edited), codes=["HUB302"])
    assert finding.message == (f"op type 'ZeroOut' (node 'y', 2 nodes) is not registered in "
                               f"TensorFlow {tf.__version__}: consumers cannot load this module "
                               f"without the library that defines it")
    assert (finding.location.variant, finding.location.node) == ((), "y")


@pytest.mark.slow
def test_standard_ops_and_calls_of_library_functions_pass(saved_model, tmp_path):
    edited = type(saved_model)()
    edited.CopyFrom(saved_model)
    graph = edited.meta_graphs[0].graph_def
    call = graph.node.add(name="direct_call", op=graph.library.function[0].signature.name)
    call.input.append("x")
    assert lint(write_module(tmp_path / "m", edited), codes=["HUB302"]) == []
