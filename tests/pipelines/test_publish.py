"""`hubpub publish`: the bundled example, built and signed once, published to a local stand-in.

The stand-in (tests/kaggle_standin.py) answers the requests kagglehub makes, on 127.0.0.1,
through the library's own endpoint setting; nothing reaches the internet.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from hubpub.cli import main
from tests.files.test_signing import write_keys
from tests.kaggle_standin import TOKEN, KaggleStandIn, environment

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "text-embedding"
KEY = ("hubpub-examples", "text-embedding-16d", "tensorFlow1", "default")
DATA = "variables/variables.data-00000-of-00001"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The example project, built once with a signature: (manifest, dist, public key)."""
    if not (EXAMPLE / "hubpub.yaml").is_file():
        pytest.skip("example not present")
    root = tmp_path_factory.mktemp("publish")
    shutil.copytree(EXAMPLE, root / "project", ignore=shutil.ignore_patterns("dist"))
    private, public = write_keys(root)
    manifest = root / "project" / "hubpub.yaml"
    assert main(["build", str(manifest), "--quiet", "--sign", str(private)]) == 0
    return manifest, root / "project" / "dist", public


@pytest.fixture(scope="module")
def kaggle():
    with KaggleStandIn() as server:
        yield server


@pytest.fixture
def fresh(project, kaggle, tmp_path, monkeypatch):
    """A copy of the built project (so a test may change it) and a reset stand-in."""
    kaggle.reset()
    copy = tmp_path / "project"
    shutil.copytree(project[0].parent, copy)
    for name, value in environment(str(tmp_path / "home")).items():
        monkeypatch.setenv(name, value)
    return copy / "hubpub.yaml", copy / "dist"


def publish(capsys, manifest, *args):
    code = main(["publish", str(manifest), *map(str, args)])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err  # never a credential in the output
    return code, out, err


def built_files(dist: Path) -> dict[str, bytes]:
    module = dist / "hubpub-examples-text-embedding-16d-1"
    files = {p.relative_to(module).as_posix(): p.read_bytes()
             for p in module.rglob("*") if p.is_file()}
    files["model.sig"] = (dist / "hubpub-examples-text-embedding-16d-1.tar.gz.sig").read_bytes()
    return files


def test_the_dry_run_lists_every_file_and_uploads_nothing(fresh, kaggle, capsys):
    manifest, dist = fresh
    code, out, _ = publish(capsys, manifest)
    assert code == 0, out
    report = json.loads((dist / "build-report.json").read_text())
    for name, entry in report["files"].items():
        assert f"{entry['bytes']:>12,}  {entry['sha256']}  {name}" in out
    assert "model.sig" in out
    assert "hubpub-examples/text-embedding-16d/tensorFlow1/default" in out
    assert "license: Apache 2.0 (Apache-2.0)" in out
    assert "ready; nothing was uploaded" in out
    assert kaggle.state.calls == []


def test_yes_uploads_the_built_bytes_with_the_card(fresh, kaggle, capsys):
    manifest, dist = fresh
    code, out, err = publish(capsys, manifest, "--yes")
    assert code == 0, err
    assert "published: hubpub-examples/text-embedding-16d/tensorFlow1/default version 1" in out
    instance = kaggle.state.instances[KEY]
    assert kaggle.state.files_of(KEY, 1) == built_files(dist)
    body = instance.body
    assert (body["framework"], body["instanceSlug"]) == ("MODEL_FRAMEWORK_TENSOR_FLOW_1",
                                                         "default")
    assert body["licenseName"] == "Apache 2.0" and body["fineTunable"] is True
    assert body["trainingData"] == ["synthetic (make_embeddings.py)"]
    assert "TensorFlow1/default/${VERSION_NUMBER}" in body["usage"]
    assert kaggle.state.models[KEY[:2]]["isPrivate"] is True
    # Run again: the journal knows this build is published; no second version.
    code, out, _ = publish(capsys, manifest, "--yes")
    assert code == 0 and "already published by an earlier run" in out
    assert len(instance.versions) == 1


def test_a_version_that_exists_is_refused(fresh, kaggle, capsys):
    manifest, dist = fresh
    assert publish(capsys, manifest, "--yes")[0] == 0
    (dist / "kaggle-publish.json").unlink()  # as if published from another machine
    code, _, err = publish(capsys, manifest, "--yes")
    assert code == 2
    assert "already has version 1, so version 1 of hubpub-examples/text-embedding-16d was " \
           "published before; raise module.version" in err
    assert len(kaggle.state.instances[KEY].versions) == 1


