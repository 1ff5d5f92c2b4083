"""HUB202: L1/L2 regularization through Ftrl / proximal optimizers (graph, sources, checkpoint)."""

from __future__ import annotations

import dataclasses
import re
from functools import partial

import pytest

from hubpub._tf import tf
from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub202_optimizer_regularization as rule
from tests.checks.modulefns import dense_module, lint, optimizer_module, source_text, spec_view

v1 = tf.compat.v1


def _optimizer_view(optimizer, **kwargs):
    # hubpub refuses the train_op collection unless the publisher drops it.
    return spec_view(partial(optimizer_module, optimizer, learning_rate=0.1, **kwargs),
                     drop_collections=["train_op"])


@pytest.fixture(scope="module")
def clean_view():
    return spec_view(partial(dense_module, l2=0.01))


@pytest.mark.parametrize(("optimizer", "kwargs", "op", "shown"), [
    ("FtrlOptimizer", {"l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02},
     "ResourceApplyFtrl", ["l1=0.01", "l2=0.02"]),
    ("FtrlOptimizer", {"l2_shrinkage_regularization_strength": 0.3},
     "ResourceApplyFtrlV2", ["l2_shrinkage=0.3"]),
    ("ProximalGradientDescentOptimizer", {"l1_regularization_strength": 0.01},
     "ResourceApplyProximalGradientDescent", ["l1=0.01"]),
    ("ProximalAdagradOptimizer", {"l2_regularization_strength": 0.5},
     "ResourceApplyProximalAdagrad", ["l2=0.5"]),
], ids=["ftrl", "ftrl-shrinkage", "proximal-gd", "proximal-adagrad"])
def test_update_ops_in_the_module_graph(optimizer, kwargs, op, shown):
    [finding] = lint(rule, _optimizer_view(optimizer, **kwargs))
    assert (finding.code, finding.severity) == (rule.CODE, Severity.WARNING)
    assert op in finding.message and "2 variable(s)" in finding.message
    for text in shown:
        assert text in finding.message
    assert not re.search(r"=0[,)]", finding.message)  # zero strengths are not listed
    assert finding.location.variant == ()
    assert finding.location.node.endswith(f"/update_dense/kernel/{op}")
    assert ".minimize(" in source_text(finding.location)


@pytest.mark.parametrize("optimizer", ["FtrlOptimizer", "ProximalAdagradOptimizer",
                                       "AdamOptimizer"])
def test_optimizer_without_regularization_is_left_to_hub208(optimizer):
    assert lint(rule, _optimizer_view(optimizer)) == []


TRAIN_SCRIPT = """\
import tensorflow as tf
import tf_keras
from tensorflow.compat.v1.train import ProximalAdagradOptimizer as PA

strength = 1e-4
a = tf.compat.v1.train.FtrlOptimizer(0.1, l1_regularization_strength=0.001)  # hit l1_regularization_strength=0.001
b = tf.compat.v1.train.FtrlOptimizer(0.1, l1_regularization_strength=0.0)
c = tf_keras.optimizers.Ftrl(0.1, -0.5, 0.1, 0.0, 0.01)  # hit l2_regularization_strength=0.01
d = PA(0.1, 0.1, 0.0, 0)
e = PA(0.1, l2_regularization_strength=strength)  # hit l2_regularization_strength=strength
f = tf.keras.optimizers.Ftrl(l2_shrinkage_regularization_strength=1e-4)  # hit l2_shrinkage_regularization_strength=0.0001
g = mylib.Ftrl(l1_regularization_strength=1.0)
h = tf.compat.v1.train.ProximalGradientDescentOptimizer(0.1, 0.05)  # hit l1_regularization_strength=0.05
"""


def _expected_calls(text):
    """(line, column, argument) of each call marked ``# hit`` in the script."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        marker = re.search(r"# hit (\S+)", line)
        if marker:
            column = line.index("= ") + 3
            out.append((number, column, marker.group(1)))
    return out


def test_training_sources(tmp_path, clean_view):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    findings = lint(rule, dataclasses.replace(clean_view, training_sources=[script]))
    found = [(f.location.line, f.location.column, f.message) for f in findings]
    expected = _expected_calls(TRAIN_SCRIPT)
    assert [(line, col) for line, col, _ in found] == [(line, col) for line, col, _ in expected]
    for (_, _, message), (_, _, argument) in zip(found, expected, strict=True):
        assert argument in message
    assert {f.location.source for f in findings} == {str(script)}
    assert "tensorflow.compat.v1.train.ProximalAdagradOptimizer(" in findings[2].message


def test_unparsable_training_source(tmp_path, clean_view):
    script = tmp_path / "train.py"
    script.write_text("import tensorflow as tf\nopt = tf.compat.v1.train.FtrlOptimizer(0.1,\n")
    [finding] = lint(rule, dataclasses.replace(clean_view, training_sources=[script]))
    assert "could not be scanned" in finding.message and "SyntaxError" in finding.message
    assert (finding.location.source, finding.location.line) == (str(script), 2)


def _save_checkpoint(prefix, optimizer):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.constant([[1.0, 2.0, 3.0, 4.0]])
        y = v1.layers.dense(x, 3)
        if optimizer is not None:
            optimizer.minimize(tf.reduce_sum(y))
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            return v1.train.Saver().save(session, str(prefix))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    return {
        "ftrl": _save_checkpoint(folder / "ftrl" / "model.ckpt",
                                 v1.train.FtrlOptimizer(0.1, l1_regularization_strength=0.01)),
        "proximal": _save_checkpoint(folder / "proximal" / "model.ckpt",
                                     v1.train.ProximalAdagradOptimizer(0.1)),
        "adam": _save_checkpoint(folder / "adam" / "model.ckpt", v1.train.AdamOptimizer()),
        "plain": _save_checkpoint(folder / "plain" / "model.ckpt", None),
    }


@pytest.mark.parametrize(("name", "kind", "slots"), [
    ("ftrl", "Ftrl", 4), ("proximal", "ProximalAdagrad", 2)])
def test_slot_variables_in_the_weights_checkpoint(clean_view, checkpoints, name, kind, slots):
    view = dataclasses.replace(clean_view, checkpoint_path=checkpoints[name])
    [finding] = lint(rule, view)
    assert f"{slots} {kind} slot variable(s)" in finding.message
    assert re.search(rf"'dense/(kernel|bias)/{kind}(_1)?'", finding.message)
    assert finding.location.path == checkpoints[name]


@pytest.mark.parametrize("name", ["adam", "plain"])
def test_checkpoint_without_proximal_slots(clean_view, checkpoints, name):
    assert lint(rule, dataclasses.replace(clean_view, checkpoint_path=checkpoints[name])) == []


def test_checkpoint_that_cannot_be_read_is_skipped(clean_view, tmp_path):
    view = dataclasses.replace(clean_view, checkpoint_path=str(tmp_path / "missing.ckpt"))
    assert lint(rule, view) == []
