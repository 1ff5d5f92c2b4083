"""``Module``: instantiate a spec inside the caller's TF1 graph, and apply its signatures.

Each instance imports the variant's graph once as its *state* (variables, tables), then every
call imports it again as an *apply* graph whose state nodes are rewired to the shared state.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hubpub import function_graphs
from hubpub._tf import tf
from hubpub.errors import ExportError, SpecError
from hubpub.spec.loading import load_module_spec
from hubpub.spec.module_spec import ModuleSpec, is_state_op
from hubpub.spec.tensor_info import ParsedTensorInfo, convert_inputs, tensor_names

__all__ = ["Module", "eval_function_for_module", "load"]

_GK = tf.compat.v1.GraphKeys
_STATE_COLLECTIONS = (_GK.GLOBAL_VARIABLES, _GK.MODEL_VARIABLES, _GK.TABLE_INITIALIZERS,
                      _GK.ASSET_FILEPATHS, _GK.COND_CONTEXT, _GK.WHILE_CONTEXT)
_TRAINABLE_STATE_COLLECTIONS = (_GK.TRAINABLE_VARIABLES, _GK.REGULARIZATION_LOSSES)
_APPLY_COLLECTIONS = (_GK.ASSET_FILEPATHS, _GK.COND_CONTEXT, _GK.WHILE_CONTEXT)


def _import_meta_graph(meta: Any, *, input_map: dict, import_scope: str) -> None:
    from tensorflow.python.framework import meta_graph

    meta_graph.import_scoped_meta_graph(meta, input_map=input_map, import_scope=import_scope)


def _keep_collections(meta: Any, keep: Iterable[str]) -> None:
    keep = set(keep)
    for key in list(meta.collection_def):
        if key not in keep:
            del meta.collection_def[key]


def _prefix_shared_names(meta: Any, prefix: str) -> None:
    """Give each instance its own resources: ``shared_name`` is per Session, not per scope."""
    for node in meta.graph_def.node:
        if "shared_name" in node.attr and node.attr["shared_name"].s:
            node.attr["shared_name"].s = f"{prefix}/".encode() + node.attr["shared_name"].s


def as_state_placeholder(node: Any) -> None:
    """Turn a state node into a resource placeholder, to be fed the imported state's handle."""
    shape = node.attr.get("shape")
    node.op = "Placeholder"
    node.ClearField("attr")
    node.attr["dtype"].type = tf.resource.as_datatype_enum
    if shape is not None:
        node.attr["shape"].CopyFrom(shape)
    node.ClearField("input")


