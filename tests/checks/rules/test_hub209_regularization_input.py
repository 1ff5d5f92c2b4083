"""HUB209: a regularization loss depends on a signature input, or names no node."""

from __future__ import annotations

from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub209_regularization_input as rule
from hubpub.spec.view import ModuleView
from tests.checks.modulefns import (
    VIEW_PATH,
    dense_module,
    input_regularizer_module,
    lint,
    source_text,
    spec_view,
)


@pytest.fixture(scope="module")
def views():
    import hubpub as hub

    spec = hub.create_module_spec(partial(dense_module, l2=0.01))
    ghost = type(spec.saved_model)()
    ghost.CopyFrom(spec.saved_model)
    ghost.meta_graphs[0].collection_def["regularization_losses"].node_list.value.append("ghost:0")
    return {
        "activity": spec_view(input_regularizer_module),
        "weights": spec_view(partial(dense_module, l2=0.01)),
        "ghost": ModuleView.from_saved_model(ghost, path=VIEW_PATH),
    }


def test_loss_reading_an_input(views):
    [finding] = lint(rule, views["activity"])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.ERROR)
    assert "regularization loss 'activity_penalty:0'" in finding.message
    assert "depends on input 'x'" in finding.message
    assert (finding.location.variant, finding.location.node) == ((), "activity_penalty")
    assert "activity_penalty" in source_text(finding.location)


def test_loss_naming_no_node(views):
    [finding] = lint(rule, views["ghost"])
    assert "'ghost:0'" in finding.message and "names no node" in finding.message


def test_weight_penalties_are_clean(views):
    assert views["weights"].variants[0].collection("regularization_losses")
    assert lint(rule, views["weights"]) == []
