"""Reading the two proto files of a module directory, with errors that say what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from hubpub.errors import ModuleFormatError
from hubpub.spec.protos import FORMAT_V3, ModuleDef

__all__ = ["ASSETS_COLLECTION", "ATTACHMENTS_COLLECTION", "IMAGE_MODULE_INFO_KEY",
           "MODULE_DEF_FILE", "SAVED_MODEL_FILE", "SUPPORTED_COLLECTIONS", "parse_module_def",
           "parse_saved_model", "read_module_def", "read_saved_model"]

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


def read_module_def(module_dir: str | Path) -> Any:
    """Parse and check ``tfhub_module.pb``: format V3 and no unknown required features."""
    path = Path(module_dir) / MODULE_DEF_FILE
    if not path.is_file():
        raise ModuleFormatError(
            f"{module_dir} is not a TF1 Hub format module: it has no {MODULE_DEF_FILE}"
            + (" (it looks like a plain SavedModel; load it with tf.saved_model.load)"
               if (Path(module_dir) / SAVED_MODEL_FILE).is_file() else ""))
    return parse_module_def(path.read_bytes(), where=str(path))


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


def read_saved_model(module_dir: str | Path, *, lite: bool = False) -> Any:
    """Parse ``saved_model.pb`` of a module directory (after checking ``tfhub_module.pb``).

    With ``lite``, into the TF-free messages of ``hubpub.spec.lite``.
    """
    read_module_def(module_dir)
    path = Path(module_dir) / SAVED_MODEL_FILE
    if not path.is_file():
        raise ModuleFormatError(f"{module_dir} has {MODULE_DEF_FILE} but no {SAVED_MODEL_FILE}")
    return parse_saved_model(path.read_bytes(), where=str(path), lite=lite)


def parse_saved_model(data: bytes, *, where: str, lite: bool = False) -> Any:
    """Parse the bytes of a ``saved_model.pb``; ``where`` names it in errors."""
    if lite:
        from hubpub.spec.lite import SavedModel
    else:
        from tensorflow.core.protobuf.saved_model_pb2 import SavedModel
    try:
        saved_model = SavedModel.FromString(data)
    except DecodeError as exc:
        raise ModuleFormatError(f"{where} is corrupt: cannot parse it as a SavedModel") from exc
    if not saved_model.meta_graphs:
        raise ModuleFormatError(f"{where} holds no graph variant (no MetaGraphDef)")
    return saved_model
