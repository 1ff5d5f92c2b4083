"""The spec summary: a JSON-able description of a module, for build-report.json and the docs.

Consumers of a module need its interface (variants, signatures, dtypes, shapes, the expected
image size) and its fine-tuning facts (trainable variables, regularization losses, update ops)
without loading it. ``summarize()`` reads them from the protos once, so the build report and
every docs format agree, and the docs can be rendered from a stored report without TensorFlow.

The result is a plain dict; its keys are a public contract (build-report.json), always
present and always in this order::

    {
      "variants": [                          # in SavedModel order
        {
          "tags": ["train"],                 # sorted; [] is the default variant
          "is_train": true,
          "signatures": {                    # by name, sorted
            "default": {
              "inputs":  [{"key": "images", "kind": "dense", "dtype": "float32",
                           "shape": [null, 224, 224, 3]}],      # shape null: unknown rank
              "outputs": [...],              # each list sorted by key
              "image_size": [224, 224]       # or null: see "expected_image_size"
            }
          },
          "attachments": {                   # by key, sorted
            "image_module_info": {"height": 224, "width": 224},
            "other_key": {"bytes": 12}       # attachments hubpub does not interpret
          },
          "variables": 4,                    # distinct checkpoint keys
          "trainable_variables": 2,
          "parameters": 1234,                # elements of all variables; null if a shape is unknown
          "trainable_parameters": 1000,      # null if a trainable shape is unknown
          "variable_bytes": 4936,            # null if a size is unknown (e.g. string variables)
          "regularization_losses": 1,        # entries exported in the collection
          "update_ops": 2,
          "assets": ["tokens.txt"]           # file names under assets/, sorted
        }
      ],
      "signatures": ["default", "image_feature_vector"],   # union over variants, sorted
      "default_variant": [],                 # tags of the variant loaded without tags=
      "fine_tune_variant": ["train"],        # tags to instantiate for training
      "expected_image_size": {"height": 224, "width": 224,
                              "source": "image_module_info attachment"},  # or null
      "assets": ["tokens.txt"],              # union over variants, sorted
      "files": {"saved_model.pb": 4459},     # only the mapping passed as ``files``; {} if none
      "requires": ["tensorflow_text"]        # op libraries the module records; [] if none
    }

A signature's ``image_size`` follows the TF1 library's ``get_expected_image_size`` per variant,
for signatures that take images (an ``images`` input, or a float input of shape
``[batch, height, width, 3]``): the variant's ``image_module_info`` attachment when both sizes
are non-zero, else that input's height and width when both are known.
``expected_image_size`` is what the library returned for a spec: the default variant's
attachment, else the ``images`` input of its ``default`` signature.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from hubpub.spec.files import ATTACHMENTS_COLLECTION
from hubpub.spec.lite import dtype_size
from hubpub.spec.protos import ImageModuleInfo, ModuleAttachment
from hubpub.spec.view import ModuleView, TensorView, VariantView, attr_tensor, node_name

__all__ = ["summarize"]

IMAGE_INFO_KEY = "image_module_info"
IMAGE_INPUT_KEY = "images"
# Written into asset Const nodes at export; the real name is in saved_model_assets.
_EXPORTED_ASSET_VALUE = b"SAVEDMODEL-ASSET"


def summarize(view: ModuleView, *, files: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Describe a module as a JSON-able dict (see the module docstring for the keys).

    Args:
        view: the module's graph variants.
        files: optional module-relative file path -> size in bytes, copied into ``files``.
    """
    from hubpub.spec.requirements import recorded_requirements

    variants = [_summarize_variant(v) for v in view.variants]
    default = view.variant(()) or view.variants[0]
    default_entry = variants[view.variants.index(default)]
    return {
        "variants": variants,
        "signatures": sorted({name for v in variants for name in v["signatures"]}),
        "default_variant": list(default.tags),
        "fine_tune_variant": list(view.fine_tune_variant.tags),
        "expected_image_size": _expected_image_size(default_entry),
        "assets": sorted({a for v in variants for a in v["assets"]}),
        "files": {k: int(v) for k, v in sorted((files or {}).items())},
        "requires": recorded_requirements(v.meta_graph for v in view.variants),
    }


def _summarize_variant(variant: VariantView) -> dict[str, Any]:
    attachments = _attachments(variant)
    attached_size = _attached_image_size(attachments)
    signatures = {}
    for name, sig in variant.signatures.items():
        signatures[name] = {
            "inputs": [_tensor(t) for t in sig.inputs.values()],
            "outputs": [_tensor(t) for t in sig.outputs.values()],
            "image_size": _signature_image_size(sig.inputs, attached_size),
        }
    counts = _variable_counts(variant)
    return {
        "tags": list(variant.tags),
        "is_train": variant.is_train,
        "signatures": signatures,
        "attachments": attachments,
        **counts,
        "regularization_losses": len(variant.collection("regularization_losses")),
        "update_ops": len(variant.collection("update_ops")),
        "assets": _assets(variant),
    }


