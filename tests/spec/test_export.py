"""Export and load: files on disk, assets, weights, checkpoints and every way it can go wrong.

Each module is built and exported once per test module (module-scoped fixtures); tests that
damage a module work on a copy.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.errors import ExportError, HandleError, ModuleFormatError, SpecError, WeightsError
from tests import modulefns

pytestmark = pytest.mark.slow

v1 = tf.compat.v1


def _run(fetches, feed_dict=None):
    with v1.Session() as session:
        session.run([v1.global_variables_initializer(), v1.tables_initializer()])
        return session.run(fetches, feed_dict)


def _apply(handle, inputs, **kwargs):
    """Load ``handle`` into a fresh graph, call it once and return numpy outputs."""
    with tf.Graph().as_default():
        signature = kwargs.pop("signature", None)
        as_dict = kwargs.pop("as_dict", None)
        module = hub.Module(handle, **kwargs)
        return _run(module(inputs, signature=signature, as_dict=as_dict))


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def half_dir(root):
    spec = hub.create_module_spec(modulefns.half_plus_two)
    spec.export(root / "half", checkpoint_path=None)
    return root / "half"


@pytest.fixture(scope="module")
def vocab_file(root):
    publisher = root / "publisher_machine" / "data"
    publisher.mkdir(parents=True)
    (publisher / "vocab.txt").write_text("cat\ndog\nbird\n")
    return publisher / "vocab.txt"


@pytest.fixture(scope="module")
def text_dir(root, vocab_file):
    """The text module, exported and then moved to another directory."""
    spec = hub.create_module_spec(functools.partial(modulefns.text_module, str(vocab_file)))
    spec.export(root / "text_at_export", checkpoint_path=None)
    moved = root / "elsewhere" / "text"
    moved.parent.mkdir()
    shutil.move(str(root / "text_at_export"), str(moved))
    return moved


# --- layout -------------------------------------------------------------------------------

def test_files_of_an_exported_module(half_dir):
    assert _entries(half_dir) == ["assets", "saved_model.pb", "tfhub_module.pb", "variables"]
    assert (half_dir / "tfhub_module.pb").read_bytes() == b"\x08\x03"
    assert _entries(half_dir / "assets") == []
    assert _entries(half_dir / "variables") == ["variables.data-00000-of-00001",
                                                "variables.index"]
    assert dict(tf.train.list_variables(str(half_dir / "variables" / "variables"))) == {
        "a": [], "b": []}


def test_saved_model_proto_is_hub_format(half_dir):
    spec = hub.load_module_spec(half_dir)
    (meta,) = spec.saved_model.meta_graphs
    assert list(meta.meta_info_def.tags) == []
    assert not meta.HasField("saver_def")
    assert list(meta.signature_def) == ["default"]
    assert spec.module_dir == str(half_dir)
    assert spec.checkpoint_path == str(half_dir / "variables" / "variables")


def test_exported_module_computes(half_dir):
    np.testing.assert_allclose(_apply(str(half_dir), [1.0, 2.0, 10.0]), [2.5, 3.0, 7.0])


def test_module_accepts_a_path_object(half_dir):
    np.testing.assert_allclose(_apply(half_dir, [0.0]), [2.0])


def test_no_variables_module_has_no_checkpoint(root):
    spec = hub.create_module_spec(modulefns.no_variables)
    spec.export(root / "novars", checkpoint_path=None)
    assert not (root / "novars" / "variables" / "variables.index").exists()
    np.testing.assert_allclose(_apply(str(root / "novars"), [1.0, 2.0]), [2.0, 5.0])


def test_two_variants_and_attachments_survive(root):
    spec = hub.create_module_spec(
        modulefns.image_module,
        [({"train"}, {"shape": (None, 8, 8, 3)}), (set(), {"height": 30, "width": 40})])
    spec.export(root / "image", checkpoint_path=None)
    loaded = hub.load_module_spec(root / "image")
    assert loaded.get_tags() == [{"train"}, set()]  # the declared order survives export
    assert hub.get_expected_image_size(loaded) == [30, 40]
    with tf.Graph().as_default():
        assert hub.get_expected_image_size(hub.Module(loaded, tags={"train"})) == [8, 8]
    images = np.ones([2, 8, 8, 3], np.float32)
    np.testing.assert_allclose(_apply(str(root / "image"), {"images": images},
                                      tags={"train"}), [2.0, 2.0])


def test_partitioned_variable_is_one_checkpoint_key(root):
    spec = hub.create_module_spec(modulefns.partitioned)
    spec.export(root / "partitioned", checkpoint_path=None)
    keys = dict(tf.train.list_variables(str(root / "partitioned" / "variables" / "variables")))
    assert keys == {"w": [4, 2]}
    out = _apply(str(root / "partitioned"), [[0.0, 1.0, 0.0, 2.0]])
    np.testing.assert_allclose(out, [[7.0, -7.0]])


def test_sparse_module_round_trip(root):
    spec = hub.create_module_spec(modulefns.sparse_input)
    spec.export(root / "sparse", checkpoint_path=None)
    with tf.Graph().as_default():
        module = hub.Module(str(root / "sparse"))
        assert module.get_input_info_dict()["default"].is_sparse
        sparse = tf.SparseTensor([[0, 1], [1, 2]], [1.0, 2.0], [2, 3])
        np.testing.assert_allclose(_run(module(sparse)), [2.0, 6.0])


# --- assets -------------------------------------------------------------------------------

def test_asset_is_copied_and_repointed_after_a_move(text_dir):
    assert (text_dir / "assets" / "vocab.txt").read_text() == "cat\ndog\nbird\n"
    out = _apply(str(text_dir), ["dog", "emu", "bird"], as_dict=True)
    np.testing.assert_array_equal(out["ids"], [1, -1, 2])
    np.testing.assert_allclose(out["default"], [[1.0, 10.0], [-1.0, -1.0], [2.0, 20.0]])


def test_saved_model_holds_no_path_of_the_publisher_machine(text_dir, vocab_file, root):
    data = (text_dir / "saved_model.pb").read_bytes()
    for leaked in (str(vocab_file), str(vocab_file.parent), str(root)):
        assert leaked.encode() not in data
    assert b"SAVEDMODEL-ASSET" in data


def test_module_using_another_modules_assets_can_be_re_exported(root, text_dir):
    inner_dir = root / "inner_text"
    shutil.copytree(text_dir, inner_dir)
    spec = hub.create_module_spec(
        functools.partial(modulefns.consumer_of, hub.load_module_spec(str(inner_dir))))
    spec.export(root / "consumer", checkpoint_path=None)
    shutil.rmtree(inner_dir)  # the consumer carries its own copy of the vocabulary
    assert _entries(root / "consumer" / "assets") == ["vocab.txt"]
    out = _apply(str(root / "consumer"), ["bird", "cat"])
    np.testing.assert_allclose(out, [[3.0, 21.0], [1.0, 1.0]])
    assert str(root).encode() not in (root / "consumer" / "saved_model.pb").read_bytes()


def test_clashing_asset_basenames_get_distinct_files(root):
    first, second = root / "a" / "words.txt", root / "b" / "words.txt"
    for path, text in ((first, "x\ny\n"), (second, "y\nx\n")):
        path.parent.mkdir()
        path.write_text(text)

    def two_vocabularies():
        modulefns.text_module(str(first))
        with tf.name_scope("second"):
            table = tf.lookup.StaticHashTable(
                tf.lookup.TextFileInitializer(str(second), tf.string,
                                              tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
                                              tf.lookup.TextFileIndex.LINE_NUMBER), -1)
            words = v1.placeholder(tf.string, shape=[None])
            hub.add_signature("second", inputs=words, outputs=table.lookup(words))

    hub.create_module_spec(two_vocabularies).export(root / "two_vocabs", checkpoint_path=None)
    assets = root / "two_vocabs" / "assets"
    assert {p.name: p.read_text() for p in assets.iterdir()} == {"words.txt": "x\ny\n",
                                                                 "words.txt0": "y\nx\n"}
    ids = _apply(str(root / "two_vocabs"), ["x"], signature="second")
    np.testing.assert_array_equal(ids, [1])


# --- weights ------------------------------------------------------------------------------

def test_re_export_after_a_training_step(root, half_dir):
    with tf.Graph().as_default():
        module = hub.Module(str(half_dir), trainable=True)
        x = tf.constant([1.0, 2.0])
        loss = tf.reduce_sum(tf.square(module(x) - tf.constant([0.0, 0.0])))
        step = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            before = session.run(module.variables)
            session.run(step)
            trained = session.run(module.variables)
            module.export(str(root / "trained"), session)
    assert not np.allclose(before, trained)
    with tf.Graph().as_default():
        reloaded = hub.Module(str(root / "trained"))
        assert _run(reloaded.variables) == pytest.approx(trained)


def test_export_with_a_checkpoint_and_name_transform(root):
    ckpt = _save_checkpoint(root / "ckpt_scoped", {"outer/a": 3.0, "outer/b": -1.0})
    spec = hub.create_module_spec(modulefns.half_plus_two)
    spec.export(root / "from_ckpt", checkpoint_path=ckpt,
                name_transform_fn=lambda name: "outer/" + name)
    np.testing.assert_allclose(_apply(str(root / "from_ckpt"), [1.0, 2.0]), [2.0, 5.0])


def test_export_latest_checkpoint_of_a_training_dir(root):
    spec = hub.create_module_spec(modulefns.half_plus_two)
    train_dir = root / "training"
    with tf.Graph().as_default():
        module = hub.Module(spec, trainable=True)  # lives under scope "module"
        saver = v1.train.Saver()
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            for step, (a, b) in ((10, (1.0, 1.0)), (20, (3.0, -1.0))):
                session.run([module.variable_map["a"].assign(a),
                             module.variable_map["b"].assign(b)])
                saver.save(session, str(train_dir / "model.ckpt"), global_step=step)
    hub.export_latest_checkpoint(spec, train_dir, root / "latest", scope="module")
    np.testing.assert_allclose(_apply(str(root / "latest"), [1.0, 2.0]), [2.0, 5.0])


def test_training_dir_without_checkpoint(root):
    (root / "empty_training").mkdir()
    spec = hub.create_module_spec(modulefns.half_plus_two)
    with pytest.raises(WeightsError, match="holds no checkpoint"):
        hub.export_latest_checkpoint(spec, root / "empty_training", root / "never")
    assert not (root / "never").exists()


@pytest.mark.parametrize("values, named", [
    ({"a": 1.0}, r"\bb is not found in the checkpoint"),
    ({"a": np.zeros([2], np.float32), "b": 1.0}, r"\ba has shape \[2\] in the checkpoint, "
                                                  r"which doesn't match with shape of the "
                                                  r"module's variable, \[\]"),
], ids=["missing-variable", "wrong-shape"])
def test_checkpoint_that_does_not_match(root, values, named):
    name = "bad_ckpt_" + "_".join(sorted(values)) + str(len(np.shape(values["a"])))
    ckpt = _save_checkpoint(root / name, values)
    spec = hub.create_module_spec(modulefns.half_plus_two)
    before = _entries(root)
    with pytest.raises(WeightsError, match=named):
        spec.export(root / "mismatch", checkpoint_path=ckpt)
    assert _entries(root) == before


def test_checkpoint_path_is_mandatory(root):
    spec = hub.create_module_spec(modulefns.half_plus_two)
    with pytest.raises(ValueError, match="Missing mandatory `checkpoint_path` parameter"):
        spec.export(root / "no_ckpt_arg")


def test_variable_only_in_the_train_variant_cannot_be_exported(root):
    spec = hub.create_module_spec(
        modulefns.only_in_train, [({"train"}, {"training": True}), (set(), {"training": False})])
    with pytest.raises(SpecError, match=r"variables \['extra'\] exist in variant \['train'\]"):
        spec.export(root / "train_only", checkpoint_path=None)
    assert not (root / "train_only").exists()


def _save_checkpoint(folder: Path, values: dict) -> str:
    with tf.Graph().as_default():
        variables = {}
        for name, value in values.items():
            with v1.variable_scope("", reuse=v1.AUTO_REUSE):
                variables[name] = v1.get_variable(name, initializer=np.float32(value))
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            return v1.train.Saver(variables).save(session, str(folder / "model.ckpt"))


# --- exports that fail --------------------------------------------------------------------

def test_export_onto_an_existing_module_is_refused_untouched(half_dir):
    before = _snapshot(half_dir)
    spec = hub.create_module_spec(modulefns.no_variables)
    with pytest.raises(ExportError, match="already exists"):
        spec.export(half_dir, checkpoint_path=None)
    assert _snapshot(half_dir) == before
    assert not [n for n in _entries(half_dir.parent) if n.endswith(".tmp")]  # no temp dir


def test_module_export_onto_an_existing_module_is_refused(half_dir):
    before = _snapshot(half_dir)
    with tf.Graph().as_default():
        module = hub.Module(str(half_dir))
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            with pytest.raises(ExportError, match="already exists"):
                module.export(str(half_dir), session)
    assert _snapshot(half_dir) == before


def test_export_into_an_empty_directory_is_allowed(root):
    (root / "empty_target").mkdir()
    hub.create_module_spec(modulefns.no_variables).export(root / "empty_target",
                                                          checkpoint_path=None)
    assert (root / "empty_target" / "tfhub_module.pb").is_file()


def test_export_into_a_folder_holding_other_files(tmp_path):
    """As the old library: the module's files join what is there, which stays untouched."""
    target = tmp_path / "work"
    target.mkdir()
    (target / "embeddings.txt").write_text("cat 1 2\n")
    hub.create_module_spec(modulefns.half_plus_two).export(target, checkpoint_path=None)
    assert _entries(target) == ["assets", "embeddings.txt", "saved_model.pb",
                                "tfhub_module.pb", "variables"]
    assert (target / "embeddings.txt").read_text() == "cat 1 2\n"
    np.testing.assert_allclose(_apply(str(target), [2.0]), [3.0])


