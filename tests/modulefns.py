"""Small top-level ``module_fn``s shared by the core's tests.

Each one builds a real TF1 graph the way publisher code does (``tf.compat.v1``, graph mode)
and declares its signatures with ``hubpub.add_signature``. Numbers are chosen so that tests
can compute the expected outputs by hand. Those with an ``api`` argument run unchanged with
``api=tensorflow_hub`` too, so the interop tests export the same graph with both libraries.
"""

from __future__ import annotations

import hubpub as hub
from hubpub._tf import tf

v1 = tf.compat.v1


def half_plus_two(api=hub) -> None:
    """``y = a*x + b`` with scalar variables ``a`` and ``b`` (the TF Hub team's example)."""
    a = v1.get_variable("a", shape=[], initializer=v1.constant_initializer(0.5))
    b = v1.get_variable("b", shape=[], initializer=v1.constant_initializer(2.0))
    x = v1.placeholder(tf.float32)
    api.add_signature(inputs=x, outputs=a * x + b)


def fruit_to_pet(api=hub) -> None:
    """Two signatures: ``default`` (one tensor in and out) and ``fruit_to_pet`` (dicts).

    ``cats = apples * w + pears``, ``dogs = apples - pears * w`` with ``w = 3``;
    ``default = 2 * x * w``.
    """
    w = v1.get_variable("w", shape=[], initializer=v1.constant_initializer(3.0))
    x = v1.placeholder(tf.float32, shape=[None], name="x")
    api.add_signature(inputs=x, outputs=2.0 * x * w)
    apples = v1.placeholder(tf.float32, shape=[None], name="apples")
    pears = v1.placeholder(tf.float32, shape=[None], name="pears")
    api.add_signature("fruit_to_pet", inputs={"apples": apples, "pears": pears},
                      outputs={"cats": apples * w + pears, "dogs": apples - pears * w})


def text_module(vocab_file: str, api=hub) -> None:
    """Words -> ids through a vocabulary file (an asset and a table) -> summed embeddings.

    The embedding of the word on line ``i`` is ``[i, 10*i]``; unknown words get id -1
    and map to the last row ``[-1, -1]``.
    """
    words = v1.placeholder(tf.string, shape=[None], name="words")
    table = tf.lookup.StaticHashTable(
        tf.lookup.TextFileInitializer(vocab_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                      tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
        default_value=-1)
    ids = table.lookup(words)
    with open(vocab_file) as f:
        size = len(f.read().split())
    rows = [[float(i), 10.0 * i] for i in range(size)] + [[-1.0, -1.0]]
    embeddings = v1.get_variable("embeddings", initializer=tf.constant(rows))
    safe_ids = tf.where(ids < 0, tf.fill(tf.shape(ids), tf.constant(size, tf.int64)), ids)
    vectors = tf.nn.embedding_lookup(embeddings, safe_ids)
    api.add_signature(inputs=words, outputs={"default": vectors, "ids": ids})


def consumer_of(spec: object) -> None:
    """A module built on another module (with assets): ``default`` is its embeddings + 1."""
    inner = hub.Module(spec)
    words = v1.placeholder(tf.string, shape=[None])
    hub.add_signature(inputs=words, outputs=inner(words) + 1.0)


def no_variables(api=hub) -> None:
    """``y = 3*x - 1``, no variables at all."""
    x = v1.placeholder(tf.float32, shape=[None])
    api.add_signature(inputs=x, outputs=3.0 * x - 1.0)


def sparse_input(api=hub) -> None:
    """Sparse ``[None, 3]`` input times the weights ``[1, 2, 3]``, per row."""
    sp = v1.sparse_placeholder(tf.float32, shape=[None, 3])
    w = v1.get_variable("w", initializer=tf.constant([[1.0], [2.0], [3.0]]))
    out = tf.sparse.sparse_dense_matmul(sp, w)
    api.add_signature(inputs=sp, outputs=tf.reshape(out, [-1]))


def batch_norm(training: bool, api=hub) -> None:
    """tf.compat.v1.layers batch norm + a dense layer with an L2 kernel regularizer.

    With ``training=True`` the graph has UPDATE_OPS (moving statistics); both variants have
    the regularization loss and the same variables.
    """
    x = v1.placeholder(tf.float32, shape=[None, 3])
    h = v1.layers.batch_normalization(x, training=training, momentum=0.9)
    y = v1.layers.dense(h, 2, kernel_regularizer=lambda w: 0.01 * tf.reduce_sum(w * w),
                        kernel_initializer=v1.constant_initializer(1.0))
    api.add_signature(inputs=x, outputs=y)


def keras_layers(training: bool) -> None:
    """The same model through ``tf_keras`` layers, which fill neither collection themselves."""
    import tf_keras

    x = v1.placeholder(tf.float32, shape=[None, 3])
    h = tf_keras.layers.BatchNormalization(momentum=0.9)(x, training=training)
    dense = tf_keras.layers.Dense(2, kernel_regularizer=tf_keras.regularizers.l2(0.01),
                                  kernel_initializer="ones")
    hub.add_signature(inputs=x, outputs=dense(h))


def image_module(height: int = 0, width: int = 0, shape: tuple = (None, None, None, 3),
                 api=hub) -> None:
    """Mean intensity of images; attaches ImageModuleInfo when ``height``/``width`` are set."""
    images = v1.placeholder(tf.float32, shape=list(shape), name="images")
    scale = v1.get_variable("scale", shape=[], initializer=v1.constant_initializer(2.0))
    api.add_signature(inputs={"images": images},
                      outputs=scale * tf.reduce_mean(images, axis=[1, 2, 3]))
    if height or width:
        info = api.ImageModuleInfo()
        info.default_image_size.height = height
        info.default_image_size.width = width
        api.attach_image_module_info(info)


def control_flow(api=hub) -> None:
    """``tf.cond`` and ``tf.while_loop`` on the input and a variable.

    ``cond = x*v if sum(x) > 0 else -x``; ``loop`` doubles ``x`` ``n`` times (v = 2).
    """
    x = v1.placeholder(tf.float32, shape=[None], name="x")
    n = v1.placeholder(tf.int32, shape=[], name="n")
    v = v1.get_variable("v", shape=[], initializer=v1.constant_initializer(2.0))
    cond = tf.cond(tf.reduce_sum(x) > 0, lambda: x * v, lambda: -x)
    _, loop = tf.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * v),
                            [tf.constant(0), x])
    api.add_signature(inputs={"x": x, "n": n}, outputs={"cond": cond, "loop": loop})


