"""Safe extraction of module tarballs: real tarballs, hostile ones included, built in tmp_path."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from hubpub.errors import ArchiveError, HubpubError, ModuleFormatError, shortened_name
from hubpub.files import archive
from hubpub.files.archive import (
    Member,
    list_members,
    safe_extract,
    unpacked,
)
from hubpub.spec.files import find_module_root
from tests.fixture_paths import HALF_PLUS_TWO

FIXTURE = HALF_PLUS_TWO
MODULE_FILES = {
    "tfhub_module.pb": b"\x08\x03",
    "saved_model.pb": b"not really a saved model, but bytes",
    "variables/variables.index": b"index",
    "variables/variables.data-00000-of-00001": b"\x00\x01\x02" * 1000,
}


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _pax_named(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    """A name the ustar field cannot hold as is (a NUL byte ends it): kept in a pax record."""
    info, data = _file(name, data)
    info.pax_headers = {"path": name}
    return info, data


def _entry(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    if kind == tarfile.DIRTYPE:
        info.mode = 0o755
    return info, None


def make_tar(path: Path, members: Sequence[tuple[tarfile.TarInfo, bytes | None]],
             compression: str = "gz") -> Path:
    """Writes the members in the given order, exactly as given (no filtering by tarfile)."""
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def module_members() -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [_entry("variables", tarfile.DIRTYPE), _entry("assets", tarfile.DIRTYPE),
            *(_file(n, d) for n, d in MODULE_FILES.items())]


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path below folder -> its bytes (None for directories)."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    folder = tmp_path / "dest"
    folder.mkdir()
    return folder


def test_fixture_extracts_with_module_files(dest: Path) -> None:
    safe_extract(FIXTURE, dest)
    files = tree(dest)
    assert files["tfhub_module.pb"] == b"\x08\x03"
    assert len(files["saved_model.pb"]) == 4459
    assert files["assets"] is None and files["variables"] is None
    assert "variables/variables.index" in files
    assert find_module_root(dest) == dest


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz", ""], ids=["gz", "bz2", "xz", "tar"])
def test_every_compression_extracts_the_same_files(tmp_path: Path, dest: Path,
                                                   compression: str) -> None:
    tarball = make_tar(tmp_path / "m.tar", module_members(), compression)
    safe_extract(tarball, dest)
    expected = {**MODULE_FILES, "variables": None, "assets": None}
    assert tree(dest) == expected


def test_reads_from_an_unseekable_stream(tmp_path: Path, dest: Path) -> None:
    data = make_tar(tmp_path / "m.tar.gz", module_members()).read_bytes()

    class Pipe:  # only read(): like a socket or a pipe
        def __init__(self) -> None:
            self._buffer = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._buffer.read(min(n, 777) if n > 0 else 777)

    safe_extract(Pipe(), dest)  # type: ignore[arg-type]
    assert tree(dest)["variables/variables.index"] == b"index"


def _module_folder(tmp_path: Path) -> Path:
    """MODULE_FILES as a folder on disk, to pack with tar or tarfile.add."""
    src = tmp_path / "src"
    for name, data in MODULE_FILES.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    return src


def test_gnu_tar_archive_with_dot_prefix_extracts(tmp_path: Path, dest: Path) -> None:
    src = _module_folder(tmp_path)
    tarball = tmp_path / "gnu.tar.gz"
    subprocess.run(["tar", "-czf", str(tarball), "-C", str(src), "."], check=True)
    assert any(m.name.startswith("./") for m in list_members(tarball))
    safe_extract(tarball, dest)
    assert tree(dest)["variables/variables.data-00000-of-00001"] == b"\x00\x01\x02" * 1000


def test_progress_reports_growing_unpacked_bytes(tmp_path: Path, dest: Path) -> None:
    big = os.urandom(3 * 1024 * 1024 + 5)
    tarball = make_tar(tmp_path / "m.tar.gz", [_file("a.bin", big), _file("b.bin", b"xyz")])
    seen: list[int] = []
    safe_extract(tarball, dest, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == len(big) + 3
    assert len(seen) > 2  # streamed in chunks, not one call at the end


# --- hostile members --------------------------------------------------------------------------

HOSTILE = [
    pytest.param([_file("/ABS/evil", b"x")], "/ABS/evil", "absolute", id="absolute-path"),
    pytest.param([_file("../evil", b"x")], "../evil", "'..'", id="dotdot"),
    pytest.param([_file("variables/../../evil", b"x")], "variables/../../evil", "'..'",
                 id="dotdot-inside"),
    pytest.param([_entry("link", tarfile.SYMTYPE, "../outside"), _file("link/evil", b"x")],
                 "link", "symlink", id="symlink-out-then-write-through"),
    pytest.param([_entry("link", tarfile.SYMTYPE, "/ABS")], "link", "symlink",
                 id="symlink-absolute"),
    pytest.param([_file("saved_model.pb", b"x"), _entry("sm", tarfile.SYMTYPE, "saved_model.pb")],
                 "sm", "symlink", id="symlink-inside-also-refused"),
    pytest.param([_entry("hard", tarfile.LNKTYPE, "../outside/victim")], "hard", "hardlink",
                 id="hardlink-out"),
    pytest.param([_entry("hard", tarfile.LNKTYPE, "/etc/passwd")], "hard", "hardlink",
                 id="hardlink-absolute"),
    pytest.param([_entry("dev", tarfile.CHRTYPE)], "dev", "chardev", id="char-device"),
    pytest.param([_entry("blk", tarfile.BLKTYPE)], "blk", "blockdev", id="block-device"),
    pytest.param([_entry("fifo", tarfile.FIFOTYPE)], "fifo", "fifo", id="fifo"),
    pytest.param([_entry("assets", tarfile.DIRTYPE), _file("assets", b"a file")], "assets",
                 "file over a dir", id="file-over-dir"),
    pytest.param([_file("assets/x", b"x"), _file("./assets", b"a file")], "./assets",
                 "file over a dir", id="file-over-implicit-dir"),
    pytest.param([_file("saved_model.pb", b"x"), _entry("saved_model.pb", tarfile.SYMTYPE,
                                                         "/ABS")], "saved_model.pb", "symlink",
                 id="file-then-symlink-of-that-name"),
    pytest.param([_pax_named("assets/a\0b", b"x")], "assets/a\0b", "NUL", id="nul-byte"),
    pytest.param([_file("x" * 300, b"x")], "x" * 300, "300 bytes", id="component-too-long"),
    pytest.param([_file("/".join(["d" * 250] * 20), b"x")], "/".join(["d" * 250] * 20),
                 "the filesystem allows", id="path-too-long"),
    pytest.param([_file("d/" * 5000 + "f", b"x")], "d/" * 5000 + "f", "5001 folders deep",
                 id="thousands-of-nested-folders"),
    pytest.param([_file("variables", b"a file"), _file("variables/x", b"x")], "variables/x",
                 "as a file", id="member-below-a-file"),
    pytest.param([_file("assets", b"a file"), _entry("assets", tarfile.DIRTYPE)], "assets",
                 "same name", id="dir-over-file"),
]


@pytest.mark.parametrize(("members", "refused", "reason"), HOSTILE)
def test_hostile_member_is_refused_and_named(tmp_path: Path, members: list, refused: str,
                                             reason: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"keep me")
    abs_target = tmp_path / "ABS"
    members = [(_retarget(info, abs_target), data) for info, data in members]
    refused = refused.replace("/ABS", str(abs_target))
    dest = tmp_path / "deep" / "dest"  # so that '../evil' would land in tmp_path/deep
    dest.mkdir(parents=True)
    tarball = make_tar(tmp_path / "hostile.tar.gz", members)
    before = _outside_state(tmp_path, dest)

    with pytest.raises(ArchiveError) as excinfo:
        safe_extract(tarball, dest)

    assert excinfo.value.member == refused
    assert f"'{shortened_name(refused)}'" in str(excinfo.value)
    assert "\0" not in str(excinfo.value)  # control characters are shown escaped
    assert len(str(excinfo.value)) < 500  # a megabyte-long name is not printed whole
    assert reason in str(excinfo.value)
    assert _outside_state(tmp_path, dest) == before
    assert not abs_target.exists()
    assert (outside / "victim").read_bytes() == b"keep me"


def _retarget(info: tarfile.TarInfo, abs_target: Path) -> tarfile.TarInfo:
    """Points the "/ABS" placeholder at a path inside tmp_path, to check it stays untouched."""
    info.name = info.name.replace("/ABS", str(abs_target))
    info.linkname = info.linkname.replace("/ABS", str(abs_target))
    return info


def _outside_state(root: Path, dest: Path) -> dict[str, bytes | None]:
    return {k: v for k, v in tree(root).items() if not (root / k).is_relative_to(dest)}


def test_repeated_file_last_copy_wins(tmp_path: Path, dest: Path) -> None:
    """tar semantics, as archives made by tarfile.add(folder) and then each file again have."""
    tarball = make_tar(tmp_path / "dup.tar.gz", [
        _entry("variables", tarfile.DIRTYPE), _file("saved_model.pb", b"first, and longer"),
        _file("./saved_model.pb", b"second"), _entry("./variables", tarfile.DIRTYPE),
        _file("variables/variables.index", b"i1"), _file("variables/variables.index", b"i2")])
    safe_extract(tarball, dest)
    assert tree(dest) == {"saved_model.pb": b"second", "variables": None,
                          "variables/variables.index": b"i2"}


def test_folder_added_then_each_file_again_extracts(tmp_path: Path, dest: Path) -> None:
    src = _module_folder(tmp_path)
    tarball = tmp_path / "twice.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(src, arcname=".")
        for name in MODULE_FILES:
            tar.add(src / name, arcname=name)
    assert len(list_members(tarball)) == 2 * len(MODULE_FILES) + 2
    safe_extract(tarball, dest)
    assert tree(dest) == {**MODULE_FILES, "variables": None}


def test_repeated_file_counts_towards_the_size_cap(tmp_path: Path, dest: Path) -> None:
    tarball = make_tar(tmp_path / "dup.tar.gz", [_file("a", bytes(600)), _file("a", bytes(600))])
    with pytest.raises(ArchiveError, match="more than 1000 bytes"):
        safe_extract(tarball, dest, max_bytes=1000)


# --- size and count caps ----------------------------------------------------------------------

class Zeros(io.RawIOBase):
    """``size`` zero bytes, produced on demand so the test never holds them in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 MB of zeros in one member: about 200 KB compressed."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.tar.gz"
    info = tarfile.TarInfo("variables/variables.data-00000-of-00001")
    info.size = 200 * 1000 * 1000
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        tar.addfile(_file("tfhub_module.pb", b"\x08\x03")[0], io.BytesIO(b"\x08\x03"))
        tar.addfile(info, io.BufferedReader(Zeros(info.size), 1 << 20))
    assert path.stat().st_size < 1_000_000
    return path


