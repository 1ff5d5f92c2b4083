"""``hubpub lint hubpub.yaml`` answers an unchanged project from its cache, and any change to
what the build reads (module_fn's file, an asset, an imported helper, TensorFlow's version)
lints afresh. A damaged, foreign or unwritable cache costs speed, never findings."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hubpub.checks.config import LintConfig, config_from_manifest
from hubpub.commands.lint import lint_target
from hubpub.files.private_cache import PrivateCache
from hubpub.manifest import load_manifest
from tests.fixture_paths import REPO

MANIFEST = """\
module:
  handle: tests/lint-cache
  version: 1
module_fn: module.py:module_fn
variants:
  - tags: [train]
    args: {training: true}
  - tags: []
    args: {training: false}
assets:
  settings: settings.json
metadata:
  description: Three batch norms whose momenta come from the module, an asset and a helper.
  license: Apache-2.0
  fine_tunable: true
  task: other
"""

MODULE = """\
import json

import tensorflow as tf

import hubpub as hub
from helpers import HELPER_MOMENTUM

MODULE_MOMENTUM = 0.9


def module_fn(training, settings):
    with open(settings) as handle:
        asset_momentum = json.load(handle)["momentum"]
    images = tf.compat.v1.placeholder(tf.float32, [None, 4, 4, 3], name="images")
    x = images
    for name, momentum in (("from_module", MODULE_MOMENTUM), ("from_asset", asset_momentum),
                           ("from_helper", HELPER_MOMENTUM)):
        x = tf.compat.v1.layers.batch_normalization(x, momentum=momentum, training=training,
                                                    fused=False, name=name)
    hub.add_signature(inputs=images, outputs=x)
