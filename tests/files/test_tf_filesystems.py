"""Paths are TensorFlow filesystem paths, as in the old library: ``file://`` and ``ram://``.

``ram://`` stands in for ``gs://``, ``s3://`` and ``hdfs://``: the same ``tf.io.gfile`` code
paths, no network. Export targets, asset files, checkpoints, training directories, module
handles (folders and tarballs) and ``TFHUB_CACHE_DIR``.
"""

from __future__ import annotations

import functools
import tarfile
import uuid
from pathlib import Path

import numpy as np
import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.errors import ExportError, HandleError
from tests import modulefns
from tests.fixture_paths import HALF_PLUS_TWO

pytestmark = pytest.mark.slow

v1 = tf.compat.v1
gfile = tf.io.gfile
MODULE_FILES = ["assets", "saved_model.pb", "tfhub_module.pb", "variables"]


@pytest.fixture
def ram() -> str:
    """A fresh folder URL on TensorFlow's in-memory filesystem."""
    return f"ram://hubpub-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _half_plus_two(handle: str, x: list[float]) -> np.ndarray:
    with tf.Graph().as_default():
        y = hub.Module(handle)(x)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            return session.run(y)


def _ids(handle: str, words: list[str]) -> np.ndarray:
    with tf.Graph().as_default():
        ids = hub.Module(handle)(words)
        with v1.Session() as session:
            session.run([v1.global_variables_initializer(), v1.tables_initializer()])
            return session.run(ids)


def _copy_tree(source: str, dest: Path) -> None:
    for folder, _, files in gfile.walk(source):
        local = dest / folder[len(source):].lstrip("/")
        local.mkdir(parents=True, exist_ok=True)
        for name in files:
            gfile.copy(f"{folder.rstrip('/')}/{name}", str(local / name))


def test_export_to_ram_writes_every_file(ram: str, tmp_path: Path) -> None:
    spec = hub.create_module_spec(modulefns.half_plus_two)
    spec.export(f"{ram}/half", checkpoint_path=None)
    assert sorted(e.rstrip("/") for e in gfile.listdir(f"{ram}/half")) == MODULE_FILES
    assert hub.load_module_spec(f"{ram}/half").get_signature_names() == ["default"]
    # TF's ram:// filesystem calls any path prefix a folder, so TF's checkpoint reader cannot
    # open ram://.../variables/variables; check the weights from a local copy instead.
    _copy_tree(f"{ram}/half", tmp_path / "copy")
    np.testing.assert_allclose(_half_plus_two(str(tmp_path / "copy"), [2.0, 4.0]), [3.0, 4.0])


