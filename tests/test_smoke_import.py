import subprocess
import sys


def test_help_does_not_import_tensorflow():
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "hubpub", "--help"],
                         capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert "hubpub.cli" in imported
    assert "tensorflow" not in imported
