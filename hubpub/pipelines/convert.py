"""TF1 Hub format module -> TF2 Reusable SavedModel (what ``hub.KerasLayer`` fine-tunes).

The module's graphs are imported into one ``tf.compat.v1.wrap_function`` graph, the way
``hubpub.Module`` instantiates them: the state (variables, tables) once, from the train
variant, then each variant again as an *apply* graph whose state nodes are fed from that
state. ``wrap_function`` lifts the variables into eager ones, so the train and inference
functions pruned from the graph share one set of variables. The train function runs the train
variant's UPDATE_OPS before it returns; each REGULARIZATION_LOSSES tensor becomes a function of
no arguments. Tables are filled by a resource whose initializer takes the asset files as
``tf.saved_model.Asset``s, so the output keeps working after it is moved.

The result follows the TF Hub "Reusable SavedModel" API: ``__call__(inputs, training=False)``,
``variables``, ``trainable_variables``, ``regularization_losses``, and a serving signature
for every TF1 signature, under the same name. ``assets.extra/hubpub.json`` records the source
module and its attachments (image size).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubpub._tf import tf
from hubpub.consumer.module import as_state_placeholder
from hubpub.errors import ConvertError, ExportError
from hubpub.spec.files import ASSETS_COLLECTION, read_module_def, read_saved_model
from hubpub.spec.instance import import_meta_graph, keep_collections
from hubpub.spec.module_spec import ModuleSpec, is_state_op
from hubpub.spec.requirements import import_requirements, recorded_requirements
from hubpub.spec.tf2 import is_resource_state, pick_variants, unconvertible_state

__all__ = ["METADATA_FILE", "ConvertResult", "convert_in_fresh_process", "convert_module",
           "tf2_metadata"]

METADATA_FILE = "assets.extra/hubpub.json"

log = logging.getLogger(__name__)

_GK = tf.compat.v1.GraphKeys
_STATE_COLLECTIONS = (_GK.GLOBAL_VARIABLES, _GK.TRAINABLE_VARIABLES, _GK.TABLE_INITIALIZERS,
                      _GK.REGULARIZATION_LOSSES, _GK.COND_CONTEXT, _GK.WHILE_CONTEXT)
_APPLY_COLLECTIONS = (_GK.COND_CONTEXT, _GK.WHILE_CONTEXT)
# Table shared_names must differ between conversions in one process (they are per process).
_TABLE_IDS = itertools.count()


@dataclass
class ConvertResult:
    """What ``convert_module`` wrote."""

    out_dir: Path
    train_tags: list[str]
    inference_tags: list[str]
    signatures: list[str]
    variables: int
    trainable_variables: int
    regularization_losses: int
    update_ops: int
    assets: list[str] = field(default_factory=list)
    # Signatures TF2 serving signatures cannot express (sparse or ragged tensors), with why.
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass
class _Variant:
    """One variant imported as an apply graph: signature tensors by name."""

    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    update_ops: list[Any] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)


def _pick_variants(saved_model: Any, where: str) -> tuple[Any, Any]:
    """(train meta graph, inference meta graph); one variant serves both when alone."""
    variants = {frozenset(m.meta_info_def.tags): m for m in saved_model.meta_graphs}
    picked = pick_variants(list(variants))
    if picked is None:
        found = [sorted(t) for t in sorted(variants, key=sorted)]
        raise ConvertError(f"{where}: no inference variant (tags []) among {found}; a TF2 "
                           "export needs the variant consumers run for inference")
    return variants[picked[0]], variants[picked[1]]


def _state_nodes(meta: Any) -> dict[str, Any]:
    return {n.name: n for n in meta.graph_def.node if is_state_op(n)}


def _check_state(train: Any, inference: Any, where: str) -> None:
    """The inference variant's state must be the train variant's: one set of variables."""
    train_state = _state_nodes(train)
    for name, node in _state_nodes(inference).items():
        other = train_state.get(name)
        if other is None or other.op != node.op:
            raise ConvertError(
                f"{where}: node '{name}' ({node.op}) of the inference variant has no "
                "counterpart in the train variant; both variants must hold the same "
                "variables and tables to share them in one TF2 SavedModel")
    for name, node in train_state.items():
        problem = unconvertible_state(node)
        if problem:
            raise ConvertError(f"{where}: node '{name}' ({node.op}): {problem}")


def _attr_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "type":
        return tf.dtypes.as_dtype(value.type)
    if kind == "shape":
        return tf.TensorShape(value.shape)
    if kind == "s":
        return value.s.decode()
    if kind in ("i", "f", "b"):
        return getattr(value, kind)
    if kind == "list" and value.list.type:
        return [tf.dtypes.as_dtype(t) for t in value.list.type]
    if kind == "list" and value.list.shape:
        return [tf.TensorShape(s) for s in value.list.shape]
    raise ConvertError(f"attribute of kind {kind!r} is not supported on a table op")


class _Resource(tf.saved_model.experimental.TrackableResource):
    """A table (or other resource) of the TF1 graph, created eagerly so functions capture it.

    Resources shared by name do not survive a TF2 SavedModel (each loaded function gets its
    own shared_name suffix); a captured handle does.
    """

    def __init__(self, node: Any, shared_name: str) -> None:
        self._op: Any = getattr(tf.raw_ops, node.op, None)
        if self._op is None:
            raise ConvertError(f"node '{node.name}': op {node.op} has no TF2 function")
        self._attrs = {key: _attr_value(value) for key, value in node.attr.items()
                       if not key.startswith("_")}
        self._attrs["shared_name"] = shared_name
        if "use_node_name_sharing" in self._attrs:
            self._attrs["use_node_name_sharing"] = False
        super().__init__()

    def _create_resource(self) -> Any:
        return self._op(**self._attrs)


def _not_dense(signature: Any) -> str | None:
    """Why a signature cannot be a TF2 serving signature of dense tensors, or None."""
    for kind, infos in (("input", signature.inputs), ("output", signature.outputs)):
        for key, info in sorted(infos.items()):
            encoding = info.WhichOneof("encoding")
            if encoding != "name":
                what = "sparse" if encoding == "coo_sparse" else "composite (ragged)"
                return f"{kind} '{key}' is a {what} tensor"
    return None


def _signature_tensors(graph: Any, infos: Any, scope: str) -> dict[str, Any]:
    return {key: graph.get_tensor_by_name(f"{scope}/{info.name}" if scope else info.name)
            for key, info in infos.items()}


def _fed_from_state(meta: Any, state: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the nodes ``state`` holds into resource placeholders; returns the input_map."""
    input_map = {}
    for node in meta.graph_def.node:
        tensor = state.get(node.name)
        if tensor is None:
            continue
        as_state_placeholder(node)
        input_map[f"{node.name}:0"] = tensor
    return input_map


