"""The text-embedding recipe: an embedding text file becomes a text-embedding module.

The module is the classic one of the TF1 Hub text examples: the tokens become a vocabulary
asset (``tokens.txt``, one token per line, line number = row), a lookup table maps strings to
rows with out-of-vocabulary buckets after the known tokens, and one variable ``embeddings``
``[tokens + buckets, D]`` holds the vectors. In sentence mode (the default) the ``default``
signature takes sentences, strips Unicode punctuation, splits on spaces and combines the word
vectors with ``sqrtn``; in token mode it takes single tokens.

The matrix never enters the graph: the variable is created from a zeros initializer (a
``Fill``, not a constant of the matrix, so no 2 GB GraphDef limit) and the values are fed into
its initializer in the export session. TensorFlow is imported only when a graph is built, so
a manifest's recipe section can be checked without it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hubpub.errors import ManifestError, ManifestProblem, SpecError
from hubpub.files.inputs import file_kind
from hubpub.recipes.embedding_file import DUPLICATES, Embeddings, read_embedding_file

if TYPE_CHECKING:
    from typing_extensions import Self

    from hubpub.manifest import Manifest

__all__ = ["NAME", "TextEmbeddingRecipe", "build_embedding_graph", "make_module_fn"]

log = logging.getLogger(__name__)

NAME = "text_embedding"
VARIABLE = "embeddings"
VOCABULARY_FILE = "tokens.txt"
_SECTION_KEYS = ("name", "embedding_file", "num_oov_buckets", "preprocess_text", "duplicates",
                 "max_tokens")
_NO_EMBEDDING_FILE = ("embedding_file is required: the embedding text file ('token v1 ... vD' "
                      "per line), relative to the manifest")
_NO_VARIANT_ARGS = ("the text_embedding recipe's module_fn takes no arguments; remove 'args' "
                    "(variants may only set tags)")


def make_module_fn(vocab_file: str | Path, num_tokens: int, dim: int, *,
                   num_oov_buckets: int = 1,
                   preprocess_text: bool = True) -> Callable[[], None]:
    """A ``module_fn`` for ``hubpub.create_module_spec`` with one signature, ``default``.

    ``vocab_file`` holds ``num_tokens`` lines, one token each; it becomes the module's asset.
    """
    vocab_file = str(Path(vocab_file).resolve())

    def module_fn() -> None:
        from hubpub.spec.authoring import add_signature

        inputs, outputs = build_embedding_graph(vocab_file, num_tokens, dim,
                                                num_oov_buckets=num_oov_buckets,
                                                preprocess_text=preprocess_text)
        add_signature("default", inputs, outputs)

    return module_fn


def build_embedding_graph(vocab_file: str, num_tokens: int, dim: int, *,
                          num_oov_buckets: int = 1,
                          preprocess_text: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build the module's ops in the default graph; return its ``(inputs, outputs)``.

    Unknown tokens go to row ``num_tokens + fast_hash(token) % num_oov_buckets``. In sentence
    mode ``"cat cat"`` gives ``sqrt(2) * v(cat)``, ``"lizard. dog"`` (lizard unknown) gives
    ``v(dog) / sqrt(2)``, and a sentence without words gives zeros.
    """
    from hubpub._tf import tf

    if num_oov_buckets < 1:
        raise SpecError(f"num_oov_buckets must be >= 1, got {num_oov_buckets}")
    embeddings = tf.compat.v1.get_variable(
        VARIABLE, shape=[num_tokens + num_oov_buckets, dim], dtype=tf.float32,
        initializer=tf.compat.v1.zeros_initializer())
    table = tf.compat.v1.lookup.StaticVocabularyTable(
        tf.compat.v1.lookup.TextFileInitializer(
            vocab_file, key_dtype=tf.string, key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
            value_dtype=tf.int64, value_index=tf.lookup.TextFileIndex.LINE_NUMBER,
            vocab_size=num_tokens),
        num_oov_buckets=num_oov_buckets)
    if not preprocess_text:
        tokens = tf.compat.v1.placeholder(tf.string, shape=[None], name="tokens")
        vectors = tf.nn.embedding_lookup(embeddings, table.lookup(tokens))
        return {"tokens": tokens}, {"default": vectors}
    sentences = tf.compat.v1.placeholder(tf.string, shape=[None], name="sentences")
    words = tf.compat.v1.string_split(tf.strings.regex_replace(sentences, r"\pP", ""),
                                      sep=" ")  # skips empty words
    ids = tf.SparseTensor(words.indices, table.lookup(words.values), words.dense_shape)
    # Rows without words get zeros (not the vector of some bucket, which fine-tuning moves).
    vectors = tf.compat.v1.nn.safe_embedding_lookup_sparse(embeddings, ids, combiner="sqrtn")
    return {"sentences": sentences}, {"default": vectors}


