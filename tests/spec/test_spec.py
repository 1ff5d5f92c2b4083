"""create_module_spec, add_signature, attach_message and the ModuleSpec accessors.

Specs are built from the real module_fns in tests/modulefns.py, once per test module.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.errors import SpecError
from tests import modulefns

v1 = tf.compat.v1

TRAIN_AND_DEFAULT = [({"train"}, {"training": True}), (set(), {"training": False})]


@pytest.fixture(scope="module")
def bn_spec():
    return hub.create_module_spec(modulefns.batch_norm, TRAIN_AND_DEFAULT)


@pytest.fixture(scope="module")
def fruit_spec():
    return hub.create_module_spec(modulefns.fruit_to_pet)


def _collection(spec, tags, key):
    meta = spec.meta_graph(tags)
    if key not in meta.collection_def:
        return []
    return list(meta.collection_def[key].node_list.value)


# --- variants and signatures ------------------------------------------------------------

def test_tag_variants_are_sets_in_the_declared_order(bn_spec):
    assert bn_spec.get_tags() == [{"train"}, set()]
    assert all(type(tags) is set for tags in bn_spec.get_tags())
    assert bn_spec.sorted_tags() == [frozenset(), frozenset({"train"})]
    assert bn_spec.has_variant(["train"]) and bn_spec.has_variant(None)


def test_variants_are_built_with_their_own_args(bn_spec):
    train_updates = _collection(bn_spec, {"train"}, "update_ops")
    assert train_updates and all("AssignMovingAvg" in name for name in train_updates)
    assert _collection(bn_spec, set(), "update_ops") == []
    for tags in bn_spec.get_tags():
        losses = _collection(bn_spec, tags, "regularization_losses")
        assert len(losses) == 1 and losses[0].startswith("dense/kernel/Regularizer/")


def test_default_variant_has_no_tags_in_the_proto(bn_spec):
    tag_lists = sorted(list(m.meta_info_def.tags) for m in bn_spec.saved_model.meta_graphs)
    assert tag_lists == [[], ["train"]]


def test_no_saver_def_and_only_supported_collections(bn_spec):
    for meta in bn_spec.saved_model.meta_graphs:
        assert not meta.HasField("saver_def")
        assert set(meta.collection_def) <= {"variables", "trainable_variables", "update_ops",
                                            "regularization_losses"}


def test_several_signatures_with_dict_inputs_and_outputs(fruit_spec):
    assert sorted(fruit_spec.get_signature_names()) == ["default", "fruit_to_pet"]
    inputs = fruit_spec.get_input_info_dict("fruit_to_pet")
    outputs = fruit_spec.get_output_info_dict("fruit_to_pet")
    assert sorted(inputs) == ["apples", "pears"]
    assert sorted(outputs) == ["cats", "dogs"]
    assert inputs["apples"].dtype == tf.float32
    assert inputs["apples"].get_shape().as_list() == [None]
    assert not inputs["apples"].is_sparse and not inputs["apples"].is_composite


def test_single_tensor_is_stored_under_key_default(fruit_spec):
    assert list(fruit_spec.get_input_info_dict()) == ["default"]
    assert list(fruit_spec.get_output_info_dict()) == ["default"]
    signature = fruit_spec.meta_graph().signature_def["default"]
    assert signature.inputs["default"].name == "x:0"
    assert signature.method_name == ""


def test_unknown_signature_is_a_value_error(fruit_spec):
    with pytest.raises(ValueError, match="Signature 'pet_to_fruit' is missing from meta graph"):
        fruit_spec.get_input_info_dict("pet_to_fruit")


def test_unknown_variant_is_a_key_error(fruit_spec):
    with pytest.raises(KeyError, match=r"no graph with tags: \['serve'\]"):
        fruit_spec.get_signature_names(tags={"serve"})


def test_parsed_tensor_info_repr(fruit_spec):
    info = fruit_spec.get_input_info_dict("fruit_to_pet")["pears"]
    assert repr(info) == "<hub.ParsedTensorInfo shape=(None,) dtype=float32 is_sparse=False>"


def test_sparse_input_info():
    spec = hub.create_module_spec(modulefns.sparse_input)
    info = spec.get_input_info_dict()["default"]
    assert info.is_sparse and info.is_composite and info.is_supported_type
    assert info.get_shape().as_list() == [None, 3]
    encoding = spec.meta_graph().signature_def["default"].inputs["default"]
    assert encoding.WhichOneof("encoding") == "coo_sparse"


def test_signature_value_must_be_a_tensor():
    def module_fn():
        var = v1.get_variable("v", shape=[2])
        hub.add_signature(inputs=v1.placeholder(tf.float32), outputs={"var": var})

    with pytest.raises(ValueError, match=r"'var': .*Variable.*v\.read_value\(\)"):
        hub.create_module_spec(module_fn)


@pytest.mark.parametrize("kind", ["inputs", "outputs"])
def test_unsupported_signature_type_keeps_the_old_key_phrase(kind):
    def module_fn():
        x = v1.placeholder(tf.int64, [None])
        slices = tf.IndexedSlices(x, v1.placeholder(tf.int64, [None]))
        if kind == "inputs":
            hub.add_signature(inputs={"x": slices}, outputs=x)
        else:
            hub.add_signature(inputs={"x": x}, outputs=slices)

    with pytest.raises(ValueError, match=rf"The {kind} of signature 'default' should have one "
                                         r"of the types Tensor, SparseTensor or RaggedTensor; "
                                         r"got '.*': IndexedSlices"):
        hub.create_module_spec(module_fn)


def test_source_lines_point_at_the_publisher_code(fruit_spec):
    source = Path(modulefns.__file__).read_text().splitlines()
    path, line = fruit_spec.source_lines[frozenset()]["apples"]
    assert Path(path) == Path(modulefns.__file__)
    assert 'name="apples"' in source[line - 1]


def test_module_fn_runs_in_a_fresh_graph_and_leaves_the_caller_graph_alone():
    with tf.Graph().as_default() as graph:
        hub.create_module_spec(modulefns.half_plus_two)
        assert graph.get_operations() == []


# --- attachments and images -------------------------------------------------------------

@pytest.fixture(scope="module")
def image_spec():
    variants = [({"train"}, {"height": 0, "width": 0}), (set(), {"height": 224, "width": 160})]
    return hub.create_module_spec(modulefns.image_module, variants)


def test_attached_message_is_per_variant(image_spec):
    info = image_spec.get_attached_message("image_module_info", hub.ImageModuleInfo)
    assert (info.default_image_size.height, info.default_image_size.width) == (224, 160)
    assert image_spec.get_attached_message("image_module_info", hub.ImageModuleInfo,
                                           tags={"train"}) is None
    collection = image_spec.meta_graph().collection_def["hub_module_attachments"]
    assert collection.WhichOneof("kind") == "bytes_list"


def test_required_attachment_missing_is_a_key_error(image_spec):
    with pytest.raises(KeyError, match=r"No attached message for key 'image_module_info' in "
                                       r"graph version \['train'\]"):
        image_spec.get_attached_message("image_module_info", hub.ImageModuleInfo,
                                        tags={"train"}, required=True)


def test_last_attach_message_call_wins():
    def module_fn():
        x = v1.placeholder(tf.float32)
        hub.add_signature(inputs=x, outputs=x)
        for height in (1, 2, 3):
            info = hub.ImageModuleInfo()
            info.default_image_size.height = height
            hub.attach_message("sizes", info)

    spec = hub.create_module_spec(module_fn)
    assert spec.get_attached_message("sizes", hub.ImageModuleInfo).default_image_size.height == 3
    assert len(spec.meta_graph().collection_def["hub_module_attachments"].bytes_list.value) == 1


def test_expected_image_size_from_attachment_wins(image_spec):
    assert hub.get_expected_image_size(image_spec) == [224, 160]
    assert hub.get_num_image_channels(image_spec) == 3


@pytest.mark.parametrize("shape, size, channels", [
    ((None, 32, 48, 3), [32, 48], 3),
    ((None, 32, 48, 1), [32, 48], 1),
], ids=["rgb", "grey"])
def test_expected_image_size_from_signature_shape(shape, size, channels):
    spec = hub.create_module_spec(modulefns.image_module, [(set(), {"shape": shape})])
    assert hub.get_expected_image_size(spec) == size
    assert hub.get_num_image_channels(spec) == channels


def test_image_size_unknown_is_a_value_error(image_spec):
    with pytest.raises(ValueError, match=r"Shape of module input is \[None, None, None, 3\], "
                                         r"expected \[batch_size, height, width, num_channels\] "
                                         r"with known height and width\."):
        hub.get_expected_image_size(_train_only(image_spec))


def test_image_channels_unknown_is_a_value_error():
    spec = hub.create_module_spec(modulefns.image_module, [(set(), {"shape": (None, 8, 8, None)})])
    with pytest.raises(ValueError, match="with known num_channels"):
        hub.get_num_image_channels(spec)


def test_image_input_missing_is_a_value_error(fruit_spec):
    with pytest.raises(ValueError, match="Module is missing input 'images' in signature "
                                         "'fruit_to_pet'"):
        hub.get_expected_image_size(fruit_spec, signature="fruit_to_pet")


def _train_only(spec):
    """The {train} variant of a spec as a spec of its own (default variant, no attachment)."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    meta = saved_model.meta_graphs.add()
    meta.CopyFrom(spec.meta_graph({"train"}))
    del meta.meta_info_def.tags[:]
    return hub.ModuleSpec(saved_model)


