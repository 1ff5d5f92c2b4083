"""The parts of TensorFlow's SavedModel and checkpoint protos that a reader needs, without TensorFlow.

``hubpub diff`` and ``hubpub verify`` read module directories and tarballs in a fraction of the
time ``import tensorflow`` takes. They parse ``saved_model.pb`` and ``variables.index`` with
the message types below: same field numbers and wire types as TensorFlow's (a test compares
them field by field), declared in a private descriptor pool so they never clash with
TensorFlow's own classes. Sub-messages a reader never looks inside (``saver_def``, tensors,
type specs, ...) are declared as ``bytes``: they keep their exact bytes, so two of them can
still be compared. Enum fields (dtypes) are plain integers; ``dtype_name`` names them as
``tf.dtypes.as_dtype(n).name`` would.

``ModuleView`` (``hubpub.spec.view``) accepts a lite ``SavedModel`` for what it reads from
protos: tags, signatures, collections, variables, nodes and the function library.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["AnyList", "AssetFileDef", "BundleEntry", "BundleHeader", "CondContextDef", "SavedModel", "SaverDef",
           "TensorProto", "VariableDef", "WhileContextDef", "dtype_name", "dtype_number",
           "dtype_size", "tensor_value"]

_F = descriptor_pb2.FieldDescriptorProto
_TYPES = {"string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES, "int32": _F.TYPE_INT32,
          "int64": _F.TYPE_INT64, "bool": _F.TYPE_BOOL, "float": _F.TYPE_FLOAT,
          "fixed32": _F.TYPE_FIXED32, "double": _F.TYPE_DOUBLE,
          "uint32": _F.TYPE_UINT32, "uint64": _F.TYPE_UINT64}
_PACKAGE = "hubpub_lite"

# message -> [(field, number, type or message name, "repeated" | "map:<key>:<value>" | "" ,
#             oneof or "")]. Types not in _TYPES are messages of this table.
_MESSAGES: dict[str, list[tuple[str, int, str, str, str]]] = {
    "SavedModel": [("saved_model_schema_version", 1, "int64", "", ""),
                   ("meta_graphs", 2, "MetaGraphDef", "repeated", "")],
    "MetaGraphDef": [("meta_info_def", 1, "MetaInfoDef", "", ""),
                     ("graph_def", 2, "GraphDef", "", ""),
                     ("saver_def", 3, "bytes", "", ""),
                     ("collection_def", 4, "CollectionDef", "map:string", ""),
                     ("signature_def", 5, "SignatureDef", "map:string", ""),
                     ("asset_file_def", 6, "AssetFileDef", "repeated", ""),
                     ("object_graph_def", 7, "bytes", "", "")],
    "MetaInfoDef": [("meta_graph_version", 1, "string", "", ""),
                    ("stripped_op_list", 2, "bytes", "", ""),
                    ("any_info", 3, "bytes", "", ""),
                    ("tags", 4, "string", "repeated", ""),
                    ("tensorflow_version", 5, "string", "", ""),
                    ("tensorflow_git_version", 6, "string", "", ""),
                    ("stripped_default_attrs", 7, "bool", "", ""),
                    ("function_aliases", 8, "string", "map:string", "")],
    "SignatureDef": [("inputs", 1, "TensorInfo", "map:string", ""),
                     ("outputs", 2, "TensorInfo", "map:string", ""),
                     ("method_name", 3, "string", "", ""),
                     ("defaults", 4, "bytes", "map:string", "")],
    "TensorInfo": [("name", 1, "string", "", "encoding"),
                   ("coo_sparse", 4, "CooSparse", "", "encoding"),
                   ("composite_tensor", 5, "CompositeTensor", "", "encoding"),
                   ("dtype", 2, "int32", "", ""),
                   ("tensor_shape", 3, "TensorShapeProto", "", "")],
    "CooSparse": [("values_tensor_name", 1, "string", "", ""),
                  ("indices_tensor_name", 2, "string", "", ""),
                  ("dense_shape_tensor_name", 3, "string", "", "")],
    "CompositeTensor": [("type_spec", 1, "bytes", "", ""),
                        ("components", 2, "TensorInfo", "repeated", "")],
    "TensorShapeProto": [("dim", 2, "Dim", "repeated", ""),
                         ("unknown_rank", 3, "bool", "", "")],
    "Dim": [("size", 1, "int64", "", ""), ("name", 2, "string", "", "")],
    "CollectionDef": [("node_list", 1, "NodeList", "", "kind"),
                      ("bytes_list", 2, "BytesList", "", "kind"),
                      ("int64_list", 3, "Int64List", "", "kind"),
                      ("float_list", 4, "FloatList", "", "kind"),
                      ("any_list", 5, "bytes", "", "kind")],
    "NodeList": [("value", 1, "string", "repeated", "")],
    "BytesList": [("value", 1, "bytes", "repeated", "")],
    "Int64List": [("value", 1, "int64", "repeated", "")],
    "FloatList": [("value", 1, "float", "repeated", "")],
    "AssetFileDef": [("tensor_info", 1, "TensorInfo", "", ""),
                     ("filename", 2, "string", "", "")],
    "GraphDef": [("node", 1, "NodeDef", "repeated", ""),
                 ("library", 2, "FunctionDefLibrary", "", ""),
                 ("version", 3, "int32", "", ""),
                 ("versions", 4, "bytes", "", ""),
                 ("debug_info", 5, "bytes", "", "")],
    "NodeDef": [("name", 1, "string", "", ""), ("op", 2, "string", "", ""),
                ("input", 3, "string", "repeated", ""), ("device", 4, "string", "", ""),
                ("attr", 5, "AttrValue", "map:string", ""),
                ("experimental_debug_info", 6, "bytes", "", ""),
                ("experimental_type", 7, "bytes", "", "")],
    "AttrValue": [("list", 1, "ListValue", "", "value"), ("s", 2, "bytes", "", "value"),
                  ("i", 3, "int64", "", "value"), ("f", 4, "float", "", "value"),
                  ("b", 5, "bool", "", "value"), ("type", 6, "int32", "", "value"),
                  ("shape", 7, "TensorShapeProto", "", "value"),
                  ("tensor", 8, "bytes", "", "value"),
                  ("placeholder", 9, "string", "", "value"),
                  ("func", 10, "NameAttrList", "", "value")],
    "ListValue": [("s", 2, "bytes", "repeated", ""), ("i", 3, "int64", "repeated", ""),
                  ("f", 4, "float", "repeated", ""), ("b", 5, "bool", "repeated", ""),
                  ("type", 6, "int32", "repeated", ""),
                  ("shape", 7, "TensorShapeProto", "repeated", ""),
                  ("tensor", 8, "bytes", "repeated", ""),
                  ("func", 9, "NameAttrList", "repeated", "")],
    "NameAttrList": [("name", 1, "string", "", ""), ("attr", 2, "AttrValue", "map:string", "")],
    "FunctionDefLibrary": [("function", 1, "FunctionDef", "repeated", ""),
                           ("gradient", 2, "bytes", "repeated", ""),
                           ("registered_gradients", 3, "bytes", "repeated", "")],
    "FunctionDef": [("signature", 1, "OpDef", "", ""),
                    ("node_def", 3, "NodeDef", "repeated", ""),
                    ("ret", 4, "string", "map:string", ""),
                    ("attr", 5, "AttrValue", "map:string", ""),
                    ("control_ret", 6, "string", "map:string", ""),
                    ("arg_attr", 7, "bytes", "repeated", ""),
                    ("resource_arg_unique_id", 8, "bytes", "repeated", "")],
    "OpDef": [("name", 1, "string", "", ""),
              ("input_arg", 2, "ArgDef", "repeated", ""),
              ("output_arg", 3, "ArgDef", "repeated", "")],
    "ArgDef": [("name", 1, "string", "", ""), ("description", 2, "string", "", ""),
               ("type", 3, "int32", "", ""), ("type_attr", 4, "string", "", ""),
               ("number_attr", 5, "string", "", ""), ("type_list_attr", 6, "string", "", ""),
               ("is_ref", 16, "bool", "", "")],
    # MetaGraphDef.saver_def and CollectionDef.any_list keep their bytes (diff compares them);
    # these read them when a rule or the summary looks inside.
    "SaverDef": [("filename_tensor_name", 1, "string", "", ""),
                 ("save_tensor_name", 2, "string", "", ""),
                 ("restore_op_name", 3, "string", "", ""),
                 ("max_to_keep", 4, "int32", "", ""), ("sharded", 5, "bool", "", ""),
                 ("keep_checkpoint_every_n_hours", 6, "float", "", ""),
                 ("version", 7, "int32", "", "")],
    "AnyList": [("value", 1, "Any", "repeated", "")],
    "Any": [("type_url", 1, "string", "", ""), ("value", 2, "bytes", "", "")],
    # The control-flow contexts of TF1 graphs: parsed in full, so a garbage entry is refused
    # exactly where TensorFlow's own parser refuses it.
    "ValuesDef": [("values", 1, "string", "repeated", ""),
                  ("external_values", 2, "string", "map:string", "")],
    "CondContextDef": [("context_name", 1, "string", "", ""),
                       ("pred_name", 2, "string", "", ""),
                       ("pivot_name", 3, "string", "", ""), ("branch", 4, "int32", "", ""),
                       ("values_def", 5, "ValuesDef", "", ""),
                       ("nested_contexts", 6, "ControlFlowContextDef", "repeated", "")],
    "WhileContextDef": [("context_name", 1, "string", "", ""),
                        ("parallel_iterations", 2, "int32", "", ""),
                        ("back_prop", 3, "bool", "", ""), ("swap_memory", 4, "bool", "", ""),
                        ("pivot_name", 5, "string", "", ""),
                        ("pivot_for_pred_name", 6, "string", "", ""),
                        ("pivot_for_body_name", 7, "string", "", ""),
                        ("loop_exit_names", 8, "string", "repeated", ""),
                        ("values_def", 9, "ValuesDef", "", ""),
                        ("loop_enter_names", 10, "string", "repeated", ""),
                        ("maximum_iterations_name", 11, "string", "", ""),
                        ("nested_contexts", 12, "ControlFlowContextDef", "repeated", "")],
    "ControlFlowContextDef": [("cond_ctxt", 1, "CondContextDef", "", "ctxt"),
                              ("while_ctxt", 2, "WhileContextDef", "", "ctxt")],
    "VariableDef": [("variable_name", 1, "string", "", ""),
                    ("initializer_name", 2, "string", "", ""),
                    ("snapshot_name", 3, "string", "", ""),
                    ("save_slice_info_def", 4, "SaveSliceInfoDef", "", ""),
                    ("is_resource", 5, "bool", "", ""),
                    ("initial_value_name", 6, "string", "", ""),
                    ("trainable", 7, "bool", "", ""),
                    ("synchronization", 8, "int32", "", ""),
                    ("aggregation", 9, "int32", "", "")],
    "SaveSliceInfoDef": [("full_name", 1, "string", "", ""),
                         ("full_shape", 2, "int64", "repeated", ""),
                         ("var_offset", 3, "int64", "repeated", ""),
                         ("var_shape", 4, "int64", "repeated", "")],
    "TensorProto": [("dtype", 1, "int32", "", ""),
                    ("tensor_shape", 2, "TensorShapeProto", "", ""),
                    ("version_number", 3, "int32", "", ""),
                    ("tensor_content", 4, "bytes", "", ""),
                    ("half_val", 13, "int32", "repeated", ""),
                    ("float_val", 5, "float", "repeated", ""),
                    ("double_val", 6, "double", "repeated", ""),
                    ("int_val", 7, "int32", "repeated", ""),
                    ("string_val", 8, "bytes", "repeated", ""),
                    ("scomplex_val", 9, "float", "repeated", ""),
                    ("int64_val", 10, "int64", "repeated", ""),
                    ("bool_val", 11, "bool", "repeated", ""),
                    ("dcomplex_val", 12, "double", "repeated", ""),
                    ("uint32_val", 16, "uint32", "repeated", ""),
                    ("uint64_val", 17, "uint64", "repeated", "")],
    "BundleEntryProto": [("dtype", 1, "int32", "", ""),
                         ("shape", 2, "TensorShapeProto", "", ""),
                         ("shard_id", 3, "int32", "", ""),
                         ("offset", 4, "int64", "", ""),
                         ("size", 5, "int64", "", ""),
                         ("crc32c", 6, "fixed32", "", ""),
                         ("slices", 7, "bytes", "repeated", "")],
    "BundleHeaderProto": [("num_shards", 1, "int32", "", ""),
                          ("endianness", 2, "int32", "", ""),
                          ("version", 3, "bytes", "", "")],
}

# TensorFlow's DataType enum; reference types (n + 100) are named "<name>_ref".
_DTYPE_NAMES = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
    8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8", 13: "qint32",
    14: "bfloat16", 15: "qint16", 16: "quint16", 17: "uint16", 18: "complex128",
    19: "float16", 20: "resource", 21: "variant", 22: "uint32", 23: "uint64",
    24: "float8_e5m2", 25: "float8_e4m3fn", 26: "float8_e4m3fnuz", 27: "float8_e4m3b11fnuz",
    28: "float8_e5m2fnuz", 29: "int4", 30: "uint4", 31: "int2", 32: "uint2",
    33: "float4_e2m1fn",
}
_DTYPE_NUMBERS = {name: number for number, name in _DTYPE_NAMES.items()}
# Bytes per element, as ``tf.dtypes.as_dtype(n).size`` (0: strings, resources, variants).
_DTYPE_SIZES = {1: 4, 2: 8, 3: 4, 4: 1, 5: 2, 6: 1, 7: 0, 8: 8, 9: 8, 10: 1, 11: 1, 12: 1,
                13: 4, 14: 2, 15: 2, 16: 2, 17: 2, 18: 16, 19: 2, 20: 0, 21: 0, 22: 4, 23: 8,
                **dict.fromkeys(range(24, 34), 1)}
# dtype -> (numpy dtype, TensorProto field holding the values), as tf.make_ndarray reads them.
_VALUE_FIELDS = {1: ("float32", "float_val"), 2: ("float64", "double_val"),
                 3: ("int32", "int_val"), 4: ("uint8", "int_val"), 5: ("int16", "int_val"),
                 6: ("int8", "int_val"), 9: ("int64", "int64_val"), 10: ("bool", "bool_val"),
                 11: ("int8", "int_val"), 12: ("uint8", "int_val"), 13: ("int32", "int_val"),
                 15: ("int16", "int_val"), 16: ("uint16", "int_val"),
                 17: ("uint16", "int_val"), 19: ("float16", "half_val"),
                 22: ("uint32", "uint32_val"), 23: ("uint64", "uint64_val"),
                 8: ("complex64", "scomplex_val"), 18: ("complex128", "dcomplex_val")}
_MAX_PADDED_ELEMENTS = 1 << 22  # a Const declaring more elements than it stores: not expanded


def dtype_number(name: str) -> int | None:
    """TensorFlow's DataType number for a dtype name (``float32`` -> 1); None if unknown."""
    return _DTYPE_NUMBERS.get(name)


