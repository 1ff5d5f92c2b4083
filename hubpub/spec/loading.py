"""``load_module_spec``: a handle -> a ModuleSpec whose asset paths point into the module."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hubpub._tf import tf
from hubpub.errors import ModuleFormatError
from hubpub.files import fspath
from hubpub.files.signing import TrustedSigner
from hubpub.spec.files import ASSETS_COLLECTION, read_saved_model
from hubpub.spec.module_spec import ModuleSpec

__all__ = ["load_module_spec", "unbake_assets"]


def unbake_assets(saved_model: Any, module_dir: str | Path) -> None:
    """Point every asset constant at ``<module_dir>/assets/<file>``; drop the asset collection."""
    from tensorflow.core.protobuf import meta_graph_pb2

    local = fspath.is_local(module_dir)
    assets_dir = (os.path.abspath(os.path.join(fspath.to_local(module_dir), "assets")) if local
                  else fspath.join(module_dir, "assets"))
    for meta in saved_model.meta_graphs:
        if ASSETS_COLLECTION not in meta.collection_def:
            continue
        nodes = {n.name: n for n in meta.graph_def.node}
        for packed in meta.collection_def[ASSETS_COLLECTION].any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            packed.Unpack(asset)
            path = (os.path.abspath(os.path.join(assets_dir, asset.filename)) if local
                    else fspath.join(assets_dir, asset.filename))
            inside = (path.startswith(assets_dir + os.sep) if local else
                      ".." not in asset.filename.split("/") and not asset.filename.startswith("/"))
            if not inside:
                raise ModuleFormatError(f"asset {asset.filename!r} points outside assets/ of "
                                        f"{module_dir}")
            node = nodes.get(asset.tensor_info.name.split(":")[0])
            if node is None or node.op != "Const":
                raise ModuleFormatError(f"asset tensor {asset.tensor_info.name!r} of "
                                        f"{module_dir} is not a Const node")
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(path.encode()))
        del meta.collection_def[ASSETS_COLLECTION]


def load_module_spec(handle: str | os.PathLike, *,
                     require_signature: TrustedSigner | str | os.PathLike | None = None
                     ) -> ModuleSpec:
    """Resolve a handle (directory, tarball, URL) and read its spec; nothing is executed.

    ``require_signature``: see ``hubpub.files.resolver.resolve``.
    """
    from hubpub.files.resolver import resolve

    module_dir = resolve(os.fspath(handle), require_signature=require_signature)
    saved_model = read_saved_model(module_dir)
    unbake_assets(saved_model, module_dir)
    checkpoint = fspath.join(module_dir, "variables", "variables")
    return ModuleSpec(saved_model, checkpoint_path=checkpoint, module_dir=module_dir)
