"""What changed between two modules, from a consumer's point of view.

A consumer depends on the tag sets (variants), each signature's input and output keys with
their dtypes, shapes and kinds (dense, sparse, composite), the attachments (the expected image
size), the variables (names, shapes, dtypes, trainability: fine-tuning and checkpoints refer
to them), the assets, the fine-tuning collections and the metadata. Node names are not part
of that: a signature maps its keys to tensors, so renaming graph nodes is invisible.

Compatible means a consumer of the old module keeps working: additions, new weights, and
shapes that got more general where the consumer feeds them (inputs: 3 -> None) or more
specific where it reads them (outputs: None -> 3; an output's batch dimension may widen, as it
follows the inputs'). Everything else is breaking: a consumer that builds a layer on a
2048-wide feature vector fails when the width becomes unknown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hubpub.diff.side import Side, same_bytes
from hubpub.spec.files import ATTACHMENTS_COLLECTION, IMAGE_MODULE_INFO_KEY, SAVED_MODEL_FILE
from hubpub.spec.protos import ImageModuleInfo, ModuleAttachment
from hubpub.spec.view import TensorView, VariableView, VariantView

__all__ = ["Change", "compare"]

FINE_TUNING_COLLECTIONS = ("regularization_losses", "update_ops")
_LISTED = 5  # names listed in a summary message before "and N more"


@dataclass(frozen=True)
class Change:
    """One difference. ``path`` says where (``{train}/signatures/default/inputs/x``)."""

    kind: str  # variant signature input output attachment variable asset collection
    #            metadata weights graph file numeric
    path: str
    old: Any
    new: Any
    breaking: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "old": self.old, "new": self.new,
                "breaking": self.breaking, "message": self.message}


def compare(old: Side, new: Side) -> list[Change]:
    """Every change from ``old`` to ``new``; an empty list means identical bytes too."""
    changes = [*_variants(old, new), *_variables(old, new), *_assets(old, new),
               *_metadata(old.metadata, new.metadata)]
    changes += _bytes(old, new, changes)
    return changes


def _label(tags: tuple[str, ...]) -> str:
    return "{" + ",".join(tags) + "}"


def _shape_text(shape: tuple[int | None, ...] | None) -> str:
    if shape is None:
        return "unknown rank"
    return "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"


def _shape_json(shape: tuple[int | None, ...] | None) -> list[int | None] | None:
    return None if shape is None else list(shape)


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


# --- variants, signatures, tensors -----------------------------------------------------------


def _variants(old: Side, new: Side) -> Iterator[Change]:
    before = {v.tags: v for v in old.view.variants}
    after = {v.tags: v for v in new.view.variants}
    for tags in sorted(before.keys() - after.keys()):
        yield Change("variant", _label(tags), list(tags), None, True,
                     f"variant {_label(tags)} removed: consumers loading it with "
                     f"tags={set(tags) or 'set()'} fail")
    for tags in sorted(after.keys() - before.keys()):
        yield Change("variant", _label(tags), None, list(tags), False,
                     f"variant {_label(tags)} added")
    trains = any(v.is_train for v in new.view.variants)
    for tags in sorted(before.keys() & after.keys()):
        yield from _signatures(before[tags], after[tags])
        yield from _attachments(before[tags], after[tags])
        yield from _collections(before[tags], after[tags], module_trains=trains)


def _signatures(old: VariantView, new: VariantView) -> Iterator[Change]:
    where = _label(old.tags)
    for name in sorted(old.signatures.keys() - new.signatures.keys()):
        yield Change("signature", f"{where}/signatures/{name}", name, None, True,
                     f"signature '{name}' removed from variant {where}")
    for name in sorted(new.signatures.keys() - old.signatures.keys()):
        yield Change("signature", f"{where}/signatures/{name}", None, name, False,
                     f"signature '{name}' added to variant {where}")
    for name in sorted(old.signatures.keys() & new.signatures.keys()):
        before, after = old.signatures[name], new.signatures[name]
        base = f"{where}/signatures/{name}"
        yield from _tensors("input", f"{base}/inputs", before.inputs, after.inputs)
        yield from _tensors("output", f"{base}/outputs", before.outputs, after.outputs)


def _tensors(kind: str, base: str, old: Mapping[str, TensorView],
             new: Mapping[str, TensorView]) -> Iterator[Change]:
    removed, added = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
    renamed = _renamed(removed, added, old, new)
    for key in removed:
        hint = f" (renamed to '{renamed[key]}'?)" if key in renamed else ""
        effect = ("consumers feeding it fail" if kind == "input"
                  else "consumers reading it fail")
        yield Change(kind, f"{base}/{key}", key, None, True,
                     f"{kind} '{key}' removed{hint}: {effect}")
    for key in added:
        # A new input must be fed by consumers who never heard of it.
        breaking = kind == "input"
        effect = ": consumers of the old module do not feed it" if breaking else ""
        yield Change(kind, f"{base}/{key}", None, key, breaking, f"{kind} '{key}' added{effect}")
    for key in sorted(old.keys() & new.keys()):
        yield from _tensor(kind, f"{base}/{key}", key, old[key], new[key])


def _renamed(removed: list[str], added: list[str], old: Mapping[str, TensorView],
             new: Mapping[str, TensorView]) -> dict[str, str]:
    """Removed key -> the added key that looks like its new name (same kind, dtype, shape)."""
    if len(removed) != 1 or len(added) != 1:
        return {}
    a, b = old[removed[0]], new[added[0]]
    same = (a.kind, a.dtype, a.shape) == (b.kind, b.dtype, b.shape)
    return {removed[0]: added[0]} if same else {}


def _tensor(kind: str, path: str, key: str, old: TensorView, new: TensorView) -> Iterator[Change]:
    if old.kind != new.kind:
        yield Change(kind, f"{path}/kind", old.kind, new.kind, True,
                     f"{kind} '{key}' changed from a {old.kind} to a {new.kind} tensor")
    if old.dtype != new.dtype:
        yield Change(kind, f"{path}/dtype", old.dtype, new.dtype, True,
                     f"{kind} '{key}' dtype changed from {old.dtype} to {new.dtype}")
    if old.shape != new.shape:
        # Inputs may accept more than before; outputs may promise more than before.
        wider, narrower = _widens(old.shape, new.shape), _widens(new.shape, old.shape)
        if kind == "input":
            breaking = not wider
            how = "widened: it still accepts what it accepted" if wider else (
                "narrowed: values that fitted before are refused" if narrower else
                "changed: values that fitted before are refused")
        else:
            breaking = not (narrower or _batch_widened(old.shape, new.shape))
            how = "narrowed: still what consumers expected" if narrower else (
                "batch dimension widened: it follows the inputs" if not breaking else
                "widened: consumers relying on the static shape fail" if wider else
                "changed: consumers relying on the static shape fail")
        yield Change(kind, f"{path}/shape", _shape_json(old.shape), _shape_json(new.shape),
                     breaking, f"{kind} '{key}' shape {_shape_text(old.shape)} -> "
                               f"{_shape_text(new.shape)} ({how})")


def _batch_widened(old: tuple[int | None, ...] | None,
                   new: tuple[int | None, ...] | None) -> bool:
    """Only the leading (batch) dimension became unknown: outputs follow their inputs' batch."""
    return (old is not None and new is not None and len(old) == len(new) > 0
            and new[0] is None and old[1:] == new[1:])


