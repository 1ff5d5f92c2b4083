"""HUB301: file-system and Python ops that run when a module loads or a signature is called."""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from hubpub.checks.config import LintConfig, with_overrides
from hubpub.checks.engine import run_checks
from hubpub.spec.view import ModuleView
from tests.checks.lintmodules import raw_saved_model

v1 = tf.compat.v1


def reads_a_file():
    x = v1.placeholder(tf.float32, [None], name="x")
    contents = tf.io.read_file("labels.txt", name="read_labels")
    size = tf.cast(tf.strings.length(contents), tf.float32)
    return {"default": ({"default": x}, {"default": x + size}),
            "clean": ({"default": x}, {"default": 2.0 * x})}


def reads_a_file_in_a_branch():
    x = v1.placeholder(tf.float32, [None], name="x")
    flag = v1.placeholder_with_default(False, [], name="flag")
    y = tf.cond(flag, lambda: x + tf.cast(tf.strings.length(tf.io.read_file("a.txt")), tf.float32),
                lambda: x)
    return {"default": ({"default": x}, {"default": y})}


def runs_python():
    x = v1.placeholder(tf.float32, [None], name="x")
    y = v1.py_func(lambda a: a * 2, [x], tf.float32, name="double_in_python")
    return {"default": ({"default": x}, {"default": y})}


def table_initializers(vocab: str, *, as_asset: bool):
    def graph_fn():
        words = v1.placeholder(tf.string, [None], name="words")
        # A constant file name becomes an asset; a computed one does not.
        filename = vocab if as_asset else tf.strings.join([vocab, ""], name="computed_name")
        table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(filename, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                          tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
            default_value=-1)
        # Made reachable on purpose: the initializer runs before each lookup.
        with tf.control_dependencies([v1.tables_initializer()]):
            ids = table.lookup(words)
        return {"default": ({"default": words}, {"default": ids})}
    return graph_fn


def writes_in_a_table_initializer():
    """The issue's case: nothing a signature computes reaches the write."""
    words = v1.placeholder(tf.string, [None], name="words")
    write = tf.io.write_file("/tmp/hubpub-hub301-owned", "x", name="write_on_load")
    with tf.control_dependencies([write]):
        keys = tf.identity(tf.constant(["a"]))
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, tf.constant([1], tf.int64)), -1)
    return {"default": ({"default": words}, {"default": table.lookup(words)})}


def writes_in_a_variable_initializer():
    x = v1.placeholder(tf.float32, [None], name="x")
    write = tf.io.write_file(tf.strings.join(["/t", "mp/x"], name="split_path"), "x",
                             name="write_on_init")
    with tf.control_dependencies([write]):
        start = tf.constant(1.0)
    w = v1.get_variable("w", initializer=start)
    return {"default": ({"default": x}, {"default": w * x})}


def writes_in_a_main_op():
    x = v1.placeholder(tf.float32, [None], name="x")
    v1.add_to_collection("saved_model_main_op",
                         tf.io.write_file("out.txt", "x", name="write_in_main_op"))
    return {"default": ({"default": x}, {"default": 2.0 * x})}


def saves_variables():
    x = v1.placeholder(tf.float32, [None], name="x")
    w = v1.get_variable("w", [], initializer=v1.ones_initializer())
    v1.train.Saver([w])  # SaveV2 / RestoreV2 exist, but no output reaches them
    return {"default": ({"default": x}, {"default": w * x})}


SAVER_DEFS = {}


def with_saver(*, hostile: str):
    """A saver the loader runs (its SaverDef is in the MetaGraph). Hostile: "restore" also
    writes a file of its own when it restores; "signature" saves whenever it is called."""
    def graph_fn():
        x = v1.placeholder(tf.float32, [None], name="x")
        w = v1.get_variable("w", [], initializer=v1.ones_initializer())
        saver = v1.train.Saver([w], sharded=True)
        saver_def = saver.as_saver_def()
        graph = tf.compat.v1.get_default_graph()
        if hostile == "restore":
            restore = graph.get_operation_by_name(saver_def.restore_op_name)
            restore._add_control_input(tf.io.write_file("/tmp/planted", "x", name="plant"))
        SAVER_DEFS[hostile] = saver_def
        if hostile == "signature":
            with tf.control_dependencies([graph.get_tensor_by_name(saver_def.save_tensor_name)]):
                return {"default": ({"default": x}, {"default": tf.identity(w * x)})}
        return {"default": ({"default": x}, {"default": w * x})}
    return graph_fn


def saved_model_with_saver(*, hostile: str):
    saved_model = raw_saved_model((with_saver(hostile=hostile), ()))
    saved_model.meta_graphs[0].saver_def.CopyFrom(SAVER_DEFS[hostile])
    return saved_model