def test_gzip_bomb_is_refused_before_its_member_is_written(gzip_bomb: Path, dest: Path) -> None:
    with pytest.raises(ArchiveError) as excinfo:
        safe_extract(gzip_bomb, dest, max_bytes=10 * 1000 * 1000)
    message = str(excinfo.value)
    assert excinfo.value.member == "variables/variables.data-00000-of-00001"
    assert "more than 10000000 bytes" in message
    assert "HUBPUB_MAX_UNPACKED_BYTES" in message
    assert not (dest / "variables" / "variables.data-00000-of-00001").exists()


def test_unpacked_limit_comes_from_the_environment(gzip_bomb: Path, dest: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBPUB_MAX_UNPACKED_BYTES", "1000")
    with pytest.raises(ArchiveError, match="more than 1000 bytes"):
        safe_extract(gzip_bomb, dest)


def test_default_limit_is_eight_gib() -> None:
    assert archive.DEFAULT_MAX_UNPACKED_BYTES == 8 * 1024**3


def test_raised_limit_lets_a_large_archive_through(gzip_bomb: Path, dest: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBPUB_MAX_UNPACKED_BYTES", str(300 * 1000 * 1000))
    safe_extract(gzip_bomb, dest)
    assert (dest / "variables" / "variables.data-00000-of-00001").stat().st_size == 200_000_000


@pytest.mark.parametrize("value", ["lots", "-5", "0"])
def test_bad_limit_in_environment_is_an_error(gzip_bomb: Path, dest: Path, value: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A setting error (exit 2), not a finding about the archive."""
    monkeypatch.setenv("HUBPUB_MAX_UNPACKED_BYTES", value)
    with pytest.raises(HubpubError, match="HUBPUB_MAX_UNPACKED_BYTES") as caught:
        safe_extract(gzip_bomb, dest)
    assert not isinstance(caught.value, ArchiveError)


def test_many_small_members_add_up_to_the_limit(tmp_path: Path, dest: Path) -> None:
    members = [_file(f"assets/part{i}", bytes(1000)) for i in range(10)]
    tarball = make_tar(tmp_path / "parts.tar.gz", members)
    with pytest.raises(ArchiveError) as excinfo:
        safe_extract(tarball, dest, max_bytes=4500)
    assert excinfo.value.member == "assets/part4"
    written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    assert written == 4000


def test_member_count_is_capped(tmp_path: Path, dest: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    tarball = make_tar(tmp_path / "many.tar.gz", [_file(f"f{i}", b"") for i in range(6)])
    monkeypatch.setenv("HUBPUB_MAX_MEMBERS", "5")
    with pytest.raises(ArchiveError, match="more than 5 members.*HUBPUB_MAX_MEMBERS"):
        safe_extract(tarball, dest)
    with pytest.raises(ArchiveError, match="more than 5 members"):
        list_members(tarball)


def test_huge_pax_header_is_refused(tmp_path: Path, dest: Path) -> None:
    info, data = _file("saved_model.pb", b"x")
    info.pax_headers = {"comment": "x" * (2 * 1024 * 1024)}
    tarball = make_tar(tmp_path / "pax.tar.gz", [(info, data)])
    with pytest.raises(ArchiveError, match="metadata header"):
        safe_extract(tarball, dest)


def _raw_header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    return info.tobuf(format=tarfile.GNU_FORMAT)  # GNU: sizes of any magnitude (base-256)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME,
                                  tarfile.GNUTYPE_LONGLINK],
                         ids=["pax", "pax-global", "gnu-longname", "gnu-longlink"])
def test_chain_of_thousands_of_metadata_headers_is_refused_fast(tmp_path: Path, dest: Path,
                                                                kind: bytes) -> None:
    """tarfile follows these recursively: thousands gave RecursionError."""
    payload = b"12 comment=x\n" if kind in (tarfile.XHDTYPE, tarfile.XGLTYPE) else b"name\0"
    link = _raw_header("././@LongLink", kind, len(payload)) + _padded(payload)
    body = (link * 5000 + _raw_header("tfhub_module.pb", tarfile.REGTYPE, 2)
            + _padded(b"\x08\x03") + bytes(1024))
    tarball = tmp_path / "chain.tar.gz"
    tarball.write_bytes(gzip.compress(body))
    for read in (lambda: safe_extract(tarball, dest), lambda: list_members(tarball)):
        started = time.monotonic()
        with pytest.raises(ArchiveError, match="more than 16 pax or GNU long-name headers"):
            read()
        assert time.monotonic() - started < 1.0
    assert not any(dest.iterdir())


def test_short_chain_of_metadata_headers_is_read(tmp_path: Path, dest: Path) -> None:
    info, data = _file("assets/" + "long" * 40, b"x")
    info.pax_headers = {"comment": "made by a careful publisher"}
    make_tar(tmp_path / "m.tar", [(info, data)], compression="")
    safe_extract(tmp_path / "m.tar", dest)
    assert tree(dest)["assets/" + "long" * 40] == b"x"


@pytest.mark.parametrize("compression", ["gz", ""], ids=["gz", "tar"])
def test_96_byte_tarball_claiming_2_to_the_62_bytes_fails_at_once(tmp_path: Path, dest: Path,
                                                                  compression: str) -> None:
    header = _raw_header("variables/variables.data-00000-of-00001", tarfile.REGTYPE, 2**62)
    tarball = tmp_path / "claims.tar.gz"
    tarball.write_bytes(gzip.compress(header) if compression else header)
    assert len(tarball.read_bytes()) <= 512
    for read in (lambda: safe_extract(tarball, dest), lambda: list_members(tarball)):
        started = time.monotonic()
        with pytest.raises(ArchiveError) as excinfo:
            read()
        assert time.monotonic() - started < 1.0
        assert excinfo.value.member == "variables/variables.data-00000-of-00001"
        assert "more than 8589934592 bytes" in str(excinfo.value)


def test_header_claiming_more_than_the_archive_holds_fails_at_once(tmp_path: Path,
                                                                   dest: Path) -> None:
    """Under the cap, but the data is not there: tarfile would skip nothing for ever."""
    body = (_raw_header("tfhub_module.pb", tarfile.REGTYPE, 2) + _padded(b"\x08\x03")
            + _raw_header("assets/big", tarfile.AREGTYPE, 7 * 1024**3))
    tarball = tmp_path / "short.tar.gz"
    tarball.write_bytes(gzip.compress(body))
    started = time.monotonic()
    with pytest.raises(ArchiveError, match="ends inside a member") as excinfo:
        list_members(tarball)
    assert time.monotonic() - started < 1.0
    assert excinfo.value.member == "assets/big"
    with pytest.raises(ArchiveError, match="not a valid module tarball"):
        safe_extract(tarball, dest)


def _gzip_of_zeros(total: int, piece: int = 1 << 20) -> bytes:
    """``total`` zero bytes as concatenated gzip members: about 1 KB per MiB."""
    one = gzip.compress(bytes(piece), compresslevel=9)
    return one * (total // piece)


def test_archive_inflating_to_10_gib_stops_at_the_cap(tmp_path: Path, dest: Path) -> None:
    """~10 MB on disk, 10 GiB inflated: refused after decompressing about the cap."""
    limit = 50 * 1024 * 1024
    header = gzip.compress(_raw_header("variables/variables.data-00000-of-00001",
                                       tarfile.REGTYPE, 10 * 1024**3))
    padded = tarfile.TarInfo("assets/x")  # empty members, each after a 1 MB pax record
    padded.pax_headers = {"comment": "x" * 1000 * 1000}
    pax = gzip.compress(padded.tobuf(format=tarfile.PAX_FORMAT), compresslevel=9) * 10 * 1024
    zeros = _gzip_of_zeros(10 * 1024**3)
    assert len(zeros) < 15_000_000
    module = gzip.compress(_raw_header("tfhub_module.pb", tarfile.REGTYPE, 2)
                           + _padded(b"\x08\x03"))
    for name, data, message in [
        ("declares-it.tar.gz", header + zeros, "unpacks to more than"),
        # Zero blocks end a tar archive; what follows is trailing data, capped separately.
        ("after-the-end.tar.gz", module + zeros, "after the end of the archive"),
        # No member has data: the bytes are all metadata, capped as a whole.
        ("pax-records.tar.gz", pax, "headers add up to more than"),
    ]:
        tarball = tmp_path / name
        tarball.write_bytes(data)
        for folder in dest.iterdir():
            shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
        started = time.monotonic()
        with pytest.raises(ArchiveError, match=message):
            safe_extract(tarball, dest, max_bytes=limit)
        assert time.monotonic() - started < 3.0, name
        written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        assert written <= limit


def test_trailing_data_after_the_archive_is_capped(tmp_path: Path, dest: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    plain = make_tar(tmp_path / "m.tar", module_members(), compression="").read_bytes()
    monkeypatch.setattr(archive, "MAX_TRAILING_BYTES", 100_000)
    safe_extract(io.BytesIO(plain + bytes(50_000)), dest)
    with pytest.raises(ArchiveError, match="after the end of the archive"):
        safe_extract(io.BytesIO(plain + bytes(200_000)), tmp_path)


# --- corrupt archives -------------------------------------------------------------------------

@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, -4, -1], ids=lambda k: f"keep={k}")
def test_truncated_tarball_is_not_valid(tmp_path: Path, dest: Path, keep: float) -> None:
    members = [*module_members(), _file("assets/noise", os.urandom(200_000))]
    data = make_tar(tmp_path / "m.tar.gz", members).read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else len(data) + keep
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[:cut])
    with pytest.raises(ArchiveError, match="truncated.tar.gz is not a valid module tarball"):
        safe_extract(truncated, dest)


def test_flipped_bytes_are_detected(tmp_path: Path, dest: Path) -> None:
    data = bytearray(make_tar(tmp_path / "m.tar.gz", module_members()).read_bytes())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ArchiveError, match="not a valid module tarball"):
        safe_extract(io.BytesIO(bytes(data)), dest, name="flipped.tgz")


@pytest.mark.parametrize("content", [b"", b"<html>Not Found</html>" * 40, b"\x1f\x8bjunk"],
                         ids=["empty", "html", "bad-gzip"])
def test_not_an_archive_at_all(dest: Path, content: bytes) -> None:
    with pytest.raises(ArchiveError, match=r"^page\.tar\.gz is not a valid module tarball"):
        safe_extract(io.BytesIO(content), dest, name="page.tar.gz")


def test_missing_tarball_file(tmp_path: Path, dest: Path) -> None:
    with pytest.raises(ArchiveError, match="cannot read .*nothing.tar.gz"):
        safe_extract(tmp_path / "nothing.tar.gz", dest)


# --- list_members, unpacked, find_module_root -------------------------------------------------

def test_list_members_reports_junk_and_types_without_extracting(tmp_path: Path) -> None:
    members = [_file("._saved_model.pb", b"apple"), _entry("__MACOSX", tarfile.DIRTYPE),
               _file(".DS_Store", b"ds"), _file("mymodule/saved_model.pb", b"abc"),
               _entry("lnk", tarfile.SYMTYPE, "../x"), _entry("dev", tarfile.CHRTYPE)]
    tarball = make_tar(tmp_path / "junk.tar.gz", members)
    listed = list_members(tarball)
    assert [m.name for m in listed] == ["._saved_model.pb", "__MACOSX", ".DS_Store",
                                        "mymodule/saved_model.pb", "lnk", "dev"]
    assert listed[3] == Member("mymodule/saved_model.pb", "file", 3, 0o644)
    assert [m.type for m in listed] == ["file", "dir", "file", "file", "symlink", "chardev"]
    assert listed[4].linkname == "../x"
    assert not (tmp_path / "mymodule").exists()


def test_unpacked_removes_its_folder_on_exit_and_on_error(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A private temp folder: other test runs on the machine unpack into the shared one.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with unpacked(FIXTURE) as folder:
        assert (folder / "tfhub_module.pb").is_file()
    assert not folder.exists()

    tarball = make_tar(tmp_path / "bad.tar.gz", [_file("ok", b"1"), _file("../evil", b"x")])
    before = set(Path(folder.parent).glob("hubpub-unpacked-*"))
    with pytest.raises(ArchiveError), unpacked(tarball):
        pass
    assert set(Path(folder.parent).glob("hubpub-unpacked-*")) == before


def test_find_module_root_one_level_down(tmp_path: Path) -> None:
    members = [_file(f"mymodule/{n}", d) for n, d in MODULE_FILES.items()]
    members.append(_file("__MACOSX/mymodule/._tfhub_module.pb", b"apple"))
    tarball = make_tar(tmp_path / "nested.tar.gz", members)
    with unpacked(tarball) as folder:
        assert find_module_root(folder) == folder / "mymodule"


def test_find_module_root_refuses_two_modules(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "tfhub_module.pb").write_bytes(b"\x08\x03")
    with pytest.raises(ModuleFormatError, match=r"several modules \(a, b\)"):
        find_module_root(tmp_path)


@pytest.mark.parametrize(("files", "hint"), [
    ([], "no tfhub_module.pb"),
    (["saved_model.pb"], "plain SavedModel"),
    (["deeper/still/tfhub_module.pb"], "one folder down"),
])
def test_find_module_root_without_module(tmp_path: Path, files: list[str], hint: str) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(ModuleFormatError, match=hint):
        find_module_root(tmp_path)


def test_archive_module_does_not_import_tensorflow() -> None:
    code = "import hubpub.files.archive, sys; print('tensorflow' in sys.modules)"
    out = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
