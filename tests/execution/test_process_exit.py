"""exit_process: the fast end of a process that imported TensorFlow loses nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each case starts a Python that imports TensorFlow


def _run(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)


def test_streams_atexit_and_logging_are_finished(tmp_path):
    result = _run(tmp_path, """
        import atexit, logging, sys, tempfile
        from pathlib import Path
        import tensorflow  # noqa: F401
        from hubpub.execution.process_exit import exit_process

        out = Path(sys.argv[1])
        folder = tempfile.TemporaryDirectory(dir=out)  # cleaned by its atexit finalizer
        (out / "folder").write_text(folder.name)
        atexit.register(lambda: (out / "atexit").write_text("ran"))
        handler = logging.FileHandler(out / "log.txt", delay=False)
        logging.getLogger("probe").addHandler(handler)
        logging.getLogger("probe").warning("logged")
        sys.stdout.write("no newline, still buffered")
        sys.stderr.write("and stderr")
        exit_process(3)
        """)
    assert result.returncode == 3, result.stderr[-2000:]
    assert result.stdout == "no newline, still buffered"
    assert result.stderr.endswith("and stderr")
    assert (tmp_path / "atexit").read_text() == "ran"
    assert "logged" in (tmp_path / "log.txt").read_text()
    assert not Path((tmp_path / "folder").read_text()).exists()


def test_a_running_thread_is_waited_for(tmp_path):
    result = _run(tmp_path, """
        import sys, threading, time
        from pathlib import Path
        import tensorflow  # noqa: F401
        from hubpub.execution.process_exit import exit_process

        def work():
            time.sleep(0.5)
            (Path(sys.argv[1]) / "thread").write_text("done")

        threading.Thread(target=work).start()
        exit_process(0)
        """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "thread").read_text() == "done"


def test_without_tensorflow_it_is_sys_exit(tmp_path):
    result = _run(tmp_path, """
        import sys
        from hubpub.execution.process_exit import exit_process

        try:
            exit_process(4)
        except SystemExit as exc:
            print("SystemExit", exc.code)
        """)
    assert result.stdout.strip() == "SystemExit 4"
    assert "tensorflow" not in result.stderr
