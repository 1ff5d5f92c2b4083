"""Signature tensors: building ``TensorInfo`` protos and parsing them once into plain objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubpub._tf import tf

__all__ = ["ParsedTensorInfo", "build_tensor_info", "convert_inputs", "parse_tensor_info_map"]

_SUPPORTED = (tf.Tensor, tf.SparseTensor, tf.RaggedTensor)


def _decode_type_spec(info: Any) -> Any:
    from tensorflow.python.saved_model import nested_structure_coder

    return nested_structure_coder.decode_proto(
        _struct_with_type_spec(info.composite_tensor.type_spec))


def _struct_with_type_spec(type_spec_proto: Any) -> Any:
    from tensorflow.core.protobuf import struct_pb2

    value = struct_pb2.StructuredValue()
    value.type_spec_value.CopyFrom(type_spec_proto)
    return value


class ParsedTensorInfo:
    """A signature input or output: its ``tf.TypeSpec`` and convenience accessors."""

    def __init__(self, type_spec: Any) -> None:
        self._type_spec = type_spec

    @classmethod
    def from_proto(cls, info: Any) -> ParsedTensorInfo:
        encoding = info.WhichOneof("encoding")
        if encoding == "coo_sparse":
            spec = tf.SparseTensorSpec(tf.TensorShape(info.tensor_shape), tf.as_dtype(info.dtype))
        elif encoding == "composite_tensor":
            spec = _decode_type_spec(info)
        else:
            spec = tf.TensorSpec(tf.TensorShape(info.tensor_shape), tf.as_dtype(info.dtype))
        return cls(spec)

    @property
    def dtype(self) -> tf.DType:
        return self._type_spec.dtype

    def get_shape(self) -> tf.TensorShape:
        return self._type_spec.shape

    @property
    def is_sparse(self) -> bool:
        return isinstance(self._type_spec, tf.SparseTensorSpec)

    @property
    def is_composite(self) -> bool:
        return not isinstance(self._type_spec, tf.TensorSpec)

    @property
    def type_spec(self) -> Any:
        return self._type_spec

    @property
    def is_supported_type(self) -> bool:
        return isinstance(self._type_spec, (tf.TensorSpec, tf.SparseTensorSpec,
                                            tf.RaggedTensorSpec))

    def __repr__(self) -> str:
        return (f"<hub.ParsedTensorInfo shape={self.get_shape()} dtype={self.dtype.name} "
                f"is_sparse={self.is_sparse}>")


def parse_tensor_info_map(protos: Mapping[str, Any]) -> dict[str, ParsedTensorInfo]:
    return {key: ParsedTensorInfo.from_proto(value) for key, value in protos.items()}


def build_tensor_info(value: Any) -> Any:
    """A ``TensorInfo`` for a Tensor, SparseTensor or RaggedTensor of the current graph."""
    from tensorflow.python.saved_model import utils_impl

    # The public alias logs a TF1 deprecation notice on every call; same function.
    return utils_impl.build_tensor_info_internal(value)


def components(value: Any) -> list[Any]:
    """The dense tensors a signature value is made of."""
    if isinstance(value, tf.Tensor):
        return [value]
    return tf.nest.flatten(value, expand_composites=True)


def tensor_names(info: Any) -> list[str]:
    """Names of the graph tensors a ``TensorInfo`` refers to (all components)."""
    encoding = info.WhichOneof("encoding")
    if encoding == "coo_sparse":
        sp = info.coo_sparse
        return [sp.values_tensor_name, sp.indices_tensor_name, sp.dense_shape_tensor_name]
    if encoding == "composite_tensor":
        return [c.name for c in info.composite_tensor.components]
    return [info.name]


def convert_inputs(inputs: Mapping[str, Any], infos: Mapping[str, ParsedTensorInfo]) -> dict[str, Any]:
    """Convert call-time values to tensors of the signature's dtypes, checking their specs.

    Python values and numpy arrays are converted to the signature dtype; tensors are never
    cast (a tensor of another dtype is an error), as in the old library.
    """
    out = {}
    for key in sorted(inputs):
        value, info = inputs[key], infos[key]
        if isinstance(value, (tf.SparseTensor, tf.RaggedTensor)):
            converted = value
        else:
            try:
                converted = tf.compat.v1.convert_to_tensor_or_indexed_slices(value, dtype=info.dtype)
            except TypeError as exc:
                raise TypeError(f"Can't convert {key!r}: {exc}") from exc
        spec = tf.type_spec_from_value(converted)
        if not info.type_spec.is_compatible_with(spec):
            raise TypeError(f"Can't convert {key!r}: Got {spec}. Expected {info.type_spec}.")
        out[key] = converted
    return out
