"""Ordinary bad input gets a message and exit 2, never a traceback or a hang: device files,
FIFOs and huge files named as a manifest or baseline, nesting thousands deep, numbers with
thousands of digits, directories given as output files, and standard output that is closed,
a broken pipe or a full disk."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from hubpub.cli import main
from hubpub.errors import InputError, ManifestError
from hubpub.files.inputs import MAX_MANIFEST_BYTES, load_json, read_bounded
from hubpub.manifest import load_manifest
from tests.fixture_paths import HALF_PLUS_TWO

MANIFEST = textwrap.dedent("""\
    module:
      handle: my-org/x
      version: 1
    module_fn: module.py:module_fn
    weights:
      source: initializers
    metadata:
      description: Computes 0.5 * x + 2.
      license: Apache-2.0
      fine_tunable: false
      task: other
    output: dist
""")


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def huge(path: Path, size: int) -> Path:
    """A sparse file: its size is all that is checked, nothing is read."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# --- the reader -------------------------------------------------------------------------------

def test_read_bounded_refuses_what_is_not_a_small_regular_file(tmp_path: Path, fifo: Path) -> None:
    started = time.monotonic()
    for path, message in [(Path(os.devnull), "character device"), (fifo, "FIFO"),
                          (tmp_path, "directory"),
                          (huge(tmp_path / "big.yaml", 50 * 2**20), "50.0 MiB, more than")]:
        with pytest.raises(InputError, match=message) as caught:
            read_bounded(path, what="manifest", max_bytes=MAX_MANIFEST_BYTES)
        assert str(caught.value).startswith(f"{path}: ")
    assert time.monotonic() - started < 1.0
    (tmp_path / "ok.yaml").write_bytes(b"a: 1\n")
    assert read_bounded(tmp_path / "ok.yaml", what="manifest", max_bytes=10) == b"a: 1\n"


@pytest.mark.parametrize(("content", "message"), [
    (b"[" * 100_000 + b"]" * 100_000, "nests arrays or objects too deeply"),
    (b'{"count": ' + b"7" * 5000 + b"}", "more digits than can be read"),
    (b'{"a": "caf\xe9"}', r"x.json:1:11: the baseline is not UTF-8 text \(byte 0xe9 at offset 10\)"),
    (b'{"a": }', r"x.json:1:7: baseline is not valid JSON"),
])
def test_load_json_errors(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "x.json").write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_json(tmp_path / "x.json", what="baseline")


# --- manifests --------------------------------------------------------------------------------

def test_device_fifo_and_huge_file_as_manifest(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path, fifo: Path) -> None:
    big = huge(tmp_path / "big.yaml", 50 * 2**20)
    for path, message in [("/dev/zero", "must be a regular file, and this is a character "
                                        "device"),
                          (fifo, "must be a regular file, and this is a FIFO"),
                          (big, "is 50.0 MiB, more than the 1.0 MiB")]:
        started = time.monotonic()
        code, err = run(capsys, "build", path)
        assert code == 2
        assert f"{path}:1:1: the manifest {message}" in err
        assert time.monotonic() - started < 2.0


def _manifest(tmp_path: Path, text: str) -> Path:
    (tmp_path / "module.py").write_text("def module_fn():\n    pass\n")
    path = tmp_path / "hubpub.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("nesting", [
    "module: " + "[" * 100_000 + "]" * 100_000,  # beyond what libyaml survives
    "module: " + "[" * 1000 + "]" * 1000,
    "module: " + "{a: " * 1000 + "1" + "}" * 1000,
    "".join(" " * i + "k:\n" for i in range(1000)),
    "\n".join(f"a{i}: &a{i} [*a{i - 1}]" if i else "a0: &a0 [x]" for i in range(500)),
], ids=["flow-100000", "flow-1000", "mappings-1000", "block-1000", "alias-chain-500"])
def test_yaml_nested_thousands_deep(tmp_path: Path, nesting: str) -> None:
    started = time.monotonic()
    with pytest.raises(ManifestError, match="nested more than 64 deep"):
        load_manifest(_manifest(tmp_path, nesting + "\n"))
    assert time.monotonic() - started < 3.0


def test_version_with_thousands_of_digits(tmp_path: Path) -> None:
    text = MANIFEST.replace("version: 1", "version: " + "9" * 5000)
    with pytest.raises(ManifestError) as caught:
        load_manifest(_manifest(tmp_path, text))
    assert "hubpub.yaml:3:12: '999999999999...' (5000 characters) cannot be read as a int" \
        in str(caught.value)


@pytest.mark.parametrize(("version", "message"), [
    ("9" * 4000, "module.version must be an integer from 1 to 2147483647"),
    ('"' + "9" * 5000 + '"', "module.version must be an integer, not "
                             "'9999999999999999999999999999999999999999... (5000 characters)'"),
], ids=["4000-digits", "5000-digit-string"])
def test_version_that_cannot_name_a_file(tmp_path: Path, version: str, message: str) -> None:
    """It becomes part of the tarball's name: a build must not end in ENAMETOOLONG."""
    with pytest.raises(ManifestError) as caught:
        load_manifest(_manifest(tmp_path, MANIFEST.replace("version: 1", f"version: {version}")))
    assert f"hubpub.yaml:3:12: {message}" in str(caught.value)
    assert len(str(caught.value)) < 300