def test_module_with_an_asset_runs_from_ram(ram: str, tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("cat\ndog\nbird\n")
    spec = hub.create_module_spec(functools.partial(_text_module_with_asset, str(vocab)))
    spec.export(f"{ram}/words", checkpoint_path=None)
    vocab.unlink()  # the module is self-contained
    assert gfile.listdir(f"{ram}/words/assets") == ["vocab.txt"]
    np.testing.assert_array_equal(_ids(f"{ram}/words", ["dog", "fish"]), [1, -1])


def test_export_to_ram_onto_a_module_is_refused(ram: str) -> None:
    spec = hub.create_module_spec(modulefns.half_plus_two)
    spec.export(f"{ram}/half", checkpoint_path=None)
    before = gfile.stat(f"{ram}/half/saved_model.pb").length
    with pytest.raises(ExportError, match="already exists and holds a module"):
        hub.create_module_spec(modulefns.no_variables).export(f"{ram}/half",
                                                              checkpoint_path=None)
    assert gfile.stat(f"{ram}/half/saved_model.pb").length == before


def test_asset_file_on_ram_exported_to_a_file_url(ram: str, tmp_path: Path) -> None:
    vocab = f"{ram}/data/vocab.txt"
    gfile.makedirs(f"{ram}/data")
    with gfile.GFile(vocab, "w") as f:
        f.write("cat\ndog\nbird\n")
    spec = hub.create_module_spec(functools.partial(_text_module_with_asset, vocab))
    target = tmp_path / "text"
    spec.export(target.as_uri(), checkpoint_path=None)
    assert (target / "assets" / "vocab.txt").read_text() == "cat\ndog\nbird\n"
    gfile.remove(vocab)  # the module is self-contained
    assert b"ram://" not in (target / "saved_model.pb").read_bytes()  # no path of the publisher
    np.testing.assert_array_equal(_ids(target.as_uri(), ["dog", "fish"]), [1, -1])


def test_missing_asset_on_ram_is_named_and_leaves_nothing(ram: str) -> None:
    spec = hub.create_module_spec(
        functools.partial(_text_module_with_asset, f"{ram}/nowhere/vocab.txt"))
    with pytest.raises(ExportError, match=r"asset file ram://.*/nowhere/vocab\.txt does not"):
        spec.export(f"{ram}/out", checkpoint_path=None)
    assert not gfile.exists(f"{ram}/out/tfhub_module.pb")


def _text_module_with_asset(vocab: str) -> None:
    """A vocabulary table over a file that may not exist when the module is exported."""
    words = v1.placeholder(tf.string, shape=[None])
    table = tf.lookup.StaticHashTable(
        tf.lookup.TextFileInitializer(vocab, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                      tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), -1)
    hub.add_signature(inputs=words, outputs=table.lookup(words))


def test_checkpoint_and_training_dir_as_file_urls(tmp_path: Path) -> None:
    train = (tmp_path / "train").as_uri()
    with tf.Graph().as_default():
        a = v1.get_variable("module/a", initializer=4.0)
        b = v1.get_variable("module/b", initializer=1.0)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            v1.train.Saver([a, b]).save(session, f"{train}/model.ckpt", global_step=7)
    spec = hub.create_module_spec(modulefns.half_plus_two)
    target = (tmp_path / "module").as_uri()
    hub.export_latest_checkpoint(spec, train, target, scope="module")
    np.testing.assert_allclose(_half_plus_two(target, [2.0]), [9.0])
    hub.create_module_spec(modulefns.half_plus_two).export(
        (tmp_path / "again").as_uri(), checkpoint_path=f"{target}/variables/variables")
    np.testing.assert_allclose(_half_plus_two(str(tmp_path / "again"), [2.0]), [9.0])


def test_module_export_with_a_session_to_ram(ram: str, tmp_path: Path) -> None:
    spec = hub.create_module_spec(modulefns.half_plus_two)
    with tf.Graph().as_default():
        module = hub.Module(spec)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            session.run(module.variable_map["a"].assign(3.0))
            assert module.export(f"{ram}/trained", session) == f"{ram}/trained"
    _copy_tree(f"{ram}/trained", tmp_path / "copy")
    np.testing.assert_allclose(_half_plus_two(str(tmp_path / "copy"), [1.0]), [5.0])


def test_tarball_on_ram_is_unpacked_into_the_cache(ram: str, cache: Path) -> None:
    gfile.makedirs(ram)
    gfile.copy(str(HALF_PLUS_TWO), f"{ram}/half.tar.gz")
    folder = hub.resolve(f"{ram}/half.tar.gz")
    assert Path(folder).parent == cache
    np.testing.assert_allclose(_half_plus_two(f"{ram}/half.tar.gz", [2.0]), [3.0])


def test_missing_ram_handle(ram: str) -> None:
    with pytest.raises(HandleError, match="does not exist"):
        hub.resolve(f"{ram}/nothing.tar.gz")


def test_cache_dir_as_a_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFHUB_CACHE_DIR", (tmp_path / "c").as_uri())
    folder = hub.resolve(str(HALF_PLUS_TWO))
    assert Path(folder).parent == tmp_path / "c"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # no folder named "file:"


def test_cache_dir_on_another_filesystem_is_a_clear_error(ram: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFHUB_CACHE_DIR", ram)
    with pytest.raises(HandleError, match="local filesystem"):
        hub.resolve(str(HALF_PLUS_TWO))


def test_module_folder_of_a_tarball_with_a_file_url(tmp_path: Path) -> None:
    with tarfile.open(HALF_PLUS_TWO) as tar:
        tar.extractall(tmp_path / "half", filter="data")
    np.testing.assert_allclose(_half_plus_two((tmp_path / "half").as_uri(), [2.0]), [3.0])
