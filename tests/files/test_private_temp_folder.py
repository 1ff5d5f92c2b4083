"""Private temporary folders of verify, convert and diff --numeric: a process killed outright
leaves one behind, and the next one removes it; a live one's folder is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hubpub.files.outdir import private_temp_folder

PREFIX = f"hubpub-test-{os.getpid()}-"
HOLD = (f"import os, signal, sys\n"
        f"from hubpub.files.outdir import private_temp_folder\n"
        f"with private_temp_folder({PREFIX!r}) as folder:\n"
        f"    (folder / 'work').write_text('x')\n"
        f"    print(folder, flush=True)\n"
        f"    if sys.argv[1] == 'die':\n"
        f"        os.kill(os.getpid(), signal.SIGKILL)\n"
        f"    sys.stdin.read()\n")


def _holder(how: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, how], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="flock locks (POSIX)")
def test_a_folder_left_by_a_killed_process_is_removed_and_a_live_one_kept():
    killed, left = _holder("die")
    assert killed.wait(timeout=60) == -signal.SIGKILL
    assert (left / "work").is_file()
    live, kept = _holder("wait")
    try:
        assert not left.exists()  # its lock died with its process: the next one removed it
        with private_temp_folder(PREFIX) as mine:
            assert mine.is_dir() and mine.parent == Path(tempfile.gettempdir())
            assert (kept / "work").read_text() == "x"  # a live process's folder is kept
        assert not mine.exists()
    finally:
        live.communicate("", timeout=60)
    assert not kept.exists()  # removed by its own process on the way out
