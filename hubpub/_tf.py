"""The one place that imports TensorFlow.

``tf.compat.v1.layers`` (what publisher code calls ``tf.layers.dense``) only works on
TensorFlow >= 2.16 with the ``tf_keras`` package and ``TF_USE_LEGACY_KERAS=1`` set before
TensorFlow is first imported. hubpub sets it here, so every TF-backed module imports ``tf``
from this module instead of importing TensorFlow itself.
"""

from __future__ import annotations

import os
import sys
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_ALREADY_IMPORTED = "tensorflow" in sys.modules

import tensorflow as tf  # noqa: E402

__all__ = ["tf", "legacy_keras_problem"]


def legacy_keras_problem() -> str | None:
    """Say why ``tf.compat.v1.layers`` cannot work in this process, or None if it works."""
    try:
        import tf_keras  # noqa: F401
    except ImportError:
        return ("tf-keras is not installed, so tf.compat.v1.layers cannot work on this "
                "TensorFlow: run `pip install tf-keras` (same minor version as TensorFlow).")
    try:
        tf.compat.v1.layers.dense  # noqa: B018  (raises under Keras 3)
    except (AttributeError, ImportError):
        return ("tf.compat.v1.layers is not available: Keras 3 was loaded before hubpub could "
                "set TF_USE_LEGACY_KERAS=1. Set TF_USE_LEGACY_KERAS=1 in the environment "
                "before starting Python, or import hubpub before tensorflow.")
    return None


if _ALREADY_IMPORTED and (_problem := legacy_keras_problem()):
    warnings.warn(_problem, stacklevel=2)
