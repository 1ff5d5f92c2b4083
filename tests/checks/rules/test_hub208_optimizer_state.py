"""HUB208: optimizer slot variables or a global step exported as module variables."""

from __future__ import annotations

from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub208_optimizer_state as rule
from hubpub.spec.view import VariableView
from tests.checks.modulefns import dense_module, lint, optimizer_module, source_text, spec_view

# hubpub refuses these collections unless the publisher drops them.
DROPPED = ["train_op", "global_step"]


@pytest.fixture(scope="module")
def views():
    adam = partial(optimizer_module, "AdamOptimizer", global_step=True)
    momentum = partial(optimizer_module, "MomentumOptimizer", learning_rate=0.1, momentum=0.9)
    return {
        "adam": spec_view(adam, drop_collections=DROPPED),
        "momentum-two-variants": spec_view(lambda training: momentum(),
                                           [({"train"}, {"training": True}),
                                            (set(), {"training": False})],
                                           drop_collections=DROPPED),
        "dense": spec_view(dense_module),
    }


def test_adam_state_and_global_step(views):
    findings = lint(rule, views["adam"])
    assert {(f.code, f.severity) for f in findings} == {(rule.CODE, Severity.ERROR)}
    by_node = {f.location.node: f for f in findings}
    assert set(by_node) == {"global_step", "beta1_power"}
    assert "exports a global step" in by_node["global_step"].message
    adam = by_node["beta1_power"].message
    assert "Adam optimizer state" in adam
    assert "'dense/kernel/Adam'" in adam and "and 2 more" in adam
    assert "get_or_create_global_step(" in source_text(by_node["global_step"].location)
    assert ".minimize(" in source_text(by_node["beta1_power"].location)


def test_reported_once_for_all_variants(views):
    [finding] = lint(rule, views["momentum-two-variants"])
    assert finding.location.variant == ("train",)
    assert "'dense/kernel/Momentum', 'dense/bias/Momentum'" in finding.message


def test_clean(views):
    assert lint(rule, views["dense"]) == []


@pytest.mark.parametrize(("name", "kind"), [
    ("dense/kernel", None),
    ("bn/moving_mean", None),
    ("adam_tower/kernel", None),
    ("dense/kernel/Adam_1", "Adam"),
    ("dense/kernel/Ftrl", "Ftrl"),
    ("embeddings/part_0/Adagrad", "Adagrad"),
    ("dense/kernel/RMSProp_1", "RMSProp"),
    ("beta2_power", "Adam"),
    ("global_step", "global_step"),
    ("Adam/dense/kernel/m", "Adam"),
    ("Ftrl/iter", "Ftrl"),
])
def test_optimizer_kind(name, kind):
    assert rule.optimizer_kind(VariableView(name, name, "float32", (), False)) == kind
