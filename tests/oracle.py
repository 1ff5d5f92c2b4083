"""tensorflow_hub 0.15.0 as an interop oracle, for tests only (never the product).

tensorflow_hub 0.15 imports ``tensorflow.compat.v1.estimator``, which TensorFlow 2.16+ no
longer has. A tiny stand-in module with an ``Exporter`` base class is enough for it to import;
nothing of the Estimator API is used by the tests.
"""

from __future__ import annotations

import sys
import types

import hubpub._tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)


def import_tensorflow_hub():
    """Import tensorflow_hub 0.15.0, or skip the calling test when it is not installed."""
    import pytest

    stand_in = types.ModuleType("tensorflow.compat.v1.estimator")

    class Exporter:  # the only name tensorflow_hub.estimator subclasses at import time
        pass

    stand_in.Exporter = Exporter
    sys.modules.setdefault("tensorflow.compat.v1.estimator", stand_in)
    import tensorflow.compat.v1 as tf1

    if not hasattr(tf1, "estimator"):
        tf1.estimator = stand_in
    hub = pytest.importorskip("tensorflow_hub")
    if hub.__version__ != "0.15.0":
        pytest.skip(f"the oracle is tensorflow_hub 0.15.0, found {hub.__version__}")
    return hub