"""


def _project(folder: Path) -> Path:
    folder.mkdir()
    (folder / "hubpub.yaml").write_text(MANIFEST)
    (folder / "module.py").write_text(MODULE)
    (folder / "helpers.py").write_text("HELPER_MOMENTUM = 0.9\n")
    (folder / "settings.json").write_text('{"momentum": 0.9}\n')
    return folder / "hubpub.yaml"


def _lint(manifest_path: Path, cache: PrivateCache, capsys: pytest.CaptureFixture,
          monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], bool]:
    """(HUB203 layers found, answered from the cache)."""
    monkeypatch.delitem(sys.modules, "helpers", raising=False)  # a fresh build re-imports it
    monkeypatch.setattr(sys, "path", [*sys.path])  # module_fn's folder is added to it
    manifest = load_manifest(manifest_path)
    findings = lint_target(str(manifest_path), config_from_manifest(manifest),
                           manifest=manifest, cache=cache)
    assert not [f for f in findings if f.code == "HUB000"], findings
    cached = "findings from the lint cache" in capsys.readouterr().err
    layers = sorted(f.message.split("'")[1] for f in findings if f.code == "HUB203")
    return layers, cached


@pytest.fixture
def cache(tmp_path: Path) -> PrivateCache:
    return PrivateCache(tmp_path / "cache")


def test_each_input_of_the_build_invalidates_the_cache(tmp_path, cache, capsys, monkeypatch):
    manifest = _project(tmp_path / "project")
    folder = manifest.parent
    assert _lint(manifest, cache, capsys, monkeypatch) == ([], False)
    assert _lint(manifest, cache, capsys, monkeypatch) == ([], True)

    module = folder / "module.py"
    module.write_text(module.read_text().replace("MODULE_MOMENTUM = 0.9", "MODULE_MOMENTUM = 0.9999"))
    assert _lint(manifest, cache, capsys, monkeypatch) == (["from_module"], False)

    (folder / "settings.json").write_text('{"momentum": 0.9999}\n')
    assert _lint(manifest, cache, capsys, monkeypatch) == (["from_asset", "from_module"], False)

    (folder / "helpers.py").write_text("HELPER_MOMENTUM = 0.9999\n")
    assert _lint(manifest, cache, capsys, monkeypatch) == (
        ["from_asset", "from_helper", "from_module"], False)
    assert _lint(manifest, cache, capsys, monkeypatch) == (
        ["from_asset", "from_helper", "from_module"], True)

    # Another TensorFlow (its version string, read from package metadata) is another key.
    monkeypatch.setattr("hubpub.spec.op_registry.installed_tensorflow_version",
                        lambda: "2.99.0")
    assert _lint(manifest, cache, capsys, monkeypatch)[1] is False


def _entries(cache: PrivateCache) -> list[Path]:
    return sorted(cache.folder.glob("*.entry"))


def test_a_corrupt_or_truncated_entry_is_ignored_and_rebuilt(tmp_path, cache, capsys,
                                                             monkeypatch):
    manifest = _project(tmp_path / "project")
    (manifest.parent / "module.py").write_text(MODULE.replace("= 0.9\n", "= 0.9999\n"))
    assert _lint(manifest, cache, capsys, monkeypatch) == (["from_module"], False)
    [entry] = _entries(cache)
    data = entry.read_bytes()
    for damaged in (data[:len(data) // 2], data.replace(b"HUB203", b"HUB999")):
        entry.write_bytes(damaged)
        assert _lint(manifest, cache, capsys, monkeypatch) == (["from_module"], False)
        assert entry.read_bytes() == data  # stored again, whole
    # Valid bytes with a payload that is not an entry: linted afresh too.
    PrivateCache(cache.folder).put(entry.stem, b'{"format": 1, "inputs": 7}')
    assert _lint(manifest, cache, capsys, monkeypatch) == (["from_module"], False)


def _nobody() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("changing an owner to another user needs root")
    return pwd.getpwnam("nobody")


def test_an_entry_owned_by_someone_else_is_ignored(tmp_path, cache, capsys, monkeypatch):
    nobody = _nobody()
    manifest = _project(tmp_path / "project")
    assert _lint(manifest, cache, capsys, monkeypatch) == ([], False)
    [entry] = _entries(cache)
    os.chown(entry, nobody.pw_uid, nobody.pw_gid)
    assert _lint(manifest, cache, capsys, monkeypatch) == ([], False)
    assert entry.stat().st_uid == os.getuid()  # replaced by an entry of ours


def test_a_cache_folder_owned_by_someone_else_is_not_used(tmp_path, capsys, monkeypatch):
    nobody = _nobody()
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o777)
    os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    cache = PrivateCache(folder)
    manifest = _project(tmp_path / "project")
    assert _lint(manifest, cache, capsys, monkeypatch) == ([], False)
    assert _lint(manifest, cache, capsys, monkeypatch) == ([], False)
    assert _entries(cache) == []


def _as_nobody(folder: Path) -> list[object]:
    """get, put, get on the cache in ``folder``, from a forked child running as nobody
    (python itself may not be readable by nobody, so nothing is executed anew)."""
    nobody = _nobody()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            cache = PrivateCache(folder)
            answer = [cache.get("ab" * 32), cache.put("cd" * 32, b"new"), cache.get("cd" * 32)]
            os.write(write, repr(answer).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return eval(text)  # noqa: S307  (our own child's repr of bytes, bools and None)


def test_a_read_only_cache_folder_is_a_miss_not_an_error(tmp_path):
    nobody = _nobody()
    cache = PrivateCache(tmp_path / "cache")
    assert cache.put("ab" * 32, b"stored")
    for path in (cache.folder, *cache.folder.iterdir()):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    cache.folder.chmod(0o500)
    for parent in cache.folder.parents:  # let nobody reach it (pytest's folders are 0700)
        if parent == Path(tempfile.gettempdir()):
            break
        parent.chmod(stat.S_IMODE(parent.stat().st_mode) | 0o111)
    assert _as_nobody(cache.folder) == [b"stored", False, None]  # read, not written
    assert [p.name for p in cache.folder.iterdir()] == [f"{'ab' * 32}.entry"]


def test_entries_beyond_the_size_bound_are_dropped_oldest_first(tmp_path):
    cache = PrivateCache(tmp_path / "c", max_bytes=3000, max_entries=100)
    for index in range(6):
        assert cache.put(f"{index:064x}", bytes(900))
        os.utime(cache.folder / f"{index:064x}.entry", ns=(index * 10**9, index * 10**9))
    assert cache.get(f"{5:064x}") == bytes(900)
    kept = sorted(p.stem for p in _entries(cache))
    assert kept == [f"{i:064x}" for i in (3, 4, 5)]
    assert (cache.folder.stat().st_mode & 0o777) == 0o700


def test_a_planted_symlink_is_not_followed(tmp_path):
    cache = PrivateCache(tmp_path / "c")
    assert cache.put("ab" * 32, b"mine")
    secret = tmp_path / "secret"
    secret.write_bytes(b"hubpub-cache 1\n" + bytes(32) + b"x")
    target = cache.folder / f"{'cd' * 32}.entry"
    target.symlink_to(secret)
    assert cache.get("cd" * 32) is None
    assert cache.get("ab" * 32) == b"mine"


_HAMMER = """
import sys
from pathlib import Path
from hubpub.files.private_cache import PrivateCache
cache = PrivateCache(Path(sys.argv[1]))
mine = sys.argv[2].encode() * 20000
seen = set()
for _ in range(200):
    cache.put("ab" * 32, mine)
    got = cache.get("ab" * 32)
    seen.add(None if got is None else got[:1].decode() + str(len(got)))
