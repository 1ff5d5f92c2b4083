"""HUB104: outputs that need a placeholder the signature does not feed.

hubpub's own authoring refuses such signatures, so these modules are written with plain
tf.compat.v1, as another tool would.
"""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from tests.checks.lintmodules import lint, raw_saved_model, write_module

v1 = tf.compat.v1


def unfed_keep_prob():
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    keep_prob = v1.placeholder(tf.float32, [], name="keep_prob")
    return {"default": ({"default": x}, {"default": x * keep_prob}),
            "identity": ({"default": x}, {"default": tf.identity(x)})}


def fed_or_defaulted():
    # An input computed from another placeholder: feeding "x" cuts its upstream off.
    raw = v1.placeholder(tf.float32, [None, 4], name="raw")
    x = tf.identity(raw * 2.0, name="x")
    rate = v1.placeholder_with_default(0.5, [], name="rate")
    return {"default": ({"default": x}, {"default": x * rate})}


@pytest.mark.slow
def test_unfed_placeholder_is_reported_for_the_signature_that_needs_it(tmp_path):
    module = write_module(tmp_path / "m", raw_saved_model((unfed_keep_prob, ())))
    [finding] = lint(module, codes=["HUB104"])
    assert finding.message == (
        "signature 'default' needs placeholder 'keep_prob', which is not one of its inputs: add "
        "it to the signature's inputs or give it a default "
        "(tf.compat.v1.placeholder_with_default)")
    assert (finding.location.signature, finding.location.node) == ("default", "keep_prob")


@pytest.mark.slow
def test_inputs_cut_the_walk_and_defaults_are_fine(tmp_path):
    module = write_module(tmp_path / "m", raw_saved_model((fed_or_defaulted, ())))
    assert lint(module, codes=["HUB104"]) == []
