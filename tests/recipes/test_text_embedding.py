"""The text-embedding recipe: its graph, its manifest section, and modules built from it."""

from __future__ import annotations

import gc
import importlib.util
import math
import re
import unicodedata
import weakref
from pathlib import Path

import numpy as np
import pytest

import hubpub
from hubpub._tf import tf
from hubpub.errors import EmbeddingFileError, ManifestError, SpecError
from hubpub.manifest import load_manifest
from hubpub.recipes import get_recipe
from hubpub.recipes.embedding_file import Embeddings
from hubpub.recipes.text_embedding import (
    TextEmbeddingRecipe,
    build_embedding_graph,
    make_module_fn,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "text-embedding"
TOKENS = ["cat", "dog", "fish", "東京"]
DIM = 3
BUCKETS = 2
MATRIX = np.array([[1, 2, 3], [4, -5, 6], [0.5, 0.25, -1], [7, 8, 9]], dtype=np.float32)
BUCKET_ROWS = np.array([[100, 200, 300], [-10, -20, -30]], dtype=np.float32)


class Graphs:
    """Sentence-mode and token-mode graphs over TOKENS, in one session each."""

    def __init__(self, vocab_file: Path) -> None:
        self.sessions = {}
        self.io = {}
        for preprocess in (True, False):
            graph = tf.Graph()
            with graph.as_default():
                inputs, outputs = build_embedding_graph(str(vocab_file), len(TOKENS), DIM,
                                                        num_oov_buckets=BUCKETS,
                                                        preprocess_text=preprocess)
                (placeholder,) = inputs.values()
                self.io[preprocess] = (placeholder, outputs["default"])
                words = tf.compat.v1.placeholder(tf.string, [None])
                self.bucket = (words, tf.strings.to_hash_bucket_fast(words, BUCKETS))
                session = tf.compat.v1.Session(graph=graph)
                session.run(tf.compat.v1.tables_initializer())
                self.sessions[preprocess] = (session, graph.get_collection(
                    tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)[0])
                self.graph_def = graph.as_graph_def() if preprocess else self.graph_def

    def run(self, values: list[str], *, buckets: np.ndarray | None = None,
            preprocess: bool = True) -> np.ndarray:
        session, variable = self.sessions[preprocess]
        table = np.concatenate([MATRIX, np.zeros((BUCKETS, DIM), np.float32)
                                if buckets is None else buckets])
        session.run(variable.initializer, {variable.initializer.inputs[1]: table})
        placeholder, output = self.io[preprocess]
        return session.run(output, {placeholder: values})

    def bucket_row(self, word: str) -> int:
        session, _ = self.sessions[False]
        words, bucket = self.bucket
        with session.graph.as_default():
            return len(TOKENS) + int(session.run(bucket, {words: [word]})[0])


@pytest.fixture(scope="module")
def graphs(tmp_path_factory) -> Graphs:
    vocab = tmp_path_factory.mktemp("vocab") / "tokens.txt"
    vocab.write_text("\n".join(TOKENS), encoding="utf-8")
    g = Graphs(vocab)
    yield g
    for session, _ in g.sessions.values():
        session.close()


def v(token: str) -> np.ndarray:
    return MATRIX[TOKENS.index(token)]


@pytest.mark.parametrize(("sentence", "expected"), [
    ("cat cat", math.sqrt(2) * v("cat")),
    ("lizard. dog", v("dog") / math.sqrt(2)),
    ("", np.zeros(DIM)),
    ("?! ...", np.zeros(DIM)),
    ("cat  dog", (v("cat") + v("dog")) / math.sqrt(2)),
    ("dog, fish; cat.", (v("dog") + v("fish") + v("cat")) / math.sqrt(3)),
    ("東京!", v("東京")),
    ("«fish»", v("fish")),
], ids=["repeat", "unknown-and-punctuation", "empty", "only-punctuation", "double-space",
        "three", "unicode", "unicode-punctuation"])
def test_sentence_mode(graphs, sentence, expected):
    out = graphs.run([sentence, "cat"])
    assert out.shape == (2, DIM) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)
    np.testing.assert_allclose(out[1], v("cat"), rtol=1e-6)


