"""Modules the docs tests document: the half_plus_two fixture and a multi-signature module."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tests.fixture_paths import HALF_PLUS_TWO

# ../shared/fixtures next to the repository.
FIXTURE = HALF_PLUS_TWO


@pytest.fixture(scope="session")
def half_plus_two_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture tarball unpacked (it is trusted test data; never rewritten)."""
    target = tmp_path_factory.mktemp("fixture") / "half_plus_two"
    target.mkdir()
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="session")
def pets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.docs.modules import export_pets

    root = tmp_path_factory.mktemp("pets")
    return export_pets(root / "pets", root)


def view_of(module_dir: Path):
    from hubpub.spec.files import read_saved_model
    from hubpub.spec.view import ModuleView

    return ModuleView.from_saved_model(read_saved_model(module_dir), path=str(module_dir))
