"""HUB210: dropout rate outside (min_rate, max_rate]."""

from __future__ import annotations

from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub210_dropout_rate as rule
from tests.checks.modulefns import dropout_module, lint, source_text, spec_view, train_and_default


@pytest.fixture(scope="module")
def views():
    return {
        (rate, as_tensor): spec_view(partial(dropout_module, rate=rate, as_tensor=as_tensor),
                                     train_and_default())
        for rate in (0.7, 0.5, 0.3) for as_tensor in (False, True)
    }


@pytest.mark.parametrize(("as_tensor", "node"), [
    (False, "dropout/dropout/random_uniform/RandomUniform"),
    (True, "dropout/cond"),
], ids=["python-bool", "tensor-flag"])
def test_rate_too_high(views, as_tensor, node):
    [finding] = lint(rule, views[0.7, as_tensor])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.WARNING)
    assert "has rate 0.7, above 0.5" in finding.message
    assert finding.location.variant == ("train",)  # once, where the layer trains
    assert finding.location.node == node
    assert "dropout(" in source_text(finding.location)


@pytest.mark.parametrize("as_tensor", [False, True], ids=["python-bool", "tensor-flag"])
@pytest.mark.parametrize("rate", [0.5, 0.3])
def test_sane_rates(views, rate, as_tensor):
    assert lint(rule, views[rate, as_tensor]) == []


def test_range_is_an_option(views):
    assert lint(rule, views[0.7, False], max_rate=0.8) == []
    [finding] = lint(rule, views[0.3, False], min_rate=0.3)
    assert "has rate 0.3, not above 0.3" in finding.message
