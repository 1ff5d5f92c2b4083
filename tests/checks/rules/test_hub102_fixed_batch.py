"""HUB102: signature inputs with a fixed batch dimension."""

from __future__ import annotations

import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.checks.findings import Severity
from tests.checks.lintmodules import export, lint

v1 = tf.compat.v1


def fixed_batch():
    images = v1.placeholder(tf.float32, [8, 32, 32, 3], name="images")
    scale = v1.placeholder(tf.float32, [], name="scale")  # scalar: no batch dimension
    hub.add_signature(inputs={"images": images, "scale": scale},
                      outputs=tf.reduce_mean(images, axis=[1, 2]) * scale)


def open_batch():
    images = v1.placeholder(tf.float32, [None, 32, 32, 3], name="images")
    anything = v1.placeholder(tf.float32, None, name="anything")  # unknown rank
    hub.add_signature(inputs={"images": images, "anything": anything},
                      outputs=tf.reduce_mean(images, axis=[1, 2]) + tf.reduce_sum(anything))


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub102")
    return {"fixed": export(fixed_batch, root / "fixed", [({"train"}, {}), (set(), {})]),
            "open": export(open_batch, root / "open")}


@pytest.mark.slow
def test_fixed_batch_is_reported_per_variant(modules):
    findings = lint(modules["fixed"], codes=["HUB102"])
    assert [f.location.variant for f in findings] == [(), ("train",)]
    for finding in findings:
        assert finding.severity is Severity.WARNING
        assert finding.message == (
            "signature 'default' input 'images' has a fixed batch dimension 8 (shape "
            "[8, 32, 32, 3]); use None so consumers can feed any batch size")
        assert (finding.location.signature, finding.location.node) == ("default", "images")


@pytest.mark.slow
def test_unknown_batch_and_unknown_rank_pass(modules):
    assert lint(modules["open"], codes=["HUB102"]) == []
