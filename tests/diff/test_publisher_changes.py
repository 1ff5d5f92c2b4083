"""Changes publishers make to fix or reshape a module: update ops leaving the inference
variant (a fix), a variable becoming partitioned (consumers' variable maps break)."""

from __future__ import annotations

import functools

import pytest

from hubpub._tf import tf
from hubpub.diff import diff_targets
from tests.diff.conftest import export
from tests.execution import publisher_modules as pm

pytestmark = pytest.mark.slow

v1 = tf.compat.v1
TRAIN_AND_DEFAULT = [({"train"}, {"is_training": True}), (set(), {"is_training": False})]


def batch_norm(is_training: bool, updates_in_inference: bool) -> None:
    import hubpub as hub

    x = v1.placeholder(tf.float32, [None, 3], name="x")
    y = v1.layers.batch_normalization(x, training=is_training or updates_in_inference)
    hub.add_signature(inputs=x, outputs=y)


def test_update_ops_leaving_the_inference_variant_are_compatible(tmp_path):
    old = export(functools.partial(batch_norm, updates_in_inference=True), TRAIN_AND_DEFAULT,
                 tmp_path / "old")
    new = export(functools.partial(batch_norm, updates_in_inference=False),
                 TRAIN_AND_DEFAULT, tmp_path / "new")
    result = diff_targets(str(old), str(new))
    (change,) = [c for c in result.changes if c.path == "{}/collections/update_ops"]
    assert (change.old, change.new, change.breaking) == (2, 0, False)
    assert "no longer changes the moving statistics" in change.message
    assert result.verdict != "breaking"


def test_a_variable_becoming_partitioned_is_breaking(tmp_path):
    old = export(functools.partial(pm.embedding, partitions=1), None, tmp_path / "old")
    new = export(functools.partial(pm.embedding, partitions=2), None, tmp_path / "new")
    result = diff_targets(str(old), str(new))
    assert result.verdict == "breaking"
    (change,) = result.breaking
    assert change.path == "variables/embeddings/partitions"
    assert (change.old, change.new) == (1, 2)
    assert "variable_map" in change.message
