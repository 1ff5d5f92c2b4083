"""HUB105: signature inputs that are computed inside the module, not placeholders."""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from tests.checks.lintmodules import lint, raw_saved_model, write_module

v1 = tf.compat.v1


def split_inputs():
    halves = tf.split(v1.placeholder(tf.float32, [4], name="pair"), 2, name="split")
    return {"default": ({"x": halves[0], "y": halves[1]}, {"default": halves[0] + halves[1]})}


def placeholder_inputs():
    x = v1.placeholder(tf.float32, [None], name="x")
    rate = v1.placeholder_with_default(0.5, [], name="rate")
    sparse = v1.sparse_placeholder(tf.float32, name="sparse")
    return {"default": ({"x": x, "rate": rate, "sparse": sparse}, {"default": x * rate})}


@pytest.mark.slow
def test_each_computed_input_is_reported(tmp_path):
    module = write_module(tmp_path / "m", raw_saved_model((split_inputs, ())))
    findings = lint(module, codes=["HUB105"])
    assert [f.message for f in findings] == [
        "input 'x' of signature 'default' is tensor 'split:0' of Split node 'split', not a "
        "placeholder: what computes it in the module never runs, since consumers feed it",
        "input 'y' of signature 'default' is tensor 'split:1' of Split node 'split', not a "
        "placeholder: what computes it in the module never runs, since consumers feed it"]
    assert {(f.location.signature, f.location.node) for f in findings} == {("default", "split")}
    assert {f.severity.name for f in findings} == {"WARNING"}


@pytest.mark.slow
def test_placeholders_of_every_kind_are_fine(tmp_path):
    module = write_module(tmp_path / "m", raw_saved_model((placeholder_inputs, ())))
    assert lint(module, codes=["HUB105"]) == []
