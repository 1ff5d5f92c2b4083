"""HUB205: batch norm or dropout present, but no train variant."""

from __future__ import annotations

from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub205_no_train_variant as rule
from tests.checks.modulefns import (
    batch_norm_module,
    dense_module,
    dropout_module,
    lint,
    source_text,
    spec_view,
    train_and_default,
)

INFERENCE_ONLY = [(set(), {"training": False})]


@pytest.fixture(scope="module")
def views():
    return {
        "batch-norm": spec_view(batch_norm_module, INFERENCE_ONLY),
        "batch-norm-unfused": spec_view(partial(batch_norm_module, fused=False), INFERENCE_ONLY),
        "dropout": spec_view(dropout_module, INFERENCE_ONLY),
        "dropout-tensor-flag": spec_view(partial(dropout_module, as_tensor=True), INFERENCE_ONLY),
        "batch-norm-with-train": spec_view(batch_norm_module, train_and_default()),
        "dropout-with-train": spec_view(dropout_module, train_and_default()),
        "dense": spec_view(dense_module),
    }


@pytest.mark.parametrize(("name", "kind", "node", "call"), [
    ("batch-norm", "batch norm", "batch_normalization/FusedBatchNormV3", "batch_normalization("),
    # Unfused inference batch norm is plain arithmetic; its moving_mean variable gives it away.
    ("batch-norm-unfused", "batch norm", "batch_normalization/moving_mean",
     "batch_normalization("),
    ("dropout", "dropout", "dropout/Identity", "dropout("),
    ("dropout-tensor-flag", "dropout", "dropout/cond", "dropout("),
], ids=["batch-norm", "batch-norm-unfused", "dropout", "dropout-tensor-flag"])
def test_no_train_variant(views, name, kind, node, call):
    [finding] = lint(rule, views[name])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.WARNING)
    assert f"has {kind} ('{node}') but no train variant" in finding.message
    assert (finding.location.variant, finding.location.node) == ((), node)
    assert call in source_text(finding.location)


@pytest.mark.parametrize("name", ["batch-norm-with-train", "dropout-with-train", "dense"])
def test_clean(views, name):
    assert lint(rule, views[name]) == []
