"""--out is all or nothing, builds killed with SIGKILL leave no litter for long, system folders
and a report written over its own input are refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hubpub.cli import main
from hubpub.errors import ExportError, ManifestError
from hubpub.files.outdir import (
    STAGING_PREFIX,
    publish,
    remove_stale_staging,
    staging,
    system_folder_problem,
)
from hubpub.manifest import load_manifest
from hubpub.pipelines.scaffold import write_scaffold

HOLD_STAGING = """
import sys, time
from pathlib import Path
from hubpub.files.outdir import staging
with staging(Path(sys.argv[1])) as stage:
    print(stage, flush=True)
    time.sleep(600)
"""


def _staged(tmp_path: Path, names: dict[str, str | None]) -> Path:
    stage = tmp_path / "stage"
    stage.mkdir()
    for name, text in names.items():
        if text is None:
            (stage / name).mkdir()
            (stage / name / "saved_model.pb").write_text("new")
        else:
            (stage / name).write_text(text)
    return stage


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() if p.is_file() else "<dir>"
            for p in sorted(folder.rglob("*"))}


def test_publish_replaces_everything(tmp_path):
    stage = _staged(tmp_path, {"m": None, "m.tar.gz": "new tar", "build-report.json": "{}"})
    out = tmp_path / "out"
    out.mkdir()
    (out / "m").mkdir()
    (out / "m" / "old-only.txt").write_text("old")
    (out / "m.tar.gz").write_text("old tar")
    publish(stage, out, ["m", "m.tar.gz", "build-report.json"])
    assert _tree(out) == {"build-report.json": "{}", "m": "<dir>", "m/saved_model.pb": "new",
                          "m.tar.gz": "new tar"}


def test_a_folder_in_the_way_changes_nothing(tmp_path):
    stage = _staged(tmp_path, {"m": None, "m.tar.gz": "new", "m.tar.gz.sha256": "new",
                               "build-report.json": "{}"})
    out = tmp_path / "out"
    (out / "build-report.json").mkdir(parents=True)
    (out / "m.tar.gz").write_text("old")
    before = _tree(out)
    with pytest.raises(ExportError, match="a folder of that name is in the way"):
        publish(stage, out, ["m", "m.tar.gz", "m.tar.gz.sha256", "build-report.json"])
    assert _tree(out) == before


def test_a_move_that_fails_half_way_is_rolled_back(tmp_path):
    # The last name is missing from the stage: its move fails after the others succeeded.
    stage = _staged(tmp_path, {"m": None, "m.tar.gz": "new"})
    out = tmp_path / "out"
    (out / "m").mkdir(parents=True)
    (out / "m" / "saved_model.pb").write_text("old")
    (out / "m.tar.gz").write_text("old")
    before = _tree(out)
    with pytest.raises(ExportError, match="it was left as it was"):
        publish(stage, out, ["m", "m.tar.gz", "build-report.json"])
    assert _tree(out) == before


def test_stale_staging_of_a_killed_build_is_removed_and_a_live_one_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holders = [subprocess.Popen([sys.executable, "-c", HOLD_STAGING, str(out)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        killed, live = (Path(h.stdout.readline().strip()) for h in holders)
        holders[0].send_signal(signal.SIGKILL)
        holders[0].wait(timeout=30)
        assert killed.is_dir()  # SIGKILL: the process could not clean up
        (out / f"{STAGING_PREFIX}without-lock").mkdir()  # cannot be proved dead: kept
        assert remove_stale_staging(out) == [killed]
        assert live.is_dir() and (out / f"{STAGING_PREFIX}without-lock").is_dir()
    finally:
        holders[1].kill()
        holders[1].wait(timeout=30)
    with staging(out) as stage:  # the next build sweeps the second one too
        assert stage.is_dir() and not live.exists()
    assert sorted(p.name for p in out.iterdir()) == [f"{STAGING_PREFIX}without-lock"]


@pytest.mark.parametrize("folder", ["/", "/etc", "/usr/local/lib/x", "/tmp", "/home", "~"])
def test_system_folders_are_refused(folder):
    assert system_folder_problem(Path(folder).expanduser()) is not None


@pytest.mark.parametrize("folder", ["/tmp/build", "/home/me/project/dist", "~/dist"])
def test_project_folders_are_accepted(folder):
    assert system_folder_problem(Path(folder).expanduser()) is None


def test_manifest_output_at_the_root_is_a_manifest_error(tmp_path):
    write_scaffold("basic", tmp_path / "p")
    manifest = tmp_path / "p" / "hubpub.yaml"
    manifest.write_text(manifest.read_text().replace("output: dist", "output: /"))
    with pytest.raises(ManifestError) as error:
        load_manifest(manifest)
    [problem] = error.value.problems
    assert problem.message.startswith("output: / is the root of a file system")
    assert problem.line == manifest.read_text().splitlines().index("output: /") + 1


def test_cli_refuses_out_in_a_system_folder_and_a_report_over_its_target(tmp_path):
    write_scaffold("basic", tmp_path / "p")
    manifest = tmp_path / "p" / "hubpub.yaml"
    text = manifest.read_text()
    for argv, says in [
        (["build", str(manifest), "--out", "/"], "refusing to build into --out /: / is the "
                                                  "root of a file system"),
        (["lint", str(manifest), "--output", str(tmp_path / "p" / ".." / "p" / "hubpub.yaml")],
         "is also the target"),
        (["lint", str(manifest), "--output", "r.json", "--write-baseline", "r.json"],
         "--output r.json is also the --write-baseline r.json"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "hubpub", *argv], capture_output=True,
                              text=True, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert says in proc.stderr
        assert "Traceback" not in proc.stderr
    assert manifest.read_text() == text


@pytest.mark.slow
def test_a_failed_publish_leaves_out_as_it_was_and_stale_staging_goes(tmp_path, capsys):
    write_scaffold("basic", tmp_path / "p", handle="acme/basic")
    out = tmp_path / "out"
    (out / "build-report.json").mkdir(parents=True)
    stale = out / f"{STAGING_PREFIX}stale"
    stale.mkdir()
    (stale / ".lock").write_text("12345\n")  # no process holds it: dead
    assert main(["build", str(tmp_path / "p" / "hubpub.yaml"), "--out", str(out), "--quiet",
                 "--no-smoke-test"]) == 2
    assert "cannot publish build-report.json" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["build-report.json"]
    assert not any((out / "build-report.json").iterdir())


def test_staging_is_locked_while_it_lives(tmp_path):
    with staging(tmp_path) as stage:
        assert (stage / ".lock").read_text().strip() == str(os.getpid())
        assert remove_stale_staging(tmp_path) == []  # flock conflicts across open files
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_smoke_test_sweeps_private_folders_of_killed_ones():
    import tempfile

    from hubpub.execution.smoke import SMOKE_PREFIX, SmokeRun

    stale = Path(tempfile.mkdtemp(prefix=SMOKE_PREFIX))
    (stale / ".lock").write_text("12345\n")  # nobody holds it: its build was killed
    run = SmokeRun()
    try:
        assert not stale.exists()
        assert (run._folder / ".lock").is_file()
    finally:
        run.cancel()
    assert not run._folder.exists()
