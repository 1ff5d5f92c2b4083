"""Reproducible module tarballs: real folders packed, then read back with tarfile, GNU tar, gzip."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import pytest

from hubpub.errors import ExportError, ModuleFormatError
from hubpub.files.archive import safe_extract
from hubpub.files.package import BLOCK_SIZE, PackResult, pack, write_checksum
from hubpub.files.resolver import resolve

LONG_NAME = "assets/" + "very_long_asset_name_" * 8 + ".txt"  # > 100 bytes: needs a pax header


def module_files(seed: int = 0, weights_mb: float = 0.2) -> dict[str, bytes]:
    """A module-shaped tree: random weights (barely compressible) and text (compressible)."""
    rng = random.Random(seed)
    weights = rng.randbytes(int(weights_mb * 1024 * 1024))
    vocab = "".join(f"token{i}\n" for i in range(5000)).encode()
    return {
        "tfhub_module.pb": b"\x08\x03",
        "saved_model.pb": b"graph-def " * 300,
        "variables/variables.index": b"index",
        "variables/variables.data-00000-of-00001": weights,
        "assets/vocab.txt": vocab,
        "assets/sub/ünïcode.txt": "grüße".encode(),
        LONG_NAME: b"long",
    }


def write_tree(root: Path, files: dict[str, bytes], *, reverse: bool = False) -> Path:
    for name in sorted(files, reverse=reverse):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
    (root / "assets" / "empty").mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "module", module_files())


@pytest.fixture(autouse=True)
def no_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def read_tree(root: Path) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(root.rglob("*"))}


def expected_tree(files: dict[str, bytes]) -> dict[str, bytes | None]:
    tree: dict[str, bytes | None] = dict(files)
    for name in list(files) + ["assets/empty/x"]:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            tree["/".join(parts[:i])] = None
    return dict(sorted(tree.items()))


# --- what is in the tarball -------------------------------------------------------------------

def test_members_are_sorted_normalised_and_at_the_root(module_dir: Path, tmp_path: Path) -> None:
    result = pack(module_dir, tmp_path / "m.tar.gz")
    with tarfile.open(result.path) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == [
        "assets", "assets/empty", "assets/sub", "assets/sub/ünïcode.txt", LONG_NAME,
        "assets/vocab.txt", "saved_model.pb", "tfhub_module.pb", "variables",
        "variables/variables.data-00000-of-00001", "variables/variables.index",
    ]
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 0), m.name
        assert m.mode == (0o755 if m.isdir() else 0o644), m.name
        assert m.isdir() or m.isfile(), m.name


def test_gzip_header_has_no_name_and_no_time(module_dir: Path, tmp_path: Path) -> None:
    data = pack(module_dir, tmp_path / "m.tar.gz").path.read_bytes()
    assert data[:3] == b"\x1f\x8b\x08"
    assert data[3] == 0  # flags: no FNAME, no FCOMMENT, no FEXTRA
    assert data[4:8] == b"\x00\x00\x00\x00"  # mtime


def test_extracts_with_python_tarfile(module_dir: Path, tmp_path: Path) -> None:
    result = pack(module_dir, tmp_path / "m.tar.gz")
    out = tmp_path / "py"
    with tarfile.open(result.path) as tar:
        tar.extractall(out, filter="data")
    assert read_tree(out) == read_tree(module_dir)


def test_extracts_with_gnu_tar_and_passes_gzip_test(module_dir: Path, tmp_path: Path) -> None:
    result = pack(module_dir, tmp_path / "m.tar.gz")
    subprocess.run(["gzip", "-t", str(result.path)], check=True)
    out = tmp_path / "gnu"
    out.mkdir()
    subprocess.run(["tar", "-xzf", str(result.path), "-C", str(out)], check=True)
    assert read_tree(out) == read_tree(module_dir)


def test_extracts_with_hubpubs_own_safe_extract(module_dir: Path, tmp_path: Path) -> None:
    result = pack(module_dir, tmp_path / "m.tar.gz")
    (tmp_path / "safe").mkdir()
    safe_extract(result.path, tmp_path / "safe")
    assert read_tree(tmp_path / "safe") == expected_tree(module_files())


def test_resolves_as_a_handle(module_dir: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    result = pack(module_dir, tmp_path / "acme-m-1.tar.gz")
    assert read_tree(Path(resolve(str(result.path)))) == read_tree(module_dir)


def test_result_describes_the_file(module_dir: Path, tmp_path: Path) -> None:
    result = pack(module_dir, tmp_path / "m.tar.gz")
    data = result.path.read_bytes()
    files = {path.relative_to(module_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
             for path in module_dir.rglob("*") if path.is_file()}
    assert files  # each packed file's digest, taken as packing read it
    assert result == PackResult(tmp_path / "m.tar.gz", hashlib.sha256(data).hexdigest(),
                                len(data), files)


def test_many_blocks_decompress_to_the_same_tar_as_tarfile_sees(tmp_path: Path) -> None:
    files = module_files(weights_mb=3.5)  # several deflate blocks, with a partial last one
    module = write_tree(tmp_path / "big", files)
    result = pack(module, tmp_path / "big.tar.gz", threads=3)
    raw = gzip.decompress(result.path.read_bytes())  # checks CRC and length too
    assert len(raw) > 3 * BLOCK_SIZE and len(raw) % 10240 == 0
    assert raw.find(files["variables/variables.data-00000-of-00001"]) > 0
    assert zlib.crc32(raw) == int.from_bytes(result.path.read_bytes()[-8:-4], "little")


# --- reproducibility --------------------------------------------------------------------------

def test_same_sha_after_touching_mtimes_modes_and_creation_order(tmp_path: Path) -> None:
    first = pack(write_tree(tmp_path / "a", module_files()), tmp_path / "a.tar.gz")

    other = write_tree(tmp_path / "b", module_files(), reverse=True)
    for i, path in enumerate(sorted(other.rglob("*"))):
        os.utime(path, (1_600_000_000 + i * 977, 1_700_000_000 + i * 311))
        path.chmod(0o700 if path.is_dir() else (0o600 if i % 2 else 0o755))
        if os.geteuid() == 0:
            os.chown(path, 1234 + i, 4321 + i)
    second = pack(other, tmp_path / "b.tar.gz")

    assert second.sha256 == first.sha256
    assert second.path.read_bytes() == first.path.read_bytes()


def test_packing_twice_gives_identical_bytes(module_dir: Path, tmp_path: Path) -> None:
    first = pack(module_dir, tmp_path / "1.tar.gz")
    second = pack(module_dir, tmp_path / "2.tar.gz")
    assert first.sha256 == second.sha256


def test_number_of_threads_never_changes_the_bytes(tmp_path: Path) -> None:
    module = write_tree(tmp_path / "m", module_files(seed=3, weights_mb=4.3))
    digests = {threads: pack(module, tmp_path / f"{threads}.tar.gz", threads=threads).sha256
               for threads in (1, 2, 3, 5)}
    assert len(set(digests.values())) == 1, digests


def test_content_change_changes_the_sha(module_dir: Path, tmp_path: Path) -> None:
    first = pack(module_dir, tmp_path / "1.tar.gz")
    (module_dir / "variables" / "variables.index").write_bytes(b"indey")
    assert pack(module_dir, tmp_path / "2.tar.gz").sha256 != first.sha256


def test_source_date_epoch_sets_every_mtime(module_dir: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    plain = pack(module_dir, tmp_path / "0.tar.gz", mtime=1234)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = pack(module_dir, tmp_path / "1.tar.gz", mtime=1234)
    with tarfile.open(plain.path) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1234}
    with tarfile.open(dated.path) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1700000000}
    assert dated.path.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # gzip time stays 0


def test_malformed_source_date_epoch_is_an_error(module_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ExportError, match="SOURCE_DATE_EPOCH='yesterday'"):
        pack(module_dir, tmp_path / "m.tar.gz")
    assert list(tmp_path.glob("*.tar.gz")) == []


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_every_level_gives_a_valid_archive(module_dir: Path, tmp_path: Path, level: int) -> None:
    result = pack(module_dir, tmp_path / "m.tar.gz", level=level)
    with tarfile.open(result.path) as tar:
        assert tar.extractfile("assets/vocab.txt").read() == module_files()["assets/vocab.txt"]


def test_level_out_of_range(module_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="0 to 3"):
        pack(module_dir, tmp_path / "m.tar.gz", level=9)


def test_empty_module_dir_gives_an_empty_archive(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = pack(tmp_path / "empty", tmp_path / "e.tar.gz")
    with tarfile.open(result.path) as tar:
        assert tar.getmembers() == []


# --- progress and checksum --------------------------------------------------------------------

def test_progress_counts_file_bytes(tmp_path: Path) -> None:
    files = module_files(weights_mb=2.5)
    module = write_tree(tmp_path / "m", files)
    calls: list[tuple[int, int | None]] = []
    pack(module, tmp_path / "m.tar.gz", progress=lambda done, total: calls.append((done, total)))
    total = sum(len(d) for d in files.values())
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) > 3


def test_write_checksum_in_sha256sum_format(module_dir: Path, tmp_path: Path) -> None:
    result = pack(module_dir, tmp_path / "acme-m-1.tar.gz")
    path = write_checksum(result)
    assert path == tmp_path / "acme-m-1.tar.gz.sha256"
    assert path.read_text() == f"{result.sha256}  acme-m-1.tar.gz\n"
    subprocess.run(["sha256sum", "--check", "--quiet", path.name], cwd=tmp_path, check=True)


# --- failures leave nothing behind ------------------------------------------------------------

def _existing_output(tmp_path: Path) -> Path:
    out = tmp_path / "out" / "m.tar.gz"
    out.parent.mkdir()
    out.write_bytes(b"previous build")
    return out


def test_symlink_in_module_is_refused_and_output_kept(module_dir: Path, tmp_path: Path) -> None:
    out = _existing_output(tmp_path)
    (module_dir / "assets" / "link.txt").symlink_to(module_dir / "assets" / "vocab.txt")
    with pytest.raises(ModuleFormatError, match=r"link\.txt is a symbolic link"):
        pack(module_dir, out)
    assert out.read_bytes() == b"previous build"
    assert [p.name for p in out.parent.iterdir()] == ["m.tar.gz"]


def test_fifo_in_module_is_refused(module_dir: Path, tmp_path: Path) -> None:
    os.mkfifo(module_dir / "pipe")
    with pytest.raises(ModuleFormatError, match="pipe is a special file"):
        pack(module_dir, tmp_path / "m.tar.gz")


def test_failure_midway_keeps_the_previous_tarball(tmp_path: Path) -> None:
    module = write_tree(tmp_path / "m", module_files(weights_mb=3))
    out = _existing_output(tmp_path)

    def fail(done: int, total: int | None) -> None:
        if done > 2 * BLOCK_SIZE:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pack(module, out, threads=2, progress=fail)
    assert out.read_bytes() == b"previous build"
    assert [p.name for p in out.parent.iterdir()] == ["m.tar.gz"]


def test_missing_module_dir(tmp_path: Path) -> None:
    with pytest.raises(ModuleFormatError, match="is not a module directory"):
        pack(tmp_path / "nothing", tmp_path / "m.tar.gz")


def test_unwritable_output(module_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot write .*no-such-dir"):
        pack(module_dir, tmp_path / "no-such-dir" / "m.tar.gz")


def test_package_module_does_not_import_tensorflow() -> None:
    code = "import hubpub.files.package, hubpub.files.resolver, sys; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