def test_a_new_version_of_an_existing_instance_gets_the_notes(fresh, kaggle, capsys):
    manifest, dist = fresh
    assert publish(capsys, manifest, "--yes")[0] == 0
    text = manifest.read_text().replace("version: 1", "version: 2")
    manifest.write_text(text)
    assert main(["build", str(manifest), "--quiet", "--no-smoke-test"]) == 0
    capsys.readouterr()
    code, out, err = publish(capsys, manifest, "--yes", "--notes", "Fewer words.")
    assert code == 0, out + err
    versions = kaggle.state.instances[KEY].versions
    assert len(versions) == 2 and versions[1]["notes"] == "Fewer words."
    assert "model.sig" not in versions[1]["files"]  # built unsigned this time


@pytest.mark.parametrize("setup, message", [
    ({"KAGGLE_API_TOKEN": None}, "no Kaggle credentials: set KAGGLE_API_TOKEN"),
    ({"KAGGLE_API_TOKEN": "wrong-token"}, "Kaggle refused the credentials (HTTP 401)"),
    ({"status": {"GetModelInstance": 403}}, "not allowed (HTTP 403)"),
    ({"owner": "nobody-here"}, "check that the owner 'nobody-here' exists on Kaggle"),
], ids=["no-credentials", "401", "403", "unknown-owner"])
def test_refusals_are_clear_input_errors(fresh, kaggle, capsys, monkeypatch, setup, message):
    manifest, _ = fresh
    args = ["--yes"]
    if "KAGGLE_API_TOKEN" in setup:
        if setup["KAGGLE_API_TOKEN"] is None:
            monkeypatch.delenv("KAGGLE_API_TOKEN")
        else:
            monkeypatch.setenv("KAGGLE_API_TOKEN", setup["KAGGLE_API_TOKEN"])
    kaggle.state.status.update(setup.get("status", {}))
    if "owner" in setup:
        args += ["--to", f"kaggle:{setup['owner']}/m/default"]
    code, out, err = publish(capsys, manifest, *args)
    assert code == 2, out + err
    assert message in err
    assert "Traceback" not in err and "wrong-token" not in out + err
    assert kaggle.state.instances == {}


def test_a_network_timeout_and_an_unreachable_service(fresh, kaggle, capsys):
    manifest, _ = fresh
    kaggle.state.slow["GetModelInstance"] = 3
    code, _, err = publish(capsys, manifest, "--yes", "--timeout", "1")
    assert code == 2 and "did not answer within 1 s (network timeout)" in err


def test_an_unreachable_service(fresh, capsys, monkeypatch):
    manifest, _ = fresh
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")  # http://localhost:80, closed
    code, _, err = publish(capsys, manifest, "--yes", "--timeout", "30")
    assert code == 2 and "the connection to Kaggle failed" in err


def test_an_upload_broken_halfway_resumes_and_arrives_whole(fresh, kaggle, capsys):
    manifest, dist = fresh
    kaggle.state.drop_upload_once.add("variables.data-00000-of-00001")
    code, _, err = publish(capsys, manifest, "--yes")
    assert code == 0, err
    assert kaggle.state.files_of(KEY, 1)[DATA] == built_files(dist)[DATA]
    assert len(kaggle.state.instances[KEY].versions) == 1


def test_a_refused_upload_creates_nothing_and_a_retry_one_version(fresh, kaggle, capsys):
    manifest, dist = fresh
    kaggle.state.upload_status = 503
    code, _, err = publish(capsys, manifest, "--yes")
    assert code == 2 and "the upload was interrupted; nothing was created" in err
    assert KEY not in kaggle.state.instances
    kaggle.state.upload_status = None
    assert publish(capsys, manifest, "--yes")[0] == 0
    assert len(kaggle.state.instances[KEY].versions) == 1
    assert kaggle.state.files_of(KEY, 1) == built_files(dist)


def test_a_lost_answer_after_the_version_was_made_is_not_a_duplicate(fresh, kaggle, capsys):
    manifest, _ = fresh
    assert publish(capsys, manifest, "--yes")[0] == 0
    # Version 2 of the module; Kaggle creates the version but the answer never arrives.
    manifest.write_text(manifest.read_text().replace("version: 1", "version: 2"))
    assert main(["build", str(manifest), "--quiet", "--no-smoke-test"]) == 0
    capsys.readouterr()
    kaggle.state.lose_response.add("CreateModelInstanceVersion")
    code, _, err = publish(capsys, manifest, "--yes")
    assert code == 2 and "run the command again, it does not publish twice" in err
    assert len(kaggle.state.instances[KEY].versions) == 2
    code, out, _ = publish(capsys, manifest, "--yes")
    assert code == 0 and "already published by an earlier run" in out and "version 2" in out
    assert len(kaggle.state.instances[KEY].versions) == 2


