"""Baselines: stable fingerprints, counted entries, HUB000 never baselined."""

from __future__ import annotations

import json

import pytest

from hubpub.checks.baseline import filter_new, fingerprint, load_baseline, write_baseline
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.errors import HubpubError, ManifestError


def finding(code="HUB203", message="batch-norm momentum is 0.999, above 0.99", **where):
    location = Location(**{"path": "/home/a/hubpub.yaml", "variant": ("train",),
                           "node": "bn/Const", **where})
    return Finding(code, Severity.WARNING, message, location)


def test_fingerprint_ignores_lines_paths_and_numbers_but_not_the_place():
    base = fingerprint(finding())
    assert fingerprint(finding(path="/ci/build/hubpub.yaml", line=12, source="/ci/m.py")) == base
    assert fingerprint(finding(message="batch-norm momentum is 0.9995, above 0.99")) == base
    assert fingerprint(finding(node="other/Const")) != base
    assert fingerprint(finding(variant=())) != base
    assert fingerprint(finding(code="HUB204")) != base


def test_round_trip_reports_only_new_findings(tmp_path):
    old = [finding(), finding(node="b/Const"), finding(node="b/Const")]
    path = tmp_path / "baseline.json"
    assert write_baseline(path, old) == 3
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert sorted(e["count"] for e in document["findings"]) == [1, 2]
    new = finding(node="c/Const")
    third_copy = finding(node="b/Const")
    assert filter_new([*old, third_copy, new], load_baseline(path)) == [third_copy, new]


def test_baseline_file_is_stable(tmp_path):
    findings = [finding(node=f"n{i}/Const") for i in range(5)]
    write_baseline(tmp_path / "a.json", findings)
    write_baseline(tmp_path / "b.json", list(reversed(findings)))
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()


def test_load_failures_and_suppressed_findings_are_never_baselined(tmp_path):
    broken = Finding("HUB000", Severity.ERROR, "corrupt", Location(path="m"))
    accepted = Finding("HUB102", Severity.WARNING, "fixed", Location(path="m"), suppressed="ok")
    path = tmp_path / "baseline.json"
    assert write_baseline(path, [broken, accepted]) == 0
    # Even a hand-made baseline holding its fingerprint does not hide a load failure.
    path.write_text(json.dumps({"version": 1, "findings": [
        {"fingerprint": fingerprint(broken), "count": 1}]}))
    assert filter_new([broken], load_baseline(path)) == [broken]


def test_bad_baseline_files(tmp_path):
    with pytest.raises(HubpubError, match="does not exist; create it with"):
        load_baseline(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1,\n "findings": [}')
    with pytest.raises(ManifestError) as caught:
        load_baseline(bad)
    assert str(caught.value).startswith(f"{bad}:2:15: baseline is not valid JSON")
    bad.write_text('{"version": 7, "findings": []}')
    with pytest.raises(ManifestError, match="not a hubpub baseline"):
        load_baseline(bad)