# --- bad publisher code -----------------------------------------------------------------

def test_module_fn_without_signature():
    with pytest.raises(SpecError, match=r"No signatures present.*hub\.add_signature"):
        hub.create_module_spec(modulefns.no_signature)


def test_module_fn_without_signature_names_the_variant():
    with pytest.raises(SpecError, match=r"variant with tags \['train'\]"):
        hub.create_module_spec(modulefns.no_signature, [({"train"}, {})])


def test_duplicate_tag_sets():
    variants = [({"train", "gpu"}, {"training": True}), ({"gpu", "train"}, {"training": False})]
    with pytest.raises(ValueError, match=r"Tags \['gpu', 'train'\] used repeatedly"):
        hub.create_module_spec(modulefns.batch_norm, variants)


def test_input_that_is_not_a_placeholder_is_accepted_and_cut(caplog):
    with caplog.at_level(logging.WARNING, logger="hubpub.spec.authoring"):
        spec = hub.create_module_spec(modulefns.input_not_placeholder)
    assert "input 'default' of signature 'default' (variant []) is the output of Mul node " \
           "'mul', not of a placeholder" in caplog.text
    assert "HUB105" in caplog.text
    with tf.Graph().as_default():
        y = hub.Module(spec)(3.0)
        with v1.Session() as session:
            assert session.run(y) == 4.0  # 3 + 1: what computed the input inside never runs