def test_unknown_words_use_their_bucket_and_empty_sentences_stay_zero(graphs):
    out = graphs.run(["lizard dog", "", "Cat"], buckets=BUCKET_ROWS)
    lizard = np.concatenate([MATRIX, BUCKET_ROWS])[graphs.bucket_row("lizard")]
    np.testing.assert_allclose(out[0], (lizard + v("dog")) / math.sqrt(2), rtol=1e-6)
    np.testing.assert_array_equal(out[1], np.zeros(DIM))  # not the bucket of ""
    cat_upper = np.concatenate([MATRIX, BUCKET_ROWS])[graphs.bucket_row("Cat")]
    np.testing.assert_allclose(out[2], cat_upper, rtol=1e-6)  # case-sensitive


@pytest.mark.parametrize("batch", [[], ["", ""], ["", "...", " "]],
                         ids=["no-sentences", "two-empty", "three-empty"])
def test_batches_without_words(graphs, batch):
    out = graphs.run(batch, buckets=BUCKET_ROWS)
    assert out.shape == (len(batch), DIM)
    assert not out.any()


def test_token_mode(graphs):
    out = graphs.run(["dog", "zebra", "東京", "cat."], buckets=BUCKET_ROWS, preprocess=False)
    full = np.concatenate([MATRIX, BUCKET_ROWS])
    np.testing.assert_array_equal(out, np.stack([
        v("dog"), full[graphs.bucket_row("zebra")], v("東京"), full[graphs.bucket_row("cat.")]]))


@pytest.mark.parametrize("preprocess", [True, False], ids=["sentences", "tokens"])
def test_signature_shapes(graphs, preprocess):
    placeholder, output = graphs.io[preprocess]
    assert placeholder.dtype == tf.string and placeholder.shape.as_list() == [None]
    assert placeholder.op.name == ("sentences" if preprocess else "tokens")
    assert output.dtype == tf.float32 and output.shape.as_list() == [None, DIM]


def test_big_matrix_is_not_a_graph_constant(tmp_path):
    """A 200,000 x 300 variable: initialized by Fill, so the GraphDef stays tiny."""
    with tf.Graph().as_default() as graph:
        build_embedding_graph(str(tmp_path / "tokens.txt"), 200_000, 300)
        graph_def = graph.as_graph_def()
        (variable,) = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
        assert variable.shape.as_list() == [200_001, 300]
        assert variable.initializer.inputs[1].op.type == "Fill"
        assets = graph.get_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS)
    assert graph_def.ByteSize() < 100_000
    sizes = [int(np.prod(tf.make_ndarray(n.attr["value"].tensor).shape))
             for n in graph_def.node if n.op == "Const"]
    assert max(sizes) < 1000
    assert len(assets) == 1


# --- the recipe from a manifest ---------------------------------------------------------------

def write_manifest(folder: Path, recipe_lines: str, *, variants: str = "") -> Path:
    path = folder / "hubpub.yaml"
    path.write_text(f"module:\n  handle: acme/words\n  version: 1\nrecipe:\n{recipe_lines}"
                    f"{variants}")
    return path


def test_recipe_from_the_example():
    manifest = load_manifest(EXAMPLE / "hubpub.yaml")
    with get_recipe(manifest.recipe, manifest.folder, manifest.variants,
                    manifest=manifest) as recipe:
        assert isinstance(recipe, TextEmbeddingRecipe)
        tokens = recipe.embeddings.tokens
        assert (recipe.num_tokens, recipe.dim) == (len(tokens), 16)
        values = recipe.variable_values()
        assert list(values) == ["embeddings"]
        matrix = values["embeddings"]
        assert matrix.shape == (len(tokens) + 1, 16) and matrix.dtype == np.float32
        assert np.shares_memory(matrix, recipe.embeddings.matrix)  # padded without a copy
        assert not matrix[-1].any()
        assert recipe.tags_and_args == [(set(), {})]
        vocab = recipe.asset_files["tokens.txt"]
        assert vocab.read_text(encoding="utf-8") == "\n".join(tokens)
    assert not vocab.exists()  # closed: the temporary vocabulary is gone


