"""`hubpub lint` and `hubpub rules` through the CLI: exit codes, output, CI integration files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from hubpub._tf import tf
from hubpub.checks import rules as registry
from hubpub.cli import main
from tests.checks.lintmodules import raw_saved_model, write_module
from tests.fixture_paths import HALF_PLUS_TWO

v1 = tf.compat.v1
REPO = Path(__file__).resolve().parents[1]
FIXTURE = HALF_PLUS_TWO


def warning_only():
    x = v1.placeholder(tf.float32, [4, 3], name="x")  # HUB102
    return {"default": ({"default": x}, {"default": 2.0 * x})}


def with_error():
    x = v1.placeholder(tf.float32, [None, 3], name="x")
    scale = v1.placeholder(tf.float32, [], name="scale")  # HUB104
    return {"default": ({"default": x}, {"default": scale * x})}


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    broken = root / "broken"
    broken.mkdir()
    (broken / "tfhub_module.pb").write_bytes(b"\x08\x03")
    (broken / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff\x0f")
    return {"warning": write_module(root / "warning", raw_saved_model((warning_only, ()))),
            "error": write_module(root / "error", raw_saved_model((with_error, ()))),
            "broken": broken}


def run_main(capsys, *argv):
    code = main(["lint", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


# --- hubpub rules ----------------------------------------------------------------------------

def test_rules_lists_every_rule(capsys):
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(registry.RULES)
    assert lines[sorted(registry.RULES).index("HUB102")].split()[1:3] == [
        "warning", "fixed-batch-dimension"]


def test_rules_prints_one_rule_with_options(capsys):
    assert main(["rules", "hub301"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("HUB301 unsafe-ops (error)\nOps not reviewed as pure")
    for section in ("What: ", "Why: ", "Example: ", "Fix: "):
        assert f"\n{section}" in out
    assert out.endswith("  allow (list, default [])\n")


def test_unknown_rule_is_a_usage_error(capsys):
    assert main(["rules", "HUB999"]) == 2
    assert "unknown rule 'HUB999'" in capsys.readouterr().err


# --- hubpub lint on modules ------------------------------------------------------------------

@pytest.mark.slow
def test_published_fixture_lints_clean_with_every_rule(capsys):
    code, out, _ = run_main(capsys, FIXTURE, "--format", "json")
    assert code == 0
    assert json.loads(out) == {"version": 1, "target": str(FIXTURE), "findings": [],
                               "summary": {"errors": 0, "warnings": 0, "suppressed": 0}}


@pytest.mark.slow
def test_fail_on_threshold(modules, capsys):
    code, out, _ = run_main(capsys, modules["warning"])
    assert code == 0
    assert out == (f"{modules['warning']}: HUB102 signature 'default' input 'default' has a "
                   f"fixed batch dimension 4 (shape [4, 3]); use None so consumers can feed "
                   f"any batch size [variant {{}}, signature 'default', node 'x']\n"
                   f"0 errors, 1 warning\n")
    assert run_main(capsys, modules["warning"], "--fail-on", "warning")[0] == 1
    assert run_main(capsys, modules["error"])[0] == 1
    assert run_main(capsys, modules["error"], "--ignore", "HUB104")[0] == 0
    assert run_main(capsys, modules["error"], "--severity", "HUB104=warning")[0] == 0


@pytest.mark.slow
def test_several_targets_in_one_report(modules, capsys):
    code, out, _ = run_main(capsys, modules["warning"], modules["error"], "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert [f["code"] for f in document["findings"]] == ["HUB102", "HUB104"]
    assert document["target"] == f"{modules['warning']} {modules['error']}"


@pytest.mark.slow
def test_unloadable_module_is_hub000(modules, capsys):
    code, out, err = run_main(capsys, modules["broken"], "--format", "github",
                              "--ignore", "HUB")
    assert code == 1
    assert out.startswith(f"::error file={modules['broken']},title=HUB000::")
    assert err == ""


@pytest.mark.slow
def test_sarif_to_a_file(modules, tmp_path, capsys):
    report = tmp_path / "hubpub.sarif"
    code, out, err = run_main(capsys, modules["error"], "--format", "sarif", "--output", report)
    assert (code, out) == (1, "")
    assert err == f"hubpub: 1 errors, 0 warnings (0 suppressed); sarif report in {report}\n"
    [run] = json.loads(report.read_text())["runs"]
    assert [r["ruleId"] for r in run["results"]] == ["HUB104"]


@pytest.mark.slow
def test_baseline_adoption(modules, tmp_path, capsys):
    baseline = tmp_path / "lint-baseline.json"
    code, _, err = run_main(capsys, modules["error"], "--write-baseline", baseline)
    assert code == 0
    assert err == f"hubpub: recorded 1 finding in {baseline}\n"
    assert run_main(capsys, modules["error"], "--baseline", baseline)[:2] == (0, "")
    # A new finding (here: another module's) is still reported.
    code, out, _ = run_main(capsys, modules["warning"], "--baseline", baseline,
                            "--fail-on", "warning")
    assert code == 1 and "HUB102" in out


@pytest.mark.parametrize("argv, message", [
    (["--severity", "HUB102=fatal"], "--severity HUB102=fatal: unknown severity 'fatal'"),
    (["--select", "HUB9"], "--select: 'HUB9' matches no rule"),
    (["--baseline", "missing.json"], "baseline missing.json does not exist"),
], ids=["bad-severity", "bad-select", "missing-baseline"])
@pytest.mark.slow
def test_usage_errors_exit_2(modules, capsys, argv, message):
    code, out, err = run_main(capsys, modules["warning"], *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"hubpub: error: {message}")


def test_missing_target_exits_2(tmp_path, capsys):
    code, _, err = run_main(capsys, tmp_path / "nothing")
    assert code == 2
    assert "does not exist" in err


# --- hubpub lint on a manifest ---------------------------------------------------------------

MODULE_PY = """\
import hubpub as hub
from hubpub._tf import tf


