"""hubpub: author, check, export, pack and document TF1 Hub format modules.

``import hubpub as hub`` provides the names of the removed ``tensorflow_hub`` TF1 API.
TensorFlow-backed names are resolved on first use (PEP 562), so importing hubpub, running
``hubpub --help`` or reading a manifest never imports TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

from hubpub.errors import (
    ArchiveError,
    CheckFailure,
    ExportError,
    HandleError,
    HubpubError,
    ManifestError,
    ModuleFormatError,
    PublisherCodeError,
    SignatureError,
    SpecError,
    WeightsError,
)

__version__ = "0.1.0"

# Public name -> module that defines it. Each of these modules imports TensorFlow.
_LAZY = {
    "create_module_spec": "hubpub.spec.authoring",
    "add_signature": "hubpub.spec.authoring",
    "attach_message": "hubpub.spec.authoring",
    "ModuleSpec": "hubpub.spec.module_spec",
    "ParsedTensorInfo": "hubpub.spec.tensor_info",
    "ImageModuleInfo": "hubpub.spec.image",
    "attach_image_module_info": "hubpub.spec.image",
    "get_expected_image_size": "hubpub.spec.image",
    "get_num_image_channels": "hubpub.spec.image",
    "load_module_spec": "hubpub.spec.loading",
    "Module": "hubpub.consumer.module",
    "eval_function_for_module": "hubpub.consumer.module",
    "load": "hubpub.consumer.module",
    "export_latest_checkpoint": "hubpub.spec.export",
    "tf2_metadata": "hubpub.pipelines.convert",
    "latest_checkpoint": "hubpub.spec.export",
}

# Names that need no TensorFlow.
_LAZY_LIGHT = {
    "resolve": "hubpub.files.resolver",
}

__all__ = [
    "ArchiveError",
    "CheckFailure",
    "ExportError",
    "HandleError",
    "HubpubError",
    "ImageModuleInfo",
    "ManifestError",
    "Module",
    "ModuleFormatError",
    "ModuleSpec",
    "ParsedTensorInfo",
    "PublisherCodeError",
    "SignatureError",
    "SpecError",
    "WeightsError",
    "__version__",
    "add_signature",
    "attach_image_module_info",
    "attach_message",
    "create_module_spec",
    "eval_function_for_module",
    "export_latest_checkpoint",
    "get_expected_image_size",
    "get_num_image_channels",
    "latest_checkpoint",
    "load",
    "load_module_spec",
    "resolve",
    "tf2_metadata",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name) or _LAZY_LIGHT.get(name)
    if module_name is None:
        raise AttributeError(f"module 'hubpub' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