def dtype_name(enum_value: int) -> str:
    """``float32`` for 1, ``float32_ref`` for 101; ``dtype_<n>`` for a number TF does not know."""
    if enum_value in _DTYPE_NAMES:
        return _DTYPE_NAMES[enum_value]
    if enum_value - 100 in _DTYPE_NAMES:
        return _DTYPE_NAMES[enum_value - 100] + "_ref"
    return f"dtype_{enum_value}"


def dtype_size(name: str) -> int | None:
    """Bytes per element of a dtype name (``float32_ref`` too); 0 for strings; None if unknown."""
    number = _DTYPE_NUMBERS.get(name.removesuffix("_ref"))
    return None if number is None else _DTYPE_SIZES[number]


def tensor_value(tensor: Any) -> Any:
    """A TensorProto (lite or TensorFlow's) as a numpy array, as ``tf.make_ndarray`` makes it.

    Returns None for what hubpub does not decode (bfloat16, float8, int4, quantized resources,
    variants) and for a tensor whose stored values contradict its shape, or that declares
    millions of elements it does not store: a hostile Const must not exhaust memory.
    """
    import numpy as np

    shape = [d.size for d in tensor.tensor_shape.dim]
    if any(size < 0 for size in shape):
        return None
    count = 1
    for size in shape:
        count *= size
    if tensor.dtype == 7:
        strings = list(tensor.string_val)
        if len(strings) < count and count > _MAX_PADDED_ELEMENTS:
            return None
        strings += [strings[-1] if strings else b""] * (count - len(strings))
        try:
            return np.array(strings, dtype=object).reshape(shape)
        except ValueError:
            return None
    if tensor.dtype not in _VALUE_FIELDS:
        return None
    numpy_dtype, field = _VALUE_FIELDS[tensor.dtype]
    try:
        if tensor.tensor_content:
            return np.frombuffer(tensor.tensor_content, dtype=numpy_dtype).copy().reshape(shape)
        stored = list(getattr(tensor, field))
        if field == "half_val":
            values = np.array(stored, dtype=np.uint16).view(np.float16)
        elif field in ("scomplex_val", "dcomplex_val"):
            pairs = zip(stored[::2], stored[1::2], strict=False)  # an odd last value is dropped
            values = np.array([complex(a, b) for a, b in pairs], dtype=numpy_dtype)
        else:
            values = np.array(stored, dtype=numpy_dtype)
        if values.size == 0:
            return None if count > _MAX_PADDED_ELEMENTS else np.zeros(shape, numpy_dtype)
        if values.size != count:
            if values.size > count or count > _MAX_PADDED_ELEMENTS:
                return None
            values = np.pad(values, (0, count - values.size), "edge")
        return values.reshape(shape)
    except (ValueError, OverflowError):
        return None