def _import_variant(graph: Any, meta: Any, state: Mapping[str, Any], scope: str, *,
                    collections: tuple[str, ...], where: str) -> _Variant:
    """Import one variant's graph with its state nodes fed from ``state``."""
    meta = copy.deepcopy(meta)
    input_map = _fed_from_state(meta, state)
    keep_collections(meta, collections)
    import_meta_graph(meta, input_map=input_map, import_scope=scope)
    variant = _Variant()
    tags = sorted(meta.meta_info_def.tags)
    for name, sig in meta.signature_def.items():
        problem = _not_dense(sig)
        if problem and name == "default":
            raise ConvertError(
                f"{where}: variant {tags} signature 'default': {problem}; __call__ runs the "
                "default signature and takes dense tensors only")
        if problem:
            variant.left_out[name] = f"variant {tags} signature '{name}': {problem}"
            continue
        variant.inputs[name] = _signature_tensors(graph, sig.inputs, scope)
        variant.outputs[name] = _signature_tensors(graph, sig.outputs, scope)
    if _GK.UPDATE_OPS in collections:
        variant.update_ops = [op for op in graph.get_collection(_GK.UPDATE_OPS)
                              if op.name.startswith(scope + "/")]
    return variant


class _TableInitializer(tf.saved_model.experimental.TrackableResource):
    """Fills the module's tables when the SavedModel is loaded, from its (moved) assets."""

    def __init__(self, init_fn: Any, assets: list[Any]) -> None:
        super().__init__()
        self._init_fn = init_fn
        self._assets = assets

    def _create_resource(self) -> Any:
        return tf.constant(0)  # nothing to create: the tables are resources of their own

    def _initialize(self) -> Any:
        return self._init_fn(*[a.asset_path for a in self._assets])


