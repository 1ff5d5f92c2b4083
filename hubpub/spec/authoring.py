"""Authoring: ``create_module_spec`` runs ``module_fn`` once per graph variant.

``add_signature`` and ``attach_message`` record into hidden collections of the graph being
built (tuple keys are never serialized), so the state lives with the graph, not in globals.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import re
import sys
import sysconfig
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub._tf import tf
from hubpub.errors import SpecError
from hubpub.spec.files import ATTACHMENTS_COLLECTION
from hubpub.spec.protos import ModuleAttachment
from hubpub.spec.tensor_info import build_tensor_info, components

if TYPE_CHECKING:
    from hubpub.spec.module_spec import ModuleSpec

__all__ = ["add_signature", "attach_message", "create_module_spec"]

log = logging.getLogger(__name__)

_SIGNATURES = ("__hubpub_signatures",)
_ATTACHMENTS = ("__hubpub_attachments",)
_KEY_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    return {"default": value}


def _check_signature_values(name: str, kind: str, values: Mapping[str, Any]) -> None:
    bad = [f"{key!r}: {type(v).__name__}" for key, v in sorted(values.items())
           if not isinstance(v, (tf.Tensor, tf.SparseTensor, tf.RaggedTensor))]
    if bad:
        # "should have one of the types" is the old library's wording; code matches on it.
        raise SpecError(
            f"The {kind} of signature '{name}' should have one of the types Tensor, "
            "SparseTensor or RaggedTensor; got " + ", ".join(bad)
            + ". For a variable pass v.read_value().")


def add_signature(name: str | None = None, inputs: Any = None, outputs: Any = None) -> None:
    """Declare a signature of the module being built (call inside ``module_fn``).

    A single tensor for ``inputs`` or ``outputs`` is stored under the key ``default``.
    """
    name = name or "default"
    inputs, outputs = _as_dict(inputs), _as_dict(outputs)
    _check_signature_values(name, "inputs", inputs)
    _check_signature_values(name, "outputs", outputs)
    from tensorflow.core.protobuf import meta_graph_pb2

    signature = meta_graph_pb2.SignatureDef()
    for key, value in inputs.items():
        signature.inputs[key].CopyFrom(build_tensor_info(value))
    for key, value in outputs.items():
        signature.outputs[key].CopyFrom(build_tensor_info(value))
    placeholders = {key: [c.op for c in components(v)] for key, v in inputs.items()}
    tf.compat.v1.add_to_collection(_SIGNATURES, (name, signature, placeholders))


def attach_message(key: str, message: Any) -> None:
    """Attach a small protocol message to the variant being built, under ``key``."""
    if not _KEY_RE.match(key):
        raise SpecError(f"hub.attach_message() called with malformed key '{key}'")
    attachment = ModuleAttachment(key=key, value=message.SerializeToString())
    tf.compat.v1.add_to_collection(_ATTACHMENTS, attachment)


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[tuple[str, ...], str, str]:
    """Folders whose frames are never 'the publisher's line'."""
    import tensorflow

    dirs = [os.path.dirname(tensorflow.__file__), os.path.dirname(os.path.dirname(__file__))]
    for name in ("tf_keras", "keras"):
        found = importlib.util.find_spec(name)  # locates without importing
        if found is not None and found.origin:
            dirs.append(os.path.dirname(found.origin))
    recipes = os.path.join(os.path.dirname(os.path.dirname(__file__)), "recipes")
    return (tuple(d + os.sep for d in dirs), recipes + os.sep,
            sysconfig.get_paths()["stdlib"] + os.sep)


def is_publisher_file(filename: str) -> bool:
    """True for the publisher's own source files (hubpub's recipes count as publisher code)."""
    skipped, recipes, stdlib = _library_dirs()
    if filename.startswith("<"):
        return False
    if filename.startswith(recipes):
        return True
    if filename.startswith(stdlib) and "-packages" + os.sep not in filename:
        return False
    return not filename.startswith(skipped)


def record_source_lines(graph: tf.Graph) -> dict[str, tuple[str, int]]:
    """``{node: (file, line)}``: the innermost frame of publisher code that created each op."""
    out: dict[str, tuple[str, int]] = {}
    for op in graph.get_operations():
        for frame in reversed(op.traceback or ()):  # None for imported ops (nested modules)
            if is_publisher_file(frame.filename):
                out[op.name] = (frame.filename, frame.lineno)
                break
    return out


