"""Publisher code cannot fake a result: exits, prints and hangs in module_fn.

One `hubpub lint --format json` subprocess lints every misbehaving project at once (stdout
must stay one JSON document); the exit-code cases of `build` run in-process, where a real
``os._exit`` would end the test run itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hubpub.cli import main

pytestmark = pytest.mark.slow

MODULE_FNS = {
    "exits": """
        import sys

        def module_fn():
            sys.exit(0)
    """,
    "ends_process": """
        import os

        def module_fn():
            os._exit(3)
    """,
    "ends_through_posix": """
        import posix

        def module_fn():
            posix._exit(0)
    """,
    "exits_on_import": """
        import sys
        sys.exit("no thanks")

        def module_fn():
            pass
    """,
    "prints": """
        import os
        import tensorflow as tf
        import hubpub as hub

        print("printed on import")

        def module_fn():
            print("printed by module_fn")
            os.write(1, b"written to fd 1\\n")
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            hub.add_signature(inputs=x, outputs=2.0 * x)
    """,
    "hangs": """
        def module_fn():
            while True:
                pass
    """,
    "sleeps": """
        import time

        def module_fn():
            print("module_fn started", flush=True)
            time.sleep(3600)
    """,
}


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("publisher")
    out = {}
    for name, source in MODULE_FNS.items():
        (root / name).mkdir()
        (root / name / "module.py").write_text(textwrap.dedent(source))
        (root / name / "hubpub.yaml").write_text(textwrap.dedent(f"""
            module: {{handle: acme/{name.replace('_', '-')}, version: 1}}
            module_fn: module.py:module_fn
            weights: {{source: initializers}}
            metadata: {{description: d, license: Apache-2.0, fine_tunable: false, task: other}}
        """))
        out[name] = root / name / "hubpub.yaml"
    return out


def test_lint_json_is_one_document_whatever_module_fn_does(projects):
    proc = subprocess.run([sys.executable, "-m", "hubpub", "lint", "--format", "json",
                           "--timeout", "2", *map(str, projects.values())],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)  # no print landed on stdout
    messages = {Path(f["location"]["path"]).parent.name: f["message"]
                for f in report["findings"] if f["code"] == "HUB000"}
    assert messages == {
        "exits": "module_fn called sys.exit(0): publisher code must return or raise an "
                 "exception, not end hubpub",
        "ends_process": "module_fn called os._exit(3): publisher code must return or raise an "
                        "exception, not end hubpub",
        "ends_through_posix": "module_fn called os._exit(0): publisher code must return or "
                              "raise an exception, not end hubpub",
        "exits_on_import": "importing module_fn 'module.py:module_fn' called sys.exit('no "
                           "thanks'): publisher code must return or raise an exception, not "
                           "end hubpub",
        "hangs": "module_fn did not finish within 2 s and was stopped; if it is just slow, "
                 "raise the limit with --timeout SECONDS",
        "sleeps": "module_fn did not finish within 2 s and was stopped; if it is just slow, "
                  "raise the limit with --timeout SECONDS"}
    for line in ("printed on import", "printed by module_fn", "written to fd 1"):
        assert line in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name, line, says", [
    ("exits", 5, "module_fn called sys.exit(0)"),
    ("ends_process", 5, "module_fn called os._exit(3)"),
    ("ends_through_posix", 5, "module_fn called os._exit(0)"),  # exit 0: a false success
    ("hangs", 3, "module_fn did not finish within 1 s"),
])
def test_build_fails_with_a_publisher_code_error_naming_the_file(projects, name, line, says,
                                                                 tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(projects[name]), "--out", str(out), "--quiet", "--timeout",
                 "1", "--no-smoke-test"]) == 2
    err = capsys.readouterr().err
    assert f"hubpub: error: {projects[name].parent / 'module.py'}:{line}: {says}" in err
    assert not out.exists() or not any(out.iterdir())


def test_timeout_must_be_a_positive_number(projects, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["lint", str(projects["prints"]), "--timeout", "0"])
    assert exit_.value.code == 2
    assert "'0' is not a positive number of seconds" in capsys.readouterr().err


def test_sigterm_while_module_fn_runs_still_stops_the_build(projects, tmp_path):
    import signal

    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "hubpub", "build", str(projects["sleeps"]),
                             "--out", str(out), "--no-smoke-test"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:  # module_fn's print arrives on stderr
        if line.startswith("module_fn started"):
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    assert "sys.exit" not in rest
    assert not out.exists() or not any(out.iterdir())


def test_the_smoke_test_stops_at_the_timeout(capsys):
    from tests.fixture_paths import HALF_PLUS_TWO

    # The child alone needs longer than this to import TensorFlow.
    assert main(["validate", str(HALF_PLUS_TWO), "--format", "json", "--timeout", "0.5"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["code"], finding["message"]) == (
        "HUB501", "smoke test did not finish in 0.5 s and was stopped; if the module is just "
                  "slow, raise the limit with --timeout SECONDS")
