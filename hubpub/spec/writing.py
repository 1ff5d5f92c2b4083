"""Writing a module directory: assets baked in, variables through a callback, then the protos.

No module is ever half-written: everything is written to a private folder (beside a new
target, inside an existing folder that holds no module, or locally for a TensorFlow filesystem
URL such as ``gs://``) and moved or copied into place with ``tfhub_module.pb`` last. An
existing module is never touched.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hubpub._tf import tf
from hubpub.errors import ExportError, SpecError
from hubpub.files import fspath
from hubpub.spec.files import ASSETS_COLLECTION, MODULE_DEF_FILE, SAVED_MODEL_FILE
from hubpub.spec.protos import FORMAT_V3, ModuleDef

__all__ = ["ASSET_PLACEHOLDER", "bake_assets", "write_module"]

ASSET_PLACEHOLDER = b"SAVEDMODEL-ASSET"
_TABLE_SHARED_NAME = re.compile(r"^(hash_table_)(.+)(_-?\d+_-?\d+)$")


def _assign_asset_names(sources: list[str]) -> dict[str, str]:
    """Source path -> file name under ``assets/``; clashing basenames get 0, 1, ... appended."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for source in sources:
        if source in names:
            continue
        base = os.path.basename(source)
        name, i = base, 0
        while name in taken:
            name, i = f"{base}{i}", i + 1
        names[source] = name
        taken.add(name)
    return names


def bake_assets(saved_model: Any) -> dict[str, str]:
    """Replace asset paths in every variant by placeholders; return ``{file name: source}``.

    Also rewrites lookup-table ``shared_name``s that embed a source path, so that no path
    from the publisher's machine is left in ``saved_model.pb``.
    """
    from tensorflow.core.protobuf import meta_graph_pb2

    sources_in_order: list[str] = []
    per_variant = []
    for meta in saved_model.meta_graphs:
        nodes = {n.name: n for n in meta.graph_def.node}
        entries = []
        for tensor_name in meta.collection_def["asset_filepaths"].node_list.value \
                if "asset_filepaths" in meta.collection_def else []:
            node_name, _, index = tensor_name.partition(":")
            node = nodes.get(node_name)
            if index != "0" or node is None or node.op != "Const":
                raise SpecError(f"Asset path tensor {tensor_name!r} must be the output of a "
                                "Const node holding a scalar string")
            value = tf.make_ndarray(node.attr["value"].tensor)
            if value.dtype.kind not in "SO" or value.size != 1:
                raise SpecError(f"Asset path node {node_name!r} must hold a scalar string")
            source = value.reshape(()).item()
            source = source.decode() if isinstance(source, bytes) else str(source)
            entries.append((tensor_name, node, source))
            sources_in_order.append(source)
        per_variant.append((meta, entries))
    names = _assign_asset_names(sources_in_order)
    for meta, entries in per_variant:
        meta.collection_def.pop(ASSETS_COLLECTION, None)
        defs = []
        for tensor_name, node, source in entries:
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(ASSET_PLACEHOLDER))
            defs.append(meta_graph_pb2.AssetFileDef(filename=names[source]))
            defs[-1].tensor_info.name = tensor_name
        for asset_def in sorted(defs, key=lambda d: d.tensor_info.name):
            meta.collection_def[ASSETS_COLLECTION].any_list.value.add().Pack(asset_def)
        _scrub_table_shared_names(meta, names)
        _scrub_restore_prefixes(meta)
    return {name: source for source, name in names.items()}


def _is_machine_path(path: str) -> bool:
    """An absolute local path or a filesystem URL (file://, gs://, ...) of the publisher's."""
    return os.path.isabs(path) or bool(fspath.scheme(path))


def _scrub_restore_prefixes(meta: Any) -> None:
    """Drop absolute checkpoint paths that ``init_from_checkpoint`` baked into the graph.

    A module built on another module (or calling init_from_checkpoint in module_fn) carries
    initializers that restore from that checkpoint on the publisher's machine. An exported
    module's variables are always restored from its own ``variables/`` instead (hub.Module
    replaces the initializers, tf.saved_model.load uses a Saver), so the path is dead weight.
    """
    nodes = {n.name: n for n in meta.graph_def.node}
    for node in meta.graph_def.node:
        if node.op != "RestoreV2" or not node.input:
            continue
        prefix = nodes.get(node.input[0].split(":")[0])
        if prefix is None or prefix.op != "Const":
            continue
        values = prefix.attr["value"].tensor.string_val
        if len(values) == 1 and _is_machine_path(values[0].decode("utf-8", "replace")):
            values[0] = b"variables/variables"


def _scrub_table_shared_names(meta: Any, names: Mapping[str, str]) -> None:
    for node in meta.graph_def.node:
        if "shared_name" not in node.attr:
            continue
        shared = node.attr["shared_name"].s.decode("utf-8", "replace")
        match = _TABLE_SHARED_NAME.match(shared)
        if not match or not _is_machine_path(match.group(2)):
            continue
        path = match.group(2)
        replacement = names.get(path, os.path.basename(path))
        node.attr["shared_name"].s = (match.group(1) + replacement + match.group(3)).encode()


_MODULE_ENTRIES = ("assets", "variables", SAVED_MODEL_FILE, MODULE_DEF_FILE)  # tfhub_module.pb last


