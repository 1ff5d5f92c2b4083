"""The TF-free protos and checkpoint index reader agree with TensorFlow's own."""

from __future__ import annotations

import pytest

from hubpub._tf import tf
from hubpub.errors import ModuleFormatError
from hubpub.spec import lite
from hubpub.spec.checkpoint_index import parse_checkpoint_index, read_checkpoint_index
from hubpub.spec.view import ModuleView

v1 = tf.compat.v1


def _tf_descriptors():
    from google.protobuf import any_pb2
    from tensorflow.core.framework import (
        attr_value_pb2,
        function_pb2,
        graph_pb2,
        node_def_pb2,
        op_def_pb2,
        tensor_pb2,
        tensor_shape_pb2,
        variable_pb2,
    )
    from tensorflow.core.protobuf import (
        control_flow_pb2,
        meta_graph_pb2,
        saved_model_pb2,
        saver_pb2,
        tensor_bundle_pb2,
    )

    meta = meta_graph_pb2
    return {
        "SavedModel": saved_model_pb2.SavedModel, "MetaGraphDef": meta.MetaGraphDef,
        "MetaInfoDef": meta.MetaGraphDef.MetaInfoDef, "SignatureDef": meta.SignatureDef,
        "TensorInfo": meta.TensorInfo, "CooSparse": meta.TensorInfo.CooSparse,
        "CompositeTensor": meta.TensorInfo.CompositeTensor, "CollectionDef": meta.CollectionDef,
        "NodeList": meta.CollectionDef.NodeList, "BytesList": meta.CollectionDef.BytesList,
        "Int64List": meta.CollectionDef.Int64List, "FloatList": meta.CollectionDef.FloatList,
        "AssetFileDef": meta.AssetFileDef, "GraphDef": graph_pb2.GraphDef,
        "NodeDef": node_def_pb2.NodeDef, "AttrValue": attr_value_pb2.AttrValue,
        "ListValue": attr_value_pb2.AttrValue.ListValue,
        "NameAttrList": attr_value_pb2.NameAttrList,
        "TensorShapeProto": tensor_shape_pb2.TensorShapeProto,
        "Dim": tensor_shape_pb2.TensorShapeProto.Dim,
        "FunctionDefLibrary": function_pb2.FunctionDefLibrary,
        "FunctionDef": function_pb2.FunctionDef, "OpDef": op_def_pb2.OpDef,
        "VariableDef": variable_pb2.VariableDef, "SaveSliceInfoDef": variable_pb2.SaveSliceInfoDef,
        "BundleEntryProto": tensor_bundle_pb2.BundleEntryProto,
        "TensorProto": tensor_pb2.TensorProto,
        "BundleHeaderProto": tensor_bundle_pb2.BundleHeaderProto,
        "ArgDef": op_def_pb2.OpDef.ArgDef, "SaverDef": saver_pb2.SaverDef,
        "AnyList": meta.CollectionDef.AnyList, "Any": any_pb2.Any,
        "ValuesDef": control_flow_pb2.ValuesDef,
        "CondContextDef": control_flow_pb2.CondContextDef,
        "WhileContextDef": control_flow_pb2.WhileContextDef,
        "ControlFlowContextDef": control_flow_pb2.ControlFlowContextDef,
    }


_WIRE = {"TYPE_ENUM": "varint", "TYPE_INT32": "varint", "TYPE_INT64": "varint",
         "TYPE_UINT32": "varint", "TYPE_UINT64": "varint",
         "TYPE_BOOL": "varint", "TYPE_MESSAGE": "bytes", "TYPE_BYTES": "bytes",
         "TYPE_STRING": "bytes", "TYPE_FLOAT": "fixed32", "TYPE_FIXED32": "fixed32",
         "TYPE_DOUBLE": "fixed64"}


@pytest.mark.parametrize("name", sorted(lite._MESSAGES))
def test_every_lite_field_has_tensorflows_number_and_wire_type(name):
    from google.protobuf.descriptor import FieldDescriptor

    types = {v: k for k, v in vars(FieldDescriptor).items() if k.startswith("TYPE_")}
    real = {f.name: f for f in _tf_descriptors()[name].DESCRIPTOR.fields}
    ours = lite._POOL.FindMessageTypeByName(f"hubpub_lite.{name}")
    for field in ours.fields:
        assert field.name in real, f"{name}.{field.name}"
        theirs = real[field.name]
        assert field.number == theirs.number, f"{name}.{field.name}"
        assert _WIRE[types[field.type]] == _WIRE[types[theirs.type]], f"{name}.{field.name}"
        assert field.is_repeated == theirs.is_repeated, f"{name}.{field.name}"


