"""The code style CI enforces: ruff with the rules selected in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.fixture_paths import REPO


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extras)")
    proc = subprocess.run([ruff, "check", "hubpub", "tests", "bench", "examples", "tools"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
