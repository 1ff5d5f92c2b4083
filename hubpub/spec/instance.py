"""A spec's state (variables, tables, assets) imported into the current TF1 graph.

``ModuleInstance`` does what instantiating a module and saving its variables need; exporting a
spec needs nothing more, so ``hubpub.spec.export`` stands on it. ``hubpub.consumer.module.Module`` (the
consumer, one layer up) adds applying the signatures.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub._tf import tf
from hubpub.errors import ExportError, SpecError
from hubpub.spec import function_graphs
from hubpub.spec.writing import write_module

if TYPE_CHECKING:
    from hubpub.spec.module_spec import ModuleSpec

__all__ = ["ModuleInstance", "import_meta_graph", "is_state_op", "keep_collections",
           "prefix_shared_names", "require_graph_mode"]

_GK = tf.compat.v1.GraphKeys
_STATE_COLLECTIONS = (_GK.GLOBAL_VARIABLES, _GK.MODEL_VARIABLES, _GK.TABLE_INITIALIZERS,
                      _GK.ASSET_FILEPATHS, _GK.COND_CONTEXT, _GK.WHILE_CONTEXT)
_TRAINABLE_STATE_COLLECTIONS = (_GK.TRAINABLE_VARIABLES, _GK.REGULARIZATION_LOSSES)


def import_meta_graph(meta: Any, *, input_map: dict, import_scope: str) -> None:
    from tensorflow.python.framework import meta_graph

    _check_op_libraries(meta)
    meta_graph.import_scoped_meta_graph(meta, input_map=input_map, import_scope=import_scope)


def _check_op_libraries(meta: Any) -> None:
    """Name the library to import when the graph has ops this process does not know.

    Nothing is imported here: a module file must not choose code to run in the consumer's
    process; the consumer imports the library (``import tensorflow_text``) first.
    """
    from tensorflow.python.framework import op_def_registry

    from hubpub.spec.requirements import (
        library_for_op,
        missing_library_advice,
        recorded_requirements,
    )

    graph = meta.graph_def
    functions = {f.signature.name for f in graph.library.function}
    ops = {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
    unknown = sorted(op for op in ops - functions if op_def_registry.get(op) is None)
    if not unknown:
        return
    libraries = recorded_requirements([meta])
    for op in unknown:
        library = library_for_op(op)
        if library is not None and library.module not in libraries:
            libraries.append(library.module)
    if not libraries:
        return  # TensorFlow's own error names the op
    raise SpecError(
        f"the module uses op type(s) {unknown[:3]} that no loaded library registers; it "
        f"requires {', '.join(libraries)}: "
        + "; ".join(missing_library_advice(name) for name in libraries))


def keep_collections(meta: Any, keep: Iterable[str]) -> None:
    keep = set(keep)
    for key in list(meta.collection_def):
        if key not in keep:
            del meta.collection_def[key]


def prefix_shared_names(meta: Any, prefix: str) -> None:
    """Give each instance its own resources: ``shared_name`` is per Session, not per scope."""
    for node in meta.graph_def.node:
        if "shared_name" in node.attr and node.attr["shared_name"].s:
            node.attr["shared_name"].s = f"{prefix}/".encode() + node.attr["shared_name"].s


def require_graph_mode() -> None:
    if tf.executing_eagerly():
        raise SpecError("hub.Module works in graph mode only: create it inside "
                        "`with tf.Graph().as_default():` (or after "
                        "tf.compat.v1.disable_eager_execution()). In TF2 code use "
                        "hubpub.load(handle) instead.")


def is_state_op(node: Any) -> bool:
    """Registered, stateful and input-less: variables, tables and other resources."""
    from tensorflow.python.framework import op_def_registry

    if node.input:
        return False
    op_def = op_def_registry.get(node.op)
    return op_def is not None and op_def.is_stateful and not op_def.input_arg


class ModuleInstance:
    """A spec's state imported once into the current graph, under its own variable scope."""

    def __init__(self, spec: ModuleSpec, trainable: bool = False, name: str = "module",
                 tags: Iterable[str] | None = None) -> None:
        require_graph_mode()
        self._graph = tf.compat.v1.get_default_graph()
        self._spec = spec
        self._trainable = bool(trainable)
        self._tags = frozenset([tags] if isinstance(tags, str) else (tags or ()))
        if not spec.has_variant(self._tags):
            raise SpecError(f"No such graph variant: tags={sorted(self._tags) or None}. "
                            f"The module has {[sorted(t) for t in spec.sorted_tags()]}")
        self._meta = spec.meta_graph(self._tags)
        # State never depends on the caller's control dependencies; inside a function graph
        # it goes where its initializers will run (see hubpub.spec.function_graphs).
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
        keep_collections(meta, keep)
        prefix_shared_names(meta, self._scope)
        import_meta_graph(meta, input_map={}, import_scope=self._name)
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

    def export(self, path: str | Path, session: Any) -> Path | str:
        """Write the spec with this session's current values of this instance's variables."""
        if session.graph is not self._state_graph:
            raise RuntimeError("The session's graph must be the graph that holds the Module's "
                               "variables (where it was instantiated).")
        saver = self._saver

        def write_variables(prefix: str) -> None:
            assert saver is not None  # only called when there are variables
            try:
                saver.save(session, prefix, write_meta_graph=False, write_state=False)
            except tf.errors.FailedPreconditionError as exc:
                raise ExportError("cannot export: a variable is not initialized in this "
                                  f"session ({exc.message.splitlines()[0]})") from exc

        return write_module(self._spec.saved_model, path,
                            write_variables=write_variables if saver else None)