def test_module_export_into_the_folder_of_its_input_file(tmp_path):
    with tf.Graph().as_default():
        module = hub.Module(hub.create_module_spec(modulefns.half_plus_two))
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            (tmp_path / "input.txt").write_text("x")
            module.export(str(tmp_path), session)
    assert (tmp_path / "tfhub_module.pb").is_file() and (tmp_path / "input.txt").is_file()


@pytest.mark.parametrize("existing, message", [
    ("saved_model.pb", "holds a module"),
    ("assets", r"holds \['assets'\], which the module's own would replace"),
    ("variables", r"holds \['variables'\]"),
])
def test_export_into_a_folder_refuses_to_replace_anything(tmp_path, existing, message):
    target = tmp_path / "work"
    (target / existing).mkdir(parents=True)
    (target / "notes.txt").write_text("mine")
    before = _snapshot(target)
    with pytest.raises(ExportError, match=message):
        hub.create_module_spec(modulefns.no_variables).export(target, checkpoint_path=None)
    assert _snapshot(target) == before and _entries(target) == sorted([existing, "notes.txt"])


def test_export_onto_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ExportError, match="not a folder"):
        hub.create_module_spec(modulefns.no_variables).export(tmp_path / "taken",
                                                              checkpoint_path=None)


def test_failed_export_into_a_folder_leaves_it_as_it_was(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")
    spec = hub.create_module_spec(functools.partial(modulefns.text_module, str(vocab)))
    vocab.unlink()
    (tmp_path / "other.txt").write_text("keep")
    with pytest.raises(ExportError, match="does not exist"):
        spec.export(tmp_path, checkpoint_path=None)
    assert _entries(tmp_path) == ["other.txt"]


def test_missing_asset_file_leaves_nothing(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")
    spec = hub.create_module_spec(functools.partial(modulefns.text_module, str(vocab)))
    vocab.unlink()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError, match=r"asset file .*vocab\.txt does not exist"):
        spec.export(out / "text", checkpoint_path=None)
    assert _entries(out) == []


def test_uninitialized_variable_leaves_nothing(tmp_path):
    spec = hub.create_module_spec(modulefns.half_plus_two)
    with tf.Graph().as_default():
        module = hub.Module(spec)
        with v1.Session() as session, pytest.raises(ExportError, match="not initialized"):
            module.export(str(tmp_path / "half"), session)
    assert _entries(tmp_path) == []


def test_module_export_needs_the_module_graph(tmp_path, half_dir):
    with tf.Graph().as_default():
        module = hub.Module(str(half_dir))
    with tf.Graph().as_default(), v1.Session() as session, \
            pytest.raises(RuntimeError, match="graph"):
        module.export(str(tmp_path / "x"), session)


# --- loading errors -----------------------------------------------------------------------

@pytest.fixture
def damaged(tmp_path, half_dir):
    copy = tmp_path / "module"
    shutil.copytree(half_dir, copy)
    return copy


def test_missing_module_def(damaged):
    (damaged / "tfhub_module.pb").unlink()
    with pytest.raises(ModuleFormatError, match="no tfhub_module.pb.*plain SavedModel"):
        hub.load_module_spec(str(damaged))


def test_corrupt_module_def(damaged):
    (damaged / "tfhub_module.pb").write_bytes(b"\xff\xff\xff")
    with pytest.raises(ModuleFormatError, match="tfhub_module.pb is corrupt"):
        hub.load_module_spec(str(damaged))


def test_unsupported_module_def_format(damaged):
    (damaged / "tfhub_module.pb").write_bytes(b"\x08\x02")
    with pytest.raises(ModuleFormatError, match="unsupported module def format 2"):
        hub.load_module_spec(str(damaged))


def test_missing_saved_model(damaged):
    (damaged / "saved_model.pb").unlink()
    with tf.Graph().as_default(), pytest.raises(ModuleFormatError, match="no saved_model.pb"):
        hub.Module(str(damaged))


def test_corrupt_saved_model(damaged):
    data = (damaged / "saved_model.pb").read_bytes()
    (damaged / "saved_model.pb").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModuleFormatError, match="saved_model.pb is corrupt"):
        hub.load_module_spec(str(damaged))