class Module:
    """A module instantiated in the current graph (``hub.Module`` semantics)."""

    def __init__(self, spec: ModuleSpec | str | os.PathLike, trainable: bool = False,
                 name: str = "module", tags: Iterable[str] | None = None) -> None:
        if tf.executing_eagerly():
            raise SpecError("hub.Module works in graph mode only: create it inside "
                            "`with tf.Graph().as_default():` (or after "
                            "tf.compat.v1.disable_eager_execution()). In TF2 code use "
                            "hubpub.load(handle) instead.")
        self._graph = tf.compat.v1.get_default_graph()
        if isinstance(spec, (str, os.PathLike)):
            spec = load_module_spec(spec)
        if not isinstance(spec, ModuleSpec):
            raise SpecError(f"Unknown spec type: {type(spec).__name__}; pass a ModuleSpec or a "
                            "handle (module directory, tarball or URL)")
        self._spec = spec
        self._trainable = bool(trainable)
        self._tags = frozenset([tags] if isinstance(tags, str) else (tags or ()))
        if not spec.has_variant(self._tags):
            raise SpecError(f"No such graph variant: tags={sorted(self._tags) or None}. "
                            f"The module has {[sorted(t) for t in spec.get_tags()]}")
        self._meta = spec.meta_graph(self._tags)
        # State never depends on the caller's control dependencies; inside a function graph
        # it goes where its initializers will run (see hubpub.function_graphs).
        outside = function_graphs.state_goes_outside(self._graph)
        with tf.init_scope() if outside else tf.control_dependencies(None):
            if tf.executing_eagerly():
                raise SpecError("hub.Module inside a tf.function needs a TF1 graph around it "
                                "to hold its variables; in TF2 code use hubpub.load(handle), "
                                "or build the module inside tf.compat.v1.wrap_function.")
            self._state_graph = tf.compat.v1.get_default_graph()
            self._init_state(name)

    # --- construction -------------------------------------------------------------------
    def _init_state(self, name: str) -> None:
        graph = self._state_graph
        with tf.compat.v1.variable_scope(None, default_name=name,
                                         auxiliary_name_scope=False) as scope:
            self._scope = scope.name
        self._name = self._scope.rsplit("/", 1)[-1]
        parent = self._scope.rsplit("/", 1)[0] + "/" if "/" in self._scope else ""
        # unique_name() is relative to the current name scope: ask from the scope's parent.
        with graph.name_scope(parent or None):
            free = graph.unique_name(self._name, mark_as_used=False)
        if free != self._scope:
            raise RuntimeError(f"variable_scope {self._scope}/ was unused but the corresponding "
                               "name_scope was already taken.")
        with graph.name_scope(parent or None):
            self._state_map = self._import_state()
        self._variable_map = self._build_variable_map()
        if self._spec.checkpoint_path and self._variable_map:
            tf.compat.v1.train.init_from_checkpoint(self._spec.checkpoint_path,
                                                    self._variable_map)
        self._saver = (tf.compat.v1.train.Saver(self._variable_map, sharded=True,
                                                write_version=tf.compat.v1.train.SaverDef.V2)
                       if self._variable_map else None)

    def _import_state(self) -> dict[str, tf.Tensor]:
        meta = copy.deepcopy(self._meta)
        keep = _STATE_COLLECTIONS + (_TRAINABLE_STATE_COLLECTIONS if self._trainable else ())
        _keep_collections(meta, keep)
        _prefix_shared_names(meta, self._scope)
        _import_meta_graph(meta, input_map={}, import_scope=self._name)
        state = {}
        for node in self._meta.graph_def.node:
            if is_state_op(node):
                state[f"{node.name}:0"] = self._state_graph.get_tensor_by_name(
                    f"{self._scope}/{node.name}:0")
        return state

    def _build_variable_map(self) -> dict[str, Any]:
        prefix = self._scope + "/"
        plain: dict[str, Any] = {}
        parts: dict[str, list] = {}
        for var in self._state_graph.get_collection(_GK.GLOBAL_VARIABLES):
            if not var.op.name.startswith(prefix):
                continue
            info = getattr(var, "_save_slice_info", None)
            if info is not None:
                parts.setdefault(info.full_name[len(prefix):]
                                 if info.full_name.startswith(prefix) else info.full_name,
                                 []).append(var)
            else:
                plain[var.op.name[len(prefix):]] = var
        for key, variables in parts.items():
            if key in plain:
                raise RuntimeError(f"Variable name {key!r} is used both plain and partitioned")
            plain[key] = sorted(variables, key=lambda v: list(v._save_slice_info.var_offset))
        return dict(sorted(plain.items()))

    # --- application --------------------------------------------------------------------
    def __call__(self, inputs: Any = None, _sentinel: Any = None, signature: str | None = None,
                 as_dict: bool | None = None) -> Any:
        if _sentinel is not None:
            raise ValueError("Module call takes inputs positionally; pass signature= and "
                             "as_dict= by keyword.")
        graph = tf.compat.v1.get_default_graph()
        if not function_graphs.contains(self._graph, graph):
            raise RuntimeError("Module must be applied in the graph it was instantiated for "
                               "(or in a function graph built inside it).")
        signature = signature or "default"
        input_infos = self.get_input_info_dict(signature)
        dict_inputs = convert_inputs(_normalize_inputs(inputs, input_infos), input_infos)
        scope_name = f"{self._name}_apply_{signature}".replace(":", "_")
        outputs = self._apply(graph, signature, dict_inputs, scope_name)
        if as_dict:
            return outputs
        if "default" not in outputs:
            raise TypeError("There is no output named 'default'. Use as_dict=True.")
        return outputs["default"]

    def _apply(self, graph: tf.Graph, signature: str, inputs: dict[str, Any],
               scope_name: str) -> dict[str, Any]:
        # Uniquified in the caller's current name scope, as the import will do it.
        apply_scope = graph.unique_name(scope_name, mark_as_used=False)
        sig = self._meta.signature_def[signature]
        infeed = {}
        for key, info in sig.inputs.items():
            names = tensor_names(info)
            values = [inputs[key]] if len(names) == 1 and not isinstance(
                inputs[key], (tf.SparseTensor, tf.RaggedTensor)) else _components(inputs[key], info)
            infeed.update(zip(names, values, strict=True))
        feed_map = dict(self._state_map)
        feed_map.update(infeed)
        meta = copy.deepcopy(self._meta)
        keep = _APPLY_COLLECTIONS + ((_GK.UPDATE_OPS,) if self._trainable else ())
        _keep_collections(meta, keep)
        if graph.building_function:
            # A function runs every stateful op it holds: import only what the outputs need.
            kept = function_graphs.prune_to_outputs(
                meta, [n for info in sig.outputs.values() for n in tensor_names(info)])
            feed_map = {k: v for k, v in feed_map.items() if k.split(":")[0] in kept}
        feed_map = {k: function_graphs.capture(graph, v) for k, v in feed_map.items()}
        for node in meta.graph_def.node:
            if f"{node.name}:0" in self._state_map and f"{node.name}:0" in feed_map:
                as_state_placeholder(node)
        _prefix_shared_names(meta, apply_scope)
        first_new_op = len(graph.get_operations())
        _import_meta_graph(meta, input_map=feed_map, import_scope=scope_name)
        self._rewrite_colocation(graph, apply_scope, feed_map, first_new_op)
        outputs = {}
        for key, info in sig.outputs.items():
            outputs[key] = self._output(graph, info, feed_map, apply_scope)
        return outputs

    @staticmethod
    def _rewrite_colocation(graph: tf.Graph, apply_scope: str, feed_map: dict,
                            first_new_op: int) -> None:
        """Point ``loc:@`` constraints at what replaced a node, not at its dead placeholder.

        The import keeps constraints such as ``loc:@module_apply_default/v`` although ``v`` was
        fed from the state graph; left alone, ops would be placed next to an unused node
        instead of next to the variable they belong with.
        """
        from tensorflow.core.framework import attr_value_pb2

        groups_of: dict[str, list[bytes]] = {}
        for name, tensor in feed_map.items():
            node = name.split(":")[0]
            groups = sorted(tensor.op.colocation_groups())
            if groups_of.setdefault(node, groups) != groups:
                raise SpecError(f"Failed to rewrite colocation constraints while applying the "
                                f"module: the outputs of node '{node}' are fed from ops in "
                                "different colocation groups.")
        prefix = f"loc:@{apply_scope}/"
        for op in graph.get_operations()[first_new_op:]:
            try:
                old = op.get_attr("_class")
            except ValueError:
                continue
            new: list[bytes] = []
            for group in old:
                text = group.decode()
                if text.startswith(prefix) and text[len(prefix):] in groups_of:
                    new.extend(g for g in groups_of[text[len(prefix):]] if g not in new)
                elif group not in new:
                    new.append(group)
            if new != list(old):
                op._set_attr("_class", attr_value_pb2.AttrValue(
                    list=attr_value_pb2.AttrValue.ListValue(s=new)))

    @staticmethod
    def _output(graph: tf.Graph, info: Any, feed_map: dict, apply_scope: str) -> Any:
        def lookup(name: str) -> tf.Tensor:
            if name in feed_map:
                return feed_map[name]
            return graph.get_tensor_by_name(f"{apply_scope}/{name}")

        encoding = info.WhichOneof("encoding")
        if encoding == "coo_sparse":
            sp = info.coo_sparse
            return tf.SparseTensor(lookup(sp.indices_tensor_name), lookup(sp.values_tensor_name),
                                   lookup(sp.dense_shape_tensor_name))
        if encoding == "composite_tensor":
            spec = ParsedTensorInfo.from_proto(info).type_spec
            comps = [lookup(n) for n in tensor_names(info)]
            return tf.nest.pack_sequence_as(spec, comps, expand_composites=True)
        return lookup(info.name)

    # --- accessors ----------------------------------------------------------------------
    def get_signature_names(self) -> list[str]:
        return self._spec.get_signature_names(self._tags)

    def get_input_info_dict(self, signature: str | None = None) -> dict[str, ParsedTensorInfo]:
        return self._spec.get_input_info_dict(signature, self._tags)

    def get_output_info_dict(self, signature: str | None = None) -> dict[str, ParsedTensorInfo]:
        return self._spec.get_output_info_dict(signature, self._tags)

    def get_attached_message(self, key: str, message_type: type, required: bool = False) -> Any:
        return self._spec.get_attached_message(key, message_type, self._tags, required)

    @property
    def variable_map(self) -> dict[str, Any]:
        """Checkpoint key -> variable (a list of parts for a partitioned variable)."""
        return self._variable_map

    @property
    def variables(self) -> list[Any]:
        out = []
        for _, value in sorted(self._variable_map.items()):
            out.extend(value if isinstance(value, list) else [value])
        return out

    @property
    def spec(self) -> ModuleSpec:
        return self._spec

    def export(self, path: str | Path, session: Any) -> Path:
        """Write the spec with this session's current values of this instance's variables."""
        from hubpub.spec.export import write_module

        if session.graph is not self._state_graph:
            raise RuntimeError("The session's graph must be the graph that holds the Module's "
                               "variables (where it was instantiated).")
        saver = self._saver

        def write_variables(prefix: str) -> None:
            try:
                saver.save(session, prefix, write_meta_graph=False, write_state=False)
            except tf.errors.FailedPreconditionError as exc:
                raise ExportError("cannot export: a variable is not initialized in this "
                                  f"session ({exc.message.splitlines()[0]})") from exc

        return write_module(self._spec.saved_model, path,
                            write_variables=write_variables if saver else None)


