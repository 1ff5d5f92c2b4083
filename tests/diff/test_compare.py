"""Each kind of change between two module versions, with its verdict (real exports)."""

from __future__ import annotations

import tarfile

import pytest

from hubpub.diff import diff_targets
from hubpub.files.package import pack
from tests.fixture_paths import HALF_PLUS_TWO

pytestmark = pytest.mark.slow


def _diff(modules, old: str, new: str):
    return diff_targets(str(modules[old]), str(modules[new]))


def _paths(result, *, breaking: bool | None = None) -> list[str]:
    return [c.path for c in result.changes if breaking is None or c.breaking == breaking]


def test_the_same_module_built_twice_is_identical(modules):
    result = _diff(modules, "old", "same")
    assert result.verdict == "identical"
    assert result.changes == []
    assert result.to_json() == {"verdict": "identical", "changes": []}


@pytest.mark.parametrize("old, new, verdict, expected", [
    pytest.param("old", "renamed_input", "breaking",
                 {"{}/signatures/default/inputs/x", "{}/signatures/default/inputs/features",
                  "{train}/signatures/default/inputs/x",
                  "{train}/signatures/default/inputs/features"}, id="renamed-input"),
    pytest.param("old", "dtype", "breaking",
                 {"{}/signatures/default/inputs/x/dtype",
                  "{train}/signatures/default/inputs/x/dtype"}, id="dtype"),
    pytest.param("old", "fixed_batch", "breaking",
                 {"{}/signatures/default/inputs/x/shape",
                  "{train}/signatures/default/inputs/x/shape"}, id="input-narrowed"),
    pytest.param("old", "one_output", "breaking",
                 {"{}/signatures/default/outputs/logits",
                  "{train}/signatures/default/outputs/logits"}, id="output-removed"),
    pytest.param("old", "default_only", "breaking", {"{train}"}, id="variant-removed"),
    pytest.param("extra_signature", "old", "breaking",
                 {"{}/signatures/embed", "{train}/signatures/embed"}, id="signature-removed"),
    pytest.param("old", "wider_kernel", "breaking",
                 {"variables/kernel/shape", "variables/bn/gamma/shape", "variables/bn/beta/shape",
                  "variables/bn/moving_mean/shape", "variables/bn/moving_variance/shape"},
                 id="variable-shape"),
    pytest.param("image_224", "image_192", "breaking",
                 {"{}/attachments/image_module_info", "{train}/attachments/image_module_info"},
                 id="image-size-changed"),
    pytest.param("vocab_a", "vocab_b", "breaking", {"assets/vocab.txt"},
                 id="asset-changed"),
])
def test_breaking_changes_are_listed_with_every_reason(modules, old, new, verdict, expected):
    result = _diff(modules, old, new)
    assert result.verdict == verdict
    assert set(_paths(result, breaking=True)) == expected
    assert all(c.message for c in result.changes)


@pytest.mark.parametrize("old, new, expected", [
    pytest.param("fixed_batch", "old", {"{}/signatures/default/inputs/x/shape",
                                        "{train}/signatures/default/inputs/x/shape"},
                 id="input-widened"),
    pytest.param("one_output", "old", {"{}/signatures/default/outputs/logits",
                                       "{train}/signatures/default/outputs/logits"},
                 id="output-added"),
    pytest.param("old", "extra_signature", {"{}/signatures/embed", "{train}/signatures/embed",
                                            "saved_model.pb"}, id="signature-added"),
    pytest.param("default_only", "old", {"{train}"}, id="variant-added"),
    pytest.param("old", "image_224", {"{}/attachments/image_module_info",
                                      "{train}/attachments/image_module_info"},
                 id="attachment-added"),
    pytest.param("old", "new_weights", {"variables"}, id="weights"),
    pytest.param("old", "renamed_nodes", {"saved_model.pb"}, id="renamed-graph-nodes"),
])
def test_compatible_changes(modules, old, new, expected):
    result = _diff(modules, old, new)
    assert result.verdict == "compatible", [c.message for c in result.changes]
    assert set(_paths(result)) >= expected - {"saved_model.pb"}
    assert not result.breaking


def test_a_rename_is_reported_as_removal_and_addition_with_a_hint(modules):
    result = _diff(modules, "old", "renamed_input")
    removed = next(c for c in result.changes if c.path == "{}/signatures/default/inputs/x")
    assert removed.old == "x" and removed.new is None
    assert "renamed to 'features'?" in removed.message
    added = next(c for c in result.changes if c.path == "{}/signatures/default/inputs/features")
    assert added.breaking and "do not feed it" in added.message


def test_shape_messages_say_which_way(modules):
    narrowed = _diff(modules, "old", "fixed_batch").changes[0]
    assert (narrowed.old, narrowed.new) == ([None, 3], [8, 3])
    assert "narrowed" in narrowed.message and narrowed.breaking
    widened = _diff(modules, "fixed_batch", "old").changes[0]
    assert "widened" in widened.message and not widened.breaking


def test_new_weights_are_compatible_and_named(modules):
    result = _diff(modules, "old", "new_weights")
    # The graph holds the initializer's constant, so it changed too.
    assert [c.kind for c in result.changes] == ["weights", "graph"]
    change = result.changes[0]
    assert change.new == ["kernel"] and not change.breaking
    assert "1 of 6 variables" in change.message


def test_renamed_graph_nodes_are_not_a_change_consumers_see(modules):
    result = _diff(modules, "old", "renamed_nodes")
    assert [(c.kind, c.breaking) for c in result.changes] == [("graph", False)]


def test_image_size_change_shows_both_sizes(modules):
    change = _diff(modules, "image_224", "image_192").changes[0]
    assert (change.old, change.new) == ([224, 224], [192, 192])
    assert "expected image size" in change.message


def test_a_tarball_and_its_directory_are_identical(modules, tmp_path):
    packed = pack(modules["old"], tmp_path / "old.tar.gz")
    assert diff_targets(str(packed.path), str(modules["old"])).verdict == "identical"
    assert diff_targets(str(modules["same"]), str(packed.path)).verdict == "identical"
    # Packed by hand, one folder down (tar -czf m.tar.gz old/): still the same module.
    nested = tmp_path / "nested.tar.gz"
    with tarfile.open(nested, "w:gz") as tar:
        tar.add(modules["old"], arcname="old")
    assert diff_targets(str(nested), str(packed.path)).verdict == "identical"


def test_a_tarball_against_another_version_uses_the_members_digests(modules, tmp_path):
    packed = pack(modules["new_weights"], tmp_path / "new.tar.gz")
    result = diff_targets(str(modules["old"]), str(packed.path))
    assert [c.kind for c in result.changes] == ["weights", "graph"]


def test_a_module_published_by_others_against_its_unpacked_directory(tmp_path):
    with tarfile.open(HALF_PLUS_TWO) as tar:
        tar.extractall(tmp_path, filter="data")
    assert diff_targets(str(HALF_PLUS_TWO), str(tmp_path)).verdict == "identical"
    (tmp_path / "assets" / "vocab.txt").write_text("new\n")
    result = diff_targets(str(HALF_PLUS_TWO), str(tmp_path))
    assert [(c.kind, c.breaking) for c in result.changes] == [("asset", False)]