def test_large_manifest_reports_a_typo_as_fast_as_a_small_one(tmp_path: Path) -> None:
    """The pure-Python YAML parser spent seconds per megabyte; libyaml keeps the marks."""
    padding = "".join(f"# comment line {i} " + "x" * 60 + "\n" for i in range(11_000))
    texts = {"small": MANIFEST.replace("output:", "outptu:"),
             "large": padding + MANIFEST.replace("output:", "outptu:")}
    assert 800_000 < len(texts["large"]) < MAX_MANIFEST_BYTES
    seconds = {}
    for name, text in texts.items():
        folder = tmp_path / name
        folder.mkdir()
        started = time.monotonic()
        with pytest.raises(ManifestError, match="outptu"):
            load_manifest(_manifest(folder, text))
        seconds[name] = time.monotonic() - started
    assert seconds["large"] < seconds["small"] + 0.5, seconds


# --- baselines and output files ---------------------------------------------------------------

def test_device_fifo_huge_and_broken_baselines(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path, fifo: Path) -> None:
    (tmp_path / "latin1.json").write_bytes(b'{"version": 1, "findings": ["\xe9"]}')
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    cases = [("/dev/zero", "must be a regular file"), (fifo, "FIFO"),
             (huge(tmp_path / "big.json", 200 * 2**20), "200.0 MiB, more than"),
             (tmp_path / "latin1.json", "latin1.json:1:30: the baseline is not UTF-8 text"),
             (tmp_path / "deep.json", "nests arrays or objects too deeply"),
             (tmp_path, "this is a directory")]
    for path, message in cases:
        started = time.monotonic()
        code, err = run(capsys, "lint", HALF_PLUS_TWO, "--baseline", path)
        assert code == 2, err
        assert message in err
        assert time.monotonic() - started < 5.0


@pytest.mark.parametrize("flag", ["--output", "--write-baseline"])
def test_directory_as_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                  flag: str) -> None:
    target = tmp_path / "reports"
    target.mkdir()
    code, err = run(capsys, "lint", HALF_PLUS_TWO, flag, target)
    assert code == 2
    assert f"{target}: it is a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]  # no temp file beside it
    assert list(target.iterdir()) == []


def test_output_into_a_device_writes_into_it(capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/stdout or /dev/null: written into, never replaced by a rename."""
    code, err = run(capsys, "lint", HALF_PLUS_TWO, "--format", "json", "--output", os.devnull)
    assert code == 0
    assert Path(os.devnull).is_char_device()


# --- standard output --------------------------------------------------------------------------

def _hubpub(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hubpub", *argv], text=True,
                          stderr=subprocess.PIPE, timeout=120, check=False, **kwargs)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["rules"], ["--help"], ["--version"]],
                         ids=["rules", "help", "version"])
def test_full_disk_on_stdout_is_exit_2(argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = _hubpub(*argv, stdout=full)
    assert result.returncode == 2, result.stderr
    assert "hubpub: error: cannot write to standard output: No space left on device" \
        in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_for_the_report_file() -> None:
    result = _hubpub("lint", str(HALF_PLUS_TWO), "--format", "json", "--output", "/dev/full",
                     stdout=subprocess.DEVNULL)
    assert result.returncode == 2
    assert "cannot write /dev/full: No space left on device" in result.stderr


def test_closed_stdout_is_exit_2() -> None:
    result = _hubpub("rules", stdout=subprocess.DEVNULL,
                     preexec_fn=lambda: os.close(1))  # noqa: PLW1509 (only closes a fd)
    assert result.returncode == 2
    assert "standard output is closed" in result.stderr


def test_reader_that_goes_away_is_exit_2() -> None:
    """`hubpub rules | head -1`: a broken pipe is a message, not a traceback."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "hubpub", "rules"], stdout=write_fd,
                            stderr=subprocess.PIPE, text=True)
    os.close(write_fd)
    closer = threading.Timer(0, os.close, [read_fd])  # the reader leaves before reading
    closer.start()
    _, err = proc.communicate(timeout=120)
    closer.join()
    assert proc.returncode == 2
    assert "cannot write to standard output: Broken pipe" in err
    assert "Traceback" not in err


# --- a full disk during a build ---------------------------------------------------------------

def _file_size_limit(limit: int) -> None:
    """In the child: writes beyond ``limit`` bytes fail with EFBIG, as on a full disk."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize(("limit", "message"), [
    (2000, "cannot write the module to"),  # saved_model.pb does not fit: the export fails
    (2500, "writing failed: File too large"),  # the module fits, the build report does not
], ids=["export", "report"])
def test_build_on_a_full_disk_is_exit_2_and_leaves_out_empty(tmp_path: Path, limit: int,
                                                             message: str) -> None:
    from hubpub.pipelines.scaffold import write_scaffold

    write_scaffold("basic", tmp_path / "p", handle="acme/full")
    out = tmp_path / "out"
    result = _hubpub("build", str(tmp_path / "p" / "hubpub.yaml"), "--out", str(out),
                     stdout=subprocess.DEVNULL, preexec_fn=lambda: _file_size_limit(limit))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(out.iterdir()) == []  # nothing half-published, no staging folder left
