"""tensorflow_hub 0.16's ``hub.KerasLayer`` as the oracle for TF2 exports (tests only).

tensorflow_hub 0.15.0 is installed as the TF1 oracle and 0.16 cannot be installed beside it
under the same name, so 0.16.1 is fetched from PyPI with ``pip download`` into a cache folder
(``$HUBPUB_TEST_CACHE`` or ``~/.cache/hubpub-tests``) and imported from there, in a
subprocess that puts it first on ``sys.path``. Run as a script, this module is that
subprocess: it reads a JSON job on stdin and prints a JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

VERSION = "0.16.1"


def tensorflow_hub_016() -> Path:
    """The folder to put first on ``sys.path`` to import tensorflow_hub 0.16.1."""
    import pytest

    cache = Path(os.environ.get("HUBPUB_TEST_CACHE", Path.home() / ".cache" / "hubpub-tests"))
    site = cache / f"tensorflow_hub-{VERSION}"
    if (site / "tensorflow_hub" / "__init__.py").is_file():
        return site
    wheels = cache / "wheels"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         "--dest", str(wheels), f"tensorflow-hub=={VERSION}"],
        capture_output=True, text=True, check=False)
    found = sorted(wheels.glob(f"tensorflow_hub-{VERSION}-*.whl"))
    if done.returncode != 0 or not found:
        message = f"cannot download tensorflow-hub {VERSION} from PyPI: {done.stderr[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    partial = cache / f".tensorflow_hub-{VERSION}.{os.getpid()}"
    with zipfile.ZipFile(found[0]) as wheel:
        wheel.extractall(partial)
    os.replace(partial, site)  # whole or not at all, for concurrent test runs
    return site


def run_consumer(site: Path, job: dict[str, Any]) -> dict[str, Any]:
    """Run ``job`` in a fresh process with tensorflow_hub 0.16 importable; its report."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(site), str(Path(__file__).resolve().parents[1]),
                                           os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "tests.keras_consumer"], input=json.dumps(job),
                          capture_output=True, text=True, env=env, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _consume(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import tensorflow_hub as hub
    import tf_keras

    x = np.asarray(job["x"], dtype=object if job["dtype"] == "string" else job["dtype"])
    layer = hub.KerasLayer(job["path"], trainable=job["trainable"],
                           output_key=job.get("output_key"))
    inputs = tf_keras.Input(shape=x.shape[1:], dtype=job["dtype"])
    model = tf_keras.Model(inputs, layer(inputs))
    report: dict[str, Any] = {
        "version": hub.__version__,
        "losses": [float(loss) for loss in model.losses],
        "inference": model(x, training=False).numpy().tolist(),
        "inference_again": model(x, training=False).numpy().tolist(),
        "trainable": sorted(w.name for w in model.trainable_weights),
        "non_trainable": sorted(w.name for w in model.non_trainable_weights),
    }
    if job.get("fit"):
        before = {w.name: w.numpy().copy() for w in model.weights}
        model.compile(tf_keras.optimizers.SGD(0.1),
                      tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        labels = np.arange(len(x)) % 3
        model.fit(x, labels, batch_size=len(x), epochs=3, verbose=0)
        report["changed"] = sorted(w.name for w in model.weights
                                   if not np.allclose(w.numpy(), before[w.name]))
    return report


if __name__ == "__main__":
    print(json.dumps(_consume(json.loads(sys.stdin.read()))))
