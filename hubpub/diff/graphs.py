"""What differs inside two ``saved_model.pb`` or two checkpoints, down to nodes and tensors.

``compare`` answers "does a consumer notice?"; this answers "why are the bytes different?",
which is what an audit of a rebuild needs: a node whose attribute changed, a TensorFlow
version recorded in the graph, a variable whose values moved. Messages are capped per part,
with a count of the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hubpub.diff.side import Side
from hubpub.spec.view import VariantView

__all__ = ["checkpoint_differences", "graph_differences"]

_LIMIT = 10  # differences listed per part before "... and N more"


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= _LIMIT:
        return lines
    return [*lines[:_LIMIT], f"... and {len(lines) - _LIMIT} more"]


def _raw(message: Any) -> bytes:
    return message.SerializeToString(deterministic=True)


def graph_differences(old: Side, new: Side) -> list[str]:
    """Where two ``saved_model.pb`` differ: variants, meta info, nodes, functions, collections."""
    before = {v.tags: v for v in old.view.variants}
    after = {v.tags: v for v in new.view.variants}
    lines = [f"variant {_label(t)} only in {old.shown}" for t in sorted(before.keys() - after.keys())]
    lines += [f"variant {_label(t)} only in {new.shown}" for t in sorted(after.keys() - before.keys())]
    for tags in sorted(before.keys() & after.keys()):
        lines += [f"variant {_label(tags)}: {line}"
                  for line in _variant_differences(before[tags], after[tags])]
    if not lines and [v.tags for v in old.view.variants] != [v.tags for v in new.view.variants]:
        lines.append("the variants are stored in another order")
    return lines


def _label(tags: tuple[str, ...]) -> str:
    return "{" + ",".join(tags) + "}"


def _variant_differences(old: VariantView, new: VariantView) -> list[str]:
    a, b = old.meta_graph, new.meta_graph
    lines = [f"meta info {field.name}: {_short(x)} -> {_short(y)}"
             for field, x, y in _fields(a.meta_info_def, b.meta_info_def)]
    lines += _capped(list(_nodes(old.nodes, new.nodes, "node")))
    lines += _capped(list(_keyed(old.functions, new.functions, "function")))
    lines += _capped(list(_keyed(dict(a.collection_def), dict(b.collection_def), "collection")))
    lines += _capped(list(_keyed(dict(a.signature_def), dict(b.signature_def), "signature")))
    for part in ("saver_def", "asset_file_def", "object_graph_def"):
        if getattr(a, part) != getattr(b, part):
            lines.append(f"{part} differs")
    if [n.name for n in a.graph_def.node] != [n.name for n in b.graph_def.node] and not any(
            line.startswith("node ") for line in lines):
        lines.append("the same nodes, stored in another order")
    if not lines and _raw(a) != _raw(b):
        lines.append("differs in fields hubpub does not break down")
    return lines


def _fields(a: Any, b: Any) -> Iterator[tuple[Any, Any, Any]]:
    for field in a.DESCRIPTOR.fields:
        x, y = getattr(a, field.name), getattr(b, field.name)
        if x != y:
            yield field, x, y


def _short(value: Any) -> str:
    text = repr(list(value) if hasattr(value, "__len__") and not isinstance(
        value, (str, bytes)) else value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _nodes(old: dict[str, Any], new: dict[str, Any], what: str) -> Iterator[str]:
    for name in sorted(old.keys() - new.keys()):
        yield f"{what} '{name}' ({old[name].op}) removed"
    for name in sorted(new.keys() - old.keys()):
        yield f"{what} '{name}' ({new[name].op}) added"
    for name in sorted(old.keys() & new.keys()):
        a, b = old[name], new[name]
        if _raw(a) == _raw(b):
            continue
        parts = [f"{field.name} {_short(x)} -> {_short(y)}"
                 for field, x, y in _fields(a, b) if field.name != "attr"]
        for key in sorted(a.attr.keys() | b.attr.keys()):
            if key not in b.attr or key not in a.attr or _raw(a.attr[key]) != _raw(b.attr[key]):
                parts.append(f"attr '{key}' {_attr(a.attr, key)} -> {_attr(b.attr, key)}")
        yield f"{what} '{name}': " + ("; ".join(parts) or "differs")


def _attr(attrs: Any, key: str) -> str:
    if key not in attrs:
        return "(none)"
    value = attrs[key]
    kind = value.WhichOneof("value")
    if kind == "tensor":
        return _tensor_text(value.tensor)
    if kind == "shape":
        return _shape_text(value.shape)
    if kind == "list" and len(value.list.shape):
        text = " ".join(_shape_text(s) for s in value.list.shape)
        return text if len(text) <= 80 else f"{text[:77]}..."
    return _short(getattr(value, kind)) if kind in ("s", "i", "f", "b", "type") else f"<{kind}>"


def _shape_text(shape: Any) -> str:
    if shape.unknown_rank:
        return "<unknown rank>"
    return "[" + ", ".join("None" if d.size < 0 else str(d.size) for d in shape.dim) + "]"


_NUMPY_TYPES = {"float32": "<f4", "float64": "<f8", "int32": "<i4", "int64": "<i8",
                "uint8": "u1", "int8": "i1", "bool": "?"}


def _tensor_text(raw: bytes) -> str:
    """A constant as ``float32[2, 3] 0.5 1 ...``: dtype, shape and its first values."""
    import numpy as np

    from hubpub.spec.lite import TensorProto, dtype_name

    tensor = TensorProto.FromString(raw)
    dtype = dtype_name(tensor.dtype)
    shape = [int(d.size) for d in tensor.tensor_shape.dim]
    if tensor.tensor_content and dtype in _NUMPY_TYPES:
        values = np.frombuffer(tensor.tensor_content, _NUMPY_TYPES[dtype]).tolist()
    else:
        values = next((list(getattr(tensor, f)) for f in (
            "float_val", "double_val", "int_val", "int64_val", "bool_val", "string_val")
            if len(getattr(tensor, f))), [])
    shown = " ".join(repr(v) if isinstance(v, bytes) else f"{v:g}" if isinstance(v, float)
                     else str(v) for v in values[:4])
    more = " ..." if len(values) > 4 else ""
    return f"{dtype}{shape} {shown}{more}".rstrip()


def _keyed(old: dict[str, Any], new: dict[str, Any], what: str) -> Iterator[str]:
    for name in sorted(old.keys() - new.keys()):
        yield f"{what} '{name}' removed"
    for name in sorted(new.keys() - old.keys()):
        yield f"{what} '{name}' added"
    for name in sorted(old.keys() & new.keys()):
        if _raw(old[name]) != _raw(new[name]):
            yield f"{what} '{name}' differs"


def checkpoint_differences(old: Side, new: Side) -> list[str]:
    """Where two checkpoints differ, from their indexes: tensors, dtypes, shapes, values, layout."""
    if old.checkpoint is None or new.checkpoint is None:
        return [] if old.checkpoint is new.checkpoint else ["only one side has a checkpoint"]
    a, b = old.checkpoint.tensors, new.checkpoint.tensors
    lines = [f"tensor '{name}' only in {old.shown}" for name in sorted(a.keys() - b.keys())]
    lines += [f"tensor '{name}' only in {new.shown}" for name in sorted(b.keys() - a.keys())]
    for name in sorted(a.keys() & b.keys()):
        x, y = a[name], b[name]
        if (x.dtype, x.shape) != (y.dtype, y.shape):
            lines.append(f"tensor '{name}': {x.dtype}{list(x.shape)} -> {y.dtype}{list(y.shape)}")
        elif x.checksum != y.checksum:
            lines.append(f"tensor '{name}': values differ (CRC32C {x.crc32c:08x} -> "
                         f"{y.crc32c:08x})")
        elif (x.shard, x.offset) != (y.shard, y.offset):
            lines.append(f"tensor '{name}': same values at another place in the data file")
    if old.checkpoint.num_shards != new.checkpoint.num_shards:
        lines.append(f"shards: {old.checkpoint.num_shards} -> {new.checkpoint.num_shards}")
    return _capped(lines)