def test_gates_refuse_a_stale_or_tampered_build(fresh, kaggle, capsys):
    manifest, dist = fresh
    embeddings = manifest.parent / "embeddings.txt"
    embeddings.write_text(embeddings.read_text().replace("0.", "0.1", 1))
    code, out, _ = publish(capsys, manifest, "--yes")
    assert code == 1
    assert "REFUSED  inputs: the build is stale" in out and "embeddings.txt changed" in out
    assert kaggle.state.calls == []  # not a byte left
    shutil.copyfile(EXAMPLE / "embeddings.txt", embeddings)
    data = dist / "hubpub-examples-text-embedding-16d-1" / DATA
    raw = bytearray(data.read_bytes())
    raw[10] ^= 1
    data.write_bytes(raw)
    code, out, _ = publish(capsys, manifest)
    assert code == 1
    assert f"hubpub-examples-text-embedding-16d-1/{DATA} differs from the tarball's member" in out


def test_missing_build_unknown_license_and_no_destination(fresh, capsys, tmp_path):
    manifest, dist = fresh
    code, _, err = publish(capsys, manifest, "--out", tmp_path / "empty")
    assert code == 2 and "no build to publish" in err and "run `hubpub build" in err
    manifest.write_text(manifest.read_text().replace("license: Apache-2.0",
                                                     "license: MIT OR Apache-2.0"))
    code, _, err = publish(capsys, manifest)
    assert code == 2 and "has no Kaggle license" in err and "CC-BY-4.0" in err
    text = manifest.read_text().replace("license: MIT OR Apache-2.0", "license: Apache-2.0")
    manifest.write_text(text.split("publish:")[0] + "lint:" + text.split("lint:")[1])
    code, _, err = publish(capsys, manifest)
    assert code == 2 and "no destination" in err and "--to kaggle:OWNER/MODEL/VARIATION" in err
    code, _, err = publish(capsys, manifest, "--to", "kaggle:Bad/x")
    assert code == 2 and "expected kaggle:OWNER/MODEL/VARIATION" in err


def test_without_the_extra_the_upload_says_how_to_install_it(fresh, capsys, monkeypatch):
    manifest, _ = fresh
    monkeypatch.setitem(sys.modules, "kagglehub", None)
    code, _, err = publish(capsys, manifest, "--yes")
    assert code == 2 and 'pip install "hubpub[kaggle]"' in err


def test_build_sign_and_verify_signature_through_the_cli(project, tmp_path):
    manifest, dist, public = project
    tarball = dist / "hubpub-examples-text-embedding-16d-1.tar.gz"

    def verify(target, *extra):
        proc = subprocess.run([sys.executable, "-m", "hubpub", "verify", str(target),
                               *map(str, extra)], capture_output=True, text=True, timeout=300)
        assert "Traceback" not in proc.stderr
        return proc.returncode, proc.stdout + proc.stderr

    code, out = verify(tarball, "--public-key", public)
    assert code == 0 and "signature: signed by the public key" in out
    report = json.loads((dist / "build-report.json").read_text())
    assert report["signature"]["file"] == tarball.name + ".sig"
    # Tamper with one byte of variables.data inside a copy of the tarball.
    folder = tmp_path / "unpacked"
    with tarfile.open(tarball) as archive:
        archive.extractall(folder, filter="data")
    data = folder / DATA
    raw = bytearray(data.read_bytes())
    raw[10] ^= 1
    data.write_bytes(raw)
    tampered = tmp_path / tarball.name
    with tarfile.open(tampered, "w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, path.relative_to(folder).as_posix(), recursive=False)
    code, out = verify(tampered, "--signature", f"{tarball}.sig", "--public-key", public)
    assert code == 1 and f"member {DATA} differs from what was signed" in out
    code, out = verify(tarball, "--signature", f"{tarball}.sig", "--public-key", tarball)
    assert code == 2 and "not a PEM public key" in out


def test_help_imports_neither_kagglehub_nor_model_signing():
    code = ("import json, sys\nfrom hubpub.cli import main\n"
            "for argv in (['--help'], ['publish', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = set(json.loads(proc.stderr.splitlines()[-1]))
    assert "hubpub.commands.publish" in names
    assert not names & {"tensorflow", "kagglehub", "model_signing", "kagglesdk", "sigstore"}


def test_the_github_action_publishes_on_tags_and_dry_runs_otherwise():
    import yaml

    from tests.fixture_paths import REPO

    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["inputs"]["mode"]["default"] == "lint"
    step = next(s for s in action["runs"]["steps"] if "publish" in s.get("run", ""))
    assert step["if"] == "${{ inputs.mode == 'publish' }}"
    assert step["env"]["ON_TAG"] == "${{ startsWith(github.ref, 'refs/tags/') }}"
    assert 'hubpub publish "$TARGET" --yes' in step["run"]
    assert 'hubpub build "$TARGET" ${SIGN:+--sign "$SIGN"}' in step["run"]
    assert "${{" not in step["run"]  # inputs reach the shell through the environment only
