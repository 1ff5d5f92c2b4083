"""Where the modules published by others live: ../shared/fixtures beside the repository
(CI lays a copy there). Read them; never rewrite them.

A bare clone has no ../shared beside it. Its paths are then ``PublishedFixture``s: the first
use of one (``str()``, ``open``, ``tarfile.open``, ``stat``) skips the test that uses it, saying
why and where to get the file, so every test that does not need it still runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


class PublishedFixture(type(Path())):  # type: ignore[misc]  # PosixPath or WindowsPath
    """A path to a module published by others; using it while it is absent skips the test."""

    def __str__(self) -> str:
        path = super().__str__()
        if not Path(path).is_file():
            pytest.skip(f"needs {path}: a module published by others, not shipped with hubpub. "
                        f"Put a copy of the tensorflow/hub repository's test module "
                        f"'{self.name}' (Apache-2.0) there, as CI does.")
        return path


HALF_PLUS_TWO = PublishedFixture(SHARED_FIXTURES / "half_plus_two_v1.tar.gz")