def _tensor(tensor: TensorView) -> dict[str, Any]:
    return {"key": tensor.key, "kind": tensor.kind, "dtype": tensor.dtype,
            "shape": None if tensor.shape is None else list(tensor.shape)}


def _attachments(variant: VariantView) -> dict[str, dict[str, int]]:
    values: dict[str, bytes] = {}
    for raw in variant.collection_bytes(ATTACHMENTS_COLLECTION):
        attachment = ModuleAttachment.FromString(raw)
        values[attachment.key] = attachment.value  # the last one wins, as when attached
    out = {}
    for key in sorted(values):
        if key == IMAGE_INFO_KEY:
            size = ImageModuleInfo.FromString(values[key]).default_image_size
            out[key] = {"height": int(size.height), "width": int(size.width)}
        else:
            out[key] = {"bytes": len(values[key])}
    return out


def _attached_image_size(attachments: Mapping[str, Mapping[str, int]]) -> list[int] | None:
    info = attachments.get(IMAGE_INFO_KEY)
    if info and info["height"] and info["width"]:
        return [info["height"], info["width"]]
    return None


def _signature_image_size(inputs: Mapping[str, TensorView],
                          attached: list[int] | None) -> list[int] | None:
    """The attachment's size, else the ``images`` input's; None without an image input."""
    images = inputs.get(IMAGE_INPUT_KEY)
    if images is None:
        images = next((t for t in inputs.values() if _looks_like_images(t)), None)
    if images is None:
        return None
    return attached or _image_size_from_shape(images)


def _looks_like_images(tensor: TensorView) -> bool:
    return (tensor.kind == "dense" and tensor.dtype.startswith("float")
            and tensor.shape is not None and len(tensor.shape) == 4 and tensor.shape[3] in (None, 3))


def _image_size_from_shape(tensor: TensorView | None) -> list[int] | None:
    if tensor is None or tensor.shape is None or len(tensor.shape) != 4:
        return None
    height, width = tensor.shape[1], tensor.shape[2]
    if not height or not width:
        return None
    return [height, width]


def _expected_image_size(variant: Mapping[str, Any]) -> dict[str, Any] | None:
    attached = _attached_image_size(variant["attachments"])
    if attached:
        return {"height": attached[0], "width": attached[1],
                "source": f"{IMAGE_INFO_KEY} attachment"}
    sig = variant["signatures"].get("default")
    if sig is None:
        return None
    images = next((t for t in sig["inputs"] if t["key"] == IMAGE_INPUT_KEY), None)
    if images is None or images["kind"] != "dense":
        return None
    shape = images["shape"]
    if shape is None or len(shape) != 4 or not shape[1] or not shape[2]:
        return None
    return {"height": shape[1], "width": shape[2],
            "source": f"signature default, input {IMAGE_INPUT_KEY}"}


def _variable_counts(variant: VariantView) -> dict[str, int | None]:
    keys, trainable_keys = set(), set()
    params: int | None = 0
    trainable_params: int | None = 0
    nbytes: int | None = 0
    for var in variant.variables:  # partitioned variables: one entry per part, one key
        keys.add(var.name)
        if var.trainable:
            trainable_keys.add(var.name)
        n = var.num_elements
        itemsize = dtype_size(var.dtype) or None  # string, resource: 0; unknown: None
        params = None if params is None or n is None else params + n
        if var.trainable:
            trainable_params = (None if trainable_params is None or n is None
                                else trainable_params + n)
        nbytes = None if nbytes is None or n is None or itemsize is None else nbytes + n * itemsize
    return {"variables": len(keys), "trainable_variables": len(trainable_keys),
            "parameters": params, "trainable_parameters": trainable_params,
            "variable_bytes": nbytes}


def _assets(variant: VariantView) -> list[str]:
    """Asset file names: from saved_model_assets after export, else the Consts' basenames."""
    names = set(variant.exported_assets())
    for tensor in variant.collection("asset_filepaths"):
        node = variant.nodes.get(node_name(tensor))
        if node is None or node.op != "Const":
            continue
        values = attr_tensor(node.attr["value"]).string_val
        if len(values) == 1 and values[0] != _EXPORTED_ASSET_VALUE:
            # A spec not exported yet: the Const still holds the publisher's path.
            names.add(posixpath.basename(values[0].decode("utf-8", "replace").replace("\\", "/")))
    return sorted(names)