def _add_field(message: Any, name: str, number: int, kind: str, label: str, oneof: str) -> None:
    repeated = label == "repeated" or label.startswith("map:")
    field = message.field.add(name=name, number=number,
                              label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
    if label.startswith("map:"):
        entry = message.nested_type.add(name=f"{name.title().replace('_', '')}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, label=_F.LABEL_OPTIONAL,
                        type=_TYPES[label.split(":")[1]])
        _add_field(entry, "value", 2, kind, "", "")
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{_PACKAGE}.{message.name}.{entry.name}"
    elif kind in _TYPES:
        field.type = _TYPES[kind]
    else:
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{_PACKAGE}.{kind}"
    if oneof:
        names = [d.name for d in message.oneof_decl]
        if oneof not in names:
            message.oneof_decl.add(name=oneof)
            names.append(oneof)
        field.oneof_index = names.index(oneof)


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    file = descriptor_pb2.FileDescriptorProto(
        name="hubpub/lite.proto", package=_PACKAGE, syntax="proto3")
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field in fields:
            _add_field(message, *field)
    pool.Add(file)
    return pool


_POOL = _build_pool()


def _message_class(name: str) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


SavedModel = _message_class("SavedModel")
VariableDef = _message_class("VariableDef")
TensorProto = _message_class("TensorProto")  # AttrValue.tensor holds its bytes
BundleEntry = _message_class("BundleEntryProto")
BundleHeader = _message_class("BundleHeaderProto")
SaverDef = _message_class("SaverDef")
AssetFileDef = _message_class("AssetFileDef")
AnyList = _message_class("AnyList")
CondContextDef = _message_class("CondContextDef")
WhileContextDef = _message_class("WhileContextDef")
