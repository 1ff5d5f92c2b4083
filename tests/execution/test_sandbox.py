"""Running a module is running code: the execution gate and the smoke child's confinement.

A module whose table initializer writes a file passes no signature output through the write,
so only a load-time walk finds it (HUB301). `validate` and `build` must not run it unless the
op is allowed explicitly; when allowed, the smoke child runs in a private folder and, where
Landlock is available, cannot write outside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hubpub.cli import main

CONFINE_AND_WRITE = """
import os, sys
from hubpub.execution.sandbox import confine
print(confine(sys.argv[1]))
open("inside.txt", "w").write("ok")
for path in sys.argv[2:]:
    try:
        open(path, "w").write("escaped")
        print("wrote", path)
    except PermissionError:
        print("blocked", path)
"""


def _landlock(folder: Path) -> bool:
    """Whether this machine confines writes (probed in a child: confining is for good)."""
    proc = subprocess.run([sys.executable, "-c", "import sys; from hubpub.execution.sandbox import "
                           "confine; print(confine(sys.argv[1]))", str(folder)],
                          capture_output=True, text=True, check=True)
    return "Landlock ABI" in proc.stdout


def test_confined_process_writes_only_in_its_folder(tmp_path):
    private, outside = tmp_path / "private", tmp_path / "outside.txt"
    private.mkdir()
    proc = subprocess.run([sys.executable, "-c", CONFINE_AND_WRITE, str(private), str(outside)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (private / "inside.txt").read_text() == "ok"  # its working directory is the folder
    if "Landlock ABI" not in proc.stdout:
        pytest.skip(f"no write confinement here: {proc.stdout.splitlines()[0]}")
    assert f"blocked {outside}" in proc.stdout
    assert not outside.exists()


def test_confine_reports_what_it_could_not_do_instead_of_failing(tmp_path):
    # Any platform: the text says what the confinement is; the call never raises.
    proc = subprocess.run([sys.executable, "-c", "import sys; from hubpub.execution.sandbox import "
                           "confine; print(confine(sys.argv[1]))", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("working directory, HOME and TMPDIR in a private folder")


# --- validate and build on a module that writes a file when it loads ------------------------

@pytest.fixture(scope="module")
def writer(tmp_path_factory):
    """A module whose table initializer writes ``outside.txt`` (absolute) and ``relative.txt``."""
    from hubpub._tf import tf
    from tests.checks.lintmodules import raw_saved_model, write_module

    root = tmp_path_factory.mktemp("writer")
    outside = root / "outside.txt"
    v1 = tf.compat.v1

    def graph_fn():
        words = v1.placeholder(tf.string, [None], name="words")
        writes = [tf.io.write_file(str(outside), "escaped", name="write_outside"),
                  tf.io.write_file("relative.txt", "here", name="write_relative")]
        with tf.control_dependencies(writes):
            keys = tf.identity(tf.constant(["a"]))
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, tf.constant([1], tf.int64)), -1)
        return {"default": ({"default": words}, {"default": table.lookup(words)})}

    return write_module(root / "module", raw_saved_model((graph_fn, ()))), outside


def _validate(module: Path, *flags: str, capsys) -> tuple[int, list[dict]]:
    code = main(["validate", str(module), "--format", "json", *flags])
    return code, json.loads(capsys.readouterr().out)["findings"]


@pytest.mark.slow
@pytest.mark.parametrize("flags", [(), ("--ignore", "HUB3"), ("--severity", "HUB301=warning")],
                         ids=["default", "ignored", "lowered"])
def test_validate_does_not_run_a_module_with_unsafe_ops(writer, flags, capsys, tmp_path,
                                                        monkeypatch):
    module, outside = writer
    monkeypatch.chdir(tmp_path)
    code, findings = _validate(module, *flags, capsys=capsys)
    assert code == 1
    [refused] = [f for f in findings if f["code"] == "HUB501"]
    assert refused["message"].startswith("smoke test refused: hubpub does not run a module with "
                                         "unsafe or unknown ops (HUB301 op WriteFile")
    assert "--option HUB301.allow=OP" in refused["message"]
    assert not outside.exists() and not (tmp_path / "relative.txt").exists()


@pytest.mark.slow
def test_an_allowed_op_runs_confined(writer, capsys, tmp_path, monkeypatch):
    module, outside = writer
    monkeypatch.chdir(tmp_path)
    code, findings = _validate(module, "--option", "HUB301.allow=WriteFile", capsys=capsys)
    assert not (tmp_path / "relative.txt").exists()  # it went to the child's private folder
    if not _landlock(tmp_path):
        pytest.skip("no write confinement on this machine")
    assert not outside.exists()
    assert code == 1
    [failed] = [f for f in findings if f["code"] == "HUB501"]
    assert "Permission denied" in failed["message"] or "PermissionDenied" in failed["message"]


MODULE_WRITING_ON_INIT = """
    import tensorflow as tf
    import hubpub as hub

    def module_fn():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        with tf.control_dependencies([tf.io.write_file("{target}", "escaped")]):
            start = tf.constant(1.0)
        w = tf.compat.v1.get_variable("w", initializer=start)
        hub.add_signature(inputs=x, outputs=w * x)
