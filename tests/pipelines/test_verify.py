"""`hubpub verify` on real built tarballs: digest, layout, format, rebuild; exit codes 0, 1, 2."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile

import pytest

from hubpub.cli import main
from hubpub.pipelines.scaffold import write_scaffold
from tests.fixture_paths import HALF_PLUS_TWO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The basic template, built once: (project folder, tarball)."""
    root = tmp_path_factory.mktemp("verify")
    write_scaffold("basic", root / "project", handle="acme/basic")
    assert main(["build", str(root / "project" / "hubpub.yaml"), "--out", str(root / "dist"),
                 "--quiet", "--no-smoke-test"]) == 0
    return root / "project", root / "dist" / "acme-basic-1.tar.gz"


def verify(*argv) -> tuple[int, dict]:
    result = subprocess.run([sys.executable, "-m", "hubpub", "verify", *map(str, argv),
                             "--format", "json", "--quiet"],
                            capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stderr
    document = json.loads(result.stdout) if result.returncode in (0, 1) else result.stderr
    return result.returncode, document


def _checks(document: dict) -> dict:
    return {c["name"]: c for c in document["checks"]}


def test_a_built_tarball_verifies_and_rebuilds_byte_identical(built):
    project, tarball = built
    code, document = verify(tarball, "--manifest", project / "hubpub.yaml")
    assert code == 0, document
    checks = _checks(document)
    assert list(checks) == ["digest", "layout", "format", "rebuild"]
    assert "matches" in checks["digest"]["message"]  # the .sha256 written by the build
    assert "byte-identical" in checks["rebuild"]["message"]


def test_a_changed_source_names_the_members_and_what_differs_inside(built, tmp_path):
    project, tarball = built
    changed = tmp_path / "project"
    shutil.copytree(project, changed)
    source = changed / "module.py"
    source.write_text(source.read_text().replace("constant_initializer(0.5)",
                                                 "constant_initializer(0.25)"))
    code, document = verify(tarball, "--manifest", changed / "hubpub.yaml")
    assert code == 1
    rebuild = _checks(document)["rebuild"]
    assert not rebuild["ok"]
    details = "\n".join(rebuild["details"])
    assert "member saved_model.pb differs" in details
    assert "node 'a/Initializer/Const': attr 'value' float32[] 0.5 -> float32[] 0.25" in details
    assert "member variables/variables.data-00000-of-00001 differs" in details
    assert "tensor 'a': values differ" in details


def test_a_wrong_digest_is_a_mismatch(built, tmp_path):
    _, tarball = built
    expected = tmp_path / "expected.sha256"
    expected.write_text("0" * 64 + "  acme-basic-1.tar.gz\n")
    code, document = verify(tarball, "--sha256", expected)
    assert code == 1
    assert _checks(document)["digest"]["details"] == ["expected " + "0" * 64]


def _repack(source, target, *, extra: dict[str, bytes] = {}, cut: str | None = None):  # noqa: B006
    """Copy a tarball's members into a new one, adding members or truncating one."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read() if member.isfile() else None
            if member.name == cut:
                data = data[: len(data) // 2]
                member.size = len(data)
            new.addfile(member, io.BytesIO(data) if data is not None else None)
        for name, data in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return target


def test_layout_problems_are_reported_as_hub401(built, tmp_path):
    _, tarball = built
    junk = _repack(tarball, tmp_path / "junk.tar.gz", extra={"._saved_model.pb": b"x"})
    code, document = verify(junk)
    assert code == 1
    layout = _checks(document)["layout"]
    assert "HUB401" in layout["message"]
    assert "junk member '._saved_model.pb' (macOS metadata)" in layout["details"][0]


def test_a_truncated_data_file_does_not_read(built, tmp_path):
    _, tarball = built
    cut = _repack(tarball, tmp_path / "cut.tar.gz", cut="variables/variables.data-00000-of-00001")
    code, document = verify(cut)
    assert code == 1
    assert "which has 4" in "\n".join(_checks(document)["format"]["details"])


def test_a_module_published_by_others_verifies():
    code, document = verify(HALF_PLUS_TWO)
    assert code == 0
    assert "no .sha256 file" in _checks(document)["digest"]["message"]


@pytest.mark.parametrize("argv, message", [
    (lambda tmp, t: [tmp / "missing.tar.gz"], "does not exist"),
    (lambda tmp, t: [_write(tmp / "bad.tar.gz", b"\x1f\x8bnope")], "not a valid module tarball"),
    (lambda tmp, t: [t, "--sha256", _write(tmp / "x.sha256", b"not a digest")],
     "expected a SHA-256"),
    (lambda tmp, t: [t, "--sha256", tmp / "missing.sha256"], "No such file or directory"),
    (lambda tmp, t: [_empty_tarball(tmp)], "not a TF1 Hub format module"),
    (lambda tmp, t: [tmp], "is a directory"),
])
def test_bad_input_exits_2(built, tmp_path, argv, message):
    code, stderr = verify(*argv(tmp_path, built[1]))
    assert code == 2
    assert message in stderr


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _empty_tarball(tmp):
    target = tmp / "empty.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        info = tarfile.TarInfo("README.md")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    return target