def build_variant(module_fn: Callable[..., Any], tags: Iterable[str], args: Mapping[str, Any],
                  *, drop_collections: Iterable[str] = (), with_source_lines: bool = True,
                  random_seed: int | None = None, notes: list[dict[str, Any]] | None = None,
                  ) -> tuple[Any, dict[str, tuple[str, int]]]:
    """Run ``module_fn(**args)`` in a fresh graph; return its MetaGraphDef and source lines.

    What hubpub changed in the graph on the publisher's behalf is appended to ``notes`` (for
    the build report).

    With ``random_seed`` the graph is the same on every run: TF's graph-level seed is set and
    Python's and NumPy's generators (which Keras initializers draw their seeds from) are
    seeded, so random initializers get the same seed constants and values.
    """
    graph = tf.Graph()
    if random_seed is not None:
        import random

        import numpy as np

        graph.seed = random_seed
        random.seed(random_seed)
        np.random.seed(random_seed)
    with graph.as_default():
        with tf.compat.v1.variable_scope("", use_resource=True), \
                _track_keras_layers() as keras_layers:
            module_fn(**args)
        _fill_keras_collections(graph, keras_layers, tags, [] if notes is None else notes)
        for key in drop_collections:
            del graph.get_collection_ref(key)[:]
        signatures = graph.get_collection(_SIGNATURES)
        attachments = graph.get_collection(_ATTACHMENTS)
        meta = tf.compat.v1.train.export_meta_graph(graph=graph, strip_default_attrs=True)
        _remove_safe_gradient_overrides(graph, meta, tags, [] if notes is None else notes)
    meta.meta_info_def.tags.extend(sorted(tags))
    placeholder_ops = {}
    for name, signature, placeholders in signatures:
        meta.signature_def[name].CopyFrom(signature)  # a repeated name: the last call wins
        placeholder_ops[name] = placeholders
    _check_inputs(placeholder_ops, tags)
    lines = record_source_lines(graph) if with_source_lines else {}
    _check_outputs_are_fed(meta, tags, lines)
    if attachments:
        by_key: dict[str, bytes] = {}
        for attachment in attachments:
            by_key[attachment.key] = attachment.SerializeToString()
        meta.collection_def[ATTACHMENTS_COLLECTION].bytes_list.value.extend(by_key.values())
    return meta, lines


