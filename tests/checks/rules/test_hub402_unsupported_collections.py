"""HUB402: collections the TF1 Hub format does not allow."""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from tests.checks.lintmodules import lint, raw_saved_model, write_module

v1 = tf.compat.v1


def with_losses_and_summaries():
    x = v1.placeholder(tf.float32, [None], name="x")
    y = 2.0 * x
    v1.losses.add_loss(tf.reduce_sum(y))
    v1.summary.scalar("total", tf.reduce_sum(y))
    return {"default": ({"default": x}, {"default": y})}


def plain():
    x = v1.placeholder(tf.float32, [None], name="x")
    v1.get_variable("w", [], initializer=v1.ones_initializer())
    return {"default": ({"default": x}, {"default": 2.0 * x})}


@pytest.mark.slow
def test_losses_and_summaries_are_reported(tmp_path):
    module = write_module(tmp_path / "m", raw_saved_model((with_losses_and_summaries, ["train"]),
                                                          (plain, [])))
    [finding] = lint(module, codes=["HUB402"])
    assert finding.message == ("variant {train} keeps unsupported collections: losses, "
                               "summaries; consumers cannot load it (drop them with "
                               "drop_collections)")
    assert finding.location.variant == ("train",)


@pytest.mark.slow
def test_supported_collections_pass(tmp_path):
    assert lint(write_module(tmp_path / "m", raw_saved_model((plain, []))),
                codes=["HUB402"]) == []
