"""``ModuleSpec``: the blueprint of a module (one MetaGraphDef per variant, optional weights)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hubpub.errors import SpecError
from hubpub.spec.files import ASSETS_COLLECTION, ATTACHMENTS_COLLECTION, SUPPORTED_COLLECTIONS
from hubpub.spec.instance import is_state_op
from hubpub.spec.protos import ModuleAttachment
from hubpub.spec.tensor_info import ParsedTensorInfo, parse_tensor_info_map

__all__ = ["ModuleSpec", "SUPPORTED_COLLECTIONS"]


_MISSING = object()


def _colocation_problem(meta: Any, tags: frozenset[str]) -> str | None:
    """A state op may only be colocated with other state ops (it is imported once, alone)."""
    nodes = {n.name: n for n in meta.graph_def.node}
    for node in meta.graph_def.node:
        if "_class" not in node.attr or not is_state_op(node):
            continue
        for group in node.attr["_class"].list.s:
            other = group.decode().removeprefix("loc:@")
            if other != node.name and other in nodes and not is_state_op(nodes[other]):
                # Keeps the old library's wording ("state-holding node", "colocate_with").
                return (f"State op '{node.name}' ({node.op}) of variant {sorted(tags)} is "
                        f"colocated with node '{other}' ({nodes[other].op}), which is not a "
                        "state op: a state-holding node must not be subject to a "
                        "tf.colocate_with(y) constraint unless y is also a state-holding node "
                        f"(its colocation groups are {[g.decode() for g in node.attr['_class'].list.s]}). "
                        "Create variables and tables outside colocate_with blocks that name "
                        "other ops.")
    return None


def _tags_key(tags: Iterable[str] | None) -> frozenset[str]:
    if isinstance(tags, str):
        tags = [tags]
    return frozenset(tags or ())


class ModuleSpec:
    """What ``create_module_spec`` and ``load_module_spec`` return; instantiate it with Module."""

    def __init__(self, saved_model: Any, *, checkpoint_path: str | None = None,
                 source_lines: dict | None = None, module_dir: str | None = None,
                 notes: list[dict[str, Any]] | None = None) -> None:
        self._saved_model = saved_model
        self.notes = list(notes or [])  # what authoring changed for the publisher
        self._checkpoint_path = checkpoint_path
        self._source_lines = source_lines or {}
        self._module_dir = module_dir
        self._variants: dict[frozenset[str], Any] = {}
        for meta in saved_model.meta_graphs:
            key = frozenset(meta.meta_info_def.tags)
            if key in self._variants:
                raise SpecError(f"Tags {sorted(key)} used repeatedly")
            self._variants[key] = meta
        self._check_collections()
        for tags, meta in self._variants.items():
            problem = _colocation_problem(meta, tags)
            if problem:
                raise SpecError(problem)
        self._attachments = {key: self._parse_attachments(meta)
                             for key, meta in self._variants.items()}

    def _check_collections(self) -> None:
        for tags, meta in self._variants.items():
            unsupported = sorted(set(meta.collection_def) - SUPPORTED_COLLECTIONS
                                 - {ASSETS_COLLECTION})
            if unsupported:
                raise SpecError(
                    f"Unsupported collections in graph {sorted(tags)}: {unsupported}\n"
                    "Use hub.create_module_spec(..., drop_collections=[...]) as appropriate.")

    @staticmethod
    def _parse_attachments(meta: Any) -> dict[str, bytes]:
        if ATTACHMENTS_COLLECTION not in meta.collection_def:
            return {}
        collection = meta.collection_def[ATTACHMENTS_COLLECTION]
        if collection.WhichOneof("kind") != "bytes_list":
            raise SpecError(f"Collection {ATTACHMENTS_COLLECTION} must hold bytes")
        out = {}
        for raw in collection.bytes_list.value:
            attachment = ModuleAttachment.FromString(raw)
            out[attachment.key] = attachment.value
        return out

    # --- what the spec is made of ------------------------------------------------------
    @property
    def saved_model(self) -> Any:
        """The SavedModel proto (treat as read-only)."""
        return self._saved_model

    @property
    def checkpoint_path(self) -> str | None:
        return self._checkpoint_path

    @property
    def source_lines(self) -> dict:
        """``{frozenset(tags): {node: (file, line)}}`` recorded while module_fn ran."""
        return self._source_lines

    @property
    def module_dir(self) -> str | None:
        """The directory the spec was loaded from, if any."""
        return self._module_dir

    def meta_graph(self, tags: Iterable[str] | None = None) -> Any:
        key = _tags_key(tags)
        try:
            return self._variants[key]
        except KeyError:
            raise KeyError(f"SavedModelHandler has no graph with tags: {sorted(key)}") from None

    def has_variant(self, tags: Iterable[str] | None) -> bool:
        return _tags_key(tags) in self._variants

    # --- the old public API --------------------------------------------------------------
    def get_tags(self) -> list[set[str]]:
        """The variants' tag sets, in the order the publisher declared them (as the old library)."""
        return [set(tags) for tags in self._variants]

    def sorted_tags(self) -> list[frozenset[str]]:
        """The variants' tag sets in a stable order (by sorted tags): for reports and choices."""
        return sorted(self._variants, key=sorted)

    def get_signature_names(self, tags: Iterable[str] | None = None) -> list[str]:
        return list(self.meta_graph(tags).signature_def.keys())

    def _signature(self, signature: str | None, tags: Iterable[str] | None) -> Any:
        meta = self.meta_graph(tags)
        name = signature or "default"
        if name not in meta.signature_def:
            raise SpecError(f"Signature '{name}' is missing from meta graph. "
                            f"Known signatures: {sorted(meta.signature_def)}")
        return meta.signature_def[name]

    def get_input_info_dict(self, signature: str | None = None,
                            tags: Iterable[str] | None = None) -> dict[str, ParsedTensorInfo]:
        return parse_tensor_info_map(self._signature(signature, tags).inputs)

    def get_output_info_dict(self, signature: str | None = None,
                             tags: Iterable[str] | None = None) -> dict[str, ParsedTensorInfo]:
        return parse_tensor_info_map(self._signature(signature, tags).outputs)

    def get_attached_message(self, key: str, message_type: type, tags: Iterable[str] | None = None,
                             required: bool = False) -> Any:
        attachments = self._attachments[_tags_key(tags)]
        if key not in attachments:
            if required:
                raise KeyError(f"No attached message for key '{key}' in graph version "
                               f"{sorted(_tags_key(tags))} of Hub Module")
            return None
        message = message_type()
        message.ParseFromString(attachments[key])
        return message

    def export(self, path: str | Path, *, checkpoint_path: Any = _MISSING,
               name_transform_fn: Callable[[str], str] | None = None) -> None:
        """Export the spec with the variables of ``checkpoint_path``.

        ``checkpoint_path=None`` (a hubpub extension) exports the variables' initial values.
        """
        if checkpoint_path is _MISSING:
            raise ValueError("Missing mandatory `checkpoint_path` parameter")
        from hubpub.spec.export import export_spec

        export_spec(self, path, checkpoint_path=checkpoint_path,
                    name_transform_fn=name_transform_fn)

    def __repr__(self) -> str:
        tags = ", ".join("{" + ",".join(sorted(t)) + "}" for t in self.sorted_tags())
        return f"<hubpub.ModuleSpec variants=[{tags}]>"
