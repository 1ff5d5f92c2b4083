"""hubpub arranges tf-keras for `tf.compat.v1.layers`, and says what to do when it cannot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

LAYERS = """
import warnings
warnings.simplefilter("always")
import tensorflow as tf
{before}
import hubpub._tf
g = tf.Graph()
with g.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [None, 2])
    print("dense:", tf.compat.v1.layers.dense(x, 3).shape)
"""


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**base, **env})


def test_layers_work_even_when_tensorflow_was_imported_first():
    proc = _run(LAYERS.format(before="tf.keras.layers.Dense"))
    assert proc.returncode == 0, proc.stderr
    assert "dense: (None, 3)" in proc.stdout
    assert "TF_USE_LEGACY_KERAS" not in proc.stderr


def test_an_explicit_keras_3_setting_gets_a_warning_that_says_what_to_do():
    proc = _run(LAYERS.format(before=""), TF_USE_LEGACY_KERAS="0")
    assert "Set TF_USE_LEGACY_KERAS=1 in the environment" in proc.stderr
    assert "not available with Keras 3" in proc.stderr  # what the publisher would hit