def module_fn():
    images = tf.compat.v1.placeholder(tf.uint8, [None, 64, 64, 3], name="images")
    features = tf.reduce_mean(tf.cast(images, tf.float32), axis=[1, 2])
    hub.add_signature(inputs={"images": images}, outputs={"default": features})
"""


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def write_project(folder: Path, lint: str = "") -> Path:
    (folder / "module.py").write_text(MODULE_PY)
    manifest = folder / "hubpub.yaml"
    manifest.write_text(textwrap.dedent("""\
        module:
          handle: acme/tiny-features
          version: 1
        module_fn: module.py:module_fn
        signatures:
          default: image_feature_vector
        """) + lint)
    return manifest


@pytest.mark.slow
def test_manifest_target_points_at_the_publisher_line(tmp_path, capsys):
    manifest = write_project(tmp_path)
    code, out, _ = run_main(capsys, manifest, "--format", "json")
    [finding] = json.loads(out)["findings"]
    assert code == 1
    assert finding["code"] == "HUB101"
    assert finding["location"]["source"] == str((tmp_path / "module.py").resolve())
    assert finding["location"]["line"] == line_of(tmp_path / "module.py", "tf.uint8")
    assert not (tmp_path / "dist").exists()  # nothing exported


@pytest.mark.slow
def test_manifest_suppressions(tmp_path, capsys):
    manifest = write_project(tmp_path, textwrap.dedent("""\
        lint:
          suppress:
            - {code: HUB101, signature: default, reason: "uint8 in, scaled inside"}
            - {code: HUB102, reason: "left over"}
        """))
    code, out, _ = run_main(capsys, manifest)
    assert code == 0
    assert out == (f"{manifest}:{line_of(manifest, 'left over')}:7: HUB001 suppression of HUB102 matched no finding; delete "
                   f"it (reason given: 'left over')\n0 errors, 1 warning (1 suppressed)\n")


@pytest.mark.slow
def test_manifest_baseline(tmp_path, capsys):
    manifest = write_project(tmp_path, "lint:\n  baseline: lint-baseline.json\n")
    code, _, err = run_main(capsys, manifest)
    assert code == 2
    assert "lint-baseline.json does not exist; create it with" in err
    assert run_main(capsys, manifest, "--write-baseline", tmp_path / "lint-baseline.json")[0] == 0
    assert run_main(capsys, manifest)[:2] == (0, "")


def _imported_modules(argv, cwd=None):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "hubpub", *argv],
                          check=False, capture_output=True, text=True, cwd=cwd)
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:")}
    return proc, names


@pytest.mark.slow
def test_rules_and_manifest_errors_never_import_tensorflow(tmp_path):
    proc, names = _imported_modules(["rules", "HUB203"])
    assert proc.returncode == 0 and "hubpub.checks.rules" in names
    assert "tensorflow" not in names
    manifest = write_project(tmp_path, "lint:\n  severity: {HUB999: error}\n")
    proc, names = _imported_modules(["lint", str(manifest)])
    assert proc.returncode == 2
    assert f"{manifest}:{line_of(manifest, 'HUB999')}:14: lint.severity: unknown rule 'HUB999'" in proc.stderr
    assert "tensorflow" not in names


@pytest.mark.slow
@pytest.mark.parametrize("which, expected", [("fixture", 0), ("broken", 1), ("missing", 2)])
def test_python_m_hubpub_exit_codes_without_tracebacks(modules, tmp_path, which, expected):
    target = {"fixture": FIXTURE, "broken": modules["broken"],
              "missing": tmp_path / "missing.tar.gz"}[which]
    proc = subprocess.run([sys.executable, "-m", "hubpub", "lint", str(target), "--format",
                           "sarif"], check=False, capture_output=True, text=True)
    assert proc.returncode == expected, proc.stderr
    assert "Traceback" not in proc.stderr
    if expected != 2:
        assert json.loads(proc.stdout)["version"] == "2.1.0"


# --- CI integration files --------------------------------------------------------------------

def test_pre_commit_hook_definition():
    """Validated with pre-commit's own loader; `pre-commit try-repo` would install TensorFlow
    into a fresh environment, too slow for the test suite."""
    clientlib = pytest.importorskip("pre_commit.clientlib")
    hooks = {h["id"]: h for h in clientlib.load_manifest(str(REPO / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"hubpub-lint", "hubpub-diff"}
    hook = hooks["hubpub-lint"]
    assert (hook["entry"], hook["language"]) == ("hubpub lint", "python")
    assert hooks["hubpub-diff"]["entry"] == "hubpub diff --previous"
    assert hooks["hubpub-diff"]["files"] == hook["files"]
    import re

    pattern = re.compile(hook["files"])
    assert pattern.search("hubpub.yaml") and pattern.search("models/flowers/hubpub.yml")
    assert not pattern.search("my-hubpub.yaml") and not pattern.search("hubpub.yaml.bak")


def test_github_action_runs_the_lint_and_uploads_sarif():
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    lint = next(s for s in steps if s.get("id") == "lint")
    assert "hubpub lint \"$TARGET\" --format sarif --output \"$SARIF_FILE\"" in lint["run"]
    assert any("pip install" in s.get("run", "") and "hubpub" in s["run"] for s in steps)
    # Inputs reach shells only through the environment (no ${{ }} inside run scripts).
    assert all("${{" not in s.get("run", "") for s in steps)
    try:
        from check_jsonschema.builtin_schemas import get_builtin_schema
    except ImportError:
        return
    import jsonschema

    jsonschema.validate(action, get_builtin_schema("vendor.github-actions"))