def test_placeholder_no_signature_feeds():
    with pytest.raises(SpecError) as info:
        hub.create_module_spec(modulefns.unfed_placeholder)
    message = str(info.value)
    assert "placeholder 'forgotten'" in message and "signature 'default'" in message
    assert f"{modulefns.__file__}:" in message  # the publisher's line


def test_unsupported_collection_names_it_and_the_fix():
    with pytest.raises(ValueError, match=r"Unsupported collections in graph \[\]: \['losses'\]"
                                         r"(.|\n)*drop_collections"):
        hub.create_module_spec(modulefns.with_losses)


def test_drop_collections_fixes_it():
    spec = hub.create_module_spec(modulefns.with_losses, drop_collections=["losses"])
    assert "losses" not in spec.meta_graph().collection_def


def test_malformed_attachment_key():
    with pytest.raises(ValueError, match="hub.attach_message\\(\\) called with malformed key "
                                         "'1st-key'"):
        hub.create_module_spec(modulefns.bad_attachment_key)


# --- tf_keras layers in graph mode ------------------------------------------------------

@pytest.fixture(scope="module")
def keras_spec_and_log():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("hubpub.spec.authoring")
    handler = Keep(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        spec = hub.create_module_spec(modulefns.keras_layers, TRAIN_AND_DEFAULT)
    finally:
        logger.removeHandler(handler)
    return spec, [r.getMessage() for r in records if r.levelno >= logging.WARNING]


def test_keras_update_ops_are_added_to_the_train_variant(keras_spec_and_log):
    spec, _ = keras_spec_and_log
    updates = _collection(spec, {"train"}, "update_ops")
    assert sorted(updates) == ["batch_normalization/AssignMovingAvg/AssignSubVariableOp",
                               "batch_normalization/AssignMovingAvg_1/AssignSubVariableOp"]
    assert _collection(spec, set(), "update_ops") == []


def test_keras_weight_regularizers_become_regularization_losses(keras_spec_and_log):
    spec, _ = keras_spec_and_log
    for tags in spec.get_tags():
        losses = _collection(spec, tags, "regularization_losses")
        assert losses == ["dense/kernel/Regularizer/mul:0"], tags


def test_keras_filling_is_announced(keras_spec_and_log):
    _, messages = keras_spec_and_log
    train = [m for m in messages if "variant ['train']" in m]
    assert len(train) == 1
    assert "added 2 update op(s)" in train[0] and "UPDATE_OPS" in train[0]
    assert "dense/kernel/Regularizer/mul:0" in train[0] and "REGULARIZATION_LOSSES" in train[0]


def test_tf_compat_v1_layers_are_left_alone(bn_spec, caplog):
    with caplog.at_level(logging.WARNING, logger="hubpub.spec.authoring"):
        spec = hub.create_module_spec(modulefns.batch_norm, TRAIN_AND_DEFAULT)
    assert not [r for r in caplog.records if r.name == "hubpub.spec.authoring"]
    assert _collection(spec, {"train"}, "update_ops") == _collection(bn_spec, {"train"},
                                                                     "update_ops")
