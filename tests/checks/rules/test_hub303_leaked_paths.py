"""HUB303: absolute paths of the publisher's machine left in the graph."""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from hubpub.checks.config import LintConfig
from hubpub.checks.engine import run_checks
from hubpub.spec.view import ModuleView
from tests.checks.lintmodules import export, lint, raw_saved_model, write_module
from tests.oracle import import_tensorflow_hub

v1 = tf.compat.v1


def vocab_module(vocab: str, add_signature):
    def module_fn():
        words = v1.placeholder(tf.string, [None], name="words")
        table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(vocab, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                          tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
            default_value=-1)
        weight = v1.get_variable("weight", [], initializer=v1.ones_initializer())
        ids = tf.cast(table.lookup(words), tf.float32) * weight
        add_signature(inputs=words, outputs=ids)
    return module_fn


def path_constant():
    x = v1.placeholder(tf.float32, [None], name="x")
    tag = tf.constant("/home/alice/experiments/run7/config.json", name="config_path")
    return {"default": ({"default": x}, {"default": x, "tag": tag})}


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    path = tmp_path_factory.mktemp("hub303") / "vocab.txt"
    path.write_text("cat\ndog\n")
    return path


@pytest.mark.slow
@pytest.mark.interop
def test_table_name_left_by_tensorflow_hub_export(vocab, tmp_path):
    hub015 = import_tensorflow_hub()
    spec = hub015.create_module_spec(vocab_module(str(vocab), hub015.add_signature))
    with tf.Graph().as_default():
        module = hub015.Module(spec)
        with v1.Session() as session:
            session.run([v1.global_variables_initializer(), v1.tables_initializer()])
            module.export(str(tmp_path / "m"), session)
    [finding] = lint(tmp_path / "m", codes=["HUB303"])
    assert finding.message.startswith(f"node 'hash_table' stores the absolute path '{vocab}")
    assert finding.message.endswith("in its shared_name: it reveals the publisher's machine "
                                    "and is meaningless elsewhere")
    assert finding.location.node == "hash_table"


@pytest.mark.slow
def test_string_constant_with_a_home_path(tmp_path):
    module = write_module(tmp_path / "m", raw_saved_model((path_constant, ())))
    [finding] = lint(module, codes=["HUB303"])
    assert finding.message == ("node 'config_path' stores the absolute path "
                               "'/home/alice/experiments/run7/config.json' in its value: it "
                               "reveals the publisher's machine and is meaningless elsewhere")


@pytest.mark.slow
def test_hubpub_export_and_in_memory_specs_pass(vocab, tmp_path):
    import hubpub as hub

    module_fn = vocab_module(str(vocab), hub.add_signature)
    assert lint(export(module_fn, tmp_path / "m"), codes=["HUB303"]) == []
    # Before export, asset paths are the publisher's own; export rewrites them.
    spec = hub.create_module_spec(module_fn)
    view = ModuleView.from_saved_model(spec.saved_model, path="hubpub.yaml")
    assert run_checks(view, LintConfig(select=("HUB303",))) == []


def split_path():
    x = v1.placeholder(tf.float32, [None], name="x")
    joined = tf.strings.join(["/t", "mp/", "x"], name="joined")
    name = tf.add(tf.constant("/ho"), tf.constant("me/bob/out.txt"), name="added")
    with tf.control_dependencies([tf.io.write_file(joined, "x"),
                                  tf.io.write_file(name, "x")]):
        y = tf.identity(x)
    return {"default": ({"default": x}, {"default": y})}


@pytest.mark.slow
def test_path_split_into_pieces_is_joined_back(tmp_path):
    module = write_module(tmp_path / "m", raw_saved_model((split_path, ())))
    findings = lint(module, codes=["HUB303"])
    assert [(f.location.node, f.message.split(": it")[0]) for f in findings] == [
        ("added", "node 'added' stores the absolute path '/home/bob/out.txt' in its string "
                  "pieces, joined at run time"),
        ("joined", "node 'joined' stores the absolute path '/tmp/x' in its string pieces, "
                   "joined at run time")]
