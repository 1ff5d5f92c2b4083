"""mypy checks hubpub/ with the settings in pyproject.toml ([tool.mypy]).

mypy comes with the test extras; CI installs them, so a missing tool fails here. The cache
lives in the temporary folder, one per checkout: a rerun takes seconds, a fresh machine ~20 s.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.fixture_paths import REPO


def test_mypy_finds_nothing():
    key = hashlib.sha1(str(REPO.resolve()).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"hubpub-mypy-{key}"
    proc = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache)], cwd=REPO,
                          env={**os.environ, "MYPY_FORCE_COLOR": "0"},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
