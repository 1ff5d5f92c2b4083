"""Lint targets: directories, tarballs, URLs and manifests become ModuleViews."""

from __future__ import annotations

import tarfile

import pytest

from hubpub.errors import ArchiveError, HandleError
from hubpub.target import load_view
from tests.checks.lintmodules import pack
from tests.fixture_paths import HALF_PLUS_TWO

FIXTURE = HALF_PLUS_TWO


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("target") / "half_plus_two"
    folder.mkdir()
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.mark.slow
def test_directory(module_dir):
    view = load_view(str(module_dir))
    assert view.path == str(module_dir)
    assert view.members is None
    assert view.checkpoint_path == str(module_dir / "variables" / "variables")
    assert [v.tags for v in view.variants] == [()]
    assert list(view.variants[0].signatures) == ["default"]


@pytest.mark.slow
def test_tarball_keeps_its_member_list_and_leaves_nothing_behind(module_dir, tmp_path):
    tarball = pack(module_dir, tmp_path / "m.tar.gz", prefix="half_plus_two/")
    view = load_view(str(tarball))
    assert view.path == str(tarball)
    assert "half_plus_two/" in view.members
    assert "half_plus_two/variables/variables.index" in view.members
    assert view.checkpoint_path is None
    assert list(view.variants[0].signatures) == ["default"]


@pytest.mark.slow
def test_hostile_tarball_is_refused(tmp_path):
    tarball = tmp_path / "evil.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 0
        tar.addfile(info)
    with pytest.raises(ArchiveError):
        load_view(str(tarball))


@pytest.mark.slow
def test_file_url_goes_through_the_resolver(monkeypatch, tmp_path):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    url = FIXTURE.as_uri()
    view = load_view(url)
    assert view.path == url
    assert list(view.variants[0].signatures) == ["default"]


def test_unknown_kinds_of_target(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    with pytest.raises(HandleError, match="neither a manifest"):
        load_view(str(notes))
    with pytest.raises(HandleError, match="does not exist"):
        load_view(str(tmp_path / "gone"))