print(sorted(map(str, seen)))
"""


def test_two_processes_storing_one_key_at_once_leave_whole_entries(tmp_path):
    folder = tmp_path / "c"
    procs = [subprocess.Popen([sys.executable, "-c", _HAMMER, str(folder), name],
                              stdout=subprocess.PIPE, text=True, cwd=REPO) for name in "xy"]
    outputs = [json.loads(p.communicate(timeout=120)[0].replace("'", '"')) for p in procs]
    for output in outputs:
        assert set(output) <= {"x20000", "y20000"}, output  # never a torn or empty read
    assert [p.name for p in folder.iterdir()] == [f"{'ab' * 32}.entry"]


@pytest.mark.slow
def test_two_lints_at_once_then_a_cached_one_without_tensorflow(tmp_path):
    """The CLI end to end: concurrent first lints, then a re-lint that imports no TensorFlow."""
    project = tmp_path / "project"
    subprocess.run([sys.executable, "-m", "hubpub", "init", str(project)], check=True,
                   capture_output=True, cwd=REPO, timeout=120)
    env = {**os.environ, "HUBPUB_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-c", _CLI, "lint", str(project / "hubpub.yaml")]
    first = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
             for _ in range(2)]
    for proc in first:
        stderr = proc.communicate(timeout=600)[1]
        assert stderr.splitlines()[-1] == "exit 0 True", stderr
    again = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert again.stderr.splitlines()[-1] == "exit 0 False", again.stderr
    assert "findings from the lint cache" in again.stderr
    fresh = subprocess.run([*argv, "--no-cache"], capture_output=True, text=True, env=env,
                           cwd=REPO, timeout=600)
    assert fresh.stderr.splitlines()[-1] == "exit 0 True", fresh.stderr
    assert "findings from the lint cache" not in fresh.stderr


_CLI = """
import sys
from hubpub.cli import main
code = main(sys.argv[1:])
print("exit", code, "tensorflow" in sys.modules, file=sys.stderr)
"""


def test_lint_config_is_part_of_the_key(tmp_path, cache, capsys, monkeypatch):
    """--select and friends change the findings: another configuration is another entry."""
    manifest = _project(tmp_path / "project")
    (manifest.parent / "module.py").write_text(MODULE.replace("= 0.9\n", "= 0.9999\n"))
    assert _lint(manifest, cache, capsys, monkeypatch) == (["from_module"], False)
    loaded = load_manifest(manifest)
    monkeypatch.delitem(sys.modules, "helpers", raising=False)
    findings = lint_target(str(manifest), LintConfig(select=("HUB1",)), manifest=loaded,
                           cache=cache)
    assert not [f for f in findings if f.code == "HUB203"]
    assert "from the lint cache" not in capsys.readouterr().err
    shutil.rmtree(cache.folder)
