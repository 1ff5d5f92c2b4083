"""The engine: stamping, selection, severities, suppressions, HUB000 and HUB001."""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from hubpub.checks.config import LintConfig, Suppression, with_overrides
from hubpub.checks.engine import run_checks
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.commands.lint import lint_target
from hubpub.errors import HandleError
from hubpub.spec.files import read_saved_model
from hubpub.spec.view import ModuleView
from tests.checks.lintmodules import raw_saved_model, write_module

v1 = tf.compat.v1


def fixed_batch(signature: str):
    def graph_fn():
        x = v1.placeholder(tf.float32, [4, 3], name="x")
        return {signature: ({"default": x}, {"default": 2.0 * x})}
    return graph_fn


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    return write_module(tmp_path_factory.mktemp("engine") / "m", raw_saved_model(
        (fixed_batch("default"), []), (fixed_batch("train_only"), ["train"])))


@pytest.fixture(scope="module")
def view(module_dir):
    return ModuleView.from_saved_model(read_saved_model(module_dir), path=str(module_dir))


def codes_and_variants(findings):
    """Order-free summary (order is checked once, in the first test)."""
    return sorted(((f.code, f.location.variant, f.suppressed) for f in findings),
                  key=lambda t: (t[0], t[1] or (), t[2] or ""))


@pytest.mark.slow
def test_default_config_stamps_codes_and_default_severities(view):
    findings = run_checks(view, LintConfig())
    assert findings == sorted(findings, key=Finding.sort_key)
    assert codes_and_variants(findings) == [
        ("HUB102", (), None), ("HUB102", ("train",), None), ("HUB103", ("train",), None)]
    assert {f.severity for f in findings} == {Severity.WARNING}


@pytest.mark.slow
def test_select_ignore_and_severity(view):
    config = with_overrides(LintConfig(), select=["HUB1"], ignore=["HUB103"],
                            severity=["HUB102=error"])
    findings = run_checks(view, config)
    assert [(f.code, f.severity) for f in findings] == [("HUB102", Severity.ERROR)] * 2


@pytest.mark.slow
def test_suppressions_mark_findings_and_unused_ones_are_reported(view):
    where = Location(path="hubpub.yaml", line=14, column=7)
    config = LintConfig(suppressions=(
        Suppression("HUB102", "TPU export needs a fixed batch", variant=("train",), node="x"),
        Suppression("HUB103", "never matches", variant=(), location=where),
    ))
    findings = run_checks(view, config)
    assert codes_and_variants(findings) == [
        ("HUB001", None, None), ("HUB102", (), None),
        ("HUB102", ("train",), "TPU export needs a fixed batch"), ("HUB103", ("train",), None)]
    [unused] = [f for f in findings if f.code == "HUB001"]
    assert unused.location == where
    assert unused.severity is Severity.WARNING
    assert unused.message == ("suppression of HUB103, variant {} matched no finding; delete it "
                              "(reason given: 'never matches')")


@pytest.mark.slow
def test_a_suppression_of_a_rule_that_did_not_run_is_not_reported(view):
    config = LintConfig(select=("HUB3",), suppressions=(Suppression("HUB103", "not run"),))
    assert run_checks(view, config) == []


@pytest.mark.slow
def test_unloadable_module_is_hub000_and_cannot_be_suppressed_or_ignored(module_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tfhub_module.pb").write_bytes((module_dir / "tfhub_module.pb").read_bytes())
    (broken / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff\x0f garbage")
    config = LintConfig(ignore=("HUB",))
    [finding] = lint_target(str(broken), config)
    assert (finding.code, finding.severity) == ("HUB000", Severity.ERROR)
    assert finding.message == f"{broken}/saved_model.pb is corrupt: cannot parse it as a SavedModel"
    assert finding.location.path == str(broken)


def test_missing_target_is_an_input_error(tmp_path):
    with pytest.raises(HandleError, match="does not exist"):
        lint_target(str(tmp_path / "nothing"), LintConfig())
