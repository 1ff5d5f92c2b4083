"""`hubpub diff` through the real CLI: verdicts, exit codes, JSON, bad input, no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hubpub.cli import main
from hubpub.files.package import pack
from tests.fixture_paths import HALF_PLUS_TWO

pytestmark = pytest.mark.slow


def hubpub(*argv, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *python_flags, "-m", "hubpub", *map(str, argv)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("old, new, code, verdict", [
    ("old", "same", 0, "identical"),
    ("old", "new_weights", 0, "compatible"),
    ("old", "renamed_input", 1, "breaking"),
])
def test_exit_code_follows_the_verdict(modules, old, new, code, verdict):
    result = hubpub("diff", modules[old], modules[new], "--format", "json")
    assert result.returncode == code, result.stderr
    document = json.loads(result.stdout)
    assert document["verdict"] == verdict
    assert set(document) == {"verdict", "changes"}
    for change in document["changes"]:
        assert set(change) == {"kind", "path", "old", "new", "breaking", "message"}


def test_text_output_lists_changes_and_verdict_without_colour(modules, capsys):
    assert main(["diff", str(modules["old"]), str(modules["renamed_input"])]) == 1
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a terminal
    assert "  breaking    {}/signatures/default/inputs/x: input 'x' removed" in out
    assert out.rstrip().splitlines()[-1].startswith("verdict: breaking (4 changes, 4 breaking")


def test_directory_and_tarball_sides_never_import_tensorflow(modules, tmp_path):
    packed = pack(modules["old"], tmp_path / "old.tar.gz")
    result = hubpub("diff", packed.path, modules["new_weights"],
                    python_flags=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    assert "tensorflow" not in result.stderr
    assert "verdict: compatible" in result.stdout


@pytest.mark.parametrize("make_bad, message", [
    (lambda tmp: tmp / "missing", "does not exist"),
    (lambda tmp: _write(tmp / "corrupt.tar.gz", b"\x1f\x8b not really gzip"),
     "not a valid module tarball"),
    (lambda tmp: _truncated(tmp), "not a valid module tarball"),
    (lambda tmp: _mkdir(tmp / "empty"), "not a TF1 Hub format module"),
    (lambda tmp: _write(tmp / "notes.txt", b"hello"), "neither a manifest"),
])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, make_bad, message):
    bad = make_bad(tmp_path)
    for argv in ((HALF_PLUS_TWO, bad), (bad, HALF_PLUS_TWO)):
        result = hubpub("diff", *argv)
        assert result.returncode == 2, result.stdout
        assert message in result.stderr
        assert str(bad) in result.stderr
        assert "Traceback" not in result.stderr


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def _truncated(tmp):
    data = HALF_PLUS_TWO.read_bytes()
    return _write(tmp / "truncated.tar.gz", data[: len(data) // 2])


def test_numeric_reports_the_largest_difference_per_signature(modules):
    result = hubpub("diff", modules["old"], modules["new_weights"], "--numeric",
                    "--format", "json")
    assert result.returncode == 0, result.stderr
    numeric = {c["path"]: c for c in json.loads(result.stdout)["changes"]
               if c["kind"] == "numeric"}
    assert set(numeric) == {"{}/signatures/default", "{train}/signatures/default"}
    # kernel 1.0 -> 2.0: the outputs move by x @ 1 over the generated inputs.
    assert all(c["new"] > 0.1 and not c["breaking"] for c in numeric.values())
    assert "largest output difference" in numeric["{}/signatures/default"]["message"]


def test_numeric_on_identical_modules_finds_no_difference(modules):
    result = hubpub("diff", modules["old"], modules["same"], "--numeric", "--format", "json")
    document = json.loads(result.stdout)
    assert result.returncode == 0 and document["verdict"] == "identical"
    assert {c["new"] for c in document["changes"]} == {0.0}


def test_numeric_on_a_breaking_change_says_what_could_not_run(modules):
    result = hubpub("diff", modules["old"], modules["dtype"], "--numeric", "--format", "json")
    assert result.returncode == 1
    numeric = [c for c in json.loads(result.stdout)["changes"] if c["kind"] == "numeric"]
    assert numeric and all("could not be run" in c["message"] for c in numeric)


def test_the_github_action_can_diff_against_the_previous_release():
    import yaml

    from tests.fixture_paths import REPO

    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["inputs"]["previous"]["default"] == ""
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "diff")
    assert step["if"] == "${{ inputs.previous != '' }}"
    assert 'hubpub diff --previous "$TARGET"' in step["run"]
    assert 'hubpub diff "$PREVIOUS" "$TARGET"' in step["run"]
    assert action["outputs"]["diff-verdict"]["value"] == "${{ steps.diff.outputs.verdict }}"
