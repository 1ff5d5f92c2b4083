"""Lint sees what loading the module needs: collections that parse, a checkpoint, signature
tensors in the graph. Each broken module is half_plus_two with one thing spoiled."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tensorflow.core.protobuf import saved_model_pb2

from hubpub.checks.config import LintConfig
from hubpub.commands.lint import lint_target
from hubpub.errors import ModuleFormatError
from hubpub.files.archive import safe_extract
from hubpub.spec.loading import load_module_spec
from tests.checks.lintmodules import pack
from tests.fixture_paths import HALF_PLUS_TWO


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("loadable")
    safe_extract(HALF_PLUS_TWO, folder)
    return folder


def _edit_graph(folder: Path, edit: Callable[[object], None]) -> None:
    saved_model = saved_model_pb2.SavedModel.FromString((folder / "saved_model.pb").read_bytes())
    for meta in saved_model.meta_graphs:
        edit(meta)
    (folder / "saved_model.pb").write_bytes(saved_model.SerializeToString())


def _missing_signature_tensor(folder: Path) -> None:
    def edit(meta: object) -> None:
        meta.signature_def["default"].outputs["default"].name = "no_such_tensor:0"  # type: ignore[attr-defined]
    _edit_graph(folder, edit)


def _garbage_in(key: str, kind: str) -> Callable[[Path], None]:
    def spoil(folder: Path) -> None:
        def edit(meta: object) -> None:
            collection = meta.collection_def[key]  # type: ignore[attr-defined]
            if kind == "bytes":
                collection.bytes_list.value.append(b"\xff\xfe\x00garbage\x12\x99")
            elif kind == "any":
                packed = collection.any_list.value.add()
                packed.type_url = "type.googleapis.com/tensorflow.AssetFileDef"
                packed.value = b"\xff\xfe\x00garbage"
            elif kind == "node":
                collection.node_list.value.append("no_such_node:0")
            else:  # names stored as bytes, where a node list belongs
                collection.ClearField("node_list")
                collection.bytes_list.value.append(b"\xff\x00junk")
        _edit_graph(folder, edit)
    return spoil


SPOILED = [
    pytest.param(lambda f: shutil.rmtree(f / "variables"), "variables is missing",
                 id="no-variables-folder"),
    pytest.param(lambda f: (f / "variables" / "variables.index").write_bytes(b"garbage"),
                 "variables.index is corrupt", id="corrupt-variables-index"),
    pytest.param(lambda f: (f / "variables" / "variables.index").unlink(),
                 "variables.index is missing", id="no-variables-index"),
    pytest.param(_missing_signature_tensor,
                 "signature 'default': output 'default' names tensor 'no_such_tensor:0', "
                 "which is not in the graph", id="signature-tensor-not-in-graph"),
    pytest.param(_garbage_in("variables", "bytes"),
                 "collection 'variables': entry 2 is not a VariableDef", id="garbage-variables"),
    pytest.param(_garbage_in("trainable_variables", "bytes"), "is not a VariableDef",
                 id="garbage-trainable-variables"),
    pytest.param(_garbage_in("hub_module_attachments", "bytes"), "is not a ModuleAttachment",
                 id="garbage-attachments"),
    pytest.param(_garbage_in("saved_model_assets", "any"), "is not an AssetFileDef",
                 id="garbage-assets"),
    pytest.param(_garbage_in("table_initializer", "node"),
                 "collection 'table_initializer': names 'no_such_node:0', which is not a node",
                 id="table-initializer-not-in-graph"),
    pytest.param(_garbage_in("table_initializer", "bytes-not-names"),
                 "collection 'table_initializer': holds a bytes_list where the format has node "
                 "names", id="table-initializer-of-bytes"),
]


@pytest.mark.parametrize(("spoil", "message"), SPOILED)
@pytest.mark.parametrize("form", ["directory", "tarball"])
def test_lint_reports_what_would_fail_at_load(pristine: Path, tmp_path: Path, spoil: Callable,
                                              message: str, form: str) -> None:
    folder = tmp_path / "module"
    shutil.copytree(pristine, folder)
    spoil(folder)
    target = folder if form == "directory" else pack(folder, tmp_path / "m.tar.gz")
    findings = lint_target(str(target), LintConfig())
    assert [f.code for f in findings] == ["HUB000"]
    # A tarball's finding names its member: "m.tar.gz (member 'variables/x') is ...".
    assert message in findings[0].message.replace(" (member '", "/").replace("')", "")


def test_pristine_module_has_no_finding(pristine: Path) -> None:
    assert lint_target(str(pristine), LintConfig()) == []


@pytest.mark.parametrize(("spoil", "message"), [SPOILED[4], SPOILED[7]])
def test_loading_garbage_collections_is_a_module_format_error(pristine: Path, tmp_path: Path,
                                                              spoil: Callable,
                                                              message: str) -> None:
    """Not a protobuf DecodeError traceback from deep inside the loader."""
    folder = tmp_path / "module"
    shutil.copytree(pristine, folder)
    spoil(folder)
    with pytest.raises(ModuleFormatError, match=message):
        load_module_spec(str(folder))