def _check_target(path: str, entries: list[str] | None) -> None:
    """Refuse a target that is a file, holds a module, or holds folders the module would replace.

    ``entries`` lists the existing folder (None: nothing there yet).
    """
    if entries is None:
        return
    names = {e.rstrip("/") for e in entries}
    if SAVED_MODEL_FILE in names or MODULE_DEF_FILE in names:
        raise ExportError(f"{path} already exists and holds a module; hubpub does not export onto "
                          "an existing module. Export to a new path, or remove it first.")
    clash = sorted(names & {"assets", "variables"})
    if clash:
        raise ExportError(f"{path} already exists and holds {clash}, which the module's own "
                          "would replace; export to a new or empty folder.")


def _local_entries(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    if not path.is_dir():
        raise ExportError(f"{path} already exists and is not a folder; export to a new path.")
    return [p.name for p in path.iterdir()]


def _stage(saved_model: Any, folder: Path,
           write_variables: Callable[[str], None] | None) -> None:
    """Write every file of the module into ``folder`` (an empty private folder)."""
    saved_model = copy.deepcopy(saved_model)
    assets = bake_assets(saved_model)
    (folder / "assets").mkdir()
    for name, source in sorted(assets.items()):
        _copy_asset(source, folder / "assets" / name, name)
    (folder / "variables").mkdir()  # always, as the old library (empty without variables)
    if write_variables is not None:
        write_variables(str(folder / "variables" / "variables"))
    (folder / SAVED_MODEL_FILE).write_bytes(saved_model.SerializeToString(deterministic=True))
    (folder / MODULE_DEF_FILE).write_bytes(ModuleDef(format=FORMAT_V3).SerializeToString())


def _copy_asset(source: str, dest: Path, name: str) -> None:
    if fspath.is_local(source):
        local = fspath.to_local(source)
        if not os.path.isfile(local):
            raise ExportError(f"asset file {source} does not exist (needed as assets/{name})")
        shutil.copyfile(local, dest)
        return
    gfile = fspath.gfile()
    if not gfile.exists(source) or gfile.isdir(source):
        raise ExportError(f"asset file {source} does not exist (needed as assets/{name})")
    gfile.copy(source, str(dest))


def _private_folder(parent: Path, prefix: str) -> Path:
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    except OSError as exc:
        raise ExportError(f"cannot write to {parent}: {exc.strerror}") from exc
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a module folder is not
    return tmp


def _write_local(saved_model: Any, path: Path,
                 write_variables: Callable[[str], None] | None) -> Path:
    entries = _local_entries(path)
    _check_target(str(path), entries)
    if entries:
        # A folder holding other files (the old library exported there): stage inside it,
        # then move the module's entries in, tfhub_module.pb last, so that no reader ever
        # sees a module before it is complete.
        tmp = _private_folder(path, ".hubpub-export.")
        moved: list[Path] = []
        try:
            _stage(saved_model, tmp, write_variables)
            for name in _MODULE_ENTRIES:
                os.rename(tmp / name, path / name)
                moved.append(path / name)
        except BaseException:
            for done in reversed(moved):
                shutil.rmtree(done) if done.is_dir() else done.unlink()
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return path
    tmp = _private_folder(path.parent, f".{path.name}.")
    try:
        _stage(saved_model, tmp, write_variables)
        if entries is not None:
            path.rmdir()  # an empty folder, checked above
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, most often
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"cannot write the module to {path}: {exc.strerror or exc}") from exc
    except tf.errors.OpError as exc:  # the checkpoint writer's own (ResourceExhausted: full)
        shutil.rmtree(tmp, ignore_errors=True)
        reason = next((line.strip() for line in exc.message.splitlines()
                       if "No space left" in line), exc.message.splitlines()[0])
        raise ExportError(f"cannot write the module's variables to {path}: {reason}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _write_gfile(saved_model: Any, path: str,
                 write_variables: Callable[[str], None] | None) -> str:
    """A TensorFlow filesystem target (gs://, s3://, ram://, ...): no renames there.

    Staged locally, then copied file by file with tfhub_module.pb last; on failure the copied
    files are removed again.
    """
    gfile = fspath.gfile()
    entries = None
    if gfile.exists(path):
        if not gfile.isdir(path):
            raise ExportError(f"{path} already exists and is not a folder; export to a new path.")
        entries = gfile.listdir(path)
    _check_target(path, entries)
    stage = Path(tempfile.mkdtemp(prefix="hubpub-export-"))
    copied: list[str] = []
    try:
        _stage(saved_model, stage, write_variables)
        gfile.makedirs(path)
        for name in _MODULE_ENTRIES:
            source = stage / name
            dest = fspath.join(path, name)
            if source.is_dir():
                gfile.makedirs(dest)
                copied.append(dest)
                for child in sorted(source.iterdir()):
                    gfile.copy(str(child), fspath.join(dest, child.name))
            else:
                gfile.copy(str(source), dest)
                copied.append(dest)
    except BaseException:
        for done in reversed(copied):
            with contextlib.suppress(Exception):  # best effort: the filesystem may be gone
                gfile.rmtree(done) if gfile.isdir(done) else gfile.remove(done)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return path


def write_module(saved_model: Any, path: str | Path, *,
                 write_variables: Callable[[str], None] | None = None) -> Path | str:
    """Write a module directory: assets, variables (through the callback), protos.

    ``write_variables(prefix)`` writes a V2 checkpoint at ``prefix`` (``.../variables/variables``).
    ``path`` may be a folder that exists without a module in it, a ``file://`` URL or a
    TensorFlow filesystem URL (returned as a string).
    """
    target = os.fspath(path)
    if fspath.is_local(target):
        return _write_local(saved_model, Path(fspath.to_local(target)), write_variables)
    return _write_gfile(saved_model, target, write_variables)
