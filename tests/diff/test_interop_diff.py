"""Modules written by tensorflow_hub 0.15 as diff inputs, beside hubpub's exports of the same graph."""

from __future__ import annotations

import functools

import pytest

from hubpub._tf import tf
from hubpub.diff import diff_targets
from hubpub.files.package import pack
from tests.diff.modulefns import TRAIN_AND_DEFAULT, classifier
from tests.oracle import import_tensorflow_hub

pytestmark = [pytest.mark.slow, pytest.mark.interop]

v1 = tf.compat.v1


@pytest.fixture(scope="module")
def by_tensorflow_hub(tmp_path_factory):
    """``{name: module dir}`` written by tensorflow_hub 0.15's Module.export."""
    hub = import_tensorflow_hub()
    root = tmp_path_factory.mktemp("tensorflow-hub-exports")
    out = {}
    for name, kwargs in {"old": {}, "renamed_input": {"input_key": "features"}}.items():
        spec = hub.create_module_spec(functools.partial(classifier, api=hub, **kwargs),
                                      TRAIN_AND_DEFAULT)
        with tf.Graph().as_default():
            module = hub.Module(spec)
            with v1.Session() as session:
                session.run(v1.global_variables_initializer())
                module.export(str(root / name), session)
        out[name] = root / name
    return out


def test_the_same_graph_written_by_both_libraries_is_compatible(by_tensorflow_hub, modules):
    result = diff_targets(str(by_tensorflow_hub["old"]), str(modules["old"]))
    assert result.verdict in ("identical", "compatible")
    assert not result.breaking
    assert {c.kind for c in result.changes} <= {"graph", "file"}


def test_a_break_against_a_tensorflow_hub_release_is_found(by_tensorflow_hub, modules):
    result = diff_targets(str(by_tensorflow_hub["old"]), str(modules["renamed_input"]))
    assert result.verdict == "breaking"
    assert "{}/signatures/default/inputs/x" in {c.path for c in result.breaking}
    result = diff_targets(str(by_tensorflow_hub["old"]), str(by_tensorflow_hub["renamed_input"]))
    assert {c.path for c in result.breaking} == {
        f"{variant}/signatures/default/inputs/{key}"
        for variant in ("{}", "{train}") for key in ("x", "features")}


def test_a_tensorflow_hub_module_and_its_tarball_are_identical(by_tensorflow_hub, tmp_path):
    packed = pack(by_tensorflow_hub["old"], tmp_path / "old.tar.gz")
    assert diff_targets(str(packed.path), str(by_tensorflow_hub["old"])).verdict == "identical"