@contextlib.contextmanager
def _track_keras_layers() -> Iterator[list[Any]]:
    """Collect the tf_keras layers that create variables while module_fn runs.

    In graph mode tf_keras layers keep their update ops and regularization losses on the layer
    (``layer.updates``, ``layer.losses``) instead of in the UPDATE_OPS and REGULARIZATION_LOSSES
    collections that hub.Module imports. Nothing in the graph links a variable to its layer,
    so the layer is taken from the ``add_weight`` frame that creates the variable.
    """
    layers: list[Any] = []

    def creator(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
        layer = _keras_layer_adding_weight(sys._getframe(1))
        if layer is not None and all(layer is not seen for seen in layers):
            layers.append(layer)
        return next_creator(**kwargs)

    with tf.compat.v1.variable_creator_scope(creator):
        yield layers


def _keras_layer_adding_weight(frame: Any) -> Any:
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is None:
        return None
    for _ in range(40):  # add_weight sits a few frames above the creator; stop well before
        if frame is None:
            return None
        if frame.f_code.co_name == "add_weight":
            layer = frame.f_locals.get("self")
            # tf.compat.v1.layers fill the collections themselves.
            if isinstance(layer, tf_keras.layers.Layer) and not isinstance(
                    layer, tf.compat.v1.layers.Layer):
                return layer
        frame = frame.f_back
    return None


def _outermost(layers: list[Any]) -> list[Any]:
    """The layers no other tracked layer contains: ``layer.losses`` and ``layer.updates``
    include those of sublayers, and regularizers make new tensors on every access."""
    inner: set[int] = set()
    for layer in layers:
        flatten = getattr(layer, "_flatten_layers", None)
        if flatten is not None:
            inner.update(id(sub) for sub in flatten(include_self=False))
    return [layer for layer in layers if id(layer) not in inner]


def _few(names: list[str], noun: str, shown: int = 3) -> str:
    """A count and the first few names: the full list goes to the build report."""
    more = f", and {len(names) - shown} more" if len(names) > shown else ""
    return f"{len(names)} {noun} ({', '.join(names[:shown])}{more})"


def _fill_keras_collections(graph: tf.Graph, layers: list[Any], tags: Iterable[str],
                            notes: list[dict[str, Any]]) -> None:
    """Add tf_keras layers' updates and weight losses to UPDATE_OPS / REGULARIZATION_LOSSES.

    Only what a consumer can run: an update or loss that needs a placeholder other than the
    signature inputs belongs to another call of the layer (a functional model's first build
    on its own ``Input``), which no consumer can feed. Update ops go to train variants only:
    an inference variant must not change the moving statistics.
    """
    keys = tf.compat.v1.GraphKeys
    updates = graph.get_collection_ref(keys.UPDATE_OPS)
    losses = graph.get_collection_ref(keys.REGULARIZATION_LOSSES)
    fed = {op.name for _, _, placeholders in graph.get_collection(_SIGNATURES)
           for ops in placeholders.values() for op in ops}
    train = "train" in tags
    found: dict[str, list[str]] = {"added_update_ops": [], "added_losses": [],
                                   "other_call": [], "inference_updates": [],
                                   "input_losses": []}
    # Compared by name: Tensor.__eq__ may build an op instead of testing identity.
    known = {getattr(x, "name", None) for x in [*updates, *losses]}
    for layer in _outermost(layers):
        for update in layer.updates:  # may build ops: stay in the variant's graph
            op = getattr(update, "op", update)
            if op.name in known:
                continue
            known.add(op.name)
            needs = _placeholders_needed(op)
            if needs - fed:
                found["other_call"].append(op.name)
            elif not train:
                found["inference_updates"].append(op.name)
            else:
                updates.append(op)
                found["added_update_ops"].append(op.name)
        for loss in layer.losses:
            if loss.name in known:
                continue
            known.add(loss.name)
            needs = _placeholders_needed(loss.op)
            if needs - fed:
                found["other_call"].append(loss.name)
            elif needs:
                found["input_losses"].append(loss.name)  # e.g. activity regularization
            else:
                losses.append(loss)
                found["added_losses"].append(loss.name)
    _report_keras_collections(found, sorted(tags), notes)


def _report_keras_collections(found: dict[str, list[str]], tags: list[str],
                              notes: list[dict[str, Any]]) -> None:
    """A short warning per kind; every name goes into the build report's notes."""
    if not any(found.values()):
        return
    notes.append({"kind": "tf_keras_collections", "variant": tags, **found})
    added = [f"{_few(found[key], noun)} to {collection}" for key, noun, collection in
             (("added_update_ops", "update op(s)", "UPDATE_OPS"),
              ("added_losses", "loss(es)", "REGULARIZATION_LOSSES")) if found[key]]
    if added:
        log.warning("variant %s: tf_keras layers in graph mode fill neither UPDATE_OPS nor "
                    "REGULARIZATION_LOSSES; hubpub added %s, so that hub.Module(trainable=True) "
                    "imports them (every name is in the build report)", tags, " and ".join(added))
    if found["other_call"]:
        log.info("variant %s: left out %s of another call of the layers (a model's first "
                 "build on its own Input): they need placeholders no consumer feeds", tags,
                 _few(found["other_call"], "tf_keras update op(s) and loss(es)"))
    if found["inference_updates"]:
        log.info("variant %s: left out %s: only a variant tagged 'train' updates the moving "
                 "statistics", tags, _few(found["inference_updates"], "tf_keras update op(s)"))
    if found["input_losses"]:
        log.warning("variant %s: tf_keras layer %s depend on the module's inputs and "
                    "were not added to REGULARIZATION_LOSSES: a module's regularization losses "
                    "must depend on its variables only", tags,
                    _few(found["input_losses"], "loss(es)"))


def _placeholders_needed(op: Any) -> set[str]:
    """Names of the placeholders ``op`` depends on (PlaceholderWithDefault needs no feed)."""
    seen, stack, found = {op}, [op], set()  # iterative: deep graphs overflow recursion
    while stack:
        op = stack.pop()
        if op.type == "Placeholder":
            found.add(op.name)
            continue
        for parent in [t.op for t in op.inputs] + list(op.control_inputs):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return found


# (file, function) that call tf.custom_gradient only to save memory or time: the gradient
# that automatic differentiation finds through their forward ops is the same.
_AUTODIFF_EQUIVALENT = frozenset({("nn_impl.py", "swish")})  # tf.nn.silu, tf.nn.swish
_GRADIENT_OVERRIDE = "_gradient_op_type"


def _custom_gradient_caller(op: Any) -> tuple[str, str] | None:
    """(file name, function) of the frame that called ``tf.custom_gradient``'s wrapper."""
    frames = list(op.traceback or ())
    for i, frame in enumerate(frames):
        if os.path.basename(frame.filename) == "custom_gradient.py" and i > 0:
            return os.path.basename(frames[i - 1].filename), frames[i - 1].name
    return None


def _remove_safe_gradient_overrides(graph: tf.Graph, meta: Any, tags: Iterable[str],
                                    notes: list[dict[str, Any]]) -> None:
    """Drop the gradient override of ops such as tf.nn.silu's ``IdentityN``.

    ``tf.custom_gradient`` ties the op to a gradient function of this process only, so a
    consumer's training step would fail with "No gradient defined". Where autodiff through the
    forward ops is equally right, the override goes; the others stay for lint (HUB212).
    """
    removed = []
    for node in meta.graph_def.node:
        if _GRADIENT_OVERRIDE not in node.attr:
            continue
        try:
            caller = _custom_gradient_caller(graph.get_operation_by_name(node.name))
        except KeyError:
            continue
        if caller in _AUTODIFF_EQUIVALENT:
            del node.attr[_GRADIENT_OVERRIDE]
            removed.append(node.name)
    if removed:
        notes.append({"kind": "gradient_overrides_removed", "variant": sorted(tags),
                      "nodes": removed,
                      "why": "tf.nn.silu/swish: automatic differentiation through the forward "
                             "ops gives the same gradient"})
        log.info("variant %s: removed the in-process gradient override of %s, so that the "
                 "module fine-tunes anywhere", sorted(tags),
                 _few(removed, "tf.nn.silu op(s)"))


def _check_inputs(input_ops: Mapping[str, Mapping[str, list]], tags: Iterable[str]) -> None:
    """Inputs may be any tensor, as in the old library, but never carry colocation constraints.

    A consumer feeds every input, so what computes a non-placeholder input in the module never
    runs: that is allowed (the graph above it is cut) and reported by lint as HUB105.
    """
    for signature, inputs in input_ops.items():
        for key, ops in inputs.items():
            for op in ops:
                if op.type not in ("Placeholder", "PlaceholderWithDefault"):
                    log.warning("input '%s' of signature '%s' (variant %s) is the output of %s "
                                "node '%s', not of a placeholder: consumers feed it, so what "
                                "computes it in the module never runs (lint rule HUB105)",
                                key, signature, sorted(tags), op.type, op.name)
                if op.colocation_groups() != [f"loc:@{op.name}".encode()]:
                    # "must not be subject to a tf.colocate_with" is the old library's wording.
                    raise SpecError(
                        f"Signature '{signature}' input '{key}' (node '{op.name}') is colocated "
                        f"with {[g.decode() for g in op.colocation_groups()]}: a tensor used as "
                        "a signature input must not be subject to a tf.colocate_with(y) "
                        "constraint, since inputs are replaced when the module is applied. "
                        "Create the input outside colocate_with blocks.")


def _check_outputs_are_fed(meta: Any, tags: Iterable[str],
                           lines: Mapping[str, tuple[str, int]]) -> None:
    """Every placeholder an output depends on must be an input of that signature.

    ``tf.saved_model.load`` refuses such a signature, and ``hub.Module`` would leave the
    placeholder unfed at run time.
    """
    from hubpub.spec.view import VariantView

    view = VariantView(meta)
    for name in meta.signature_def:
        # The walk stops at the input tensors: above an input, nothing runs.
        for node in sorted(view.signature_nodes(name)):
            if view.nodes[node].op == "Placeholder":
                where = "{}:{}: ".format(*lines[node]) if node in lines else ""
                raise SpecError(
                    f"{where}placeholder '{node}' feeds outputs of signature '{name}' "
                    f"(variant {sorted(tags)}) but is not one of its inputs; add it to the "
                    "signature's inputs or use a tf.compat.v1.placeholder_with_default.")


def create_module_spec(module_fn: Callable[..., Any],
                       tags_and_args: Iterable[tuple[Iterable[str], Mapping[str, Any]]] | None = None,
                       drop_collections: Iterable[str] | None = None, *,
                       random_seed: int | None = None, requires: Iterable[str] = ()
                       ) -> ModuleSpec:
    """Build a ModuleSpec by running ``module_fn`` once per ``(tags, kwargs)`` variant.

    Without ``tags_and_args`` there is one variant with no tags and no arguments.
    ``requires`` names op libraries the caller imported; each variant records them.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    from hubpub.spec.module_spec import ModuleSpec
    from hubpub.spec.requirements import attach_requirements

    report_tags = bool(tags_and_args)
    variants = list(tags_and_args) if tags_and_args else [(set(), {})]
    saved_model = saved_model_pb2.SavedModel()
    source_lines: dict[frozenset[str], dict[str, tuple[str, int]]] = {}
    notes: list[dict[str, Any]] = []
    for tags, args in variants:
        tags = set(tags)
        meta, lines = build_variant(module_fn, tags, args or {},
                                    drop_collections=list(drop_collections or ()),
                                    random_seed=random_seed, notes=notes)
        if not meta.signature_def:
            where = f" in the variant with tags {sorted(tags)}" if report_tags else ""
            raise SpecError(f"No signatures present{where}. Please call hub.add_signature(...) "
                            "at least once in your module_fn.")
        attach_requirements(meta, requires)
        saved_model.meta_graphs.add().CopyFrom(meta)
        source_lines.setdefault(frozenset(tags), lines)
    return ModuleSpec(saved_model, checkpoint_path=None, source_lines=source_lines,
                      notes=notes)