def test_example_embeddings_are_what_the_script_makes():
    spec = importlib.util.spec_from_file_location("make_embeddings",
                                                  EXAMPLE / "make_embeddings.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    committed = (EXAMPLE / "embeddings.txt").read_text(encoding="utf-8")
    assert script.render(*script.make_embeddings()) == committed


@pytest.mark.parametrize(("recipe_lines", "key_line", "message"), [
    ("  name: text_embedding\n  embedding_file: e.txt\n  buckets: 2\n", 7,
     "unknown key 'buckets'"),
    ("  name: text_embedding\n  embedding_file: e.txt\n  num_oov_buckets: 0\n", 7,
     "num_oov_buckets must be an integer >= 1, got 0"),
    ("  name: text_embedding\n  embedding_file: e.txt\n  num_oov_buckets: true\n", 7,
     "num_oov_buckets must be an integer >= 1, got True"),
    ("  name: text_embedding\n  embedding_file: e.txt\n  preprocess_text: 'yes'\n", 7,
     "preprocess_text must be true or false, got 'yes'"),
    ("  name: text_embedding\n  num_oov_buckets: 1\n", 4, "embedding_file is required"),
    ("  name: text_embedding\n  embedding_file: missing.txt\n", 6,
     "embedding file 'missing.txt' not found"),
], ids=["unknown-key", "zero-buckets", "bool-buckets", "string-flag", "no-file", "missing-file"])
def test_section_problems_point_at_their_line(tmp_path, recipe_lines, key_line, message):
    (tmp_path / "e.txt").write_text("cat 1 2\n")
    manifest = load_manifest(write_manifest(tmp_path, recipe_lines))
    with pytest.raises(ManifestError) as caught:
        get_recipe(manifest.recipe, manifest.folder, manifest.variants, manifest=manifest)
    (problem,) = caught.value.problems
    assert problem.path == str(manifest.path)
    assert problem.line == key_line
    assert message in problem.message


@pytest.mark.parametrize(("line", "message"), [
    ("  duplicates: keep\n", "recipe.duplicates must be error (a repeated token is an error), "
                            "first or last"),
    ("  max_tokens: 0\n", "recipe.max_tokens must be an integer >= 1"),
], ids=["duplicates-policy", "zero-max-tokens"])
def test_manifest_schema_checks_the_options(tmp_path, line, message):
    (tmp_path / "e.txt").write_text("cat 1 2\n")
    with pytest.raises(ManifestError, match=rf"hubpub\.yaml:7:\d+: {re.escape(message)}"):
        load_manifest(write_manifest(
            tmp_path, "  name: text_embedding\n  embedding_file: e.txt\n" + line))


def test_variant_args_are_refused(tmp_path):
    (tmp_path / "e.txt").write_text("cat 1 2\n")
    manifest = load_manifest(write_manifest(
        tmp_path, "  name: text_embedding\n  embedding_file: e.txt\n",
        variants="variants:\n  - tags: [train]\n    args: {is_training: true}\n"))
    with pytest.raises(ManifestError, match=r"hubpub\.yaml:9:\d+: .*takes no arguments"):
        get_recipe(manifest.recipe, manifest.folder, manifest.variants, manifest=manifest)


def test_variant_tags_are_kept(tmp_path):
    (tmp_path / "e.txt").write_text("cat 1 2\n")
    manifest = load_manifest(write_manifest(
        tmp_path, "  name: text_embedding\n  embedding_file: e.txt\n",
        variants="variants:\n  - tags: [train]\n  - tags: []\n"))
    with get_recipe(manifest.recipe, manifest.folder, manifest.variants) as recipe:
        assert recipe.tags_and_args == [({"train"}, {}), (set(), {})]


def test_unknown_recipe(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, "  name: image_classifier\n"))
    with pytest.raises(ManifestError, match=r"hubpub\.yaml:5:\d+: unknown recipe "
                                            r"'image_classifier'; built-in recipes: "
                                            r"text_embedding"):
        get_recipe(manifest.recipe, manifest.folder, manifest.variants, manifest=manifest)


