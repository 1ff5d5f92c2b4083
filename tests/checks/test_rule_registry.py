"""Every registered rule has the module shape and documentation the tools rely on."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from hubpub.checks import rules as registry
from hubpub.checks.findings import Severity
from hubpub.checks.ruledocs import SECTIONS, rule_doc

RULES = sorted(registry.RULES.items())


@pytest.mark.parametrize("code, rule", RULES, ids=[code for code, _ in RULES])
def test_rule_module_shape(code, rule):
    assert re.fullmatch(r"HUB[0-9]{3}", code)
    assert rule.__name__.rsplit(".", 1)[-1].startswith(code.lower() + "_")
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.NAME)
    assert isinstance(rule.SEVERITY, Severity)
    assert set(rule.OPTIONS) == set(rule.DEFAULTS)
    assert callable(rule.check)


@pytest.mark.parametrize("code, rule", RULES, ids=[code for code, _ in RULES])
def test_rule_docstring_has_every_section(code, rule):
    doc = rule_doc(rule)
    assert doc.summary.endswith(".")
    assert doc.missing_sections == [], f"{code} docstring lacks {doc.missing_sections}"
    assert list(doc.sections) == list(SECTIONS)


def test_codes_and_names_are_unique():
    names = [rule.NAME for _, rule in RULES]
    assert len(set(names)) == len(names)


def test_rule_doc_splits_sections():
    import types

    fake = types.ModuleType("hub999_fake")
    fake.__doc__ = "Summary line.\n\nWhat: a\n  b\n\nWhy: c\n\nExample:\n    x = 1\n\nFix: d\n"
    fake.CODE, fake.NAME, fake.SEVERITY = "HUB999", "fake", Severity.WARNING
    fake.OPTIONS, fake.DEFAULTS = {"limit": float}, {"limit": 0.5}
    doc = rule_doc(fake)
    assert doc.sections == {"What": "a\nb", "Why": "c", "Example": "x = 1", "Fix": "d"}
    assert (doc.options, doc.option_types) == ({"limit": 0.5}, {"limit": "float"})
    fake.__doc__ = "Summary.\n\nWhat: a\n\nFix: d\n"
    assert rule_doc(fake).missing_sections == ["Why", "Example"]


@pytest.mark.slow
def test_registry_and_reporters_import_without_tensorflow():
    code = ("import sys, hubpub.checks.rules, hubpub.checks.engine, hubpub.checks.config, "
            "hubpub.checks.baseline, hubpub.target, hubpub.reporters, "
            "hubpub.commands.lint, hubpub.commands.rules; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
