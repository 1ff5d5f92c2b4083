"""HUB207: metadata says fine-tunable, but the fine-tuned variant has no trainable variables."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub207_fine_tunable_without_trainables as rule
from tests.checks.modulefns import VIEW_PATH, constant_weights_module, dense_module, lint, spec_view

FINE_TUNABLE = {"fine_tunable": True}
LINES = {"metadata": (20, 1), "metadata.fine_tunable": (23, 3)}


@pytest.fixture(scope="module")
def views():
    frozen = partial(dense_module, trainable=False)
    return {
        "frozen": spec_view(frozen, metadata=FINE_TUNABLE, manifest_lines=LINES),
        "constants": spec_view(constant_weights_module, metadata=FINE_TUNABLE,
                               manifest_lines=LINES),
        "trainable": spec_view(dense_module, metadata=FINE_TUNABLE, manifest_lines=LINES),
        # The train variant is the one consumers fine-tune.
        "train-trainable": spec_view(dense_module, [({"train"}, {}), (set(), {"trainable": False})],
                                     metadata=FINE_TUNABLE),
        "train-frozen": spec_view(dense_module, [({"train"}, {"trainable": False}), (set(), {})],
                                  metadata=FINE_TUNABLE),
    }


@pytest.mark.parametrize(("name", "why", "variant"), [
    ("frozen", "all 2 of its variables are created with trainable=False", "{}"),
    ("constants", "no variables at all", "{}"),
    ("train-frozen", "all 2 of its variables", "{train}"),
])
def test_fine_tunable_without_trainable_variables(views, name, why, variant):
    [finding] = lint(rule, views[name])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.ERROR)
    assert f"variant {variant}, the one consumers fine-tune" in finding.message
    assert why in finding.message


def test_points_at_the_manifest_line(views):
    [finding] = lint(rule, views["frozen"])
    location = finding.location
    assert (location.path, location.line, location.column) == (VIEW_PATH, 23, 3)


@pytest.mark.parametrize("metadata", [{}, {"fine_tunable": False}, {"fine_tunable": "yes"}],
                         ids=["no-metadata", "not-fine-tunable", "not-a-bool"])
def test_only_when_the_metadata_claims_it(views, metadata):
    assert lint(rule, dataclasses.replace(views["frozen"], metadata=metadata)) == []


@pytest.mark.parametrize("name", ["trainable", "train-trainable"])
def test_clean(views, name):
    assert lint(rule, views[name]) == []