def test_handle_that_does_not_exist(tmp_path):
    with pytest.raises(HandleError, match="does not exist"):
        hub.load_module_spec(str(tmp_path / "nowhere"))
    with tf.Graph().as_default(), pytest.raises(HandleError):
        hub.Module(str(tmp_path / "nowhere"))


def test_asset_pointing_outside_assets_is_refused(tmp_path, text_dir):
    from tensorflow.core.protobuf import meta_graph_pb2

    copy = tmp_path / "text"
    shutil.copytree(text_dir, copy)
    from hubpub.spec.files import read_saved_model

    proto = read_saved_model(copy)
    packed = proto.meta_graphs[0].collection_def["saved_model_assets"].any_list.value[0]
    asset = meta_graph_pb2.AssetFileDef()
    packed.Unpack(asset)
    asset.filename = "../../../etc/passwd"
    packed.Pack(asset)
    (copy / "saved_model.pb").write_bytes(proto.SerializeToString())
    with pytest.raises(ModuleFormatError, match="points outside assets/"):
        hub.load_module_spec(str(copy))


def test_loaded_spec_round_trips_with_its_own_checkpoint(root, half_dir):
    spec = hub.load_module_spec(str(half_dir))
    spec.export(root / "again", checkpoint_path=spec.checkpoint_path)
    assert _snapshot(root / "again")["saved_model.pb"] == _snapshot(half_dir)["saved_model.pb"]
    np.testing.assert_allclose(_apply(str(root / "again"), [4.0]), [4.0])