def _widens(old: tuple[int | None, ...] | None, new: tuple[int | None, ...] | None) -> bool:
    """True when every value of shape ``old`` also has shape ``new`` (3 -> None widens)."""
    if new is None:
        return True
    if old is None or len(old) != len(new):
        return False
    return all(n is None or n == o for o, n in zip(old, new, strict=True))


def _attachments(old: VariantView, new: VariantView) -> Iterator[Change]:
    where = _label(old.tags)
    before, after = _attachment_map(old), _attachment_map(new)
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        path = f"{where}/attachments/{key}"
        if b is None:
            yield Change("attachment", path, _attachment_value(key, a), None, True,
                         f"attachment '{key}' removed from variant {where}")
        elif a is None:
            yield Change("attachment", path, None, _attachment_value(key, b), False,
                         f"attachment '{key}' added to variant {where}")
        else:
            old_value, new_value = _attachment_value(key, a), _attachment_value(key, b)
            what = ("expected image size" if key == IMAGE_MODULE_INFO_KEY
                    else f"attachment '{key}'")
            yield Change("attachment", path, old_value, new_value, True,
                         f"{what} changed from {old_value} to {new_value} in variant {where}")


def _attachment_map(variant: VariantView) -> dict[str, bytes]:
    out = {}
    for raw in variant.collection_bytes(ATTACHMENTS_COLLECTION):
        attachment = ModuleAttachment.FromString(raw)
        out[attachment.key] = bytes(attachment.value)
    return out


