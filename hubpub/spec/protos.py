"""The three small protos of the TF1 Hub format, built from descriptors at run time.

``ModuleDef`` (``tfhub_module.pb``), ``ModuleAttachment`` (the ``hub_module_attachments``
collection) and ``ImageModuleInfo`` (the ``image_module_info`` attachment). Field numbers
and package name follow the published format, so bytes are interchangeable with modules
written by tensorflow_hub. They live in a private descriptor pool, so loading
tensorflow_hub in the same process does not clash with them.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["FORMAT_V3", "ImageModuleInfo", "ModuleAttachment", "ModuleDef"]

FORMAT_V3 = 3

_F = descriptor_pb2.FieldDescriptorProto


def _field(msg: descriptor_pb2.DescriptorProto, name: str, number: int, ftype: int, *, label: int = _F.LABEL_OPTIONAL,
           type_name: str | None = None) -> None:
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    files = descriptor_pb2.FileDescriptorProto(
        name="hubpub/module_def.proto", package="tensorflow_hub", syntax="proto3")
    module_def = files.message_type.add(name="ModuleDef")
    fmt = module_def.enum_type.add(name="Format")
    fmt.value.add(name="FORMAT_UNSPECIFIED", number=0)
    fmt.value.add(name="FORMAT_V3", number=3)
    _field(module_def, "format", 1, _F.TYPE_ENUM, type_name=".tensorflow_hub.ModuleDef.Format")
    _field(module_def, "required_features", 2, _F.TYPE_STRING, label=_F.LABEL_REPEATED)

    attachment = files.message_type.add(name="ModuleAttachment")
    _field(attachment, "key", 1, _F.TYPE_STRING)
    _field(attachment, "value", 2, _F.TYPE_BYTES)

    image = files.message_type.add(name="ImageModuleInfo")
    size = image.nested_type.add(name="InputSize")
    _field(size, "height", 1, _F.TYPE_INT32)
    _field(size, "width", 2, _F.TYPE_INT32)
    size.reserved_range.add(start=3, end=4)
    _field(image, "default_image_size", 1, _F.TYPE_MESSAGE,
           type_name=".tensorflow_hub.ImageModuleInfo.InputSize")
    pool.Add(files)
    return pool


_POOL = _build_pool()


def _message_class(name: str) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"tensorflow_hub.{name}"))


ModuleDef = _message_class("ModuleDef")
ModuleAttachment = _message_class("ModuleAttachment")
ImageModuleInfo = _message_class("ImageModuleInfo")
