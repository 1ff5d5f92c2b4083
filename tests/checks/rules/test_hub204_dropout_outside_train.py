"""HUB204: dropout active in a variant that is not a train variant."""

from __future__ import annotations

from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub204_dropout_outside_train as rule
from tests.checks.modulefns import (
    dense_module,
    dropout_module,
    fed_flag_dropout_module,
    lint,
    source_text,
    spec_view,
    train_and_default,
)

DEFAULT_ONLY = [(set(), {"training": True})]


@pytest.fixture(scope="module")
def views():
    return {
        "tf-layers": spec_view(dropout_module, DEFAULT_ONLY),
        "keras": spec_view(partial(dropout_module, keras=True), DEFAULT_ONLY),
        "tensor-flag-true": spec_view(partial(dropout_module, as_tensor=True), DEFAULT_ONLY),
        "train-and-default": spec_view(dropout_module, train_and_default()),
        "tensor-flag-train-and-default": spec_view(partial(dropout_module, as_tensor=True),
                                                   train_and_default()),
        "keras-train-and-default": spec_view(partial(dropout_module, keras=True),
                                             train_and_default()),
        "fed-flag": spec_view(fed_flag_dropout_module),
        "dense": spec_view(dense_module),
    }


@pytest.mark.parametrize(("name", "node", "function"), [
    ("tf-layers", "dropout/dropout/random_uniform/RandomUniform", False),
    ("keras", "dropout/dropout/random_uniform/RandomUniform", False),
    ("tensor-flag-true", "dropout/cond", True),
])
def test_dropout_active_in_the_default_variant(views, name, node, function):
    [finding] = lint(rule, views[name])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.ERROR)
    assert "(rate 0.3)" in finding.message and "is active in variant {}" in finding.message
    assert ("inside function" in finding.message) is function
    assert finding.location.variant == ()
    assert finding.location.node == node
    assert "ropout(" in source_text(finding.location)


@pytest.mark.parametrize("name", ["train-and-default", "tensor-flag-train-and-default",
                                  "keras-train-and-default", "fed-flag", "dense"])
def test_clean(views, name):
    assert lint(rule, views[name]) == []


def test_sites_of_a_tensor_flag(views):
    """The same layer, built with a flag defaulting to True (train) and False (default)."""
    train, default = (views["tensor-flag-train-and-default"].variant(tags)
                      for tags in (["train"], []))
    [in_train], [in_default] = rule.dropout_sites(train), rule.dropout_sites(default)
    assert (in_train.active, in_default.active) == (True, False)
    assert in_train.report_node == in_default.report_node == "dropout/cond"
    assert in_train.rate == pytest.approx(0.3)
    [fed] = rule.dropout_sites(views["fed-flag"].variants[0])
    assert fed.active is None


def test_random_initializers_are_not_dropout(views):
    variant = views["dense"].variants[0]
    assert any(n.op == "RandomUniform" for n in variant.nodes.values())  # glorot_uniform
    assert rule.dropout_sites(variant) == []