def _components(value: Any, info: Any) -> list[tf.Tensor]:
    if isinstance(value, tf.SparseTensor):
        return [value.values, value.indices, value.dense_shape]
    return tf.nest.flatten(value, expand_composites=True)


def _normalize_inputs(inputs: Any, infos: dict) -> dict[str, Any]:
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        if len(infos) == 1:
            inputs = {next(iter(infos)): inputs}
        elif not infos:
            raise TypeError("Signature expects no inputs.")
        else:
            raise TypeError("Signature expects multiple inputs. Use a dict.")
    missing = sorted(set(infos) - set(inputs))
    extra = sorted(set(inputs) - set(infos))
    if missing or extra:
        raise TypeError(f"Cannot convert dict_inputs: missing {missing}, extra given {extra}")
    return inputs


@contextlib.contextmanager
def eval_function_for_module(spec: ModuleSpec | str, tags: Iterable[str] | None = None
                             ) -> Iterator[Any]:
    """Yield ``f(inputs, signature=None, as_dict=None)`` running the module on numpy values."""
    with tf.Graph().as_default():
        module = Module(spec, tags=tags)
        feeds, fetches = {}, {}
        for signature in module.get_signature_names():
            infos = module.get_input_info_dict(signature)
            placeholders = {key: _placeholder_for(info) for key, info in infos.items()}
            feeds[signature] = placeholders
            fetches[signature] = module(placeholders, signature=signature, as_dict=True)
        with tf.compat.v1.train.SingularMonitoredSession() as session:

            def run(inputs: Any = None, signature: str | None = None,
                    as_dict: bool | None = None) -> Any:
                signature = signature or "default"
                if signature not in feeds:
                    raise SpecError(f"Signature '{signature}' is missing from meta graph.")
                placeholders = feeds[signature]
                values = _normalize_inputs(inputs, placeholders)
                feed_dict = {}
                for key, value in values.items():
                    target = placeholders[key]
                    if isinstance(target, tf.SparseTensor):
                        feed_dict[target] = tf.compat.v1.SparseTensorValue(*value) \
                            if isinstance(value, tuple) else value
                    else:
                        feed_dict[target] = value
                out = session.run(fetches[signature], feed_dict=feed_dict)
                return out if as_dict else out["default"]

            yield run


def _placeholder_for(info: ParsedTensorInfo) -> Any:
    if info.is_sparse:
        return tf.compat.v1.sparse_placeholder(info.dtype, shape=info.get_shape())
    if info.is_composite:
        return tf.compat.v1.ragged.placeholder(info.dtype, info.type_spec.ragged_rank,
                                               info.type_spec.shape[info.type_spec.ragged_rank + 1:])
    return tf.compat.v1.placeholder(info.dtype, shape=info.get_shape())


def load(handle: str | os.PathLike, tags: Iterable[str] | None = None, options: Any = None) -> Any:
    """TF2 consumers: resolve the handle and ``tf.saved_model.load`` the right variant."""
    from hubpub.resolver import resolve
    from hubpub.spec.files import MODULE_DEF_FILE

    module_dir = resolve(os.fspath(handle))
    if tags is None and os.path.exists(os.path.join(module_dir, MODULE_DEF_FILE)):
        tags = []
    return tf.saved_model.load(module_dir, tags=tags, options=options)
