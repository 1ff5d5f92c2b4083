"""Reading the two proto files of a module directory, with errors that say what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from hubpub.errors import InputError, ModuleFormatError
from hubpub.files import fspath, inputs
from hubpub.spec.protos import FORMAT_V3, ModuleDef

__all__ = ["ASSETS_COLLECTION", "ATTACHMENTS_COLLECTION", "IMAGE_MODULE_INFO_KEY",
           "MODULE_DEF_FILE", "SAVED_MODEL_FILE", "SUPPORTED_COLLECTIONS", "check_collections", "check_loadable",
           "find_module_root", "parse_module_def", "parse_saved_model", "read_module_def", "read_saved_model"]

MODULE_DEF_FILE = "tfhub_module.pb"
SAVED_MODEL_FILE = "saved_model.pb"
SUPPORTED_FEATURES: frozenset[str] = frozenset()

# Collection names of the TF1 Hub format (format doc §1.4), as strings: no TensorFlow needed.
ATTACHMENTS_COLLECTION = "hub_module_attachments"
ASSETS_COLLECTION = "saved_model_assets"  # on disk only; unpacked and removed at load
IMAGE_MODULE_INFO_KEY = "image_module_info"  # the attachment with the expected image size
SUPPORTED_COLLECTIONS = frozenset({
    "variables", "trainable_variables", "model_variables", "table_initializer", "update_ops",
    "regularization_losses", "asset_filepaths", "cond_context", "while_context",
    ATTACHMENTS_COLLECTION,
})


def _is_file(path: str) -> bool:
    if fspath.is_local(path):
        return Path(fspath.to_local(path)).is_file()
    gfile = fspath.gfile()
    return gfile.exists(path) and not gfile.isdir(path)


def _read_bytes(path: str, limit: inputs.Limit) -> bytes:
    if fspath.is_local(path):
        try:
            return inputs.read_input(fspath.to_local(path), limit)
        except InputError as exc:
            raise ModuleFormatError(str(exc)) from exc
    with fspath.gfile().GFile(path, "rb") as f:
        if f.size() > limit.max_bytes:
            raise ModuleFormatError(f"{path}: {limit.refusal(f.size())}")
        return f.read()


def read_module_def(module_dir: str | Path) -> Any:
    """Parse and check ``tfhub_module.pb``: format V3 and no unknown required features."""
    path = fspath.join(module_dir, MODULE_DEF_FILE)
    if fspath.is_local(module_dir) and Path(fspath.to_local(module_dir)).is_dir():
        try:  # no FIFO, device or link out of the module for anything to read or hang on
            inputs.check_module_files(fspath.to_local(module_dir))
        except InputError as exc:
            raise ModuleFormatError(str(exc)) from exc
    if not _is_file(path):
        raise ModuleFormatError(
            f"{module_dir} is not a TF1 Hub format module: it has no {MODULE_DEF_FILE}"
            + (" (it looks like a plain SavedModel; load it with tf.saved_model.load)"
               if _is_file(fspath.join(module_dir, SAVED_MODEL_FILE)) else ""))
    return parse_module_def(_read_bytes(path, inputs.MODULE_DEF), where=path)


def parse_module_def(data: bytes, *, where: str) -> Any:
    """Check the bytes of a ``tfhub_module.pb``: format V3 and no unknown required features."""
    try:
        module_def = ModuleDef.FromString(data)
    except DecodeError as exc:
        raise ModuleFormatError(f"{where} is corrupt: cannot parse it as a ModuleDef") from exc
    if module_def.format != FORMAT_V3:
        raise ModuleFormatError(f"{where}: unsupported module def format {module_def.format} "
                                f"(only FORMAT_V3 = 3 is defined)")
    unknown = sorted(set(module_def.required_features) - SUPPORTED_FEATURES)
    if unknown:
        raise ModuleFormatError(f"{where}: unsupported required features {unknown}")
    return module_def


def read_saved_model(module_dir: str | Path, *, lite: bool = False,
                     check: bool | None = None) -> Any:
    """Parse ``saved_model.pb`` of a module directory (after checking ``tfhub_module.pb``).

    With ``lite``, into the TF-free messages of ``hubpub.spec.lite``; ``check`` as in
    ``parse_saved_model``.
    """
    read_module_def(module_dir)
    path = fspath.join(module_dir, SAVED_MODEL_FILE)
    if not _is_file(path):
        raise ModuleFormatError(f"{module_dir} has {MODULE_DEF_FILE} but no {SAVED_MODEL_FILE}")
    return parse_saved_model(_read_bytes(path, inputs.SAVED_MODEL), where=path, lite=lite,
                             check=check)


def parse_saved_model(data: bytes, *, where: str, lite: bool = False,
                      check: bool | None = None) -> Any:
    """Parse the bytes of a ``saved_model.pb``; ``where`` names it in errors.

    ``check`` (default: when not ``lite``) also checks the collections (``check_collections``).
    """
    if lite:
        from hubpub.spec.lite import SavedModel as lite_saved_model
        message: Any = lite_saved_model
    else:
        from tensorflow.core.protobuf.saved_model_pb2 import SavedModel
        message = SavedModel
    try:
        saved_model = message.FromString(data)
    except DecodeError as exc:
        raise ModuleFormatError(f"{where} is corrupt: cannot parse it as a SavedModel") from exc
    if not saved_model.meta_graphs:
        raise ModuleFormatError(f"{where} holds no graph variant (no MetaGraphDef)")
    if check if check is not None else not lite:  # diff reads no collection entry
        for meta in saved_model.meta_graphs:
            check_collections(meta, where)
    return saved_model


# Collections whose entries are serialized protos, read when a module is loaded or linted.
_VARIABLE_COLLECTIONS = ("variables", "trainable_variables", "model_variables",
                         "local_variables")
# Collections whose entries name nodes of the graph (``name`` or ``name:0``).
_NODE_COLLECTIONS = ("table_initializer", "update_ops", "regularization_losses",
                     "asset_filepaths", "init_op", "local_init_op", "saved_model_main_op",
                     "legacy_init_op")
_ASSET_FILE_DEF = "tensorflow.AssetFileDef"  # the type name packed assets carry


def check_collections(meta: Any, path: str) -> None:
    """Every proto in a known collection parses, and every named node exists.

    Garbage there made loading, linting and the smoke test fail with a protobuf traceback;
    a node that is not in the graph failed only when the module was instantiated. Entries are
    parsed with the TF-free messages of ``hubpub.spec.lite`` (same fields as TensorFlow's), so
    a MetaGraphDef of either kind is checked alike, without importing TensorFlow.
    """
    from hubpub.spec.lite import (
        AnyList,
        AssetFileDef,
        CondContextDef,
        VariableDef,
        WhileContextDef,
    )
    from hubpub.spec.protos import ModuleAttachment

    variant = "{" + ",".join(sorted(meta.meta_info_def.tags)) + "}"
    proto_of = {**dict.fromkeys(_VARIABLE_COLLECTIONS, VariableDef),
                "cond_context": CondContextDef, "while_context": WhileContextDef,
                ATTACHMENTS_COLLECTION: ModuleAttachment}
    nodes = {node.name for node in meta.graph_def.node}
    for key, collection in sorted(meta.collection_def.items()):
        where = f"{path}: variant {variant}, collection {key!r}"
        kind = collection.WhichOneof("kind")
        if key in proto_of and kind == "bytes_list":
            for index, raw in enumerate(collection.bytes_list.value):
                try:
                    proto_of[key].FromString(raw)
                except DecodeError:
                    raise ModuleFormatError(f"{where}: entry {index} is not a "
                                            f"{proto_of[key].DESCRIPTOR.name}") from None
        elif key == ASSETS_COLLECTION and kind == "any_list":
            packed = collection.any_list
            try:
                entries = AnyList.FromString(packed).value if isinstance(packed, bytes) \
                    else packed.value
            except DecodeError:
                raise ModuleFormatError(f"{where}: is not a list of AssetFileDef") from None
            for index, entry in enumerate(entries):
                try:
                    if entry.type_url.rpartition("/")[2] != _ASSET_FILE_DEF:
                        raise DecodeError(entry.type_url)
                    AssetFileDef.FromString(entry.value)
                except DecodeError:
                    raise ModuleFormatError(f"{where}: entry {index} is not an "
                                            f"AssetFileDef") from None
        elif key in proto_of or key == ASSETS_COLLECTION:
            raise ModuleFormatError(f"{where}: holds a {kind or 'nothing'} where the format "
                                    f"has serialized protos")
        if key in _NODE_COLLECTIONS and kind not in ("node_list", None):
            raise ModuleFormatError(f"{where}: holds a {kind} where the format has node "
                                    f"names")
        if key in _NODE_COLLECTIONS and kind == "node_list":
            for name in collection.node_list.value:
                if name.lstrip("^").split(":")[0] not in nodes:
                    raise ModuleFormatError(f"{where}: names {name!r}, which is not a node "
                                            f"of the graph")


def _tensor_names(info: Any) -> list[str]:
    """The graph tensors a signature's TensorInfo names (dense, sparse or composite)."""
    kind = info.WhichOneof("encoding")
    if kind == "name":
        return [info.name]
    if kind == "coo_sparse":
        sparse = info.coo_sparse
        return [sparse.values_tensor_name, sparse.indices_tensor_name,
                sparse.dense_shape_tensor_name]
    if kind == "composite_tensor":
        return [name for part in info.composite_tensor.components for name in _tensor_names(part)]
    return []


def check_loadable(module_dir: str | Path, saved_model: Any) -> None:
    """What loading the module needs beyond parsing its protos, without running it.

    Every tensor a signature names is in its graph, and a module with variables has a
    readable checkpoint: ``variables/variables.index`` and at least one data shard. These
    failed only when the module was instantiated (the smoke test, or a consumer).

    Raises:
        ModuleFormatError: naming the variant, signature or file.
    """
    module_dir = Path(module_dir)
    has_variables = False
    for meta in saved_model.meta_graphs:
        variant = "{" + ",".join(sorted(meta.meta_info_def.tags)) + "}"
        nodes = {node.name for node in meta.graph_def.node}
        for signature, definition in sorted(meta.signature_def.items()):
            for role, infos in (("input", definition.inputs), ("output", definition.outputs)):
                for key, info in sorted(infos.items()):
                    for name in _tensor_names(info):
                        if name.split(":")[0] not in nodes:
                            raise ModuleFormatError(
                                f"variant {variant}, signature {signature!r}: {role} {key!r} "
                                f"names tensor {name!r}, which is not in the graph")
        collection = meta.collection_def.get("variables")
        has_variables |= bool(collection is not None and collection.bytes_list.value)
    if has_variables:
        _check_checkpoint(module_dir / "variables")


def _check_checkpoint(folder: Path) -> None:
    """The checkpoint's index is readable (parsed without TensorFlow) and it has a data shard."""
    from hubpub.spec.checkpoint_index import read_checkpoint_index

    if not folder.is_dir():
        raise ModuleFormatError(f"{folder} is missing: the graph has variables, and their "
                                f"values live in variables/variables.index and "
                                f"variables.data-*")
    index = folder / "variables.index"
    if not index.is_file():
        raise ModuleFormatError(f"{index} is missing: the graph has variables")
    try:
        read_checkpoint_index(index)
    except ModuleFormatError as exc:
        reason = str(exc).removeprefix(f"{index} is not a readable checkpoint index: ")
        raise ModuleFormatError(f"{index} is corrupt: {reason}") from None
    if not any(folder.glob("variables.data-*")):
        raise ModuleFormatError(f"{folder} has variables.index but no variables.data-* shard")


def find_module_root(folder: Path) -> Path:
    """The folder holding ``tfhub_module.pb``: ``folder`` itself or its single subfolder.

    Tarballs made with ``tar -czf m.tar.gz mymodule/`` keep the module one level down; lint
    reports that, but can still read the module.
    """
    folder = Path(folder)
    if (folder / MODULE_DEF_FILE).is_file():
        return folder
    candidates = sorted(p for p in folder.iterdir()
                        if p.is_dir() and not p.is_symlink() and (p / MODULE_DEF_FILE).is_file())
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise ModuleFormatError(f"{folder} holds several modules ({names}); a tarball must "
                                f"hold one module, with its files at the archive root")
    hint = (" (it has saved_model.pb: a plain SavedModel, not a TF1 Hub module)"
            if (folder / SAVED_MODEL_FILE).is_file() else "")
    raise ModuleFormatError(f"{folder} is not a TF1 Hub format module: no {MODULE_DEF_FILE} "
                            f"at its root or one folder down{hint}")