def partitioned(api=hub) -> None:
    """``x @ W`` with a ``[4, 2]`` weight split in two parts (rows ``[i, -i]``)."""
    w = v1.get_variable("w", shape=[4, 2], initializer=_rows_init,
                        partitioner=v1.fixed_size_partitioner(2))
    x = v1.placeholder(tf.float32, shape=[None, 4])
    api.add_signature(inputs=x, outputs=tf.matmul(x, w))


def _rows_init(shape, dtype=None, partition_info=None):
    """Row ``i`` of the full variable is ``[i, -i]``, whichever part it lands in."""
    offset = partition_info.single_offset(shape) if partition_info else 0
    i = tf.range(offset, offset + shape[0], dtype=tf.float32)
    return tf.stack([i, -i], axis=1)


# --- module_fns that are wrong on purpose ---------------------------------------------------

def no_signature() -> None:
    x = v1.placeholder(tf.float32)
    v1.get_variable("a", shape=[])
    tf.identity(x)


def input_not_placeholder() -> None:
    x = v1.placeholder(tf.float32)
    doubled = 2.0 * x
    hub.add_signature(inputs=doubled, outputs=doubled + 1.0)


def unfed_placeholder() -> None:
    x = v1.placeholder(tf.float32, name="x")
    y = v1.placeholder(tf.float32, name="forgotten")
    hub.add_signature(inputs=x, outputs=x + y)


def with_losses() -> None:
    """Adds to the ``losses`` collection, which a module may not carry."""
    x = v1.placeholder(tf.float32, shape=[None])
    v1.losses.add_loss(tf.reduce_sum(x))
    hub.add_signature(inputs=x, outputs=x * 2.0)


def bad_attachment_key() -> None:
    x = v1.placeholder(tf.float32)
    hub.add_signature(inputs=x, outputs=x)
    hub.attach_message("1st-key", hub.ImageModuleInfo())


def only_in_train(training: bool) -> None:
    """A variable that only the ``{train}`` variant creates: not exportable."""
    x = v1.placeholder(tf.float32)
    y = x
    if training:
        y = y * v1.get_variable("extra", shape=[])
    hub.add_signature(inputs=x, outputs=y)


def image_classifier(training: bool, api=hub) -> None:
    """8x8 images -> conv (L2-regularized) -> batch norm -> dropout -> mean pool -> 3 logits.

    The shape of a fine-tunable image module: ``training`` switches batch norm to batch
    statistics (UPDATE_OPS move the moving ones) and turns dropout on.
    """
    images = v1.placeholder(tf.float32, shape=[None, 8, 8, 3], name="images")
    h = v1.layers.conv2d(images, 4, 3, kernel_regularizer=lambda w: 1e-3 * tf.reduce_sum(w * w))
    h = tf.nn.relu(v1.layers.batch_normalization(h, training=training, momentum=0.9))
    h = v1.layers.dropout(h, rate=0.5, training=training)
    logits = v1.layers.dense(tf.reduce_mean(h, axis=[1, 2]), 3)
    api.add_signature(inputs={"images": images}, outputs=logits)
    info = api.ImageModuleInfo()
    info.default_image_size.height = 8
    info.default_image_size.width = 8
    api.attach_image_module_info(info)
