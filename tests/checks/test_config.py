"""Lint configuration: prefixes, severities, options, suppressions, errors with lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hubpub.checks import rules as registry
from hubpub.checks.config import (
    LintConfig,
    config_from_manifest,
    parse_lint_section,
    with_overrides,
)
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.errors import HubpubError, ManifestError
from hubpub.manifest import load_manifest

HEADER = """\
module:
  handle: acme/test
  version: 1
module_fn: module.py:module_fn
"""


def write_manifest(folder: Path, lint: str) -> Path:
    (folder / "module.py").write_text("def module_fn():\n    pass\n")
    path = folder / "hubpub.yaml"
    path.write_text(HEADER + "lint:\n" + textwrap.indent(textwrap.dedent(lint), "  "))
    return path


@pytest.mark.parametrize("select, ignore, code, expected", [
    (("HUB",), (), "HUB102", True),
    (("HUB1",), (), "HUB301", False),
    (("HUB1",), ("HUB102",), "HUB102", False),
    (("HUB1",), ("HUB102",), "HUB101", True),
    (("HUB102",), ("HUB1",), "HUB102", True),
    (("HUB1",), ("HUB1",), "HUB101", False),
    (("HUB3",), ("HUB",), "HUB000", True),
], ids=["all", "other-family", "ignored-inside-selected", "sibling-kept", "longer-select-wins",
        "tie-ignores", "hub000-always"])
def test_selection_longest_prefix_wins(select, ignore, code, expected):
    assert LintConfig(select=select, ignore=ignore).is_selected(code) is expected


def test_manifest_lint_section_is_read(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, """\
        select: [HUB1, HUB3]
        ignore: [HUB103]
        severity: {HUB102: error}
        options: {HUB301: {allow: [ReadFile]}}
        suppress:
          - {code: HUB102, variant: [train], node: "images*", reason: "  fixed for TPUs "}
        baseline: lint-baseline.json
    """))
    config = config_from_manifest(manifest)
    assert (config.select, config.ignore) == (("HUB1", "HUB3"), ("HUB103",))
    assert config.severity(registry.get("HUB102")) is Severity.ERROR
    assert config.severity(registry.get("HUB101")) is Severity.ERROR
    assert config.options_for(registry.get("HUB301")) == {"allow": ("ReadFile",)}
    [suppression] = config.suppressions
    assert (suppression.code, suppression.variant, suppression.node, suppression.reason) == (
        "HUB102", ("train",), "images*", "fixed for TPUs")
    line, column = manifest.location("lint.suppress.0")
    assert (suppression.location.line, suppression.location.column) == (line, column)
    assert config.baseline == Path(manifest.path).parent / "lint-baseline.json"


def test_every_registry_problem_is_reported_at_its_line(tmp_path):
    path = write_manifest(tmp_path, """\
        select: [HUB1, HUB9]
        severity: {HUB999: error, HUB000: warning}
        options:
          HUB301: {allow: [ReadFile], nope: 1}
          HUB102: {x: 1}
        suppress:
          - {code: HUB001, reason: "stale"}
    """)
    with pytest.raises(ManifestError) as caught:
        config_from_manifest(load_manifest(path))
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:6:18: lint.select: 'HUB9' matches no rule; `hubpub rules` lists them",
        f"{path}:7:14: lint.severity: unknown rule 'HUB999'; `hubpub rules` lists them",
        f"{path}:7:29: lint.severity: HUB000 (target could not be loaded) is always an error "
        f"and cannot be configured",
        f"{path}:9:33: lint.options: HUB301 has no option 'nope' (its options: allow)",
        f"{path}:10:14: lint.options: HUB102 has no option 'x' (its options: none)",
        f"{path}:12:7: lint.suppress[0]: HUB001 cannot be suppressed: delete the unused "
        f"suppression instead",
    ]


def test_structure_problems_of_a_raw_section():
    lines = {"lint.suppress.0": (20, 5), "lint.options.HUB301.allow": (9, 3)}
    with pytest.raises(ManifestError) as caught:
        parse_lint_section(
            {"suppress": [{"code": "HUB102", "reason": " ", "variant": "train"}],
             "options": {"HUB301": {"allow": "ReadFile"}}, "extends": "strict"},
            path="m.yaml", locate=lambda key: lines.get(key, (1, 1)), base_dir=Path("."))
    assert [str(p) for p in caught.value.problems] == [
        "m.yaml:1:1: lint: unknown key 'extends'; use one of select, ignore, severity, "
        "options, suppress, baseline",
        "m.yaml:9:3: lint.options: HUB301.allow must be a list of strings, got 'ReadFile'",
        "m.yaml:20:5: lint.suppress[0]: a suppression must give a reason "
        "(reason: \"why this is fine\")",
        "m.yaml:20:5: lint.suppress[0]: variant must be a list of tags ([] is the default "
        "variant)",
    ]


def test_command_line_overrides_replace_lists_and_set_values():
    base = LintConfig(select=("HUB1",), ignore=("HUB102",))
    config = with_overrides(base, select=["HUB"], ignore=[], severity=["HUB103=error"],
                            option=["HUB301.allow=ReadFile, PyFunc"])
    assert (config.select, config.ignore) == (("HUB",), ())
    assert config.severity(registry.get("HUB103")) is Severity.ERROR
    assert config.options_for(registry.get("HUB301")) == {"allow": ("ReadFile", "PyFunc")}
    assert with_overrides(base).select == ("HUB1",)


@pytest.mark.parametrize("flags, message", [
    ({"select": ["HUB7"]}, "--select: 'HUB7' matches no rule"),
    ({"ignore": ["E501"]}, "--ignore: 'E501' is not a rule code or prefix"),
    ({"severity": ["HUB102"]}, "--severity HUB102: expected CODE=error|warning"),
    ({"severity": ["HUB102=fatal"]}, "--severity HUB102=fatal: unknown severity 'fatal'"),
    ({"severity": ["HUB000=warning"]}, "--severity HUB000=warning: HUB000"),
    ({"option": ["HUB301=ReadFile"]}, "--option HUB301=ReadFile: expected CODE.option=value"),
    ({"option": ["HUB301.deny=ReadFile"]}, "--option HUB301.deny=ReadFile: HUB301 has no "
                                           "option 'deny'"),
], ids=["no-match", "not-a-code", "no-level", "bad-level", "hub000", "no-name", "bad-name"])
def test_bad_flags_are_usage_errors(flags, message):
    with pytest.raises(HubpubError) as caught:
        with_overrides(LintConfig(), **flags)
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 2


def test_suppression_matching():
    from hubpub.checks.config import Suppression

    finding = Finding("HUB102", Severity.WARNING, "m", Location(
        variant=("train",), signature="default", node="tower/images"))
    assert Suppression("HUB102", "r").matches(finding)
    assert Suppression("HUB102", "r", variant=("train",), node="tower/*").matches(finding)
    assert not Suppression("HUB102", "r", variant=()).matches(finding)
    assert not Suppression("HUB102", "r", signature="other").matches(finding)
    assert not Suppression("HUB102", "r", node="images").matches(finding)
    assert not Suppression("HUB103", "r").matches(finding)
