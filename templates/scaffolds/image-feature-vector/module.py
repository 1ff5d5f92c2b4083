"""{{ handle }}: an image feature vector module (common signature `image_feature_vector`).

Input `images`: float32 [batch, 64, 64, 3] with values in [0, 1].
Output `default`: float32 [batch, 32] pooled features.

Follows the TF Hub publisher guidance: a `train` variant (batch norm in training mode, its
updates in UPDATE_OPS) and a default inference variant; L2 regularization exported through
REGULARIZATION_LOSSES via `kernel_regularizer`; batch-norm momentum 0.9 (not 0.999) so
consumers can fine-tune on small datasets; no dropout on the feature vector.
"""

import tensorflow as tf

import hubpub as hub

IMAGE_SIZE = 64
NUM_FEATURES = 32


def _conv_block(net, filters, is_training, name):
    net = tf.compat.v1.layers.conv2d(
        net, filters, 3, padding="same", use_bias=False, name=f"{name}/conv",
        kernel_regularizer=tf.keras.regularizers.l2(1e-4))
    net = tf.compat.v1.layers.batch_normalization(
        net, momentum=0.9, training=is_training, name=f"{name}/bn")
    return tf.nn.relu(net)


def module_fn(is_training=False):
    images = tf.compat.v1.placeholder(tf.float32, [None, IMAGE_SIZE, IMAGE_SIZE, 3], name="images")
    net = _conv_block(images, 16, is_training, "block1")
    net = tf.compat.v1.layers.max_pooling2d(net, 2, 2)
    net = _conv_block(net, NUM_FEATURES, is_training, "block2")
    features = tf.reduce_mean(net, axis=[1, 2], name="features")
    hub.add_signature(inputs={"images": images}, outputs=features)
    hub.add_signature("image_feature_vector", inputs={"images": images}, outputs=features)
    info = hub.ImageModuleInfo()
    info.default_image_size.height = IMAGE_SIZE
    info.default_image_size.width = IMAGE_SIZE
    hub.attach_image_module_info(info)
