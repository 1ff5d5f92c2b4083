"""HUB211: batch norm in training mode, or other update ops, in a non-train variant."""

from __future__ import annotations

from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub211_batchnorm_training_in_inference as rule
from tests.checks.modulefns import (
    batch_norm_module,
    counter_module,
    lint,
    raw_view,
    source_text,
    spec_view,
    train_and_default,
)

TRAINING_DEFAULT = [(set(), {"training": True})]


@pytest.fixture(scope="module")
def views():
    bn = batch_norm_module
    return {
        # hubpub exports with default attrs stripped: is_training=True is then absent.
        "fused": spec_view(bn, TRAINING_DEFAULT),
        "fused-raw": raw_view(bn, TRAINING_DEFAULT),
        "unfused": spec_view(partial(bn, fused=False), TRAINING_DEFAULT),
        "fused-tensor-flag": spec_view(partial(bn, as_tensor=True), TRAINING_DEFAULT),
        "unfused-tensor-flag": spec_view(partial(bn, fused=False, as_tensor=True),
                                         TRAINING_DEFAULT),
        "keras": spec_view(partial(bn, keras=True), TRAINING_DEFAULT),
        "counter": spec_view(counter_module, train_and_default()),
        # Clean
        "tf-train-and-default": spec_view(bn, train_and_default()),
        "unfused-train-and-default": spec_view(partial(bn, fused=False), train_and_default()),
        "tensor-flag-train-and-default": spec_view(partial(bn, as_tensor=True),
                                                   train_and_default()),
        "unfused-tensor-flag-train-and-default": spec_view(
            partial(bn, fused=False, as_tensor=True), train_and_default()),
        "keras-tensor-flag-train-and-default": spec_view(partial(bn, keras=True, as_tensor=True),
                                                         train_and_default()),
        "counter-only-default": spec_view(counter_module, [(set(), {"training": False})]),
    }


@pytest.mark.parametrize(("name", "nodes"), [
    ("fused", {"batch_normalization/FusedBatchNormV3"}),
    ("fused-raw", {"batch_normalization/FusedBatchNormV3"}),
    ("unfused", {"batch_normalization/AssignMovingAvg/AssignSubVariableOp"}),
    ("fused-tensor-flag", {"batch_normalization/cond"}),
    ("unfused-tensor-flag", {"batch_normalization/cond_2", "batch_normalization/cond_3"}),
    ("keras", {"batch_normalization/FusedBatchNormV3"}),
], ids=["fused", "fused-raw", "unfused", "fused-tensor-flag", "unfused-tensor-flag", "keras"])
def test_batch_norm_in_training_mode(views, name, nodes):
    [finding] = lint(rule, views[name])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.ERROR)
    assert "batch norm 'batch_normalization' runs in training mode in variant {}" \
        in finding.message
    assert finding.location.variant == ()
    assert finding.location.node in nodes
    assert "batchnormalization(" in source_text(finding.location).lower().replace("_", "")


def test_other_update_ops_beside_a_train_variant(views):
    [update] = views["counter"].variant([]).collection("update_ops")
    [finding] = lint(rule, views["counter"])
    assert f"exports 1 update op(s) ('{update}')" in finding.message
    assert (finding.location.variant, finding.location.node) == ((), update)
    assert "assign_add(" in source_text(finding.location)


@pytest.mark.parametrize("name", [
    "tf-train-and-default", "unfused-train-and-default", "tensor-flag-train-and-default",
    "unfused-tensor-flag-train-and-default", "keras-tensor-flag-train-and-default",
    # Without a train variant the default one is what consumers fine-tune: updates belong there.
    "counter-only-default",
])
def test_clean(views, name):
    assert lint(rule, views[name]) == []
