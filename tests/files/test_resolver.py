"""Resolving handles: local folders and tarballs, file:// and http:// URLs, the shared cache.

HTTP handles are served by a real http.server on 127.0.0.1 in a thread; nothing leaves the host.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import hubpub
from hubpub.errors import ArchiveError, HandleError
from hubpub.files.resolver import cache_dir, resolve
from tests.fixture_paths import HALF_PLUS_TWO

FIXTURE = HALF_PLUS_TWO


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(folder))
    monkeypatch.delenv("HUBPUB_LOCK_TIMEOUT_SEC", raising=False)
    return folder


def make_tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def module_files(extra: bytes = b"") -> dict[str, bytes]:
    return {"tfhub_module.pb": b"\x08\x03", "saved_model.pb": b"graph" + extra,
            "variables/variables.index": b"index"}


def leftovers(cache: Path) -> list[str]:
    """Lock files and temp folders: a finished or failed resolve leaves none."""
    if not cache.exists():
        return []
    return sorted(p.name for p in cache.iterdir() if p.suffix in (".lock", ".tmp", ".stale"))


def assert_half_plus_two(folder: Path) -> None:
    assert (folder / "tfhub_module.pb").read_bytes() == b"\x08\x03"
    assert (folder / "saved_model.pb").stat().st_size == 4459
    assert (folder / "variables" / "variables.index").is_file()
    assert (folder / "assets").is_dir()


# --- a local HTTP server ----------------------------------------------------------------------

@dataclass
class Server:
    """Serves ``files`` by path; records every request; can throttle, truncate or stall."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    chunk_delay: float = 0.0  # a slow network, so concurrent downloads really overlap
    truncate_at: int | None = None  # announce the full length, send only this much
    stall: threading.Event | None = None  # after the first chunk, wait for this event


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            state.requests.append(self.path)
            body = state.files.get(self.path.split("?", 1)[0])
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            sent = body if state.truncate_at is None else body[: state.truncate_at]
            try:
                for i in range(0, len(sent), 16384):
                    self.wfile.write(sent[i:i + 16384])
                    self.wfile.flush()
                    if state.stall is not None:
                        state.stall.wait(30)
                    if state.chunk_delay:
                        time.sleep(state.chunk_delay)
            except (BrokenPipeError, ConnectionResetError):
                pass
            if state.truncate_at is not None:
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield state
    if state.stall is not None:
        state.stall.set()
    httpd.shutdown()
    httpd.server_close()


# --- local handles ----------------------------------------------------------------------------

def test_local_directory_is_returned_as_is(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "mod").mkdir()
    handle = str(tmp_path / "mod")
    assert resolve(handle) == handle
    assert resolve(Path(handle)) == handle
    assert not cache.exists()