def _restore(variables: list[Any], meta: Any, module_dir: Path, where: str) -> None:
    """Assign each lifted variable its value from the module's checkpoint."""
    from tensorflow.core.framework import variable_pb2

    if not variables:
        return
    prefix = module_dir / "variables" / "variables"
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except (tf.errors.OpError, ValueError) as exc:
        raise ConvertError(f"{where}: cannot read the variables checkpoint {prefix}") from exc
    by_name = {v.name.split(":")[0]: v for v in variables}
    for raw in meta.collection_def[_GK.GLOBAL_VARIABLES].bytes_list.value:
        proto = variable_pb2.VariableDef.FromString(raw)
        name = proto.variable_name.split(":")[0]
        var = by_name.pop(name, None)
        if var is None:
            continue
        info = proto.save_slice_info_def
        key = info.full_name or name
        if not reader.has_tensor(key):
            raise ConvertError(f"{where}: variable '{name}' is missing from the checkpoint "
                               f"{prefix} (key '{key}')")
        value = reader.get_tensor(key)
        if info.full_name:
            value = value[tuple(slice(o, o + s) for o, s in zip(info.var_offset, info.var_shape,
                                                                 strict=True))]
        var.assign(value)
    if by_name:
        raise ConvertError(f"{where}: variables {sorted(by_name)} are not in the graph's "
                           "GLOBAL_VARIABLES collection, so their values cannot be restored")


def _spec_of(tensor: Any, name: str) -> Any:
    return tf.TensorSpec(tensor.shape, tensor.dtype, name=name)


def _metadata(module_dir: Path, source: str, train: Any, inference: Any) -> dict[str, Any]:
    from hubpub.spec.image import IMAGE_MODULE_INFO_KEY, ImageModuleInfo

    attachments = ModuleSpec._parse_attachments(inference)
    image_size = None
    if IMAGE_MODULE_INFO_KEY in attachments:
        info = ImageModuleInfo.FromString(attachments[IMAGE_MODULE_INFO_KEY])
        size = info.default_image_size
        if size.height and size.width:
            image_size = [size.height, size.width]
    return {
        "format": "hubpub-tf2/1",
        "source": source,
        "source_saved_model_sha256": hashlib.sha256(
            (module_dir / "saved_model.pb").read_bytes()).hexdigest(),
        "train_tags": sorted(train.meta_info_def.tags),
        "inference_tags": sorted(inference.meta_info_def.tags),
        "image_size": image_size,
        "attachments": {key: base64.b64encode(value).decode("ascii")
                        for key, value in sorted(attachments.items())},
    }


def tf2_metadata(tf2_dir: str | Path) -> dict[str, Any]:
    """What ``convert_module`` recorded about the source module (``assets.extra/hubpub.json``)."""
    return json.loads((Path(tf2_dir) / METADATA_FILE).read_text(encoding="utf-8"))


def _check_default_signatures(train: Any, inference: Any, where: str) -> None:
    """``__call__`` runs the default signature of both variants: same inputs in both."""
    if "default" not in inference.signature_def:
        raise ConvertError(f"{where}: no 'default' signature; __call__ runs the default one")
    wanted = sorted(inference.signature_def["default"].inputs)
    found = (sorted(train.signature_def["default"].inputs)
             if "default" in train.signature_def else None)
    if found != wanted:
        raise ConvertError(
            f"{where}: the 'default' signature of variant {sorted(train.meta_info_def.tags)} "
            f"takes {found if found is not None else 'nothing (it is missing)'}, the "
            f"inference variant's takes {wanted}; __call__ switches between them with "
            "training=, so both need the same inputs")


