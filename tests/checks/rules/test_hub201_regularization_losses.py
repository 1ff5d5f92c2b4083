"""HUB201: the fine-tuned variant has weights but no regularization losses."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub201_regularization_losses as rule
from hubpub.spec.view import VariableView
from tests.checks.modulefns import (
    dense_module,
    embedding_module,
    lint,
    source_text,
    spec_view,
)


@pytest.fixture(scope="module")
def views():
    return {
        "plain": spec_view(dense_module),
        "regularized": spec_view(partial(dense_module, l2=0.5)),
        "embedding": spec_view(embedding_module),
        "frozen": spec_view(partial(dense_module, trainable=False)),
        "train_regularized": spec_view(dense_module, [({"train"}, {"l2": 0.5}), (set(), {})]),
        "train_plain": spec_view(dense_module, [({"train"}, {}), (set(), {"l2": 0.5})]),
    }


@pytest.mark.parametrize(("name", "variant", "node", "call"), [
    ("plain", (), "dense/kernel", "layers.dense("),
    ("embedding", (), "embeddings", "get_variable("),
    ("train_plain", ("train",), "dense/kernel", "layers.dense("),
], ids=["dense", "embedding", "train-variant-unregularized"])
def test_weights_without_regularization_losses(views, name, variant, node, call):
    [finding] = lint(rule, views[name])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.WARNING)
    assert f"'{node}'" in finding.message and "regularization_losses" in finding.message
    assert finding.location.variant == variant
    assert finding.location.node == node
    assert call in source_text(finding.location)


@pytest.mark.parametrize("name", ["regularized", "frozen", "train_regularized"])
def test_clean(views, name):
    assert lint(rule, views[name]) == []


def test_publisher_says_not_fine_tunable(views):
    view = dataclasses.replace(views["plain"], metadata={"fine_tunable": False})
    assert lint(rule, view) == []
    view = dataclasses.replace(views["plain"], metadata={"fine_tunable": True})
    assert [f.code for f in lint(rule, view)] == [rule.CODE]


@pytest.mark.parametrize(("name", "shape", "trainable", "weight"), [
    ("dense/kernel", (4, 3), True, True),
    ("dense/bias", (3,), True, False),
    ("conv/kernel", (3, 3, 3, 8), False, False),
    ("bn/gamma", (8,), True, False),
    ("bn/moving_mean", (8,), False, False),
    ("embeddings/part_0", (5, 3), True, True),
    ("tower/weights", None, True, True),
    ("tower/scale", None, True, False),
    ("tower/bias", (4, 4), True, False),
])
def test_what_counts_as_a_weight(name, shape, trainable, weight):
    variable = VariableView(name, name, "float32", shape, trainable)
    assert rule.is_weight(variable) is weight
