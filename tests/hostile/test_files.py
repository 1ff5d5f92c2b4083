"""Classes 1-3 and 7 of hostile input: files that are not regular files, sizes that claim
more than a file holds or than a limit allows, lines with no end, text that is not UTF-8.
Every case goes through the real CLI and must end fast with exit 2 naming the file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import copy_module, tarball_of

FAST = 10.0  # seconds: TF-free commands answer in well under this


def _fifo(path: Path) -> Path:
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("entry", ["saved_model.pb", "variables/variables.index",
                                   "assets/extra.txt"])
@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "link outside"])
def test_module_directory_entries_that_are_not_regular_files(hubpub, module_dir, tmp_path,
                                                            entry, kind):
    bad = copy_module(module_dir, tmp_path / "bad")
    path = bad / entry
    if kind == "fifo":
        _fifo(path)
    else:
        path.unlink(missing_ok=True)
        path.symlink_to("/dev/zero" if kind == "link to /dev/zero" else module_dir / "saved_model.pb")
    started = time.monotonic()
    run = hubpub("diff", module_dir, bad)
    assert run.code == 2, run.err
    assert entry.split("/")[-1] in run.err
    assert ("FIFO" in run.err) if kind == "fifo" else ("outside the module" in run.err)
    assert time.monotonic() - started < FAST


def test_a_saved_model_member_claiming_3_5_gib_is_refused_before_it_is_read(hubpub, module_dir,
                                                                           tmp_path):
    tarball = tarball_of(module_dir, tmp_path / "claim.tar.gz",
                         claims={"saved_model.pb": 3 * 1024**3 + 512 * 1024**2})
    assert tarball.stat().st_size < 10_000
    for argv in (["verify", tarball], ["diff", tarball, module_dir]):
        run = hubpub(*argv)
        assert run.code == 2, run.err
        assert "saved_model.pb" in run.err and "HUBPUB_MAX_SAVED_MODEL_BYTES" in run.err


def test_limits_are_raised_and_lowered_by_environment(hubpub, module_dir, tmp_path):
    run = hubpub("diff", module_dir, module_dir, env={"HUBPUB_MAX_SAVED_MODEL_BYTES": "100"})
    assert run.code == 2 and "more than the 100 bytes" in run.err
    run = hubpub("diff", module_dir, module_dir, env={"HUBPUB_MAX_SAVED_MODEL_BYTES": "x"})
    assert run.code == 2 and "is not a whole number" in run.err


@pytest.mark.parametrize("kind", ["huge", "two lines", "directory", "fifo", "not hex",
                                  "not utf-8"])
def test_bad_checksum_files_are_input_errors(hubpub, module_dir, tmp_path, kind):
    tarball = tarball_of(module_dir, tmp_path / "m.tar.gz")
    checksum = tmp_path / "m.sha256"
    digest = "0" * 64
    if kind == "huge":
        with open(checksum, "wb") as f:
            f.truncate(4 * 1024**3)
    elif kind == "two lines":
        checksum.write_text(f"{digest}  m.tar.gz\n{'1' * 64}  other.tar.gz\n")
    elif kind == "directory":
        checksum.mkdir()
    elif kind == "fifo":
        _fifo(checksum)
    elif kind == "not hex":
        checksum.write_text("hello  m.tar.gz\n")
    else:
        checksum.write_bytes(b"\xff" * 64 + b"  m.tar.gz\n")
    started = time.monotonic()
    run = hubpub("verify", tarball, "--sha256", checksum)
    assert run.code == 2, (run.out, run.err)
    assert str(checksum) in run.err and "verified" not in run.out
    assert time.monotonic() - started < FAST


def test_a_checksum_beside_the_tarball_that_is_a_directory_is_not_ignored(hubpub, module_dir,
                                                                         tmp_path):
    tarball = tarball_of(module_dir, tmp_path / "m.tar.gz")
    (tmp_path / "m.tar.gz.sha256").mkdir()
    run = hubpub("verify", tarball)
    assert run.code == 2 and "is a directory" in run.err


# --- the embedding parser ----------------------------------------------------------------------

MANIFEST = """\
module:
  handle: acme/words
  version: 1
recipe:
  name: text_embedding
  embedding_file: {file}
metadata:
  description: Words.
  license: Apache-2.0
  fine_tunable: false
  task: text-embedding
output: dist
"""


def _embedding_manifest(folder: Path, name: str) -> Path:
    manifest = folder / "hubpub.yaml"
    manifest.write_text(MANIFEST.format(file=name))
    return manifest


def test_an_embedding_file_that_is_a_fifo(hubpub, tmp_path):
    _fifo(tmp_path / "emb.txt")
    run = hubpub("lint", _embedding_manifest(tmp_path, "emb.txt"))
    assert run.code == 2, run.err
    assert "must be a regular file" in run.err and "FIFO" in run.err


@pytest.mark.parametrize(("kind", "expected"), [
    ("fifo", "FIFO"), ("directory", "directory"), ("device", "character device"),
])
def test_embedding_files_that_are_not_regular_files(tmp_path, kind, expected):
    from hubpub.errors import EmbeddingFileError
    from hubpub.recipes.embedding_file import read_embedding_file

    path = tmp_path / "emb.txt"
    if kind == "fifo":
        _fifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(EmbeddingFileError, match=f"must be a regular file, and this is .*{expected}"):
        read_embedding_file(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"100000000000000000000 3\ncat 1 2 3\n", "emb.txt:1: the header 'N D' announces"),
    (b"1000000000000 3\ncat 1 2 3\n", "emb.txt:1: the header 'N D' announces 1,000,000,000,000"),
    (b"cat 1 2 3\n" + b"x" * (3 << 20) + b"\n", "emb.txt:2: the line is longer than"),
    (b"cat 1 2 3\n" + b"x" * (16 << 20), "emb.txt:2: the line is longer than"),
], ids=["10^20-rows", "10^12-rows", "3-MB-line", "16-MB-unended-line"])
def test_embedding_claims_and_long_lines(tmp_path, content, message):
    from hubpub.errors import EmbeddingFileError
    from hubpub.recipes.embedding_file import read_embedding_file

    (tmp_path / "emb.txt").write_bytes(content)
    with pytest.raises(EmbeddingFileError, match=message):
        read_embedding_file(tmp_path / "emb.txt")


# --- pages --------------------------------------------------------------------------------------

def test_a_page_that_is_not_utf8_is_an_input_error(hubpub, module_dir, tmp_path):
    page = tmp_path / "page.md"
    page.write_bytes(b"# Module\n\ncaf\xe9\n")
    run = hubpub("docs", module_dir, "--out", page, "--check")
    assert run.code == 2, (run.code, run.err)  # never 1: CI would read "drift"
    assert f"{page}:3:4: the page is not UTF-8 text (byte 0xe9 at offset 13)" in run.err
    assert page.read_bytes() == b"# Module\n\ncaf\xe9\n"