"""


@pytest.mark.slow
def test_build_does_not_export_a_module_whose_unsafe_op_was_silenced(tmp_path, capsys):
    # Export runs the variables' initializers in hubpub's own process: refused before that.
    target = tmp_path / "written-by-export.txt"
    root = tmp_path / "p"
    root.mkdir()
    (root / "module.py").write_text(textwrap.dedent(MODULE_WRITING_ON_INIT.format(
        target=target)))
    (root / "hubpub.yaml").write_text(textwrap.dedent("""
        module: {handle: acme/writer, version: 1}
        module_fn: module.py:module_fn
        weights: {source: initializers}
        metadata: {description: d, license: Apache-2.0, fine_tunable: false, task: other}
        lint: {ignore: [HUB301, HUB303]}
    """))
    out = tmp_path / "out"
    assert main(["build", str(root / "hubpub.yaml"), "--out", str(out), "--quiet",
                 "--no-smoke-test"]) == 1
    err = capsys.readouterr().err
    assert "export refused: hubpub does not run a module with unsafe or unknown ops" in err
    assert "runs when the module's variables are initialized" in err
    assert not target.exists()
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_a_module_printing_to_stdout_cannot_corrupt_the_smoke_result(tmp_path, capsys):
    from hubpub._tf import tf
    from tests.checks.lintmodules import raw_saved_model, write_module

    def graph_fn():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        with tf.control_dependencies([tf.print("{not json", output_stream=sys.stdout,
                                               end="")]):
            y = tf.identity(x)
        return {"default": ({"default": x}, {"default": y})}

    module = write_module(tmp_path / "m", raw_saved_model((graph_fn, ())))
    code, findings = _validate(module, capsys=capsys)
    assert (code, findings) == (0, [])


@pytest.mark.slow
def test_validate_does_not_run_a_module_with_an_unknown_op(tmp_path, capsys):
    from hubpub._tf import tf
    from tests.checks.lintmodules import raw_saved_model, write_module

    def graph_fn():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        return {"default": ({"default": x}, {"default": tf.identity(x, name="y")})}

    saved_model = raw_saved_model((graph_fn, ()))
    next(n for n in saved_model.meta_graphs[0].graph_def.node if n.name == "y").op = "ZeroOut"
    module = write_module(tmp_path / "m", saved_model)
    code, findings = _validate(module, "--ignore", "HUB302", capsys=capsys)
    assert code == 1
    [refused] = findings
    assert refused["code"] == "HUB501"
    assert refused["message"].startswith("smoke test refused: hubpub does not run a module with "
                                         "unsafe or unknown ops (HUB302 op type 'ZeroOut'")
