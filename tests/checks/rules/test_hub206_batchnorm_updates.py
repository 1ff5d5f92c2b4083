"""HUB206: batch norm trains in a train variant but its updates are not in UPDATE_OPS."""

from __future__ import annotations

from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub206_batchnorm_updates as rule
from tests.checks.modulefns import (
    batch_norm_module,
    lint,
    raw_view,
    source_text,
    spec_view,
    train_and_default,
)

TOP_LEVEL = ("batch_normalization/AssignMovingAvg/AssignSubVariableOp",
             "batch_normalization/AssignMovingAvg_1/AssignSubVariableOp")
IN_CONDS = ("batch_normalization/cond_2", "batch_normalization/cond_3")
NO_UPDATE_OPS = ["update_ops"]


@pytest.fixture(scope="module")
def views():
    keras = partial(batch_norm_module, keras=True)
    return {
        # tf_keras in graph mode keeps updates on the layer: what other exporters ship.
        "keras-raw": raw_view(keras, train_and_default()),
        "keras-raw-tensor-flag": raw_view(partial(keras, as_tensor=True), train_and_default()),
        # A publisher who drops the collection.
        "tf-dropped": spec_view(batch_norm_module, train_and_default(),
                                drop_collections=NO_UPDATE_OPS),
        "tf-unfused-tensor-flag-dropped": spec_view(
            partial(batch_norm_module, fused=False, as_tensor=True), train_and_default(),
            drop_collections=NO_UPDATE_OPS),
        # Clean: tf.layers fill UPDATE_OPS, hubpub fills it for tf_keras layers.
        "tf-raw": raw_view(batch_norm_module, train_and_default()),
        "tf-unfused-tensor-flag": spec_view(
            partial(batch_norm_module, fused=False, as_tensor=True), train_and_default()),
        "keras-spec": spec_view(keras, train_and_default()),
        "keras-spec-tensor-flag": spec_view(partial(keras, as_tensor=True), train_and_default()),
        # A train variant whose flag is statically false never updates: nothing to collect.
        "tensor-flag-false-dropped": spec_view(
            partial(batch_norm_module, fused=False, as_tensor=True),
            [({"train"}, {"training": False})], drop_collections=NO_UPDATE_OPS),
    }


@pytest.mark.parametrize(("name", "nodes"), [
    ("keras-raw", TOP_LEVEL),
    ("keras-raw-tensor-flag", TOP_LEVEL),
    ("tf-dropped", TOP_LEVEL),
    ("tf-unfused-tensor-flag-dropped", IN_CONDS),
])
def test_updates_not_collected(views, name, nodes):
    [finding] = lint(rule, views[name])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.ERROR)
    assert "batch norm 'batch_normalization' trains in variant {train}" in finding.message
    assert "not in UPDATE_OPS" in finding.message
    for node in nodes:
        assert f"'{node}'" in finding.message
    assert finding.location.variant == ("train",)
    assert finding.location.node in nodes
    assert "batchnormalization(" in source_text(finding.location).lower().replace("_", "")


@pytest.mark.parametrize("name", ["tf-raw", "tf-unfused-tensor-flag", "keras-spec",
                                  "keras-spec-tensor-flag", "tensor-flag-false-dropped"])
def test_clean(views, name):
    assert lint(rule, views[name]) == []


def test_updates_inside_cond_functions(views):
    train = views["tf-unfused-tensor-flag"].variant(["train"])
    updates = rule.moving_average_updates(train)
    assert {u.report_node for u in updates} == set(IN_CONDS)
    assert {u.layer for u in updates} == {"batch_normalization"}
    assert all(u.function and u.active for u in updates)
