"""A read-only view of a module's graphs, built once from protos, for checks, docs and reports.

Nothing here runs a graph or a Session: a lint must never execute the module it checks.
Rules read the indexes below (nodes by name, consumers, function library, collections,
signatures) instead of walking protos themselves.

No TensorFlow either: a view reads TensorFlow's own protos (a spec built in this process) and
the TF-free ones of ``hubpub.spec.lite`` (a module directory or tarball read from disk) alike.
The two differ only where lite keeps a sub-message as bytes (a Const's tensor, the saver, the
packed assets); ``attr_tensor``, ``VariantView.saver`` and ``VariantView.exported_assets``
read those, so rules never see the difference.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hubpub.errors import shortened_name
from hubpub.spec.lite import (
    AnyList,
    AssetFileDef,
    SaverDef,
    TensorProto,
    VariableDef,
    dtype_name,
    tensor_value,
)

__all__ = ["Location", "ModuleView", "SignatureView", "TensorView", "VariableView", "VariantView"]

_DT_STRING = 7
_MAX_FOLD_DEPTH = 64  # string pieces joined deeper than this are not folded
_MAX_FOLD_CHARS = 4096  # nor strings longer than a path


@dataclass(frozen=True)
class Location:
    """Where something in a module or its manifest is; fill in what is known.

    Findings, suppressions and errors point with it. No TensorFlow is needed to make one.
    """

    path: str | None = None  # manifest, module directory or tarball
    line: int | None = None  # manifest line, or the publisher's source line
    column: int | None = None
    source: str | None = None  # publisher source file, when line refers to it
    variant: tuple[str, ...] | None = None  # sorted tags; () is the default variant
    signature: str | None = None
    node: str | None = None
    member: str | None = None  # tarball member

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if "variant" in out:
            out["variant"] = list(out["variant"])
        return out

    def describe(self) -> str:
        """A short human description: variant, signature, node, member."""
        parts = []
        if self.variant is not None:
            parts.append("variant {" + ",".join(self.variant) + "}")
        if self.signature is not None:
            parts.append(f"signature '{self.signature}'")
        if self.node is not None:
            parts.append(f"node '{self.node}'")
        if self.member is not None:
            parts.append(f"member '{shortened_name(self.member)}'")
        return ", ".join(parts)


@dataclass(frozen=True)
class TensorView:
    """One signature input or output, as declared in the SignatureDef."""

    key: str
    kind: str  # "dense", "sparse" or "composite"
    dtype: str  # e.g. "float32", "string"
    shape: tuple[int | None, ...] | None  # None: unknown rank
    tensor_names: tuple[str, ...]  # dense: (name,); sparse: (indices, values, dense_shape)

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "dtype": self.dtype,
                "shape": None if self.shape is None else list(self.shape),
                "tensors": list(self.tensor_names)}


@dataclass(frozen=True)
class SignatureView:
    name: str
    inputs: Mapping[str, TensorView]
    outputs: Mapping[str, TensorView]


@dataclass(frozen=True)
class VariableView:
    """A module variable: name without ``:0`` as the checkpoint knows it."""

    name: str
    node: str
    dtype: str
    shape: tuple[int | None, ...] | None
    trainable: bool

    @property
    def num_elements(self) -> int | None:
        if self.shape is None:
            return None
        n = 1
        for d in self.shape:
            if d is None:
                return None
            n *= d
        return n


def _shape(proto: Any) -> tuple[int | None, ...] | None:
    if proto.unknown_rank:
        return None
    return tuple(None if d.size < 0 else int(d.size) for d in proto.dim)


def _tensor_view(key: str, info: Any) -> TensorView:
    encoding = info.WhichOneof("encoding")
    dtype = dtype_name(info.dtype)
    shape = _shape(info.tensor_shape)
    if encoding == "coo_sparse":
        sp = info.coo_sparse
        names = (sp.indices_tensor_name, sp.values_tensor_name, sp.dense_shape_tensor_name)
        return TensorView(key, "sparse", dtype, shape, names)
    if encoding == "composite_tensor":
        comps = tuple(c.name for c in info.composite_tensor.components)
        return TensorView(key, "composite", dtype, shape, comps)
    return TensorView(key, "dense", dtype, shape, (info.name,))


def _branch_side(node: Any, function: str) -> str | None:
    """Which branch ("then" or "else") of an ``If``/``StatelessIf`` node ``function`` is."""
    if node.op not in ("If", "StatelessIf"):
        return None
    if node.attr["then_branch"].func.name == function:
        return "then"
    if node.attr["else_branch"].func.name == function:
        return "else"
    return None


def attr_tensor(value: Any) -> Any:
    """The TensorProto of an AttrValue (a Const's ``value``), from either kind of proto."""
    tensor = value.tensor
    return TensorProto.FromString(tensor) if isinstance(tensor, bytes) else tensor


def node_name(tensor_or_op: str) -> str:
    """``"^a"``, ``"a:0"`` and ``"a"`` all name node ``a``."""
    return tensor_or_op.lstrip("^").split(":")[0]


def _tensor(ref: str) -> str:
    """Canonical tensor name of a node input: ``"a"`` is ``"a:0"``; ``"^a"`` stays a control edge."""
    if ref.startswith("^") or ":" in ref:
        return ref
    return f"{ref}:0"


class VariantView:
    """One graph variant (MetaGraphDef) with its indexes, built lazily and once."""

    def __init__(self, meta_graph: Any, *, path: str | None = None,
                 source_lines: Mapping[str, tuple[str, int]] | None = None) -> None:
        self.meta_graph = meta_graph
        self.tags: tuple[str, ...] = tuple(sorted(meta_graph.meta_info_def.tags))
        self.path = path
        self.source_lines = dict(source_lines or {})
        self.nodes: dict[str, Any] = {n.name: n for n in meta_graph.graph_def.node}
        self.functions: dict[str, Any] = {
            f.signature.name: f for f in meta_graph.graph_def.library.function}

    @property
    def is_train(self) -> bool:
        return "train" in self.tags

    def describe(self) -> str:
        return "{" + ",".join(self.tags) + "}"

    @functools.cached_property
    def saver(self) -> Any:
        """The SaverDef (empty when the variant has none)."""
        saver = self.meta_graph.saver_def
        return SaverDef.FromString(saver) if isinstance(saver, bytes) else saver

    # --- collections -----------------------------------------------------------------
    @property
    def collection_keys(self) -> list[str]:
        return sorted(self.meta_graph.collection_def.keys())

    def collection(self, key: str) -> list[str]:
        """Entries of a ``node_list`` collection (tensor or op names); [] when absent."""
        if key not in self.meta_graph.collection_def:
            return []
        return list(self.meta_graph.collection_def[key].node_list.value)

    def collection_bytes(self, key: str) -> list[bytes]:
        if key not in self.meta_graph.collection_def:
            return []
        return list(self.meta_graph.collection_def[key].bytes_list.value)

    def exported_assets(self) -> list[str]:
        """File names of the ``saved_model_assets`` collection (an exported module's assets)."""
        if "saved_model_assets" not in self.meta_graph.collection_def:
            return []
        packed = self.meta_graph.collection_def["saved_model_assets"].any_list
        entries = AnyList.FromString(packed).value if isinstance(packed, bytes) else packed.value
        return [AssetFileDef.FromString(entry.value).filename for entry in entries]

    # --- signatures ------------------------------------------------------------------
    @functools.cached_property
    def signatures(self) -> dict[str, SignatureView]:
        out = {}
        for name, sig in sorted(self.meta_graph.signature_def.items()):
            out[name] = SignatureView(
                name,
                {k: _tensor_view(k, v) for k, v in sorted(sig.inputs.items())},
                {k: _tensor_view(k, v) for k, v in sorted(sig.outputs.items())},
            )
        return out

    # --- variables -------------------------------------------------------------------
    @functools.cached_property
    def variables(self) -> list[VariableView]:
        """Global variables from the ``variables`` collection, in collection order."""
        trainable = set()
        for raw in self.collection_bytes("trainable_variables"):
            vd = VariableDef.FromString(raw)
            trainable.add(node_name(vd.variable_name))
        out = []
        for raw in self.collection_bytes("variables"):
            vd = VariableDef.FromString(raw)
            name = node_name(vd.variable_name)
            node = self.nodes.get(name)
            dtype, shape = "unknown", None
            if node is not None:
                if "dtype" in node.attr:
                    dtype = dtype_name(node.attr["dtype"].type)
                if "shape" in node.attr:
                    shape = _shape(node.attr["shape"].shape)
            key = name
            if vd.HasField("save_slice_info_def") and vd.save_slice_info_def.full_name:
                key = vd.save_slice_info_def.full_name
            out.append(VariableView(key, name, dtype, shape, name in trainable))
        return out

    # --- nodes -----------------------------------------------------------------------
    def iter_nodes(self) -> Iterator[tuple[str | None, Any]]:
        """Every node: top-level ones (function None), then each function body's."""
        for node in self.meta_graph.graph_def.node:
            yield None, node
        for fname, func in self.functions.items():
            for node in func.node_def:
                yield fname, node

    @functools.cached_property
    def consumers(self) -> dict[str, list[str]]:
        """Top-level node name -> names of the nodes that take it as an input."""
        out: dict[str, list[str]] = {}
        for node in self.meta_graph.graph_def.node:
            for inp in node.input:
                out.setdefault(node_name(inp), []).append(node.name)
        return out

    def ancestors(self, names: Sequence[str]) -> set[str]:
        """Top-level nodes the given tensors or ops depend on (data and control inputs)."""
        return self._walk(names)

    def signature_nodes(self, signature: str) -> set[str]:
        """Top-level nodes that run when a signature's outputs are computed.

        The walk stops at the signature's input tensors: a consumer feeds those (``input_map``),
        so whatever computes them inside the module never runs.
        """
        sig = self.signatures[signature]
        fed = {_tensor(t) for view in sig.inputs.values() for t in view.tensor_names}
        return self._walk([t for view in sig.outputs.values() for t in view.tensor_names], fed)

    @functools.cached_property
    def _input_nodes(self) -> dict[str, tuple[str, ...]]:
        """Top-level node -> the nodes of its data and control inputs (parsed once)."""
        return {name: tuple(node_name(i) for i in node.input) for name, node in self.nodes.items()}

    def _walk(self, refs: Iterable[str], fed: Set[str] = frozenset()) -> set[str]:
        """Top-level nodes ``refs`` depend on, not walking past the tensors in ``fed``."""
        if not fed:  # by node name: no tensor names to keep apart
            inputs = self._input_nodes
            names = [node_name(r) for r in refs]
            reached: set[str] = set()
            while names:
                name = names.pop()
                if name not in reached and name in inputs:
                    reached.add(name)
                    names.extend(inputs[name])
            return reached
        stack = [_tensor(r) for r in refs]
        seen: set[str] = set()
        # Iterative: recursion overflows on 20,000-node graphs.
        while stack:
            ref = stack.pop()
            if ref in fed:
                continue
            name = node_name(ref)
            if name in seen or name not in self.nodes:
                continue
            seen.add(name)
            stack.extend(_tensor(i) for i in self.nodes[name].input)
        return seen

    def called_functions(self, node: Any) -> set[str]:
        """Names of library functions a node calls through any function-valued attr."""
        found = set()
        for value in node.attr.values():
            if value.HasField("func") and value.func.name:
                found.add(value.func.name)
            if value.HasField("list"):
                found.update(f.name for f in value.list.func if f.name)
        if node.op in self.functions:
            found.add(node.op)
        return found

    def reachable_functions(self, node_names: Sequence[str]) -> set[str]:
        """Library functions called, directly or transitively, by the given top-level nodes."""
        if not self.functions:  # most TF1 graphs: nothing to look for in 20,000 nodes
            return set()
        todo: list[str] = []
        for name in node_names:
            todo.extend(self._top_level_calls.get(name, ()))
        seen: set[str] = set()
        while todo:
            fname = todo.pop()
            if fname in seen or fname not in self.functions:
                continue
            seen.add(fname)
            todo.extend(self._body_calls[fname])
        return seen

    @functools.cached_property
    def _top_level_calls(self) -> dict[str, frozenset[str]]:
        """Top-level node -> the functions it calls, for the nodes that call any."""
        calls = ((node.name, self.called_functions(node))
                 for node in self.meta_graph.graph_def.node)
        return {name: frozenset(called) for name, called in calls if called}

    @functools.cached_property
    def _body_calls(self) -> dict[str, frozenset[str]]:
        """Library function -> the functions its body's nodes call."""
        return {fname: frozenset().union(*(self.called_functions(n) for n in func.node_def))
                for fname, func in self.functions.items()}

    def fold_string(self, ref: str) -> str | None:
        """The value a top-level scalar string tensor always has, or None when not constant.

        Follows ``Const``, ``Identity``, ``StringJoin`` and string ``Add``/``AddV2``, so a path
        split into pieces (``tf.strings.join(["/t", "mp/x"])``) is seen whole.
        """
        return self._fold(node_name(ref), 0)

    def _fold(self, name: str, depth: int) -> str | None:
        cache = self.__dict__.setdefault("_folded", {})  # shared pieces are folded once
        if name not in cache:
            cache[name] = self._fold_node(name, depth)
        return cache[name]

    def _fold_node(self, name: str, depth: int) -> str | None:
        node = self.nodes.get(name)
        if node is None or depth > _MAX_FOLD_DEPTH or name in self.fed_nodes:
            return None
        inputs = [i for i in node.input if not i.startswith("^")]
        if node.op == "Const":
            if node.attr["dtype"].type != _DT_STRING:
                return None
            tensor = attr_tensor(node.attr["value"])
            if len(tensor.string_val) != 1 or any(d.size != 1 for d in tensor.tensor_shape.dim):
                return None
            return tensor.string_val[0].decode("utf-8", "replace")
        if node.op in ("Identity", "StopGradient") and inputs:
            return self._fold(node_name(inputs[0]), depth + 1)
        if node.op in ("StringJoin", "Add", "AddV2") and inputs:
            folded = [self._fold(node_name(i), depth + 1) for i in inputs]
            parts = [p for p in folded if p is not None]
            if len(parts) != len(folded):
                return None
            separator = (node.attr["separator"].s.decode("utf-8", "replace")
                         if node.op == "StringJoin" else "")
            if sum(len(p) for p in parts) > _MAX_FOLD_CHARS:
                return None
            return separator.join(parts)
        return None

    def const_value(self, node: Any) -> Any:
        """The value of a ``Const`` node as a Python scalar or numpy array (None: undecodable)."""
        value = tensor_value(attr_tensor(node.attr["value"]))
        return value.item() if value is not None and value.size == 1 else value

    # --- control flow ----------------------------------------------------------------
    @functools.cached_property
    def fed_nodes(self) -> frozenset[str]:
        """Top-level nodes a consumer feeds: the nodes of every signature input tensor."""
        return frozenset(node_name(t) for sig in self.signatures.values()
                         for view in sig.inputs.values() for t in view.tensor_names)

    @functools.cached_property
    def function_callers(self) -> dict[str, list[str]]:
        """Library function -> top-level nodes that call it, directly or through other functions.

        Rules report a function-body finding at these nodes: only top-level nodes have the
        publisher's source line.
        """
        out: dict[str, list[str]] = {}
        if not self.functions:
            return out
        for node in self.meta_graph.graph_def.node:
            if node.name in self._top_level_calls:
                for fname in sorted(self.reachable_functions([node.name])):
                    out.setdefault(fname, []).append(node.name)
        return out

    @functools.cached_property
    def _direct_calls(self) -> dict[str, list[tuple[str | None, Any]]]:
        """Library function -> (calling function or None for top level, calling node)."""
        out: dict[str, list[tuple[str | None, Any]]] = {}
        for fname, node in self.iter_nodes():
            for called in self.called_functions(node):
                out.setdefault(called, []).append((fname, node))
        return out

    def static_bool(self, tensor: str) -> bool | None:
        """The value a top-level boolean tensor always has, or None when fed or computed.

        An unfed ``PlaceholderWithDefault`` counts as its default: ``hub.Module`` feeds only
        signature inputs, so a publisher's ``is_training`` flag keeps its default in a consumer.
        """
        name, negate = node_name(tensor), False
        seen: set[str] = set()
        while name not in seen and name in self.nodes and name not in self.fed_nodes:
            seen.add(name)
            node = self.nodes[name]
            if node.op == "Const":
                value = self.const_value(node)
                return None if not isinstance(value, (bool, int, float)) else bool(value) != negate
            if node.op not in ("Identity", "PlaceholderWithDefault", "LogicalNot") or not node.input:
                return None
            negate ^= node.op == "LogicalNot"
            name = node_name(node.input[0])
        return None

    def branch_taken(self, function: str) -> bool | None:
        """Whether a library function runs when its top-level callers run, in this variant.

        True when a caller always runs it (a call op, or an ``If``/``StatelessIf`` whose
        predicate is static and selects it); False when nothing calls it or every caller is an
        ``If`` that statically selects the other branch; None when it depends on a fed input
        or on control flow inside another function body (not resolved).
        """
        return self._branch_taken(function, set())

    def _branch_taken(self, function: str, seen: set[str]) -> bool | None:
        if function in seen:
            return None
        seen.add(function)
        verdicts: list[bool | None] = []
        for caller_function, node in self._direct_calls.get(function, []):
            branch = _branch_side(node, function)
            if branch is None:
                verdicts.append(True if caller_function is None
                                else self._branch_taken(caller_function, seen))
            elif caller_function is not None:
                verdicts.append(None)
            else:
                predicate = self.static_bool(node.input[0])
                verdicts.append(None if predicate is None else predicate == (branch == "then"))
        if True in verdicts:
            return True
        return None if None in verdicts else False

    # --- locations -------------------------------------------------------------------
    def locate(self, node: str | None = None, *, signature: str | None = None) -> Location:
        """A Location for a node of this variant, with the publisher's source line if known."""
        source, line = (None, None)
        if node is not None and node in self.source_lines:
            source, line = self.source_lines[node]
        return Location(path=self.path, source=source, line=line, variant=self.tags,
                        signature=signature, node=node)


@dataclass
class ModuleView:
    """Everything a check may look at, without executing the module."""

    variants: list[VariantView]
    path: str | None = None  # what was linted: manifest, module directory or tarball
    metadata: Mapping[str, Any] = field(default_factory=dict)  # manifest metadata section
    claims: Mapping[str, str] = field(default_factory=dict)  # signature -> common signature
    checkpoint_path: str | None = None  # where the weights come from, when known
    training_sources: Sequence[Path] = ()  # publisher training scripts to scan
    members: Sequence[str] | None = None  # tarball members, when the target was a tarball
    manifest_lines: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # "a.b" -> (line, col)
    outside_project: Mapping[str, str] = field(default_factory=dict)  # "a.b" -> how (HUB403)

    @classmethod
    def from_saved_model(cls, saved_model: Any, *,
                         source_lines: Mapping[frozenset[str], Mapping[str, tuple[str, int]]] | None = None,
                         path: str | None = None, **kwargs: Any) -> ModuleView:
        source_lines = source_lines or {}
        variants = [
            VariantView(mg, path=path,
                        source_lines=source_lines.get(frozenset(mg.meta_info_def.tags)))
            for mg in saved_model.meta_graphs
        ]
        return cls(variants, path=path, **kwargs)

    def variant(self, tags: Sequence[str] = ()) -> VariantView | None:
        wanted = tuple(sorted(tags))
        return next((v for v in self.variants if v.tags == wanted), None)

    @property
    def train_variants(self) -> list[VariantView]:
        return [v for v in self.variants if v.is_train]

    @property
    def fine_tune_variant(self) -> VariantView:
        """The variant a consumer fine-tunes: a ``train`` one, else the default or only one."""
        train = self.train_variants
        if train:
            return train[0]
        return self.variant(()) or self.variants[0]

    def manifest_location(self, key: str) -> Location:
        """A Location pointing at a manifest key such as ``metadata.fine_tunable``."""
        line, col = self.manifest_lines.get(key, (None, None))
        return Location(path=self.path, line=line, column=col)
