"""Image modules: the ``image_module_info`` attachment and the expected input size."""

from __future__ import annotations

from typing import Any

from hubpub.errors import SpecError
from hubpub.spec.authoring import attach_message
from hubpub.spec.files import IMAGE_MODULE_INFO_KEY
from hubpub.spec.protos import ImageModuleInfo

__all__ = ["ImageModuleInfo", "attach_image_module_info", "get_expected_image_size",
           "get_num_image_channels"]


def attach_image_module_info(image_module_info: Any) -> None:
    """Attach an ImageModuleInfo to the module being built (call inside module_fn)."""
    attach_message(IMAGE_MODULE_INFO_KEY, image_module_info)


def _image_input_shape(module_or_spec: Any, signature: str | None, input_name: str | None
                       ) -> list[Any] | None:
    name = input_name or "images"
    infos = module_or_spec.get_input_info_dict(signature)
    if name not in infos:
        raise SpecError(f"Module is missing input '{name}' in signature "
                        f"'{signature or 'default'}'.")
    shape = infos[name].get_shape()
    return None if shape.rank is None else shape.as_list()


def get_expected_image_size(module_or_spec: Any, signature: str | None = None,
                            input_name: str | None = None) -> list[int]:
    """``[height, width]`` the module expects: from the attachment, else the input's shape."""
    info = module_or_spec.get_attached_message(IMAGE_MODULE_INFO_KEY, ImageModuleInfo)
    if info is not None and info.default_image_size.height and info.default_image_size.width:
        return [info.default_image_size.height, info.default_image_size.width]
    shape = _image_input_shape(module_or_spec, signature, input_name)
    if shape is None or len(shape) != 4 or not shape[1] or not shape[2]:
        raise SpecError(f"Shape of module input is {shape}, expected [batch_size, height, "
                        "width, num_channels] with known height and width.")
    return shape[1:3]


def get_num_image_channels(module_or_spec: Any, signature: str | None = None,
                           input_name: str | None = None) -> int:
    """Number of channels of the image input, from its declared shape."""
    shape = _image_input_shape(module_or_spec, signature, input_name)
    if shape is None or len(shape) != 4 or not shape[3]:
        raise SpecError(f"Shape of module input is {shape}, expected [batch_size, height, "
                        "width, num_channels] with known num_channels.")
    return shape[3]
