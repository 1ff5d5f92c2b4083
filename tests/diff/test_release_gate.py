"""`previous:` in the manifest: the build reports the verdict, fails on a break unless
`breaking_ok` says why, and the module page gains "Changes since <previous>"."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from hubpub.cli import main
from hubpub.errors import ManifestError
from hubpub.manifest import load_manifest
from hubpub.pipelines.scaffold import write_scaffold

HEAD = """\
module: {handle: acme/demo, version: 2}
module_fn: module.py:module_fn
"""


def _manifest(tmp_path, text: str) -> str:
    (tmp_path / "module.py").write_text("")
    (tmp_path / "hubpub.yaml").write_text(HEAD + textwrap.dedent(text))
    return "hubpub.yaml"  # errors name it as given


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_previous_as_a_path_or_with_a_reason(tmp_path):
    (tmp_path / "v1.tar.gz").write_bytes(b"")
    previous = load_manifest(_manifest(tmp_path, "previous: v1.tar.gz\n")).previous
    assert (previous.module, previous.shown, previous.breaking_ok) == (
        str(tmp_path / "v1.tar.gz"), "v1.tar.gz", None)
    previous = load_manifest(_manifest(tmp_path, """\
        previous:
          module: https://example.org/acme/demo-1.tar.gz
          breaking_ok: the input is now a batch of images
        """)).previous
    assert previous.module == "https://example.org/acme/demo-1.tar.gz"
    assert previous.breaking_ok == "the input is now a batch of images"
    assert load_manifest(_manifest(tmp_path, "")).previous is None


@pytest.mark.parametrize("text, expected", [
    ("previous: v0.tar.gz\n", "hubpub.yaml:3:11: previous: 'v0.tar.gz' not found"),
    ("previous: {module: v1.tar.gz, breaking_ok: ''}\n",
     "hubpub.yaml:3:44: previous.breaking_ok must not be empty"),
    ("previous: {modul: v1.tar.gz}\n",
     "hubpub.yaml:3:12: unknown key 'modul' (did you mean 'module'?)"),
    ("previous: [v1.tar.gz]\n",
     "hubpub.yaml:3:11: previous is a list, which matches none of the allowed forms"),
])
def test_bad_previous_is_a_manifest_error_with_its_position(tmp_path, text, expected):
    (tmp_path / "v1.tar.gz").write_bytes(b"")
    with pytest.raises(ManifestError) as caught:
        load_manifest(_manifest(tmp_path, text))
    assert any(str(p).startswith(expected) for p in caught.value.problems), caught.value


# --- the build and `diff --previous`, for real ------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The basic template built as version 1: (project, its tarball)."""
    root = tmp_path_factory.mktemp("release")
    write_scaffold("basic", root / "project", handle="acme/demo")
    assert main(["build", str(root / "project" / "hubpub.yaml"), "--out",
                 str(root / "released"), "--quiet", "--no-smoke-test"]) == 0
    return root / "project", root / "released" / "acme-demo-1.tar.gz"


def _next_version(released, tmp_path, *, change: str, previous: str) -> tuple:
    project, tarball = released
    shutil.copytree(project, tmp_path / "project")
    manifest = tmp_path / "project" / "hubpub.yaml"
    text = manifest.read_text().replace("version: 1", "version: 2")
    manifest.write_text(text + previous.format(tarball=tarball))
    source = tmp_path / "project" / "module.py"
    if change == "weights":
        source.write_text(source.read_text().replace("constant_initializer(0.5)",
                                                     "constant_initializer(0.25)"))
    if change == "input":  # the input gains a dimension: consumers feeding vectors break
        source.write_text(source.read_text().replace("shape=[None]", "shape=[None, 3]"))
    return manifest, tmp_path / "dist"


def _build(manifest, out, capsys) -> tuple[int, str, str]:
    code = main(["build", str(manifest), "--out", str(out), "--quiet", "--no-smoke-test"])
    out_text, err = capsys.readouterr()
    return code, out_text, err


@pytest.mark.slow
def test_a_compatible_version_builds_and_reports_the_verdict(released, tmp_path, capsys):
    manifest, out = _next_version(released, tmp_path, change="weights",
                                  previous="previous: {tarball}\n")
    code, text, _ = _build(manifest, out, capsys)
    assert code == 0
    assert f"against {released[1]}: compatible" in text
    report = json.loads((out / "build-report.json").read_text())
    assert report["previous"]["verdict"] == "compatible"
    page = (out / "acme-demo-2.md").read_text()
    assert f"## Changes since {released[1]}" in page
    assert "keeps working" in page


@pytest.mark.slow
def test_a_breaking_version_is_not_built(released, tmp_path, capsys):
    manifest, out = _next_version(released, tmp_path, change="input",
                                  previous="previous: {tarball}\n")
    code, _, err = _build(manifest, out, capsys)
    assert code == 1
    assert "not released: 2 changes break consumers of" in err
    assert "input 'default' shape [None] -> [None, 3]" in err
    assert not out.exists() or not any(out.glob("*.tar.gz"))


@pytest.mark.slow
def test_a_break_with_a_reason_is_built_and_documented(released, tmp_path, capsys):
    manifest, out = _next_version(released, tmp_path, change="input", previous=(
        "previous:\n  module: {tarball}\n  breaking_ok: inputs are rows of 3 values now\n"))
    code, text, _ = _build(manifest, out, capsys)
    assert code == 0
    assert "breaking (2 changes; intended: inputs are rows of 3 values now" in text
    page = (out / "acme-demo-2.md").read_text()
    assert "on purpose: inputs are rows of 3 values now" in page
    assert "- **breaking**: `{}/signatures/default/inputs/default/shape`" in page
    # The docs command documents that build (--out in its folder), section included.
    assert main(["docs", str(manifest), "--out", str(out / "page.md")]) == 0
    assert "## Changes since" in (out / "page.md").read_text()


@pytest.mark.slow
def test_diff_previous_gates_like_the_build(released, tmp_path):
    manifest, _ = _next_version(released, tmp_path, change="input",
                                previous="previous: {tarball}\n")

    def diff(*argv):
        return subprocess.run([sys.executable, "-m", "hubpub", "diff", "--previous", *argv],
                              capture_output=True, text=True, timeout=600)

    result = diff(manifest)
    assert result.returncode == 1, result.stderr
    assert "verdict: breaking" in result.stdout
    manifest.write_text(manifest.read_text().replace(
        f"previous: {released[1]}", f"previous: {{module: {released[1]}, breaking_ok: why}}"))
    result = diff(manifest, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "breaking"
    result = diff(released[0] / "hubpub.yaml")  # no previous: key: skipped, with a note
    assert result.returncode == 0 and "has no `previous:` key" in result.stderr
    assert result.stdout == ""
