"""Common signatures as JSON Schema: a signature becomes a JSON document, checked against one.

A signature of one variant is described as

    {"inputs":  {"images": {"kind": "dense", "dtype": "float32", "shape": [null, 224, 224, 3]}},
     "outputs": {"default": {"kind": "dense", "dtype": "float32", "shape": [null, 1280]}},
     "attachments": {"image_module_info": {"height": 224, "width": 224}}}

with ``null`` for an unknown dimension and ``"shape": null`` for an unknown rank. The built-in
schemas (``image_feature_vector``, ``image_classification``, ``text_embedding``) ship inside
the package as ``hubpub.signatures`` and are read with importlib.resources; a publisher can
claim a schema file of its own. No TensorFlow import here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator

from hubpub.errors import InputError, SpecError
from hubpub.files.inputs import load_json
from hubpub.spec.files import ATTACHMENTS_COLLECTION
from hubpub.spec.protos import ImageModuleInfo, ModuleAttachment

if TYPE_CHECKING:
    from hubpub.spec.view import SignatureView, VariantView

__all__ = [
    "BUILTIN_SCHEMAS",
    "describe_error",
    "find_error",
    "input_key_of",
    "load_claimed_schema",
    "load_schema",
    "load_schema_file",
    "signature_document",
]

# A JSON Schema: an object, or true / false.
Schema = dict[str, Any] | bool

BUILTIN_SCHEMAS = ("image_classification", "image_feature_vector", "text_embedding")
IMAGE_MODULE_INFO = "image_module_info"


def load_schema(name: str) -> dict[str, Any]:
    """A built-in common-signature schema by name; SpecError naming it when unknown."""
    if name not in BUILTIN_SCHEMAS:
        raise SpecError(f"unknown common signature {name!r}; use one of "
                        f"{', '.join(BUILTIN_SCHEMAS)} or {{schema: path/to/schema.json}}")
    text = resources.files("hubpub.signatures").joinpath(f"{name}.json").read_text("utf-8")
    return json.loads(text)


def load_schema_file(path: str | Path) -> Schema:
    """A publisher's schema file, checked against its JSON Schema metaschema."""
    path = Path(path)
    try:
        schema = load_json(path, what="signature schema")
    except InputError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise SpecError(f"signature schema {path} does not exist") from None
        raise SpecError(str(exc)) from exc
    if not isinstance(schema, (dict, bool)):
        raise SpecError(f"{path}: a signature schema must be a JSON object")
    try:
        # true and false are schemas too; the stubs allow objects only.
        _validator_class(schema).check_schema(schema)  # type: ignore[arg-type]
    except jsonschema.exceptions.SchemaError as exc:
        # best_match takes any jsonschema error; typeshed allows ValidationErrors only.
        best = best_match([exc])  # type: ignore[list-item]
        raise SpecError(f"{path}: not a valid JSON Schema: {best.message}") from exc
    return schema


def load_claimed_schema(claim: str) -> tuple[str, Schema]:
    """(label, schema) for a claim: a built-in name, or else a path to a schema file."""
    if claim in BUILTIN_SCHEMAS:
        return claim, load_schema(claim)
    if not claim.endswith(".json"):
        load_schema(claim)  # raises, naming the built-in choices
    return Path(claim).name, load_schema_file(claim)


def _validator_class(schema: Schema) -> type[Validator]:
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)


def signature_document(variant: VariantView, signature: SignatureView) -> dict[str, Any]:
    """The JSON description of one signature of one variant (see the module docstring)."""
    def tensors(views: Any) -> dict[str, Any]:
        return {key: {"kind": view.kind, "dtype": view.dtype,
                      "shape": None if view.shape is None else list(view.shape)}
                for key, view in views.items()}

    return {"inputs": tensors(signature.inputs), "outputs": tensors(signature.outputs),
            "attachments": dict(_attachments(variant))}


def _attachments(variant: VariantView) -> Iterator[tuple[str, dict[str, Any]]]:
    for raw in variant.collection_bytes(ATTACHMENTS_COLLECTION):
        attachment = ModuleAttachment.FromString(raw)
        if attachment.key == IMAGE_MODULE_INFO:
            size = ImageModuleInfo.FromString(attachment.value).default_image_size
            yield IMAGE_MODULE_INFO, {"height": size.height, "width": size.width}


def find_error(document: dict[str, Any], schema: Schema) -> ValidationError | None:
    """The most relevant validation error (jsonschema's best_match), or None when it passes."""
    validator = _validator_class(schema)(schema)
    return best_match(validator.iter_errors(document))


def describe_error(error: ValidationError) -> str:
    """``input 'images' shape[0]: 1 is not of type 'null' (the batch dimension must be ...)``."""
    where = _describe_path(list(error.absolute_path))
    text = f"{where}: {error.message}" if where else error.message
    hint = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"{text} ({hint})" if hint else text


def _describe_path(path: list[Any]) -> str:
    if not path:
        return ""
    head, rest = path[0], path[1:]
    if head in ("inputs", "outputs") and rest:
        text = f"{head[:-1]} '{rest[0]}'"
        rest = rest[1:]
    elif head == "attachments" and rest:
        text = f"attachment {rest[0]}"
        rest = rest[1:]
    else:
        text = str(head)
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f" {part}"
    return text


def input_key_of(error: ValidationError) -> str | None:
    """The signature input an error is about, if any."""
    path = list(error.absolute_path)
    return str(path[1]) if len(path) >= 2 and path[0] == "inputs" else None
