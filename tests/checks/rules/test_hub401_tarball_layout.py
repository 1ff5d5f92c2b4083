"""HUB401: module tarballs with nested files, junk or foreign members."""

from __future__ import annotations

import shutil
import tarfile

import pytest

from hubpub.checks.config import LintConfig
from hubpub.checks.engine import run_checks
from hubpub.spec.files import read_saved_model
from hubpub.spec.view import ModuleView
from tests.checks.lintmodules import lint, pack
from tests.fixture_paths import HALF_PLUS_TWO

FIXTURE = HALF_PLUS_TWO


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    if not FIXTURE.is_file():
        pytest.skip(f"fixture {FIXTURE} is not available")
    folder = tmp_path_factory.mktemp("hub401") / "half_plus_two"
    folder.mkdir()
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.mark.slow
def test_the_published_fixture_is_laid_out_correctly():
    assert lint(FIXTURE, codes=["HUB401"]) == []


@pytest.mark.slow
def test_packed_from_outside_on_a_mac(module_dir, tmp_path):
    tarball = pack(module_dir, tmp_path / "m.tar.gz", prefix="half_plus_two/", extra={
        "half_plus_two/._saved_model.pb": b"\0\5\26\7",
        "__MACOSX/": None,
        "__MACOSX/half_plus_two/._tfhub_module.pb": b"\0\5\26\7",
        "half_plus_two/.DS_Store": b"\0\0\0\1Bud1",
        "half_plus_two/variables/old/variables.index": b"x",
        "half_plus_two/train.ipynb": b"{}",
    })
    findings = lint(tarball, codes=["HUB401"])
    assert sorted((f.location.member, f.message) for f in findings) == sorted([
        ("half_plus_two/tfhub_module.pb", "files are not at the archive root: "
         "'half_plus_two/tfhub_module.pb'; consumers expect tfhub_module.pb at the top of the "
         "archive"),
        ("half_plus_two/._saved_model.pb",
         "junk member 'half_plus_two/._saved_model.pb' (macOS metadata); pack without it"),
        ("__MACOSX/", "junk member '__MACOSX/' (macOS resource fork folder); pack without it"),
        ("half_plus_two/.DS_Store",
         "junk member 'half_plus_two/.DS_Store' (macOS Finder metadata); pack without it"),
        ("half_plus_two/variables/old/variables.index",
         "member 'half_plus_two/variables/old/variables.index' is not part of a TF1 Hub module "
         "(tfhub_module.pb, saved_model.pb, variables/*, assets/**, assets.extra/**)"),
        ("half_plus_two/train.ipynb",
         "member 'half_plus_two/train.ipynb' is not part of a TF1 Hub module (tfhub_module.pb, "
         "saved_model.pb, variables/*, assets/**, assets.extra/**)"),
    ])
    assert all(f.location.path == str(tarball) for f in findings)


@pytest.mark.slow
def test_root_layout_with_assets_extra_and_dot_slash_names(module_dir, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(module_dir, folder)
    (folder / "assets" / "nested").mkdir()
    (folder / "assets" / "nested" / "vocab.txt").write_text("a\n")
    (folder / "assets.extra").mkdir()
    (folder / "assets.extra" / "README").write_text("notes")
    with tarfile.open(tmp_path / "m.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname=".")
    assert lint(tmp_path / "m.tar.gz", codes=["HUB401"]) == []


@pytest.mark.slow
def test_directories_are_not_checked(module_dir):
    view = ModuleView.from_saved_model(read_saved_model(module_dir), path=str(module_dir))
    assert view.members is None
    assert run_checks(view, LintConfig(select=("HUB401",))) == []


@pytest.mark.slow
def test_escape_sequences_in_member_names_are_not_printed(module_dir, tmp_path, capsys):
    """A hostile name must not drive the terminal that shows the lint report."""
    from hubpub.cli import main

    tarball = pack(module_dir, tmp_path / "m.tar.gz",
                   extra={"notes\x1b[31m.txt": b"x", "\x1b]0;owned\x07\x1b[2J": b"y"})
    assert main(["lint", str(tarball), "--select", "HUB401"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "member 'notes\\x1b[31m.txt' is not part of a TF1 Hub module" in out
    assert "[member '\\x1b]0;owned\\x07\\x1b[2J']" in out