def _attachment_value(key: str, value: bytes | None) -> Any:
    """The image size as [height, width]; other attachments by their size in bytes."""
    if value is None:
        return None
    if key == IMAGE_MODULE_INFO_KEY:
        size = ImageModuleInfo.FromString(value).default_image_size
        return [size.height, size.width]
    return f"{len(value)} bytes"


def _collections(old: VariantView, new: VariantView, *, module_trains: bool
                 ) -> Iterator[Change]:
    """Only counts: the entries are node names, which may change freely.

    Update ops leaving a variant that is not for training (when the module has a ``train``
    variant) are a fix, not a loss: consumers fine-tune the train variant.
    """
    where = _label(old.tags)
    for key in FINE_TUNING_COLLECTIONS:
        a, b = len(old.collection(key)), len(new.collection(key))
        if a == b:
            continue
        fixed = key == "update_ops" and b < a and module_trains and not new.is_train
        breaking = b < a and not fixed
        effect = (": fine-tuning consumers lose them" if breaking else
                  ": the inference variant no longer changes the moving statistics"
                  if fixed else "")
        yield Change("collection", f"{where}/collections/{key}", a, b, breaking,
                     f"{key} in variant {where}: {a} -> {b}{effect}")


# --- variables and weights --------------------------------------------------------------------


@dataclass(frozen=True)
class _Variable:
    dtype: str
    shape: tuple[int | None, ...] | None
    trainable: bool
    parts: int = 1  # graph variables (partitions) holding it


def _variable_table(side: Side) -> dict[str, _Variable]:
    """Variables of every variant by checkpoint name; the index has the true full shapes."""
    graph: dict[str, list[VariableView]] = {}
    parts: dict[str, int] = {}
    for variant in side.view.variants:
        nodes: dict[str, set[str]] = {}
        for variable in variant.variables:
            graph.setdefault(variable.name, []).append(variable)
            nodes.setdefault(variable.name, set()).add(variable.node)
        for name, found in nodes.items():
            parts[name] = max(parts.get(name, 1), len(found))
    index = side.checkpoint.tensors if side.checkpoint else {}
    table = {}
    for name, views in graph.items():
        trainable = any(v.trainable for v in views)
        if name in index:
            table[name] = _Variable(index[name].dtype, index[name].shape, trainable,
                                    parts[name])
        else:
            table[name] = _Variable(views[0].dtype.removesuffix("_ref"), views[0].shape,
                                    trainable, parts[name])
    return table


