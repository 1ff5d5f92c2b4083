"""TFHUB_DOWNLOAD_PROGRESS: resolving a tarball handle shows its progress on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixture_paths import HALF_PLUS_TWO


def _fixture() -> Path:
    return HALF_PLUS_TWO


def _resolve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    code = "import sys; from hubpub.files.resolver import resolve; print(resolve(sys.argv[1]))"
    return subprocess.run([sys.executable, "-c", code, _fixture().as_uri()], text=True,
                          capture_output=True, env={**os.environ, "TFHUB_CACHE_DIR":
                                                    str(tmp_path), **env})


def test_progress_is_shown_when_asked_for(tmp_path):
    proc = _resolve(tmp_path, TFHUB_DOWNLOAD_PROGRESS="1")
    assert proc.returncode == 0
    assert "Downloading" in proc.stderr and "MiB" in proc.stderr
    assert (Path(proc.stdout.strip()) / "saved_model.pb").is_file()


def test_no_progress_by_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TFHUB_DOWNLOAD_PROGRESS"}
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; from hubpub.files.resolver import resolve; resolve(sys.argv[1])",
                           _fixture().as_uri()], text=True, capture_output=True,
                          env={**env, "TFHUB_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0
    assert "Downloading" not in proc.stderr
