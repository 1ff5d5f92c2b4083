"""Classes 5, 6, 7 (deadlines) and 8 of hostile input: checkpoints checked as TensorFlow reads
them, children that end without their result, downloads that never end, children that
outlive their parent, malformed NodeDefs."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hubpub.spec.checkpoint_index import ShardCheck, TensorEntry, mask_crc32c
from tests.hostile.conftest import copy_module, tarball_of

# --- checkpoints ---------------------------------------------------------------------------------

def _entry(name: str, offset: int, size: int, data: bytes = b"") -> TensorEntry:
    import google_crc32c

    return TensorEntry(name, "float32", (), 0, offset, size,
                       mask_crc32c(google_crc32c.value(data[offset:offset + size])))


def test_every_entry_is_checked_as_tensorflow_reads_it():
    data = bytes(range(64))
    good = [_entry("a", 0, 16, data), _entry("b", 16, 8, data), _entry("empty", 64, 0, data)]
    bad = [TensorEntry("negative", "float32", (), 0, -4, 4, 0),
           TensorEntry("past_end", "float32", (), 0, 60, 8, 0),
           TensorEntry("overlap", "float32", (), 0, 20, 8, 0),
           TensorEntry("wrong_crc", "float32", (), 0, 32, 8, 12345)]
    check = ShardCheck(good + bad, "variables/variables.data-00000-of-00001", len(data))
    for start in range(0, len(data), 5):  # chunks that cut across entries
        check.feed(data[start:start + 5])
    problems = check.problems()
    named = {problem.split("'")[1] for problem in problems}
    assert named == {"negative", "past_end", "overlap", "wrong_crc"}, problems


def test_verify_refuses_data_whose_crc32c_does_not_match(hubpub, module_dir, tmp_path):
    bad = copy_module(module_dir, tmp_path / "bad")
    shard = bad / "variables" / "variables.data-00000-of-00001"
    data = bytearray(shard.read_bytes())
    data[0] ^= 1
    shard.write_bytes(bytes(data))
    tarball = tarball_of(bad, tmp_path / "bad.tar.gz")
    run = hubpub("verify", tarball)
    assert run.code == 1, run.err
    assert "the CRC32C of its 4 bytes" in run.out and "NOT verified" in run.out
    assert hubpub("verify", tarball_of(module_dir, tmp_path / "good.tar.gz")).code == 0


# --- children --------------------------------------------------------------------------------------

PROJECT = """\
module:
  handle: acme/quits
  version: 1
module_fn: module.py:module_fn
weights:
  source: initializers
metadata:
  description: Ends its process.
  license: Apache-2.0
  fine_tunable: false
  task: other
output: dist
"""


@pytest.mark.slow
def test_a_rebuild_whose_module_fn_ends_the_process_is_no_success(hubpub, module_dir, tmp_path):
    (tmp_path / "hubpub.yaml").write_text(PROJECT)
    (tmp_path / "module.py").write_text("def module_fn():\n    import posix\n    posix._exit(0)\n")
    tarball = tarball_of(module_dir, tmp_path / "m.tar.gz")
    run = hubpub("verify", tarball, "--manifest", tmp_path / "hubpub.yaml", timeout=120)
    assert run.code == 2, (run.out, run.err)
    assert "module.py:3: module_fn called os._exit(0)" in run.err, run.err
    assert "verified" not in run.out
    # (the fixture checks that no hubpub-verify-* folder is left in the temp folder)


CHILD = """
import os, subprocess, sys, time
from hubpub.execution.process_exit import child_environment
child = subprocess.Popen([sys.executable, "-c", "from hubpub.execution.process_exit import "
                          "die_with_parent; die_with_parent(); import time; time.sleep(60)"],
                         env=child_environment())
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_child_dies_with_its_parent_even_after_sigkill(tmp_path):
    if sys.platform != "linux":
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    parent = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        time.sleep(1.0)  # the child has set its death signal
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# --- downloads ---------------------------------------------------------------------------------

class _Trickle(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        try:
            for _ in range(50):
                self.wfile.write(b"\x1f")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


def test_a_download_that_trickles_ends_at_its_deadline(hubpub, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/module.tar.gz"
        started = time.monotonic()
        run = hubpub("diff", url, url, env={"HUBPUB_DOWNLOAD_DEADLINE_SEC": "1",
                                            "TFHUB_CACHE_DIR": str(tmp_path / "cache")})
        assert run.code == 2, run.err
        assert "did not finish within 1 s" in run.err
        assert "HUBPUB_DOWNLOAD_DEADLINE_SEC" in run.err
        assert time.monotonic() - started < 8
    finally:
        server.shutdown()
        server.server_close()


# --- malformed graphs ------------------------------------------------------------------------

MALFORMED = """
import sys
from tensorflow.core.protobuf.saved_model_pb2 import SavedModel
path = sys.argv[1]
saved_model = SavedModel.FromString(open(path, "rb").read())
meta = saved_model.meta_graphs[0]
node = meta.graph_def.node.add()
node.name, node.op = "init_table", "InitializeTableFromTextFileV2"
meta.collection_def["table_initializer"].node_list.value.append("init_table")
open(path, "wb").write(saved_model.SerializeToString())
"""


@pytest.mark.slow
def test_a_table_initializer_without_its_inputs_is_a_finding(hubpub, module_dir, tmp_path):
    bad = copy_module(module_dir, tmp_path / "bad")
    subprocess.run([sys.executable, "-c", MALFORMED, str(bad / "saved_model.pb")], check=True,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    run = hubpub("lint", bad, timeout=120)
    assert run.code == 1, run.err
    assert "HUB301" in run.out and "malformed NodeDef" in run.out