def lint(saved_model, config=None, *, codes):
    """The findings of a module's graphs, read in memory: these modules have no checkpoint."""
    view = ModuleView.from_saved_model(saved_model, path="m")
    return [f for f in run_checks(view, config or LintConfig()) if f.code in codes]


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub301")
    vocab = root / "vocab.txt"
    vocab.write_text("a\nb\n")
    made = {"root": root}
    made |= {name: raw_saved_model((fn, ())) for name, fn in {
        "read_file": reads_a_file, "branch": reads_a_file_in_a_branch, "python": runs_python,
        "saver": saves_variables,
        "asset_table": table_initializers(str(vocab), as_asset=True),
        "file_table": table_initializers(str(vocab), as_asset=False),
        "table_init_write": writes_in_a_table_initializer,
        "variable_init_write": writes_in_a_variable_initializer,
        "main_op_write": writes_in_a_main_op}.items()}
    for hostile in ("", "restore", "signature"):
        made[f"saver_{hostile or 'real'}"] = saved_model_with_saver(hostile=hostile)
    return made


@pytest.mark.slow
def test_read_file_reachable_from_one_signature(modules):
    [finding] = lint(modules["read_file"], codes=["HUB301"])
    assert finding.message == ("op ReadFile (node 'read_labels') runs when signature 'default' "
                               "is called: it reads or writes files at run time (path "
                               "'labels.txt')")
    assert (finding.location.signature, finding.location.node) == ("default", "read_labels")


@pytest.mark.slow
def test_read_file_inside_a_cond_branch_function(modules):
    [finding] = lint(modules["branch"], codes=["HUB301"])
    function, _, node = finding.location.node.partition("/")
    assert node == "ReadFile"
    assert finding.message == (f"op ReadFile (node 'ReadFile' in function '{function}') runs "
                               f"when signature 'default' is called: it reads or writes files "
                               f"at run time")


@pytest.mark.slow
def test_python_function_op(modules):
    [finding] = lint(modules["python"], codes=["HUB301"])
    assert finding.message.startswith("op PyFunc (node 'double_in_python') runs when signature "
                                      "'default' is called: it runs Python code")


@pytest.mark.slow
def test_table_initializer_reading_a_non_asset_file(modules):
    [finding] = lint(modules["file_table"], codes=["HUB301"])
    assert finding.message.startswith("op InitializeTableFromTextFileV2")
    assert finding.message.endswith("it initializes a table from a file that is not one of the "
                                    f"module's assets (path '{modules['root'] / 'vocab.txt'}')")


@pytest.mark.slow
def test_write_in_a_table_initializer_that_no_signature_reaches(modules):
    [finding] = lint(modules["table_init_write"], codes=["HUB301"])
    assert finding.message == ("op WriteFile (node 'write_on_load') runs when the module loads "
                               "(table initializer 'key_value_init/LookupTableImportV2'): it "
                               "reads or writes files at run time (path "
                               "'/tmp/hubpub-hub301-owned')")
    assert finding.location.node == "write_on_load"
    assert finding.location.signature is None


@pytest.mark.slow
def test_write_in_a_variable_initializer_with_a_path_split_in_pieces(modules):
    [finding] = lint(modules["variable_init_write"], codes=["HUB301"])
    assert finding.message == ("op WriteFile (node 'write_on_init') runs when the module's "
                               "variables are initialized: it reads or writes files at run time "
                               "(path '/tmp/x')")


@pytest.mark.slow
def test_write_in_a_main_op(modules):
    [finding] = lint(modules["main_op_write"], codes=["HUB301"])
    assert finding.message.startswith("op WriteFile (node 'write_in_main_op') runs when the "
                                      "module loads (main op 'write_in_main_op')")


@pytest.mark.slow
def test_saver_subgraph_runs_at_load(modules):
    assert lint(modules["saver_real"], codes=["HUB301"]) == []
    [finding] = lint(modules["saver_restore"], codes=["HUB301"])
    assert finding.message == ("op WriteFile (node 'plant') runs when the variables are "
                               "restored or saved: it reads or writes files at run time "
                               "(path '/tmp/planted')")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["saver", "asset_table"], ids=["save-restore", "asset-table"])
def test_normal_modules_pass(modules, name):
    assert lint(modules[name], codes=["HUB301"]) == []


@pytest.mark.slow
def test_allow_option(modules):
    config = with_overrides(LintConfig(), option=["HUB301.allow=ReadFile,PyFunc"])
    assert lint(modules["read_file"], config, codes=["HUB301"]) == []
    assert lint(modules["python"], config, codes=["HUB301"]) == []


@pytest.mark.slow
def test_a_signature_that_saves_the_checkpoint_is_reported(modules):
    findings = lint(modules["saver_signature"], codes=["HUB301"])
    assert findings
    assert {f.message.split(" (node")[0] for f in findings} <= {"op SaveV2",
                                                                 "op MergeV2Checkpoints"}
    assert all("runs when signature 'default' is called" in f.message for f in findings)