def _variables(old: Side, new: Side) -> Iterator[Change]:
    before, after = _variable_table(old), _variable_table(new)
    for name in sorted(before.keys() - after.keys()):
        yield Change("variable", f"variables/{name}", name, None, True,
                     f"variable '{name}' removed: checkpoints and variable maps that name it "
                     f"no longer fit")
    for name in sorted(after.keys() - before.keys()):
        yield Change("variable", f"variables/{name}", None, name, False,
                     f"variable '{name}' added")
    for name in sorted(before.keys() & after.keys()):
        a, b = before[name], after[name]
        path = f"variables/{name}"
        if a.dtype != b.dtype:
            yield Change("variable", f"{path}/dtype", a.dtype, b.dtype, True,
                         f"variable '{name}' dtype changed from {a.dtype} to {b.dtype}")
        if a.shape != b.shape:
            yield Change("variable", f"{path}/shape", _shape_json(a.shape), _shape_json(b.shape),
                         True, f"variable '{name}' shape changed from {_shape_text(a.shape)} "
                               f"to {_shape_text(b.shape)}: fine-tuned checkpoints no longer "
                               f"restore")
        if a.parts != b.parts:
            yield Change("variable", f"{path}/partitions", a.parts, b.parts, True,
                         f"variable '{name}' is held in {b.parts} partition(s), was {a.parts}: "
                         "the graph variables a variable_map or hub.KerasLayer.variables "
                         "names change")
        if a.trainable != b.trainable:
            state = "trainable" if b.trainable else "no longer trainable"
            yield Change("variable", f"{path}/trainable", a.trainable, b.trainable, True,
                         f"variable '{name}' is {state}: fine-tuning trains a different set")
    yield from _weights(old, new, before.keys() & after.keys())


def _weights(old: Side, new: Side, common: set[str]) -> Iterator[Change]:
    """Values compared through the index's CRC32C of each tensor: the data is never read."""
    if old.checkpoint is None or new.checkpoint is None:
        return
    a, b = old.checkpoint.tensors, new.checkpoint.tensors
    changed = sorted(name for name in common & a.keys() & b.keys()
                     if (a[name].dtype, a[name].shape) == (b[name].dtype, b[name].shape)
                     and a[name].checksum != b[name].checksum)
    if changed:
        yield Change("weights", "variables", None, changed, False,
                     f"weights differ: new values for {len(changed)} of {len(common)} "
                     f"variables ({_listed(changed)}); outputs may differ")


# --- assets, metadata, bytes ------------------------------------------------------------------


def _assets(old: Side, new: Side) -> Iterator[Change]:
    before = {p: r for p, r in old.files.items() if p.startswith("assets/")}
    after = {p: r for p, r in new.files.items() if p.startswith("assets/")}
    for path in sorted(before.keys() - after.keys()):
        yield Change("asset", path, before[path].digest(), None, True,
                     f"asset '{path.removeprefix('assets/')}' removed")
    for path in sorted(after.keys() - before.keys()):
        yield Change("asset", path, None, after[path].digest(), False,
                     f"asset '{path.removeprefix('assets/')}' added")
    for path in sorted(before.keys() & after.keys()):
        if not same_bytes(before[path], after[path]):
            yield Change("asset", path, before[path].digest(), after[path].digest(), True,
                         f"asset '{path.removeprefix('assets/')}' content changed: what the "
                         f"module derives from it (a vocabulary's ids) may no longer match")


def _metadata(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    """Manifest metadata, when both sides have one; informative, never breaking."""
    if not old or not new:
        return
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            yield Change("metadata", f"metadata/{key}", old.get(key), new.get(key), False,
                         f"metadata {key}: {old.get(key)!r} -> {new.get(key)!r}")


def _bytes(old: Side, new: Side, changes: list[Change]) -> list[Change]:
    """Files whose bytes differ beyond what the changes already found explain."""
    kinds = {c.kind for c in changes}
    graph_explained = bool(kinds & {"variant", "signature", "input", "output", "attachment",
                                    "collection", "variable"})
    variables_explained = bool(kinds & {"variable", "weights"})
    out = []
    for path in sorted(old.files.keys() | new.files.keys()):
        a, b = old.files.get(path), new.files.get(path)
        if path.startswith("assets/") or (a is not None and b is not None and same_bytes(a, b)):
            continue
        if path.startswith("variables/") and variables_explained:
            continue
        if path == SAVED_MODEL_FILE:
            if not graph_explained:
                out.append(Change("graph", path, None, None, False,
                                  "the graph changed in ways consumers do not see (node names, "
                                  "ops behind the signatures)"))
            continue
        if a is None or b is None:
            state = "added" if a is None else "removed"
            out.append(Change("file", path, a and a.digest(), b and b.digest(), False,
                              f"file '{path}' {state}"))
        else:
            out.append(Change("file", path, a.digest(), b.digest(), False,
                              f"file '{path}' differs"))
    return out
