"""One configurable module_fn for the diff tests: each keyword changes one thing a consumer sees.

``classifier()`` with no arguments is the released module (OLD); each test builds NEW with one
argument changed. Numbers are constants, so two builds differ only where a test says so.
``api`` takes tensorflow_hub 0.15 too, so the same graph can be written by the old library.
"""

from __future__ import annotations

import hubpub as hub
from hubpub._tf import tf

v1 = tf.compat.v1

TRAIN_AND_DEFAULT = [({"train"}, {"training": True}), (set(), {"training": False})]


def classifier(training: bool = False, *, input_key: str = "x", dtype: str = "float32",
               input_shape: tuple = (None, 3), outputs: tuple = ("default", "logits"),
               extra_signature: bool = False, node_names: str = "", kernel_rows: int = 3,
               kernel_value: float = 1.0, image_size: int = 0, api=hub) -> None:
    """``default = x @ kernel``, ``logits = default + bias``; batch norm in training."""
    x = v1.placeholder(getattr(tf, dtype), shape=list(input_shape), name=node_names + "x")
    h = tf.cast(x, tf.float32)
    kernel = v1.get_variable("kernel", shape=[kernel_rows, 2],
                             initializer=v1.constant_initializer(kernel_value))
    bias = v1.get_variable("bias", shape=[2], initializer=v1.constant_initializer(0.5))
    if kernel_rows != 3:
        h = tf.pad(h, [[0, 0], [0, kernel_rows - 3]])
    h = v1.layers.batch_normalization(h, training=training, name="bn")
    y = tf.identity(tf.matmul(h, kernel), name=node_names + "y")
    every = {"default": y, "logits": tf.add(y, bias, name=node_names + "logits")}
    api.add_signature(inputs={input_key: x}, outputs={k: every[k] for k in outputs})
    if extra_signature:
        api.add_signature("embed", inputs={"x": x}, outputs={"embedding": y})
    if image_size:
        info = api.ImageModuleInfo()
        info.default_image_size.height = image_size
        info.default_image_size.width = image_size
        api.attach_image_module_info(info)


def vocabulary(vocab_file: str, api=hub) -> None:
    """Words -> ids through a vocabulary asset."""
    words = v1.placeholder(tf.string, shape=[None], name="words")
    table = tf.lookup.StaticHashTable(
        tf.lookup.TextFileInitializer(vocab_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                      tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
        default_value=-1)
    api.add_signature(inputs=words, outputs=table.lookup(words))