class TextEmbeddingRecipe:
    """The recipe as a build consumes it: module_fn, variants, weights and assets.

    Holds the parsed matrix (once, float32, with the zero rows of the buckets already
    reserved) and a temporary directory with the vocabulary file until ``close()``.
    """

    def __init__(self, embeddings: Embeddings, *, num_oov_buckets: int = 1,
                 preprocess_text: bool = True,
                 tags: Sequence[Iterable[str]] = ((),)) -> None:
        if num_oov_buckets < 1:
            raise SpecError(f"num_oov_buckets must be >= 1, got {num_oov_buckets}")
        self.embeddings: Embeddings | None = embeddings
        self.num_oov_buckets = num_oov_buckets
        self.preprocess_text = preprocess_text
        self.num_tokens = len(embeddings.tokens)
        self.dim = embeddings.dim
        self._tags = [set(t) for t in tags]
        self._dir = tempfile.TemporaryDirectory(prefix="hubpub-text-embedding-")
        self.vocab_file = Path(self._dir.name) / VOCABULARY_FILE
        self.vocab_file.write_bytes("\n".join(embeddings.tokens).encode("utf-8"))

    @classmethod
    def from_manifest_section(cls, section: Mapping[str, Any], base_dir: Path, *,
                              variants: Sequence[Any] = (),
                              manifest: Manifest | None = None,
                              progress: Callable[[int, int], None] | None = None,
                              ) -> TextEmbeddingRecipe:
        """Check the manifest's ``recipe:`` section and read its embedding file.

        ``variants`` (the manifest's, each with ``tags`` and ``args``) may only set tags: every
        variant gets the same graph. ``manifest`` (a ``Manifest``) puts problems on their lines.

        Raises:
          ManifestError: unknown keys, wrong types, variant args, or an embedding file that
            does not exist.
          EmbeddingFileError: a malformed line in the embedding file.
        """
        base_dir = Path(base_dir)
        problems = _section_problems(section, base_dir)
        problems += [(f"variants.{i}.args", _NO_VARIANT_ARGS)
                     for i, variant in enumerate(variants) if variant.args]
        if problems:
            where = str(manifest.path) if manifest is not None else str(base_dir)
            raise ManifestError([
                ManifestProblem(where, *(manifest.location(key) if manifest else (1, 1)),
                                message)
                for key, message in problems])
        oov = section.get("num_oov_buckets", 1)
        embeddings = read_embedding_file(base_dir / section["embedding_file"],
                                         progress=progress, spare_rows=oov,
                                         duplicates=section.get("duplicates", "error"),
                                         max_tokens=section.get("max_tokens"))
        return cls(embeddings, num_oov_buckets=oov,
                   preprocess_text=section.get("preprocess_text", True),
                   tags=[v.tags for v in variants] or ((),))

    @property
    def module_fn(self) -> Callable[[], None]:
        return make_module_fn(self.vocab_file, self.num_tokens, self.dim,
                              num_oov_buckets=self.num_oov_buckets,
                              preprocess_text=self.preprocess_text)

    @property
    def tags_and_args(self) -> list[tuple[set[str], dict[str, Any]]]:
        """By default one variant, the default one: the same graph serves inference and
        fine-tuning (there is no dropout or batch norm to switch)."""
        return [(set(tags), {}) for tags in self._tags]

    @property
    def asset_files(self) -> dict[str, Path]:
        """Asset name in the module -> the file it is copied from."""
        return {VOCABULARY_FILE: self.vocab_file}

    def variable_values(self) -> dict[str, np.ndarray]:
        """Checkpoint key -> value: the matrix and the buckets' zero rows, without a copy."""
        if self.embeddings is None:
            raise RuntimeError("the recipe was closed; its matrix is gone")
        return {VARIABLE: self.embeddings.padded(self.num_oov_buckets)}

    def init_fn(self, module: Any, session: Any) -> None:
        """Assign the values to an instantiated module's variables (``init_fn(module, session)``).

        Feeds each value into its variable's initializer, so no graph constant of the matrix
        is ever created.
        """
        for name, value in self.variable_values().items():
            variable = module.variable_map[name]
            initializer = variable.initializer
            session.run(initializer, {initializer.inputs[1]: value})
        log.debug("assigned %s [%d, %d] to the module", VARIABLE,
                  self.num_tokens + self.num_oov_buckets, self.dim)

    def close(self) -> None:
        """Drop the matrix and remove the vocabulary file."""
        self.embeddings = None
        self._dir.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _section_problems(section: Mapping[str, Any], base_dir: Path) -> list[tuple[str, str]]:
    """``(dotted key, message)`` for each problem of the ``recipe:`` section."""
    problems = []
    for key in section:
        if key not in _SECTION_KEYS:
            allowed = ", ".join(_SECTION_KEYS)
            message = f"unknown key {key!r} in the text_embedding recipe; allowed: {allowed}"
            problems.append((f"recipe.{key}", message))
    if section.get("name", NAME) != NAME:
        problems.append(("recipe.name", f"this is the {NAME} recipe, not {section['name']!r}"))
    source = section.get("embedding_file")
    if not isinstance(source, str) or not source:
        key = "recipe.embedding_file" if "embedding_file" in section else "recipe"
        problems.append((key, _NO_EMBEDDING_FILE))
    elif (kind := file_kind(base_dir / source)) is not None:
        problems.append(("recipe.embedding_file",
                         f"embedding file {source!r} not found (looked for {base_dir / source})"
                         if kind == "missing" else
                         f"embedding file {source!r} must be a regular file, and "
                         f"{base_dir / source} is {kind}"))
    oov = section.get("num_oov_buckets", 1)
    if isinstance(oov, bool) or not isinstance(oov, int) or oov < 1:
        problems.append(("recipe.num_oov_buckets",
                         f"num_oov_buckets must be an integer >= 1, got {oov!r}"))
    if section.get("duplicates", "error") not in DUPLICATES:
        problems.append(("recipe.duplicates", f"duplicates must be one of {', '.join(DUPLICATES)}"
                                              f", got {section['duplicates']!r}"))
    limit = section.get("max_tokens", 1)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        problems.append(("recipe.max_tokens",
                         f"max_tokens must be an integer >= 1, got {limit!r}"))
    if not isinstance(section.get("preprocess_text", True), bool):
        flag = section["preprocess_text"]
        problems.append(("recipe.preprocess_text",
                         f"preprocess_text must be true or false, got {flag!r}"))
    return problems
