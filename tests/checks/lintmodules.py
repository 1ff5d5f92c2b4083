"""Real modules on disk for the lint tests: exported specs, hand-edited protos, tarballs.

``export`` goes through hubpub's own ``create_module_spec`` and export, like a publisher.
``write_module`` writes a SavedModel proto as a module directory as is: it makes modules that
hubpub refuses to author (unsupported collections, unknown ops), the way another tool or an
old TensorFlow would have written them. ``pack`` makes tarballs laid out like ``tar`` does.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from hubpub.checks.config import LintConfig
from hubpub.checks.findings import Finding
from hubpub.commands.lint import lint_target

MODULE_DEF = b"\x08\x03"  # ModuleDef{format: FORMAT_V3}


def export(module_fn: Callable[..., Any], path: Path, tags_and_args: Any = None) -> Path:
    import hubpub as hub

    spec = hub.create_module_spec(module_fn, tags_and_args)
    spec.export(str(path), checkpoint_path=None)
    return path


def spec_proto(module_fn: Callable[..., Any], tags_and_args: Any = None) -> Any:
    """The SavedModel proto of a spec (a copy the caller may edit)."""
    from tensorflow.core.protobuf import saved_model_pb2

    import hubpub as hub

    copy = saved_model_pb2.SavedModel()
    copy.CopyFrom(hub.create_module_spec(module_fn, tags_and_args).saved_model)
    return copy


def raw_saved_model(*variants: tuple[Callable[[], Mapping[str, tuple[dict, dict]]],
                                     Iterable[str]]) -> Any:
    """A SavedModel proto built with plain ``tf.compat.v1``, bypassing hubpub's authoring
    checks: each ``(graph_fn, tags)`` builds one variant in a fresh graph and returns
    ``{signature: (inputs, outputs)}``."""
    from tensorflow.core.protobuf import saved_model_pb2

    from hubpub._tf import tf

    v1 = tf.compat.v1
    saved_model = saved_model_pb2.SavedModel()
    for graph_fn, tags in variants:
        with tf.Graph().as_default():
            signatures = graph_fn()
            meta = v1.train.export_meta_graph(strip_default_attrs=True)
            for name, (inputs, outputs) in signatures.items():
                sig = meta.signature_def[name]
                for key, tensor in inputs.items():
                    sig.inputs[key].CopyFrom(v1.saved_model.utils.build_tensor_info(tensor))
                for key, tensor in outputs.items():
                    sig.outputs[key].CopyFrom(v1.saved_model.utils.build_tensor_info(tensor))
        meta.meta_info_def.tags.extend(sorted(tags))
        saved_model.meta_graphs.add().CopyFrom(meta)
    return saved_model


def write_module(path: Path, saved_model: Any) -> Path:
    """A module directory holding ``saved_model``, with a checkpoint of zeros for its
    variables (nothing of the graph runs), so that it loads as far as the checkpoint."""
    path.mkdir(parents=True)
    (path / "tfhub_module.pb").write_bytes(MODULE_DEF)
    (path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (path / "assets").mkdir()
    _write_zero_checkpoint(saved_model, path / "variables")
    return path


def _write_zero_checkpoint(saved_model: Any, folder: Path) -> None:
    import numpy as np

    from hubpub._tf import tf

    zeros: dict[str, Any] = {}
    for meta in saved_model.meta_graphs:
        for node in meta.graph_def.node:
            if node.op in ("VariableV2", "VarHandleOp"):
                shape = [d.size for d in node.attr["shape"].shape.dim]
                dtype = tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype
                zeros.setdefault(node.name, np.zeros(shape, dtype))
    if not zeros:
        return
    folder.mkdir()
    names = sorted(zeros)
    tf.raw_ops.SaveV2(prefix=str(folder / "variables"), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=[zeros[n] for n in names])


def pack(module_dir: Path, tarball: Path, *, prefix: str = "",
         extra: Mapping[str, bytes | None] = {}) -> Path:
    """Tar ``module_dir`` under ``prefix`` (e.g. ``"mymodule/"``), plus extra members
    (``None`` makes a directory)."""
    with tarfile.open(tarball, "w:gz") as tar:
        if prefix:
            tar.add(module_dir, arcname=prefix.rstrip("/"))
        else:
            for child in sorted(module_dir.iterdir()):
                tar.add(child, arcname=child.name)
        for name, content in extra.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return tarball


def lint(target: Path | str, config: LintConfig | None = None, *,
         codes: Iterable[str] | None = None) -> list[Finding]:
    """All findings for a target, optionally only those of some codes."""
    findings = lint_target(str(target), config or LintConfig())
    return [f for f in findings if codes is None or f.code in set(codes)]
