"""HUB103: variants without a `default` signature."""

from __future__ import annotations

import pytest

import hubpub as hub
from hubpub._tf import tf
from tests.checks.lintmodules import export, lint

v1 = tf.compat.v1


def named_only():
    x = v1.placeholder(tf.float32, [None], name="x")
    hub.add_signature("double", inputs=x, outputs=2.0 * x)
    hub.add_signature("triple", inputs=x, outputs=3.0 * x)


def with_default():
    x = v1.placeholder(tf.float32, [None], name="x")
    hub.add_signature(inputs=x, outputs=2.0 * x)
    hub.add_signature("triple", inputs=x, outputs=3.0 * x)


@pytest.mark.slow
def test_no_default_signature(tmp_path):
    [finding] = lint(export(named_only, tmp_path / "m"), codes=["HUB103"])
    assert finding.message == ("variant {} has no 'default' signature (it has 'double', "
                               "'triple'); consumers calling the module without a signature "
                               "name fail")
    assert (finding.location.variant, finding.location.signature) == ((), None)


@pytest.mark.slow
def test_default_signature_present(tmp_path):
    assert lint(export(with_default, tmp_path / "m"), codes=["HUB103"]) == []
