"""{{ handle }}: a minimal TF1 Hub format module (y = a * x + b, element-wise).

`hubpub build hubpub.yaml` runs `module_fn` once per graph variant listed in the manifest.
"""

import tensorflow as tf

import hubpub as hub


def module_fn():
    x = tf.compat.v1.placeholder(tf.float32, shape=[None], name="x")
    a = tf.compat.v1.get_variable("a", shape=[], initializer=tf.compat.v1.constant_initializer(0.5),
                                  trainable=False)
    b = tf.compat.v1.get_variable("b", shape=[], initializer=tf.compat.v1.constant_initializer(2.0),
                                  trainable=False)
    hub.add_signature(inputs=x, outputs=a * x + b)
