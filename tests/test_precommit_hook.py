"""The `hubpub-lint` pre-commit hook, run for real with `pre-commit try-repo`.

pre-commit installs this repository (and so TensorFlow) into an environment of its own, which
takes about a minute, so one run checks both a clean and a broken module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hubpub.pipelines.scaffold import write_scaffold
from tests.fixture_paths import REPO

pytestmark = pytest.mark.slow


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci", *args],
                   cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    if shutil.which("pre-commit") is None or not (REPO / ".git").exists():
        pytest.skip("needs pre-commit and a git checkout of hubpub")
    root = tmp_path_factory.mktemp("precommit")
    write_scaffold("basic", root / "repo" / "models" / "demo", handle="acme/demo")
    _git(root / "repo", "init", "-q", ".")
    _git(root / "repo", "add", "-A")
    _git(root / "repo", "commit", "-qm", "demo module")
    env = {**os.environ, "PRE_COMMIT_HOME": str(root / "pre-commit-home")}
    return root / "repo", env


def _try_repo(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["pre-commit", "try-repo", str(REPO), "hubpub-lint", "--all-files"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=900)


def test_hook_lints_the_changed_manifests(project):
    """One run (the hook's environment is installed once): a clean and a broken module."""
    repo, env = project
    write_scaffold("basic", repo / "models" / "broken", handle="acme/broken")
    broken = repo / "models" / "broken" / "hubpub.yaml"
    broken.write_text(broken.read_text().replace("fine_tunable: false", "fine_tunable: true"))
    _git(repo, "add", "-A")  # pre-commit looks at the files git tracks
    proc = _try_repo(repo, env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "hubpub lint" in output and "Failed" in output
    finding_lines = [line for line in output.splitlines() if ": HUB" in line]
    assert finding_lines and all(line.startswith("models/broken/hubpub.yaml:")
                                 for line in finding_lines), finding_lines
    assert any("HUB207" in line for line in finding_lines)


def test_diff_hook_fails_on_a_break_the_manifest_does_not_explain(project, tmp_path):
    """The `hubpub-diff` hook (same environment as above): version 1 is released, version 2
    changes the input's shape, which the manifest does not explain: the hook fails."""
    from hubpub.cli import main

    repo, env = project
    demo = repo / "models" / "demo"
    released = tmp_path / "released"
    assert main(["build", str(demo / "hubpub.yaml"), "--out", str(released), "--quiet",
                 "--no-smoke-test"]) == 0
    manifest = demo / "hubpub.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1", "version: 2")
                        + f"previous: {released / 'acme-demo-1.tar.gz'}\n")
    source = demo / "module.py"
    source.write_text(source.read_text().replace("shape=[None]", "shape=[None, 3]"))
    _git(repo, "add", "-A")

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(["pre-commit", "try-repo", str(REPO), "hubpub-diff",
                               "--all-files"], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=900)

    proc = run()
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "verdict: breaking" in output
    assert "input 'default' shape [None] -> [None, 3]" in output
    # With previous.breaking_ok the same command exits 0: tests/diff/test_release_gate.py runs
    # it through the CLI; a second hook run here would only repeat that (about a minute).
