import subprocess
import sys


def test_help_does_not_import_tensorflow():
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "hubpub", "--help"],
                         capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert "hubpub.cli" in imported
    assert "tensorflow" not in imported


def test_refusing_a_hostile_tarball_does_not_import_tensorflow(tmp_path):
    import io
    import tarfile

    tarball = tmp_path / "hostile.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        member = tarfile.TarInfo("/etc/evil")
        member.size = 1
        tar.addfile(member, io.BytesIO(b"x"))
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "hubpub", "lint",
                          str(tarball)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "HUB000" in out.stdout and "'/etc/evil'" in out.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert "tensorflow" not in imported
