"""``Module``: instantiate a spec inside the caller's TF1 graph, and apply its signatures.

Each instance imports the variant's graph once as its *state* (variables, tables), then every
call imports it again as an *apply* graph whose state nodes are rewired to the shared state.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterable, Iterator
from typing import Any

from hubpub._tf import tf
from hubpub.errors import SpecError
from hubpub.files import fspath
from hubpub.files.signing import TrustedSigner
from hubpub.spec import function_graphs
from hubpub.spec.instance import (
    ModuleInstance,
    import_meta_graph,
    keep_collections,
    prefix_shared_names,
    require_graph_mode,
)
from hubpub.spec.loading import load_module_spec
from hubpub.spec.module_spec import ModuleSpec
from hubpub.spec.tensor_info import ParsedTensorInfo, convert_inputs, tensor_names

__all__ = ["Module", "eval_function_for_module", "load"]

_GK = tf.compat.v1.GraphKeys
_APPLY_COLLECTIONS = (_GK.ASSET_FILEPATHS, _GK.COND_CONTEXT, _GK.WHILE_CONTEXT)


def as_state_placeholder(node: Any) -> None:
    """Turn a state node into a resource placeholder, to be fed the imported state's handle."""
    shape = node.attr.get("shape")
    node.op = "Placeholder"
    node.ClearField("attr")
    node.attr["dtype"].type = tf.resource.as_datatype_enum
    if shape is not None:
        node.attr["shape"].CopyFrom(shape)
    node.ClearField("input")


class Module(ModuleInstance):
    """A module instantiated in the current graph (``hub.Module`` semantics).

    The state (variables, tables) and its export come from ``ModuleInstance``; this adds
    applying the signatures.
    """

    def __init__(self, spec: ModuleSpec | str | os.PathLike, trainable: bool = False,
                 name: str = "module", tags: Iterable[str] | None = None, *,
                 require_signature: TrustedSigner | str | os.PathLike | None = None) -> None:
        require_graph_mode()
        if isinstance(spec, (str, os.PathLike)):
            spec = load_module_spec(spec, require_signature=require_signature)
        if not isinstance(spec, ModuleSpec):
            raise SpecError(f"Unknown spec type: {type(spec).__name__}; pass a ModuleSpec or a "
                            "handle (module directory, tarball or URL)")
        super().__init__(spec, trainable=trainable, name=name, tags=tags)

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
        infeed: dict[str, Any] = {}
        for key, info in sig.inputs.items():
            names = tensor_names(info)
            values = [inputs[key]] if len(names) == 1 and not isinstance(
                inputs[key], (tf.SparseTensor, tf.RaggedTensor)) else _components(inputs[key], info)
            infeed.update(zip(names, values, strict=True))
        feed_map = dict(self._state_map)
        feed_map.update(infeed)
        meta = copy.deepcopy(self._meta)
        keep = _APPLY_COLLECTIONS + ((_GK.UPDATE_OPS,) if self._trainable else ())
        keep_collections(meta, keep)
        if graph.building_function:
            # A function runs every stateful op it holds: import only what the outputs need.
            kept = function_graphs.prune_to_outputs(
                meta, [n for info in sig.outputs.values() for n in tensor_names(info)])
            feed_map = {k: v for k, v in feed_map.items() if k.split(":")[0] in kept}
        feed_map = {k: function_graphs.capture(graph, v) for k, v in feed_map.items()}
        for node in meta.graph_def.node:
            if f"{node.name}:0" in self._state_map and f"{node.name}:0" in feed_map:
                as_state_placeholder(node)
        prefix_shared_names(meta, apply_scope)
        first_new_op = len(graph.get_operations())
        import_meta_graph(meta, input_map=feed_map, import_scope=scope_name)
        self._rewrite_colocation(graph, meta, apply_scope, feed_map, first_new_op)
        outputs = {}
        for key, info in sig.outputs.items():
            outputs[key] = self._output(graph, info, feed_map, apply_scope)
        return outputs

    @staticmethod
    def _rewrite_colocation(graph: tf.Graph, meta: Any, apply_scope: str, feed_map: dict,
                            first_new_op: int) -> None:
        """Point ``loc:@`` constraints at what replaced a node, not at its dead placeholder.

        The import keeps constraints such as ``loc:@module_apply_default/v`` although ``v`` was
        fed from the state graph; left alone, ops would be placed next to an unused node
        instead of next to the variable they belong with.
        """
        from tensorflow.core.framework import attr_value_pb2

        groups_of = _feeding_groups(meta, feed_map, graph, apply_scope)
        prefix = f"loc:@{apply_scope}/"
        for op in graph.get_operations()[first_new_op:]:
            try:
                old = op.get_attr("_class")
            except ValueError:
                continue
            new: list[bytes] = []
            for group in old:
                text = group.decode()
                candidates = groups_of.get(text[len(prefix):]) if text.startswith(prefix) else None
                if not candidates:
                    if group not in new:
                        new.append(group)
                    continue
                if len(candidates) > 1:
                    raise SpecError(
                        f"Failed to rewrite colocation constraints while applying the module: "
                        f"constraint '{text}' of op '{op.name}' names a node whose outputs come "
                        f"from ops in different colocation groups: {candidates[0]} vs "
                        f"{candidates[1]}. Feed the signature's inputs from ops colocated "
                        "alike (or from the same op).")
                new.extend(g for g in candidates[0] if g not in new)
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


def _feeding_groups(meta: Any, feed_map: dict, graph: tf.Graph,
                    apply_scope: str) -> dict[str, list[list[bytes]]]:
    """For each fed node: the distinct colocation groups of what now provides its outputs.

    A node fed only in part (an input taken from one output of a multi-output op while another
    output is still computed inside the module) also provides its own imported groups.
    """
    out: dict[str, list[list[bytes]]] = {}
    for name, tensor in sorted(feed_map.items()):  # sorted: the same message every time
        groups = sorted(tensor.op.colocation_groups())
        seen = out.setdefault(name.split(":")[0], [])
        if groups not in seen:
            seen.append(groups)
    consumed = {_tensor_key(i) for node in meta.graph_def.node for i in node.input
                if not i.startswith("^")}
    fed = {_tensor_key(name) for name in feed_map}
    for node, seen in out.items():
        if any(t.split(":")[0] == node and t not in fed for t in consumed):
            own = sorted(graph.get_operation_by_name(f"{apply_scope}/{node}").colocation_groups())
            if own not in seen:
                seen.append(own)
    return out


def _tensor_key(name: str) -> str:
    return name if ":" in name else f"{name}:0"


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


def load(handle: str | os.PathLike, tags: Iterable[str] | None = None, options: Any = None, *,
         require_signature: TrustedSigner | str | os.PathLike | None = None) -> Any:
    """TF2 consumers: resolve the handle and ``tf.saved_model.load`` the right variant.

    ``require_signature``: see ``hubpub.files.resolver.resolve``.
    """
    from hubpub.files.resolver import resolve
    from hubpub.spec.files import MODULE_DEF_FILE

    module_dir = resolve(os.fspath(handle), require_signature=require_signature)
    if tags is None and tf.io.gfile.exists(fspath.join(module_dir, MODULE_DEF_FILE)):
        tags = []
    return tf.saved_model.load(module_dir, tags=tags, options=options)
