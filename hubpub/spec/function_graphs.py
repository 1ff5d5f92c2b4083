"""hub.Module inside function graphs: ``wrap_function``, ``tf.function`` and ``Defun``.

A function graph runs every stateful op it holds on every call, and nothing outside it runs
its initializers. So, as the old library did:

- the module's *state* (variables, tables and their initializers) is imported into the graph
  that will run the initializers: the graph around the function (``tf.init_scope``), so that
  ``global_variables_initializer()`` there initializes it once. The exception is a plain
  ``tf.compat.v1.wrap_function`` graph (no TPU replicate context), which owns its variables:
  callers prune its initializers out of it (``f.prune([], init_ops)``).
- each *apply* graph is pruned to what the signature's outputs need (control dependencies
  included), so unused inputs and stray stateful ops are not imported to run on every call;
  state tensors from the outer graph are captured.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hubpub._tf import tf

__all__ = ["capture", "contains", "prune_to_outputs", "state_goes_outside"]


def _in_tpu_replicate_context(graph: Any) -> bool:
    context = graph._get_control_flow_context()  # no public accessor
    return type(context).__name__.endswith("TPUReplicateContext")


def _is_wrap_function_graph(graph: Any) -> bool:
    # wrap_function names its FuncGraph "wrapped_function[_<name>]"; nothing else marks it.
    return graph.name.startswith("wrapped_function")


def state_goes_outside(graph: Any) -> bool:
    """True when a Module created in ``graph`` must keep its state in the enclosing graph."""
    if not graph.building_function:
        return False
    return _in_tpu_replicate_context(graph) or not _is_wrap_function_graph(graph)


def contains(graph: Any, inner: Any) -> bool:
    """True when ``inner`` is ``graph`` or a function graph built inside it."""
    while inner is not None:
        if inner is graph:
            return True
        inner = getattr(inner, "outer_graph", None) if inner.building_function else None
    return False


def capture(graph: Any, tensor: Any) -> Any:
    """``tensor`` as seen from ``graph``: captured when it lives in an enclosing graph."""
    if tensor.graph is graph or not graph.building_function:
        return tensor
    return graph.capture(tensor)


def prune_to_outputs(meta: Any, needed_tensors: Iterable[str]) -> set[str]:
    """Keep only the nodes ``needed_tensors`` depend on (data and control inputs).

    Collections keep their entries for kept nodes; control-flow contexts (TF1 cond/while
    bookkeeping, which names nodes that may be gone) are dropped. Returns the kept node names.
    """
    nodes = {n.name: n for n in meta.graph_def.node}
    keep: set[str] = set()
    stack = [name.split(":")[0].lstrip("^") for name in needed_tensors]
    while stack:  # iterative: deep graphs overflow recursion
        name = stack.pop()
        if name in keep or name not in nodes:
            continue
        keep.add(name)
        stack.extend(i.split(":")[0].lstrip("^") for i in nodes[name].input)
    kept = [n for n in meta.graph_def.node if n.name in keep]
    del meta.graph_def.node[:]
    meta.graph_def.node.extend(kept)
    for key in list(meta.collection_def):
        collection = meta.collection_def[key]
        if collection.WhichOneof("kind") == "node_list":
            values = [v for v in collection.node_list.value
                      if v.split(":")[0].lstrip("^") in keep]
            del collection.node_list.value[:]
            collection.node_list.value.extend(values)
        elif key in (tf.compat.v1.GraphKeys.COND_CONTEXT, tf.compat.v1.GraphKeys.WHILE_CONTEXT):
            del meta.collection_def[key]
    return keep
