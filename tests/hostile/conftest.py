"""Hostile inputs through the real CLI: each run is a subprocess bounded in time (``timeout``)
and memory (RLIMIT_AS), and may write nothing outside --out and private temporary folders."""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixture_paths import HALF_PLUS_TWO

# TensorFlow reserves a lot of address space; what is checked is that nothing is buffered
# whole: a 3.5 GiB member or a 4 GiB file would not fit.
MEMORY_LIMIT = 3 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Run:
    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.code, self.out, self.err = done.returncode, done.stdout, done.stderr


@pytest.fixture
def hubpub(tmp_path: Path) -> Callable[..., Run]:
    """``hubpub(*argv, env=..., timeout=...)``: the CLI in a bounded subprocess, with its own
    temp folder; after it, that temp folder holds no hubpub-* leftovers and ``tmp_path``
    nothing new but what the test expects (checked by the caller through ``created``)."""
    temp = tmp_path / "tmp"
    temp.mkdir()

    def run(*argv: object, env: dict[str, str] | None = None, timeout: float = 60) -> Run:
        full = dict(os.environ, TMPDIR=str(temp), **(env or {}))
        done = subprocess.run([sys.executable, "-m", "hubpub", *map(str, argv)],
                              capture_output=True, text=True, timeout=timeout, env=full,
                              preexec_fn=_limit_memory, cwd=tmp_path)
        assert "Traceback" not in done.stderr, done.stderr
        leftovers = [p.name for p in temp.iterdir() if p.name.startswith("hubpub-")]
        assert not leftovers, leftovers
        return Run(done)

    return run


@pytest.fixture(scope="session")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real TF1 Hub module (half_plus_two), unpacked."""
    folder = tmp_path_factory.mktemp("half_plus_two")
    with tarfile.open(str(HALF_PLUS_TWO)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def copy_module(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def tarball_of(folder: Path, target: Path, *, claims: dict[str, int] | None = None) -> Path:
    """``folder`` as a gzipped tarball; ``claims[name] = size`` gives that member a header
    claiming ``size`` bytes, followed by none (a hostile claim in a tiny archive)."""
    claims = claims or {}
    with gzip.open(target, "wb") as out:
        for path in sorted(folder.rglob("*")):
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                out.write(info.tobuf(tarfile.PAX_FORMAT))
                continue
            data = path.read_bytes()
            info.size, info.mode = claims.get(info.name, len(data)), 0o644
            out.write(info.tobuf(tarfile.PAX_FORMAT))
            if info.name not in claims:
                out.write(data + b"\0" * (-len(data) % 512))
        out.write(b"\0" * 1024)
    return target


def temp_dir() -> Path:
    return Path(tempfile.gettempdir())