def test_malformed_embedding_file_is_reported_with_its_line(tmp_path):
    (tmp_path / "e.txt").write_text("cat 1 2\ndog 3\n")
    manifest = load_manifest(write_manifest(
        tmp_path, "  name: text_embedding\n  embedding_file: e.txt\n"))
    with pytest.raises(EmbeddingFileError, match=r"e\.txt:2: expected 2 numbers, found 1"):
        get_recipe(manifest.recipe, manifest.folder, manifest.variants, manifest=manifest)


# --- modules built from the recipe ------------------------------------------------------------

def strip_punctuation(text: str) -> str:
    return "".join(c for c in text if not unicodedata.category(c).startswith("P"))


def expected_sentence(sentence: str, tokens: list[str], matrix: np.ndarray) -> np.ndarray:
    """The recipe's semantics in numpy (for known words; unknown words are zero rows)."""
    index = {t: i for i, t in enumerate(tokens)}
    words = [w for w in strip_punctuation(sentence).split(" ") if w]
    if not words:
        return np.zeros(matrix.shape[1], np.float32)
    rows = [matrix[index[w]] if w in index else np.zeros(matrix.shape[1]) for w in words]
    return np.sum(rows, axis=0) / math.sqrt(len(words))


SENTENCES = ["the cat and the dog", "Lizards? No: a mouse, a fish!", "", "red red red",
             "computer phone internet"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The example built with the core API: create_module_spec, then export with init_fn."""
    from hubpub.spec.export import export_spec

    manifest = load_manifest(EXAMPLE / "hubpub.yaml")
    recipe = get_recipe(manifest.recipe, manifest.folder, manifest.variants, manifest=manifest)
    spec = hubpub.create_module_spec(recipe.module_fn, recipe.tags_and_args)
    path = export_spec(spec, tmp_path_factory.mktemp("export") / "module", checkpoint_path=None,
                       init_fn=recipe.init_fn)
    yield path, list(recipe.embeddings.tokens), recipe.embeddings.matrix.copy()
    recipe.close()


@pytest.mark.slow
def test_exported_module_files(exported):
    path, tokens, matrix = exported
    assert (path / "assets" / "tokens.txt").read_text(encoding="utf-8") == "\n".join(tokens)
    reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
    assert reader.get_variable_to_shape_map() == {"embeddings": [len(tokens) + 1, 16]}
    stored = reader.get_tensor("embeddings")
    np.testing.assert_array_equal(stored[:-1], matrix)
    assert not stored[-1].any()
    assert (path / "saved_model.pb").stat().st_size < 50_000
    assert str(path).encode() not in (path / "saved_model.pb").read_bytes()


def _assert_embeds_sentences(module, tokens, matrix) -> None:
    """Run the module (in the current graph) on SENTENCES; compare with the reference sqrtn."""
    output = module(tf.constant(SENTENCES))
    with tf.compat.v1.Session() as session:
        session.run([tf.compat.v1.global_variables_initializer(),
                     tf.compat.v1.tables_initializer()])
        out = session.run(output)
    expected = np.stack([expected_sentence(s, tokens, matrix) for s in SENTENCES])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("library", ["hubpub", pytest.param("tensorflow_hub 0.15",
                                                            marks=pytest.mark.interop)])
def test_exported_module_in_tf1_graph_mode(exported, library):
    """hubpub.Module, and the old library's hub.Module, read the recipe's module alike."""
    from tests.oracle import import_tensorflow_hub

    module_class = hubpub.Module if library == "hubpub" else import_tensorflow_hub().Module
    path, tokens, matrix = exported
    with tf.Graph().as_default():
        module = module_class(str(path))
        assert sorted(module.variable_map) == ["embeddings"]
        _assert_embeds_sentences(module, tokens, matrix)


@pytest.mark.slow
def test_exported_module_in_tf2_saved_model_load(exported):
    path, tokens, matrix = exported
    loaded = tf.saved_model.load(str(path), tags=[])
    out = loaded.signatures["default"](sentences=tf.constant(SENTENCES))["default"].numpy()
    expected = np.stack([expected_sentence(s, tokens, matrix) for s in SENTENCES])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_token_mode_module_round_trip(tmp_path):
    vocab = tmp_path / "words.txt"
    vocab.write_text("\n".join(TOKENS), encoding="utf-8")
    recipe = TextEmbeddingRecipe(Embeddings(TOKENS, MATRIX), num_oov_buckets=BUCKETS,
                                 preprocess_text=False)
    spec = hubpub.create_module_spec(make_module_fn(vocab, len(TOKENS), DIM,
                                                    num_oov_buckets=BUCKETS,
                                                    preprocess_text=False))
    assert spec.get_input_info_dict()["tokens"].get_shape().as_list() == [None]
    from hubpub.spec.export import export_spec

    path = export_spec(spec, tmp_path / "module", checkpoint_path=None, init_fn=recipe.init_fn)
    assert (path / "assets" / "words.txt").is_file()
    loaded = tf.saved_model.load(str(path), tags=[])
    out = loaded.signatures["default"](tokens=tf.constant(["fish", "cat"]))["default"].numpy()
    np.testing.assert_array_equal(out, np.stack([v("fish"), v("cat")]))
    recipe.close()


@pytest.mark.slow
def test_exported_module_fine_tunes(exported):
    """metadata says fine_tunable: the vectors of the words used get gradients, others not."""
    path, tokens, _ = exported
    with tf.Graph().as_default():
        module = hubpub.Module(str(path), trainable=True)
        (variable,) = tf.compat.v1.trainable_variables()
        loss = tf.reduce_sum(module(tf.constant(["cat dog", "unknownword"])))
        (gradient,) = tf.compat.v1.gradients(loss, [variable])
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(),
                         tf.compat.v1.tables_initializer()])
            dense = session.run(tf.convert_to_tensor(gradient))
    touched = {int(i) for i in np.flatnonzero(np.abs(dense).sum(axis=1))}
    assert touched == {tokens.index("cat"), tokens.index("dog"), len(tokens)}  # + the bucket
    np.testing.assert_allclose(dense[tokens.index("cat")], 1 / math.sqrt(2), rtol=1e-6)


def test_zero_buckets_are_refused():
    with pytest.raises(SpecError, match="num_oov_buckets must be >= 1"):
        TextEmbeddingRecipe(Embeddings(TOKENS, MATRIX), num_oov_buckets=0)


@pytest.mark.slow
def test_exports_are_byte_identical_whatever_the_temporary_vocabulary_path(exported, tmp_path):
    """Each recipe writes its vocabulary to a new temporary folder; no trace of it is exported."""
    from hubpub.spec.export import export_spec

    first, _, _ = exported
    manifest = load_manifest(EXAMPLE / "hubpub.yaml")
    with get_recipe(manifest.recipe, manifest.folder, manifest.variants) as recipe:
        spec = hubpub.create_module_spec(recipe.module_fn, recipe.tags_and_args)
        second = export_spec(spec, tmp_path / "again", checkpoint_path=None,
                             init_fn=recipe.init_fn)
        temporary = str(recipe.vocab_file.parent).encode()
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second).as_posix()
                           for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert temporary not in (second / "saved_model.pb").read_bytes()


# --- through `hubpub build` -------------------------------------------------------------------

@pytest.mark.slow
def test_built_example_tarball_holds_the_vectors(tmp_path):
    from hubpub.cli import main

    assert main(["build", str(EXAMPLE / "hubpub.yaml"), "--out", str(tmp_path), "--quiet"]) == 0
    (tarball,) = tmp_path.glob("*.tar.gz")
    manifest = load_manifest(EXAMPLE / "hubpub.yaml")
    with get_recipe(manifest.recipe, manifest.folder, manifest.variants) as recipe:
        tokens, matrix = list(recipe.embeddings.tokens), recipe.embeddings.matrix.copy()
    with tf.Graph().as_default():
        _assert_embeds_sentences(hubpub.Module(str(tarball)), tokens, matrix)


def test_build_with_a_malformed_embedding_file_exits_2_and_writes_nothing(tmp_path, capsys):
    from hubpub.cli import main

    project = tmp_path / "project"
    project.mkdir()
    (project / "hubpub.yaml").write_text((EXAMPLE / "hubpub.yaml").read_text())
    lines = (EXAMPLE / "embeddings.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rsplit(" ", 1)[0] + "\n"  # line 3 loses its last number
    (project / "embeddings.txt").write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "dist"
    out.mkdir()
    (out / "previous.txt").write_text("kept")
    assert main(["build", str(project / "hubpub.yaml"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "embeddings.txt:3: expected 16 numbers, found 15" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt"]


def test_duplicates_and_max_tokens_options(tmp_path):
    (tmp_path / "e.txt").write_text("cat 1 2\ndog 3 4\ncat 5 6\nemu 7 8\nfox 9 9\n")
    manifest = load_manifest(write_manifest(
        tmp_path, "  name: text_embedding\n  embedding_file: e.txt\n  duplicates: last\n"
                  "  max_tokens: 4\n"))
    with get_recipe(manifest.recipe, manifest.folder, manifest.variants) as recipe:
        assert recipe.embeddings.tokens == ["dog", "cat", "emu"]
        np.testing.assert_array_equal(recipe.variable_values()["embeddings"],
                                      [[3, 4], [5, 6], [7, 8], [0, 0]])
        assert recipe.vocab_file.read_text(encoding="utf-8") == "dog\ncat\nemu"


def test_section_is_checked_without_a_manifest(tmp_path):
    (tmp_path / "e.txt").write_text("cat 1 2\n")
    section = {"name": "text_embedding", "embedding_file": "e.txt", "duplicates": "any",
               "max_tokens": True}
    with pytest.raises(ManifestError) as caught:
        TextEmbeddingRecipe.from_manifest_section(section, tmp_path)
    messages = [p.message for p in caught.value.problems]
    assert any("duplicates must be one of error, first, last" in m for m in messages)
    assert any("max_tokens must be an integer >= 1, got True" in m for m in messages)


@pytest.mark.slow
@pytest.mark.parametrize("init_fn", [None, lambda module, session: None])
def test_export_feeds_the_matrix_without_a_copy_and_lets_it_go(tmp_path, init_fn):
    """Written straight from the matrix, or (with an init_fn) fed through a session: the
    reader's matrix is aligned, so TensorFlow borrows it; either way export_spec gives it
    back."""
    from hubpub.spec.export import export_spec

    manifest = load_manifest(EXAMPLE / "hubpub.yaml")
    recipe = get_recipe(manifest.recipe, manifest.folder, manifest.variants, manifest=manifest)
    values = recipe.variable_values()
    matrix = values["embeddings"]
    assert matrix.ctypes.data % 64 == 0
    watch = weakref.ref(matrix)
    spec = hubpub.create_module_spec(recipe.module_fn, recipe.tags_and_args)
    export_spec(spec, tmp_path / "module", checkpoint_path=None, values=values, init_fn=init_fn)
    del values, matrix
    gc.collect()
    assert watch() is None  # without _release_fed_arrays, TensorFlow would still hold it
    recipe.close()
