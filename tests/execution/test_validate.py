"""`hubpub validate`: lint plus the smoke test in a fresh process, on existing modules."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from hubpub.cli import main
from tests.fixture_paths import HALF_PLUS_TWO

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def fixture_tarball() -> Path:
    return HALF_PLUS_TWO


def _unpack(tarball: Path, dest: Path) -> Path:
    with tarfile.open(tarball) as tar:  # the team's own fixture: trusted
        tar.extractall(dest, filter="data")
    return dest


def test_a_module_published_by_others_validates(fixture_tarball, tmp_path, capsys):
    folder = _unpack(fixture_tarball, tmp_path / "m")
    assert main(["validate", str(folder), str(fixture_tarball), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == []


def test_a_module_whose_weights_are_gone_fails_before_it_runs(fixture_tarball, tmp_path, capsys):
    folder = _unpack(fixture_tarball, tmp_path / "m")
    shutil.rmtree(folder / "variables")
    assert main(["validate", str(folder), "--format", "json"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["code"] == "HUB000"
    assert f"{folder / 'variables'} is missing" in finding["message"]


def test_validate_refuses_a_manifest(tmp_path, capsys):
    manifest = tmp_path / "hubpub.yaml"
    manifest.write_text("module: {handle: a/b, version: 1}\n")
    assert main(["validate", str(manifest)]) == 2
    assert "hubpub build" in capsys.readouterr().err