def convert_module(module_dir: str | Path, out_dir: str | Path, *, source: str | None = None
                   ) -> ConvertResult:
    """Write the TF2 Reusable SavedModel of the TF1 Hub module in ``module_dir`` to ``out_dir``.

    ``out_dir`` must not exist; it is written beside, then renamed into place. ``source`` is
    recorded as the pointer back to the TF1 module (default: ``module_dir``).
    """
    module_dir = Path(module_dir)
    out_dir = Path(out_dir)
    where = str(source or module_dir)
    read_module_def(module_dir)  # a TF1 Hub format module, or a clear error
    saved_model = read_saved_model(module_dir)
    import_requirements(recorded_requirements(saved_model.meta_graphs), only_known=True)
    train, inference = _pick_variants(saved_model, where)
    _check_state(train, inference, where)
    _check_default_signatures(train, inference, where)
    if out_dir.exists():
        raise ExportError(f"{out_dir} already exists; the TF2 export never overwrites")
    asset_files = _asset_files(train, module_dir, where)
    module = _import_module(train, inference, where)
    _restore(module.variables, train, module_dir, where)
    obj = _reusable_object(module, asset_files)
    signatures = {name: _serving_signature(module, name)
                  for name in sorted(module.inference.inputs)}
    metadata = _metadata(module_dir, where, train, inference)
    metadata["left_out_signatures"] = dict(module.inference.left_out)
    for note in module.inference.left_out.values():
        log.warning("%s: %s: not a TF2 serving signature (left out); the TF1 module keeps it",
                    where, note)
    staging = _staging_dir(out_dir)
    try:
        tf.saved_model.save(obj, str(staging / "model"), signatures=signatures)
        _fix_fingerprint_uuid(staging / "model")
        extra = staging / "model" / METADATA_FILE
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(staging / "model", out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ConvertResult(
        out_dir, sorted(train.meta_info_def.tags), sorted(inference.meta_info_def.tags),
        sorted(signatures), len(obj.variables), len(obj.trainable_variables),
        len(obj.regularization_losses), len(module.train.update_ops),
        [path.name for path, _ in asset_files], dict(module.inference.left_out))


@dataclass
class _Imported:
    """Both variants in one wrapped function, sharing the lifted variables and the tables."""

    wrapped: Any
    train: _Variant
    inference: _Variant
    tables: list[_Resource]
    losses: list[Any]
    table_initializers: list[Any]

    where: str

    @property
    def variables(self) -> list[Any]:
        return list(self.wrapped.variables)

    def prune(self, feeds: list[Any], fetches: Any, what: str) -> Any:
        """A function of ``feeds`` computing ``fetches``; ConvertError when they need more."""
        from tensorflow.python.eager.lift_to_graph import UnliftableError

        try:
            return self.wrapped.prune(feeds=feeds, fetches=fetches)
        except (UnliftableError, ValueError) as exc:
            raise ConvertError(f"{self.where}: {what} cannot be cut out of the graph: "
                               f"{str(exc).splitlines()[0]}") from exc


def _import_module(train: Any, inference: Any, where: str) -> _Imported:
    resource_nodes = [n for n in _state_nodes(train).values() if is_resource_state(n)]
    tables = {n.name: _Resource(n, f"hubpub_{next(_TABLE_IDS)}_{n.name}")
              for n in resource_nodes if n.op != "VarHandleOp"}
    handles = {name: table.resource_handle for name, table in tables.items()}  # eager
    variable_names = [n.name for n in resource_nodes if n.op == "VarHandleOp"]
    held: dict[str, Any] = {}

    def import_graphs() -> None:
        graph = tf.compat.v1.get_default_graph()
        table_handles = {name: graph.capture(handle) for name, handle in handles.items()}
        _import_variant(graph, train, table_handles, "", collections=_STATE_COLLECTIONS,
                        where=where)
        state = dict(table_handles)
        state.update({name: graph.get_tensor_by_name(f"{name}:0") for name in variable_names})
        held["train"] = _import_variant(graph, train, state, "train",
                                        collections=_APPLY_COLLECTIONS + (_GK.UPDATE_OPS,),
                                        where=where)
        held["inference"] = (_import_variant(graph, inference, state, "inference",
                                             collections=_APPLY_COLLECTIONS, where=where)
                             if inference is not train else held["train"])
        train_default = held["train"].outputs["default"]
        with tf.control_dependencies(held["train"].update_ops):  # training=True updates
            held["train"].outputs["default"] = {k: tf.identity(v)
                                                for k, v in train_default.items()}
        held["losses"] = list(graph.get_collection(_GK.REGULARIZATION_LOSSES))
        held["table_initializers"] = list(graph.get_collection(_GK.TABLE_INITIALIZERS))

    try:
        wrapped = tf.compat.v1.wrap_function(import_graphs, signature=[])
    except (ValueError, TypeError, KeyError, tf.errors.OpError) as exc:
        raise ConvertError(f"{where}: the module's graphs cannot be imported into a TF2 "
                           f"function: {str(exc).splitlines()[0]}") from exc
    return _Imported(wrapped, held["train"], held["inference"], list(tables.values()),
                     held["losses"], held["table_initializers"], where)


def _reusable_object(module: _Imported, asset_files: list[tuple[Path, str]]) -> Any:
    """The object tf.saved_model.save writes: the Reusable SavedModel attributes."""
    obj = _Reusable()
    obj.variables = module.variables
    obj.trainable_variables = [v for v in obj.variables if v.trainable]
    obj.regularization_losses = [
        _no_args(module.prune([], loss, f"regularization loss '{loss.name}'"))
        for loss in module.losses]
    obj.tables = module.tables
    obj.assets = [tf.saved_model.Asset(str(path)) for path, _ in asset_files]
    if module.table_initializers:
        graph = module.wrapped.graph
        feeds = [graph.get_tensor_by_name(tensor) for _, tensor in asset_files]
        anchor = feeds[0] if feeds else None
        init_fn = module.prune(feeds, module.table_initializers
                               + ([anchor] if anchor is not None else []),
                               "the table initializers")
        obj.table_initializer = _TableInitializer(init_fn, obj.assets)
        obj.table_initializer._initialize()  # fill them now too: the smoke test reads them
    obj.__call__ = _call_function(module)
    return obj


def _call_function(module: _Imported) -> Any:
    """``__call__(inputs, training=False)`` over the default signature of both variants."""
    inputs = module.inference.inputs["default"]
    keys = sorted(inputs)
    out_keys = sorted(module.inference.outputs["default"])
    pruned = {training: module.prune([variant.inputs["default"][k] for k in keys],
                                     variant.outputs["default"],
                                     f"signature 'default' of variant {label} (with its "
                                     "update ops)" if training else
                                     f"signature 'default' of variant {label}")
              for training, variant, label in ((True, module.train, "train"),
                                               (False, module.inference, "inference"))}
    single_input = len(keys) == 1

    def call(inputs: Any, training: bool = False) -> Any:
        if single_input and not isinstance(inputs, Mapping):
            flat = [inputs]
        else:
            flat = [inputs[k] for k in keys]
        outputs = pruned[bool(training)](*flat)
        return outputs[out_keys[0]] if len(out_keys) == 1 else outputs

    function = tf.function(call)
    specs = {k: _spec_of(inputs[k], k) for k in keys}
    arg = specs[keys[0]] if single_input else specs
    for training in (False, True):
        function.get_concrete_function(arg, training=training)
    return function


class _Reusable(tf.Module):
    """The saved root; plain attributes, so ``variables`` can be set as the API requires."""

    def __init__(self) -> None:
        super().__init__(name="hubpub_module")

    # Plain attributes shadow tf.Module's properties (tf.Module is Any to mypy).
    variables: Any = None
    trainable_variables: Any = None


def _no_args(pruned: Any) -> Any:
    function = tf.function(lambda: pruned())
    function.get_concrete_function()
    return function


def _serving_signature(module: _Imported, name: str) -> Any:
    variant = module.inference
    keys = sorted(variant.inputs[name])
    pruned = module.prune([variant.inputs[name][k] for k in keys], variant.outputs[name],
                          f"signature '{name}'")
    specs = [_spec_of(variant.inputs[name][k], k) for k in keys]
    function = tf.function(lambda *args: pruned(*args), input_signature=specs)
    return function.get_concrete_function()


def _asset_files(meta: Any, module_dir: Path, where: str) -> list[tuple[Path, str]]:
    """(file under assets/, name of the graph tensor that holds its path) for each asset."""
    from tensorflow.core.protobuf import meta_graph_pb2

    if ASSETS_COLLECTION not in meta.collection_def:
        return []
    out = []
    for packed in meta.collection_def[ASSETS_COLLECTION].any_list.value:
        asset = meta_graph_pb2.AssetFileDef()
        packed.Unpack(asset)
        path = module_dir / "assets" / asset.filename
        if not path.is_file():
            raise ConvertError(f"{where}: asset {asset.filename!r} is missing from assets/")
        out.append((path, asset.tensor_info.name))
    return out


def _fix_fingerprint_uuid(saved_model_dir: Path) -> None:
    """Replace the random ``uuid`` of fingerprint.pb by one derived from its content hashes.

    Everything else TensorFlow writes is the same for the same module; with this, so is the
    TF2 tarball.
    """
    from tensorflow.core.protobuf import fingerprint_pb2

    path = saved_model_dir / "fingerprint.pb"
    if not path.is_file():
        return
    fingerprint = fingerprint_pb2.FingerprintDef.FromString(path.read_bytes())
    if not fingerprint.uuid:
        return
    fingerprint.uuid = ""
    digest = hashlib.sha256(fingerprint.SerializeToString(deterministic=True)).hexdigest()
    fingerprint.uuid = str(int(digest[:32], 16))
    path.write_bytes(fingerprint.SerializeToString(deterministic=True))


def _staging_dir(out_dir: Path) -> Path:
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as exc:
        raise ExportError(f"cannot write {out_dir}: {exc.strerror or exc}") from exc


def convert_in_fresh_process(module_dir: str | Path, out_dir: str | Path, *, source: str,
                             timeout: float) -> ConvertResult:
    """``convert_module`` in a fresh, confined Python process (``hubpub.execution.sandbox``).

    Converting runs the module (its initializers, to read the variables), so it gets what the
    smoke test gets: a child that may read only the module and write only its private folder
    and a staging folder beside ``out_dir``, moved into place here once the child delivered
    its result. And TensorFlow numbers the functions it saves with a per-process counter: in
    a fresh process the same module always gives the same bytes, whatever the caller did
    before (``hubpub build`` traced and exported the TF1 graphs already).
    """
    import sys

    from hubpub.errors import CheckFailure
    from hubpub.execution.process_exit import missing_result, run_child
    from hubpub.execution.sandbox import child_env
    from hubpub.files.outdir import private_temp_folder

    out_dir = Path(out_dir)
    if out_dir.exists():
        raise ExportError(f"{out_dir} already exists; the TF2 export never overwrites")
    staging = _staging_dir(out_dir)
    try:
        with private_temp_folder("hubpub-convert-") as private:
            argv = [sys.executable, "-m", "hubpub.pipelines.convert",
                    str(Path(module_dir).resolve()), str(staging / "model"), source]
            env = child_env(private, dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                            readable=[Path(module_dir)], writable=[staging])
            try:
                done = run_child(argv, what=f"{source}: the TF2 conversion", timeout=timeout,
                                 env=env, cwd=private)
            except CheckFailure as exc:  # the time limit
                raise ConvertError(str(exc)) from None
            if done.returncode == 2 and done.stderr.strip():
                raise ConvertError(done.stderr.strip().splitlines()[-1])
            try:  # a child that ends without its result (or not with 0) failed
                fields = json.loads(done.stdout.strip().splitlines()[-1])
                if done.returncode != 0 or not (staging / "model").is_dir():
                    raise ValueError("no result")
            except (ValueError, IndexError):
                raise ConvertError(missing_result(f"{source}: the TF2 conversion process",
                                                  done.returncode, done.stderr)) from None
            os.replace(staging / "model", out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    fields["out_dir"] = out_dir
    return ConvertResult(**fields)


def _main(argv: list[str]) -> int:
    """``python -m hubpub.pipelines.convert MODULE_DIR OUT SOURCE``: one JSON line, or exit 2."""
    import sys
    from dataclasses import asdict

    from hubpub.errors import HubpubError
    from hubpub.execution.process_exit import die_with_parent
    from hubpub.execution.sandbox import confine_from_env

    die_with_parent()
    confine_from_env()  # first, while this process has one thread
    module_dir, out_dir, source = argv
    try:
        result = convert_module(module_dir, out_dir, source=source)
    except HubpubError as exc:
        print(str(exc).replace("\n", " "), file=sys.stderr)
        return 2
    print(json.dumps(asdict(result), default=str))
    return 0


if __name__ == "__main__":
    import sys

    from hubpub.execution.process_exit import exit_process

    exit_process(_main(sys.argv[1:]))