def test_dtype_names_match_tensorflow():
    for number in [*range(1, 34), 101, 120]:
        assert lite.dtype_name(number) == tf.dtypes.as_dtype(number).name
    assert lite.dtype_name(77) == "dtype_77"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real checkpoint: 300 variables (several table blocks), a partitioned one, an int."""
    prefix = tmp_path_factory.mktemp("ckpt") / "model"
    with tf.Graph().as_default():
        for i in range(300):
            v1.get_variable(f"layer{i}/kernel", shape=[5, 1 + i % 4])
        v1.get_variable("part", shape=[10, 4], partitioner=v1.fixed_size_partitioner(3))
        v1.get_variable("step", shape=[], dtype=tf.int64)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            v1.train.Saver().save(session, str(prefix), write_meta_graph=False)
    return prefix


def test_the_index_reader_sees_what_tensorflow_lists(checkpoint):
    index = read_checkpoint_index(checkpoint.with_suffix(".index"))
    listed = dict(tf.train.list_variables(str(checkpoint)))
    assert {name: list(entry.shape) for name, entry in index.tensors.items()} == listed
    assert index.tensors["step"].dtype == "int64"
    assert index.num_shards == 1
    assert len(index.tensors["part"].slice_crcs) == 3


def test_a_truncated_index_is_a_format_error(checkpoint):
    data = checkpoint.with_suffix(".index").read_bytes()
    for broken in (data[:20], data[:-1], data[: len(data) // 2] + data[-48:]):
        with pytest.raises(ModuleFormatError, match="not a readable checkpoint index"):
            parse_checkpoint_index(broken, where="x.index")


def test_a_view_from_lite_protos_equals_one_from_tensorflows(tmp_path):
    import hubpub as hub
    from hubpub.spec.files import read_saved_model
    from tests import modulefns

    hub.create_module_spec(modulefns.fruit_to_pet).export(tmp_path / "m", checkpoint_path=None)
    real = ModuleView.from_saved_model(read_saved_model(tmp_path / "m"))
    light = ModuleView.from_saved_model(read_saved_model(tmp_path / "m", lite=True))
    for a, b in zip(real.variants, light.variants, strict=True):
        assert a.tags == b.tags
        assert a.signatures == b.signatures
        assert a.variables == b.variables
        assert a.collection_keys == b.collection_keys


@pytest.mark.parametrize(("value", "dtype", "shape"), [
    (0.99, tf.float32, None), (0.5, tf.float64, None), (7, tf.int32, None), (-3, tf.int8, None),
    (200, tf.uint8, None), (2**40, tf.int64, None), (2**31, tf.uint32, None),
    (2**63, tf.uint64, None), (True, tf.bool, None), (1.5, tf.float16, None),
    (1 + 2j, tf.complex64, None), (3 - 1j, tf.complex128, None), (b"a path", tf.string, None),
    ([[1.0, 2.0], [3.0, 4.0]], tf.float32, None),  # tensor_content
    (1.25, tf.float32, [3, 2]), (b"x", tf.string, [4]), (9, tf.int16, [2, 2]),  # padded
    ([], tf.float32, [0]),
])
def test_tensor_values_are_what_make_ndarray_gives(value, dtype, shape):
    proto = tf.make_tensor_proto(value, dtype=dtype, shape=shape)
    expected = tf.make_ndarray(proto)
    ours = lite.tensor_value(lite.TensorProto.FromString(proto.SerializeToString()))
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    assert ours.tolist() == expected.tolist()


def test_tensors_that_contradict_their_shape_are_not_decoded():
    huge = lite.TensorProto(dtype=1, float_val=[1.0])
    huge.tensor_shape.dim.add(size=10**12)  # one value declared a trillion times
    assert lite.tensor_value(huge) is None
    short = lite.TensorProto(dtype=1, tensor_content=b"\0" * 6)  # 1.5 float32s
    short.tensor_shape.dim.add(size=2)
    assert lite.tensor_value(short) is None
    assert lite.tensor_value(lite.TensorProto(dtype=14, half_val=[1])) is None  # bfloat16


def test_dtype_sizes_match_tensorflow():
    for number in range(1, 34):
        name = tf.dtypes.as_dtype(number).name
        assert lite.dtype_size(name) == tf.dtypes.as_dtype(number).size, name
        assert lite.dtype_size(name + "_ref") == tf.dtypes.as_dtype(number).size
    assert lite.dtype_size("no_such_type") is None