def test_relative_directory_is_returned_unchanged(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mod").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve("mod") == "mod"


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_missing_handle(tmp_path: Path, form: str, cache: Path) -> None:
    missing = tmp_path / "nope" / "module.tar.gz"
    handle = str(missing) if form == "path" else missing.as_uri()
    with pytest.raises(HandleError) as excinfo:
        resolve(handle)
    assert str(excinfo.value) == f"{handle} does not exist."
    assert isinstance(excinfo.value, OSError)  # old callers catch IOError
    assert not cache.exists()


def test_file_that_is_not_a_tarball(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(HandleError, match="neither a module directory nor a module tarball"):
        resolve(str(tmp_path / "notes.txt"))


def test_fixture_resolves_into_the_cache(cache: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    folder = Path(resolve(str(FIXTURE), progress=lambda done, total: calls.append((done, total))))
    assert folder.parent == cache
    assert_half_plus_two(folder)
    assert calls[-1] == (FIXTURE.stat().st_size, FIXTURE.stat().st_size)
    descriptor = Path(f"{folder}.descriptor.txt").read_text()
    assert descriptor.startswith(f"Module: {FIXTURE}\nDownload Time: ")
    assert f"(PID:{os.getpid()})" in descriptor
    assert leftovers(cache) == []


def test_second_resolve_uses_the_cache(cache: Path) -> None:
    first = resolve(str(FIXTURE))
    marker = Path(first) / "marker"
    marker.write_text("still the same folder")
    calls: list[int] = []
    assert resolve(str(FIXTURE), progress=lambda done, total: calls.append(done)) == first
    assert marker.exists()
    assert calls == []  # nothing read again


def test_file_url_of_a_tarball(cache: Path) -> None:
    folder = Path(resolve(FIXTURE.as_uri()))
    assert folder.parent == cache
    assert_half_plus_two(folder)


def test_file_url_of_a_directory(tmp_path: Path) -> None:
    assert resolve(tmp_path.as_uri()) == str(tmp_path)


def test_rebuilt_local_tarball_is_not_served_stale(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "m.tar.gz", module_files(b"-v1"))
    first = Path(resolve(str(tarball)))
    make_tarball(tmp_path / "m.tar.gz", module_files(b"-v2-longer"))
    second = Path(resolve(str(tarball)))
    assert (first / "saved_model.pb").read_bytes() == b"graph-v1"
    assert (second / "saved_model.pb").read_bytes() == b"graph-v2-longer"


def test_public_api_exposes_resolve(cache: Path) -> None:
    assert hubpub.resolve is resolve
    assert_half_plus_two(Path(hubpub.resolve(str(FIXTURE))))


def test_cache_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("TFHUB_CACHE_DIR")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert cache_dir() == tmp_path / "tfhub_modules"


def test_unwritable_cache_is_a_clear_error(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(HandleError, match="TFHUB_CACHE_DIR"):
        resolve(str(FIXTURE))


# --- hostile and broken tarballs --------------------------------------------------------------

def _hostile_tarball(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("tfhub_module.pb")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"\x08\x03"))
        link = tarfile.TarInfo("variables")
        link.type, link.linkname = tarfile.SYMTYPE, str(path.parent / "outside")
        tar.addfile(link)
        evil = tarfile.TarInfo("variables/evil")
        evil.size = 4
        tar.addfile(evil, io.BytesIO(b"evil"))
    return path


def test_hostile_tarball_leaves_nothing_in_the_cache(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "outside").mkdir()
    tarball = _hostile_tarball(tmp_path / "hostile.tar.gz")
    with pytest.raises(ArchiveError) as excinfo:
        resolve(str(tarball))
    assert excinfo.value.member == "variables"
    assert list((tmp_path / "outside").iterdir()) == []
    assert [p for p in cache.iterdir() if not p.name.endswith(".descriptor.txt")] == []


def test_truncated_tarball_leaves_nothing_in_the_cache(tmp_path: Path, cache: Path) -> None:
    data = make_tarball(tmp_path / "m.tar.gz", module_files(os.urandom(100_000))).read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="not a valid module tarball"):
        resolve(str(tmp_path / "cut.tar.gz"))
    assert list(cache.iterdir()) == []


def test_interrupted_read_leaves_no_module(tmp_path: Path, cache: Path) -> None:
    tarball = make_tarball(tmp_path / "big.tar.gz", module_files(os.urandom(3_000_000)))

    def interrupt(done: int, total: int | None) -> None:
        if done > 1_000_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resolve(str(tarball), progress=interrupt)
    assert list(cache.iterdir()) == []
    # The next call starts from scratch and succeeds.
    assert (Path(resolve(str(tarball))) / "tfhub_module.pb").is_file()


def test_empty_module_folder_is_filled_again(cache: Path) -> None:
    first = Path(resolve(str(FIXTURE)))
    for path in sorted(first.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    assert resolve(str(FIXTURE)) == str(first)
    assert_half_plus_two(first)


# --- http -------------------------------------------------------------------------------------

def test_http_handle_downloads_once_with_the_compressed_query(server: Server,
                                                              cache: Path) -> None:
    server.files["/google/half_plus_two/1"] = FIXTURE.read_bytes()
    handle = f"{server.base}/google/half_plus_two/1"
    calls: list[tuple[int, int | None]] = []
    folder = Path(resolve(handle, progress=lambda d, t: calls.append((d, t))))
    assert folder == cache / hashlib.sha1(handle.encode("utf8")).hexdigest()
    assert_half_plus_two(folder)
    assert server.requests == ["/google/half_plus_two/1?tf-hub-format=compressed"]
    size = len(server.files["/google/half_plus_two/1"])
    assert calls[-1] == (size, size)
    assert resolve(handle) == str(folder)
    assert len(server.requests) == 1
    assert leftovers(cache) == []


def test_http_query_is_kept(server: Server) -> None:
    server.files["/m.tar.gz"] = FIXTURE.read_bytes()
    resolve(f"{server.base}/m.tar.gz?token=a%20b&x=")
    assert server.requests == ["/m.tar.gz?token=a+b&x=&tf-hub-format=compressed"]


def test_http_not_found(server: Server, cache: Path) -> None:
    with pytest.raises(HandleError, match="HTTP 404 Not Found"):
        resolve(f"{server.base}/missing/1")
    assert leftovers(cache) == [] and list(cache.iterdir()) == []


def test_http_connection_refused() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HandleError, match="cannot download"):
        resolve(f"http://127.0.0.1:{port}/m/1")


def test_http_connection_dropped_mid_download(server: Server, cache: Path,
                                              tmp_path: Path) -> None:
    body = make_tarball(tmp_path / "m.tar.gz", module_files(os.urandom(300_000))).read_bytes()
    server.files["/m/1"] = body
    server.truncate_at = len(body) // 2
    with pytest.raises(HandleError, match=rf"stopped after {len(body) // 2} of {len(body)} bytes"):
        resolve(f"{server.base}/m/1")
    assert list(cache.iterdir()) == []


def test_http_page_that_is_not_a_tarball(server: Server, cache: Path) -> None:
    server.files["/m/1"] = b"<html><body>Model page</body></html>"
    with pytest.raises(ArchiveError, match=r"/m/1 is not a valid module tarball"):
        resolve(f"{server.base}/m/1")
    assert list(cache.iterdir()) == []


def _tar_bytes(*headers: tuple[str, bytes, int, bytes], gnu: bool = False) -> bytes:
    """A gzipped tar written header by header: (name, type, declared size, data)."""
    out = io.BytesIO()
    for name, kind, size, data in headers:
        info = tarfile.TarInfo(name)
        info.type, info.size = kind, size
        if "\0" in name:
            info.pax_headers = {"path": name}
        out.write(info.tobuf(format=tarfile.GNU_FORMAT if gnu else tarfile.PAX_FORMAT))
        out.write(data + bytes(-len(data) % 512))
    return gzip.compress(out.getvalue())


def _pax_chain() -> bytes:
    record = b"12 comment=x\n"
    link = tarfile.TarInfo("././@PaxHeader")
    link.type, link.size = tarfile.XHDTYPE, len(record)
    one = link.tobuf(format=tarfile.USTAR_FORMAT) + record + bytes(512 - len(record))
    member = tarfile.TarInfo("tfhub_module.pb")
    member.size = 2
    return gzip.compress(one * 3000 + member.tobuf(format=tarfile.USTAR_FORMAT)
                         + b"\x08\x03" + bytes(510 + 1024))


HOSTILE_DOWNLOADS = [
    pytest.param(lambda: _tar_bytes(("assets/a\0b", tarfile.REGTYPE, 1, b"x")),
                 "assets/a\0b", id="nul-byte"),
    pytest.param(lambda: _tar_bytes(("assets/" + "n" * 400, tarfile.REGTYPE, 1, b"x")),
                 "assets/" + "n" * 400, id="long-component"),
    pytest.param(lambda: _tar_bytes(("d/" * 3000 + "f", tarfile.REGTYPE, 1, b"x")),
                 "d/" * 3000 + "f", id="thousands-of-folders"),
    pytest.param(_pax_chain, "././@PaxHeader", id="pax-chain"),
    pytest.param(lambda: _tar_bytes(("saved_model.pb", tarfile.REGTYPE, 2**62, b""), gnu=True),
                 "saved_model.pb", id="claims-2-to-the-62"),
]


@pytest.mark.parametrize(("body", "member"), HOSTILE_DOWNLOADS)
def test_hostile_download_fails_fast_and_the_cache_recovers(server: Server, cache: Path,
                                                            body: object, member: str) -> None:
    server.files["/m/1"] = body()  # type: ignore[operator]
    handle = f"{server.base}/m/1"
    started = time.monotonic()
    with pytest.raises(ArchiveError) as excinfo:
        resolve(handle)
    assert time.monotonic() - started < 1.0
    assert excinfo.value.member == member
    assert list(cache.iterdir()) == []  # no lock, no temp folder, no half module

    server.files["/m/1"] = FIXTURE.read_bytes()  # the publisher fixes it: works at once
    assert_half_plus_two(Path(resolve(handle)))
    assert leftovers(cache) == []


def test_deep_temp_folder_of_a_dead_process_is_removed(cache: Path) -> None:
    """Left by an older hubpub: too deep for shutil.rmtree, which recursed once per level."""
    key_dir = Path(resolve(str(FIXTURE)))
    shutil.rmtree(key_dir)
    token = uuid.uuid4().hex
    Path(f"{key_dir}.lock").write_text(f"{socket.gethostname()}.{_dead_pid()}.{token}")
    orphan = Path(f"{key_dir}.{token}.tmp")
    orphan.mkdir()
    fd = os.open(orphan, os.O_RDONLY)
    for _ in range(1500):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)

    assert resolve(str(FIXTURE)) == str(key_dir)
    assert_half_plus_two(key_dir)
    assert [p.name for p in cache.iterdir() if p.is_dir()] == [key_dir.name]
    assert leftovers(cache) == []


# --- the shared default cache -----------------------------------------------------------------

@pytest.fixture
def default_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TFHUB_CACHE_DIR unset: the cache is <system temp>/tfhub_modules (here in tmp_path)."""
    temp = tmp_path / "systemp"
    temp.mkdir()
    monkeypatch.delenv("TFHUB_CACHE_DIR")
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert cache_dir() == temp / "tfhub_modules"
    return temp / "tfhub_modules"


def _plant(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "tfhub_module.pb").write_bytes(b"\x08\x03")
    (folder / "saved_model.pb").write_bytes(b"planted")


def _key(handle: str) -> str:
    return hashlib.sha1(handle.encode("utf8")).hexdigest()


def _planted(server: Server, default_cache: Path) -> tuple[str, Path]:
    """A URL handle, and a fake module in the cache folder it hashes to."""
    server.files["/m/1"] = FIXTURE.read_bytes()
    handle = f"{server.base}/m/1"
    planted = default_cache / _key(handle)
    _plant(planted)
    return handle, planted


def test_module_folder_writable_by_others_is_not_trusted(server: Server,
                                                         default_cache: Path) -> None:
    handle, planted = _planted(server, default_cache)
    planted.chmod(0o777)
    assert Path(resolve(handle)) == planted
    assert_half_plus_two(planted)
    assert len(server.requests) == 1
    assert sorted(p.name for p in default_cache.iterdir()) == [
        planted.name, f"{planted.name}.descriptor.txt"]
    assert resolve(handle) == str(planted)  # ours now: used without downloading again
    assert len(server.requests) == 1


def test_module_folder_that_is_a_symlink_is_not_trusted(server: Server, default_cache: Path,
                                                        tmp_path: Path) -> None:
    server.files["/m/1"] = FIXTURE.read_bytes()
    handle = f"{server.base}/m/1"
    elsewhere = tmp_path / "elsewhere"
    _plant(elsewhere)
    default_cache.mkdir()
    (default_cache / _key(handle)).symlink_to(elsewhere)
    folder = Path(resolve(handle))
    assert not folder.is_symlink()
    assert_half_plus_two(folder)
    assert (elsewhere / "saved_model.pb").read_bytes() == b"planted"  # left alone


def test_default_cache_writable_by_others_is_closed(default_cache: Path) -> None:
    default_cache.mkdir(mode=0o777)
    default_cache.chmod(0o777)
    resolve(str(FIXTURE))
    assert default_cache.stat().st_mode & 0o022 == 0


needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="planting as another user needs chown (root)")


@needs_root
def test_module_folder_of_another_user_is_not_trusted(server: Server,
                                                      default_cache: Path) -> None:
    handle, planted = _planted(server, default_cache)
    os.chown(planted, 65534, 65534)
    assert resolve(handle) == str(planted)
    assert_half_plus_two(planted)
    assert planted.stat().st_uid == os.geteuid()


@needs_root
def test_default_cache_of_another_user_is_not_used(server: Server, default_cache: Path) -> None:
    server.files["/m/1"] = FIXTURE.read_bytes()
    handle = f"{server.base}/m/1"
    _plant(default_cache / _key(handle))
    os.chown(default_cache, 65534, 65534)
    folder = Path(resolve(handle))
    assert folder == default_cache.with_name(f"tfhub_modules-{os.geteuid()}") / _key(handle)
    assert_half_plus_two(folder)
    assert (default_cache / _key(handle) / "saved_model.pb").read_bytes() == b"planted"


def test_explicit_cache_dir_is_the_users_choice(cache: Path) -> None:
    """A team may share a TFHUB_CACHE_DIR on purpose: its folders are used as they are."""
    key_dir = Path(resolve(str(FIXTURE)))
    key_dir.chmod(0o777)
    (key_dir / "marker").write_bytes(b"")
    assert resolve(str(FIXTURE)) == str(key_dir)
    assert (key_dir / "marker").exists()


# --- locks ------------------------------------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_lock_of_a_dead_process_is_stolen_and_its_temp_removed(cache: Path) -> None:
    key_dir = Path(resolve(str(FIXTURE)))  # learn the folder name, then empty the cache
    for path in cache.iterdir():
        path.unlink() if path.is_file() else shutil.rmtree(path)
    token = uuid.uuid4().hex
    Path(f"{key_dir}.lock").write_text(f"{socket.gethostname()}.{_dead_pid()}.{token}")
    orphan = Path(f"{key_dir}.{token}.tmp")
    orphan.mkdir()
    (orphan / "half").write_bytes(b"half a module")

    assert resolve(str(FIXTURE)) == str(key_dir)
    assert_half_plus_two(key_dir)
    assert not orphan.exists()
    assert leftovers(cache) == []


def test_lock_without_progress_is_stolen_after_the_timeout(cache: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    key_dir = Path(resolve(str(FIXTURE)))
    shutil.rmtree(key_dir)
    Path(f"{key_dir}.lock").write_text(f"elsewhere.example.7.{uuid.uuid4().hex}")
    monkeypatch.setenv("HUBPUB_LOCK_TIMEOUT_SEC", "0.3")
    started = time.monotonic()
    assert resolve(str(FIXTURE)) == str(key_dir)
    assert time.monotonic() - started >= 0.3
    assert_half_plus_two(key_dir)
    assert leftovers(cache) == []


def test_lock_of_a_finished_module_is_ignored(cache: Path) -> None:
    folder = Path(resolve(str(FIXTURE)))
    Path(f"{folder}.lock").write_text(f"elsewhere.example.7.{uuid.uuid4().hex}")
    assert resolve(str(FIXTURE)) == str(folder)  # complete: no waiting for the lock


# --- several processes ------------------------------------------------------------------------

RESOLVE_SCRIPT = textwrap.dedent("""
    import sys
    from hubpub.files.resolver import resolve
    print("ready", flush=True)
    sys.stdin.readline()
    reads = []
    path = resolve(sys.argv[1], progress=lambda done, total: reads.append(done))
    print(path, bool(reads), flush=True)
""")


def _resolve_together(handles: list[str], cache: Path) -> list[tuple[str, bool]]:
    """Starts one process per handle and releases them at the same moment."""
    env = {**os.environ, "TFHUB_CACHE_DIR": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", RESOLVE_SCRIPT, h], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for h in handles]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        path, downloaded = out.split()
        results.append((path, downloaded == "True"))
    return results


@pytest.mark.slow
def test_two_processes_share_one_http_download(server: Server, cache: Path,
                                               tmp_path: Path) -> None:
    body = make_tarball(tmp_path / "m.tar.gz", module_files(os.urandom(400_000))).read_bytes()
    server.files["/acme/m/1"] = body
    server.chunk_delay = 0.01  # ~25 chunks: the second process arrives mid-download
    handle = f"{server.base}/acme/m/1"
    results = _resolve_together([handle, handle], cache)
    assert results[0][0] == results[1][0]
    assert sorted(downloaded for _, downloaded in results) == [False, True]
    assert len(server.requests) == 1
    assert (Path(results[0][0]) / "saved_model.pb").stat().st_size == 5 + 400_000
    assert leftovers(cache) == []


@pytest.mark.slow
def test_two_processes_share_one_file_url_extraction(cache: Path, tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "m.tar.gz", module_files(os.urandom(8_000_000)))
    handle = tarball.as_uri()
    results = _resolve_together([handle, handle], cache)
    assert results[0][0] == results[1][0]
    assert sorted(downloaded for _, downloaded in results) == [False, True]
    assert (Path(results[0][0]) / "saved_model.pb").stat().st_size == 5 + 8_000_000
    assert leftovers(cache) == []


@pytest.mark.slow
def test_killed_download_is_recovered_by_the_next_process(server: Server, cache: Path,
                                                          tmp_path: Path) -> None:
    body = make_tarball(tmp_path / "m.tar.gz", module_files(os.urandom(200_000))).read_bytes()
    server.files["/m/1"] = body
    server.stall = threading.Event()
    handle = f"{server.base}/m/1"
    script = textwrap.dedent("""
        import sys
        from hubpub.files.resolver import resolve
        def progress(done, total):
            print("reading", flush=True)
            sys.stdin.readline()  # hold here until killed
        resolve(sys.argv[1], progress=progress)
    """)
    env = {**os.environ, "TFHUB_CACHE_DIR": str(cache)}
    proc = subprocess.Popen([sys.executable, "-c", script, handle], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "reading"
    assert sorted(Path(name).suffix for name in leftovers(cache)) == [".lock", ".tmp"]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stdin.close()
    server.stall.set()
    server.stall = None

    folder = Path(resolve(handle))
    assert (folder / "saved_model.pb").stat().st_size == 5 + 200_000
    assert leftovers(cache) == []
    assert len(server.requests) == 2
