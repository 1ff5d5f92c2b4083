"""{{ handle }}: a text embedding module (common signature `text_embedding`).

Input `default`: string [batch], one sentence each. Output `default`: float32 [batch, 16].
Sentences are lower-cased, split on spaces and looked up in the vocabulary asset
(`vocab.txt`, one token per line); unknown tokens share one out-of-vocabulary bucket; the
token vectors of a sentence are combined with sqrtn.

For big pre-trained embedding files, use the built-in recipe instead of this module_fn:
`recipe: {name: text_embedding, embedding_file: embeddings.txt}` (see hubpub's README).
"""

import tensorflow as tf

import hubpub as hub

DIM = 16
OOV_BUCKETS = 1


def module_fn(vocab_file, is_training=False):
    sentences = tf.compat.v1.placeholder(tf.string, [None], name="sentences")
    table = tf.compat.v1.lookup.StaticVocabularyTable(
        tf.compat.v1.lookup.TextFileInitializer(
            vocab_file, tf.string, tf.compat.v1.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64, tf.compat.v1.lookup.TextFileIndex.LINE_NUMBER),
        num_oov_buckets=OOV_BUCKETS)
    with open(vocab_file, encoding="utf-8") as f:
        vocab_size = sum(1 for _ in f)
    embeddings = tf.compat.v1.get_variable(
        "embeddings", [vocab_size + OOV_BUCKETS, DIM],
        initializer=tf.compat.v1.random_normal_initializer(stddev=0.1))
    tf.compat.v1.add_to_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES,
        tf.multiply(1e-6, tf.nn.l2_loss(embeddings), name="embeddings_l2"))
    words = tf.compat.v1.string_split(tf.strings.lower(sentences), sep=" ")
    ids = tf.SparseTensor(words.indices, table.lookup(words.values), words.dense_shape)
    ids, _ = tf.compat.v1.sparse_fill_empty_rows(ids, vocab_size)  # empty sentence: OOV row
    vectors = tf.nn.embedding_lookup_sparse(embeddings, ids, None, combiner="sqrtn")
    hub.add_signature(inputs=sentences, outputs=vectors)
