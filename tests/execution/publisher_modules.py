"""Module functions written the way publishers wrote them: tf_keras models in graph mode,
tf.nn.silu, a tf.custom_gradient, a tf.cond per variant, a sparse signature, a partitioned
variable. Shared by the fine-tuning, conversion and diff tests."""

from __future__ import annotations

import hubpub as hub
from hubpub._tf import tf

v1 = tf.compat.v1
TRAIN_AND_DEFAULT = [({"train"}, {"is_training": True}), (set(), {"is_training": False})]
IMAGE_SHAPE = [None, 8, 8, 3]


def _small_cnn(tf_keras, inputs):
    x = tf_keras.layers.Conv2D(4, 3, activation="swish",  # tf.nn.silu: a custom gradient
                               kernel_regularizer=tf_keras.regularizers.l2(0.01))(inputs)
    x = tf_keras.layers.BatchNormalization()(x)
    return tf_keras.layers.GlobalAveragePooling2D()(x)


def keras_called_with_training(is_training: bool = False) -> None:
    """The model is built on its own Input first, then called on the signature's tensor."""
    import tf_keras

    inputs = tf_keras.Input(shape=IMAGE_SHAPE[1:])
    model = tf_keras.Model(inputs, _small_cnn(tf_keras, inputs))
    images = v1.placeholder(tf.float32, IMAGE_SHAPE, name="images")
    hub.add_signature(inputs={"images": images}, outputs=model(images, training=is_training))


def keras_input_tensor(is_training: bool = False) -> None:
    """The model is built on the signature's tensor (input_tensor=), the learning phase set."""
    import tf_keras

    tf_keras.backend.set_learning_phase(1 if is_training else 0)
    images = v1.placeholder(tf.float32, IMAGE_SHAPE, name="images")
    inputs = tf_keras.Input(tensor=images)
    model = tf_keras.Model(inputs, _small_cnn(tf_keras, inputs))
    hub.add_signature(inputs={"images": images}, outputs=model.output)


def keras_first_build_updates_by_hand(is_training: bool = False) -> None:
    """A publisher who puts every ``model.updates`` into UPDATE_OPS, the first build's too."""
    import tf_keras

    inputs = tf_keras.Input(shape=IMAGE_SHAPE[1:])
    model = tf_keras.Model(inputs, _small_cnn(tf_keras, inputs))
    images = v1.placeholder(tf.float32, IMAGE_SHAPE, name="images")
    hub.add_signature(inputs={"images": images}, outputs=model(images, training=is_training))
    if is_training:
        for update in model.updates:
            v1.add_to_collection(v1.GraphKeys.UPDATE_OPS, update)


@tf.custom_gradient
def clipped_identity(x):
    return tf.identity(x), lambda dy: tf.clip_by_value(dy, -1.0, 1.0)


def custom_gradient() -> None:
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    w = v1.get_variable("w", [4, 2])
    hub.add_signature(inputs=x, outputs=clipped_identity(tf.matmul(x, w)))  # the line named


def cond_per_variant(is_training: bool = False) -> None:
    """A tf.cond whose branches differ between the variants, after a Keras model."""
    import tf_keras

    inputs = tf_keras.Input(shape=(4,))
    h = tf_keras.layers.BatchNormalization()(tf_keras.layers.Dense(3)(inputs))
    model = tf_keras.Model(inputs, tf_keras.layers.Dropout(0.3)(h))
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    y = model(x, training=is_training)
    y = tf.cond(tf.constant(is_training), lambda: y * 2.0, lambda: y + 1.0)
    hub.add_signature(inputs=x, outputs=y)


def sparse_tokens() -> None:
    """The nnlm layout: a dense ``default`` of sentences and a sparse ``tokens`` signature."""
    embeddings = v1.get_variable("embeddings", [5, 3])
    sentences = v1.placeholder(tf.string, [None], name="sentences")
    ids = tf.strings.to_hash_bucket_fast(sentences, 5)
    hub.add_signature(inputs=sentences, outputs=tf.nn.embedding_lookup(embeddings, ids))
    tokens = v1.sparse_placeholder(tf.string, [None, None], name="tokens")
    token_ids = tf.SparseTensor(tokens.indices, tf.strings.to_hash_bucket_fast(tokens.values, 5),
                                tokens.dense_shape)
    combined = tf.nn.embedding_lookup_sparse(embeddings, token_ids, None, combiner="sqrtn")
    hub.add_signature("tokens", inputs={"default": tokens}, outputs={"default": combined})


def embedding(partitions: int = 1) -> None:
    """An embedding table, partitioned in ``partitions`` shards when more than one."""
    partitioner = v1.fixed_size_partitioner(partitions) if partitions > 1 else None
    table = v1.get_variable("embeddings", [6, 2], partitioner=partitioner)
    ids = v1.placeholder(tf.int64, [None], name="ids")
    hub.add_signature(inputs=ids, outputs=tf.nn.embedding_lookup(table, ids))


def text_tokens() -> None:
    """A text module tokenized with tensorflow_text (its ops exist only once it is imported)."""
    import tensorflow_text

    sentences = v1.placeholder(tf.string, [None], name="sentences")
    tokens = tensorflow_text.WhitespaceTokenizer().tokenize(sentences)
    embeddings = v1.get_variable("embeddings", [7, 2])
    ids = tf.strings.to_hash_bucket_fast(tokens, 7)
    vectors = tf.reduce_mean(tf.nn.embedding_lookup(embeddings, ids).to_tensor(), axis=1)
    hub.add_signature(inputs=sentences, outputs=vectors)
