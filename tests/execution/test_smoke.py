"""The smoke test itself (run in this process here; `hubpub build`/`validate` run it in a child)."""

from __future__ import annotations

import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.execution.smoke import run_smoke_test

pytestmark = pytest.mark.slow


def _image_module_fn():
    images = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="images")
    hub.add_signature(inputs={"images": images}, outputs=tf.reduce_mean(images, axis=[1, 2]))
    info = hub.ImageModuleInfo()
    info.default_image_size.height, info.default_image_size.width = 12, 10
    hub.attach_image_module_info(info)


def _nan_module_fn():
    x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
    hub.add_signature(inputs=x, outputs=tf.math.log(x - 100.0))


def test_image_inputs_get_the_attached_size_in_a_train_only_module(tmp_path):
    spec = hub.create_module_spec(_image_module_fn, [({"train"}, {})])
    spec.export(tmp_path / "m", checkpoint_path=None)
    result = run_smoke_test(tmp_path / "m")
    assert result.ok, result.problems
    assert result.signatures == [{"variant": ["train"], "signature": "default",
                                  "outputs": {"default": {"dtype": "float32", "shape": [2, 3]}}}]


def test_nan_outputs_are_problems(tmp_path):
    hub.create_module_spec(_nan_module_fn).export(tmp_path / "m", checkpoint_path=None)
    result = run_smoke_test(tmp_path / "m")
    assert not result.ok
    assert any("NaN" in p and "'default'" in p for p in result.problems)


def test_in_process_run_reports_its_result_and_its_problems(tmp_path):
    """What builds of a recipe use: the same test on a thread of this process."""
    from hubpub.execution.smoke import InProcessSmokeRun, start_smoke_test

    hub.create_module_spec(_nan_module_fn).export(tmp_path / "nan", checkpoint_path=None)
    run = start_smoke_test(tmp_path / "nan", in_process=True)
    result = run.wait()
    assert any("NaN" in p for p in result.problems)
    assert result.confinement == InProcessSmokeRun.CONFINEMENT

    run = start_smoke_test(in_process=True)  # started first, told the module later
    run.test(tmp_path / "missing")
    result = run.wait()  # what the module raises is a problem, never an exception here
    assert not result.ok and "smoke test failed" in result.problems[0]
