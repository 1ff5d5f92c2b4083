"""hub.Module in graph mode: calling signatures, input rules, scoping, trainable, state.

Specs come straight from create_module_spec (no export), built once per test module; each
test instantiates them in its own tf.Graph.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.errors import SpecError
from tests import modulefns

v1 = tf.compat.v1
GK = v1.GraphKeys


@pytest.fixture(scope="module")
def half_spec():
    return hub.create_module_spec(modulefns.half_plus_two)


@pytest.fixture(scope="module")
def fruit_spec():
    return hub.create_module_spec(modulefns.fruit_to_pet)


@pytest.fixture(scope="module")
def bn_spec():
    return hub.create_module_spec(
        modulefns.batch_norm, [({"train"}, {"training": True}), (set(), {"training": False})])


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        yield g


def _run(fetches, feed_dict=None):
    with v1.Session() as session:
        session.run([v1.global_variables_initializer(), v1.tables_initializer()])
        return session.run(fetches, feed_dict)


# --- calling ------------------------------------------------------------------------------

def test_single_tensor_in_and_out(graph, half_spec):
    module = hub.Module(half_spec)
    x = v1.placeholder(tf.float32, shape=[None])
    y = module(x)
    assert y.dtype == tf.float32
    np.testing.assert_allclose(_run(y, {x: [1.0, 2.0, 10.0]}), [2.5, 3.0, 7.0])


def test_several_signatures_with_dicts(graph, fruit_spec):
    module = hub.Module(fruit_spec)
    pets = module({"apples": [1.0, 2.0], "pears": [10.0, 20.0]}, signature="fruit_to_pet",
                  as_dict=True)
    assert sorted(pets) == ["cats", "dogs"]
    doubled = module([1.0, 2.0])
    values = _run({"pets": pets, "default": doubled})
    np.testing.assert_allclose(values["pets"]["cats"], [13.0, 26.0])   # apples * 3 + pears
    np.testing.assert_allclose(values["pets"]["dogs"], [-29.0, -58.0])  # apples - pears * 3
    np.testing.assert_allclose(values["default"], [6.0, 12.0])


def test_as_dict_returns_every_output(graph, fruit_spec):
    module = hub.Module(fruit_spec)
    assert sorted(module([1.0], as_dict=True)) == ["default"]


def test_no_default_output_needs_as_dict(graph, fruit_spec):
    module = hub.Module(fruit_spec)
    with pytest.raises(TypeError, match=r"There is no output named 'default'\. Use as_dict=True"):
        module({"apples": [1.0], "pears": [1.0]}, signature="fruit_to_pet")


def test_accessors_follow_the_variant(graph, bn_spec):
    module = hub.Module(bn_spec, tags={"train"})
    assert module.get_signature_names() == ["default"]
    assert module.get_input_info_dict()["default"].get_shape().as_list() == [None, 3]
    assert list(module.get_output_info_dict()) == ["default"]


# --- input rules and their errors --------------------------------------------------------

def test_unknown_signature(graph, fruit_spec):
    module = hub.Module(fruit_spec)
    with pytest.raises(ValueError, match="Signature 'fruit_to_cat' is missing from meta graph"):
        module([1.0], signature="fruit_to_cat")


@pytest.mark.parametrize("inputs, missing, extra", [
    ({"apples": [1.0]}, ["pears"], []),
    ({"apples": [1.0], "pears": [1.0], "plums": [1.0]}, [], ["plums"]),
    ({"apple": [1.0], "pears": [1.0]}, ["apples"], ["apple"]),
], ids=["missing", "extra", "both"])
def test_wrong_input_keys(graph, fruit_spec, inputs, missing, extra):
    module = hub.Module(fruit_spec)
    expected = f"Cannot convert dict_inputs: missing {missing}, extra given {extra}"
    with pytest.raises(TypeError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        module(inputs, signature="fruit_to_pet", as_dict=True)


def test_several_inputs_need_a_dict(graph, fruit_spec):
    module = hub.Module(fruit_spec)
    with pytest.raises(TypeError, match="Signature expects multiple inputs. Use a dict."):
        module([1.0], signature="fruit_to_pet", as_dict=True)


def test_tensor_of_another_dtype_is_not_cast(graph, half_spec):
    module = hub.Module(half_spec)
    with pytest.raises(ValueError, match="int32"):
        module(tf.constant([1, 2], dtype=tf.int32))


@pytest.mark.parametrize("value", [[1, 2], np.array([1, 2], dtype=np.int64), (1.0, 2.0)],
                         ids=["int-list", "int64-array", "tuple"])
def test_python_and_numpy_values_take_the_signature_dtype(graph, fruit_spec, value):
    module = hub.Module(fruit_spec)
    y = module(value)
    assert y.dtype == tf.float32
    np.testing.assert_allclose(_run(y), [6.0, 12.0])


def test_incompatible_shape(graph, fruit_spec):
    module = hub.Module(fruit_spec)
    with pytest.raises(TypeError, match=r"Can't convert 'apples': Got TensorSpec\(shape=\(2, 2\)"
                                        r".*Expected TensorSpec\(shape=\(None,\)"):
        module({"apples": [[1.0, 2.0], [3.0, 4.0]], "pears": [1.0]}, signature="fruit_to_pet")


def test_unconvertible_value(graph, fruit_spec):
    module = hub.Module(fruit_spec)
    with pytest.raises(TypeError, match="Can't convert 'default'"):
        module(["not", "numbers"])


def test_call_in_another_graph(half_spec):
    with tf.Graph().as_default():
        module = hub.Module(half_spec)
    with tf.Graph().as_default(), pytest.raises(RuntimeError, match="graph it was instantiated"):
        module([1.0])


def test_unknown_variant(graph, bn_spec):
    with pytest.raises(ValueError, match=r"No such graph variant: tags=\['serve'\]"):
        hub.Module(bn_spec, tags={"serve"})


def test_unknown_spec_type(graph):
    with pytest.raises(ValueError, match="ModuleSpec or a handle"):
        hub.Module(42)


def test_output_that_is_an_input_is_the_callers_tensor(graph):
    def module_fn():
        x = v1.placeholder(tf.float32, shape=[None])
        hub.add_signature(inputs=x, outputs={"same": x, "default": x + 1.0})

    module = hub.Module(hub.create_module_spec(module_fn))
    given = tf.constant([1.0])
    assert module(given, as_dict=True)["same"] is given


def test_signature_without_inputs(graph):
    def module_fn():
        hub.add_signature("constant", outputs=tf.constant([1.0, 2.0]))

    module = hub.Module(hub.create_module_spec(module_fn))
    np.testing.assert_allclose(_run(module(signature="constant")), [1.0, 2.0])
    with pytest.raises(TypeError, match="Signature expects no inputs."):
        module([1.0], signature="constant")


def test_module_needs_graph_mode(half_spec):
    assert tf.executing_eagerly()
    with pytest.raises(ValueError, match=r"graph mode only.*hubpub\.load"):
        hub.Module(half_spec)


# --- name scoping and shared state -------------------------------------------------------

def test_second_instance_gets_module_1(graph, half_spec):
    first, second = hub.Module(half_spec), hub.Module(half_spec)
    assert first.variable_map["a"].op.name == "module/a"
    assert second.variable_map["a"].op.name == "module_1/a"
    assert second([1.0]).name.startswith("module_1_apply_default/")


def test_custom_name_and_nested_variable_scope(graph, half_spec):
    with v1.variable_scope("outer"):
        module = hub.Module(half_spec, name="half")
        again = hub.Module(half_spec, name="half")
    assert module.variable_map["b"].op.name == "outer/half/b"
    assert again.variable_map["b"].op.name == "outer/half_1/b"
    np.testing.assert_allclose(_run(again([2.0])), [3.0])


def test_state_scope_ignores_the_current_name_scope(graph, half_spec):
    with tf.name_scope("foo"):
        module = hub.Module(half_spec)
        y = module([2.0])
    assert module.variable_map["a"].op.name == "module/a"
    assert y.op.name.startswith("foo/module_apply_default/")


def test_apply_scopes(graph, half_spec):
    module = hub.Module(half_spec)
    first = module([1.0])
    second = module([1.0])
    with tf.name_scope("foo"):
        third = module([1.0])
        fourth = module([1.0])
    assert first.op.name.startswith("module_apply_default/")
    assert second.op.name.startswith("module_apply_default_1/")
    assert third.op.name.startswith("foo/module_apply_default/")
    assert fourth.op.name.startswith("foo/module_apply_default_1/")


def test_taken_name_scope_is_an_error(graph, half_spec):
    with tf.name_scope("module"):
        tf.constant(1.0)
    with pytest.raises(RuntimeError, match="variable_scope module/ was unused but the "
                                           "corresponding name_scope was already taken"):
        hub.Module(half_spec)


def test_calls_share_weights(graph, half_spec):
    module = hub.Module(half_spec)
    first, second = module([1.0]), module([10.0])
    assert len(v1.global_variables()) == 2
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        session.run(module.variable_map["a"].assign(-1.0))
        np.testing.assert_allclose(session.run([first, second]), [[1.0], [-8.0]])


def test_instances_do_not_share_weights(graph, half_spec):
    first, second = hub.Module(half_spec), hub.Module(half_spec)
    y1, y2 = first([1.0]), second([1.0])
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        session.run(first.variable_map["a"].assign(100.0))
        np.testing.assert_allclose(session.run([y1, y2]), [[102.0], [2.5]])


def test_module_inside_control_dependencies(graph, half_spec):
    marker = tf.constant(0.0)
    with tf.control_dependencies([marker]):
        module = hub.Module(half_spec)
    assert marker.op not in module.variable_map["a"].op.control_inputs


# --- trainable and collections -----------------------------------------------------------

@pytest.mark.parametrize("trainable", [True, False], ids=["trainable", "frozen"])
def test_trainable_imports_collections(graph, bn_spec, trainable):
    module = hub.Module(bn_spec, tags={"train"}, trainable=trainable)
    module(np.ones([2, 3], np.float32))
    trainable_names = sorted(v.op.name for v in v1.trainable_variables())
    losses = [t.name for t in v1.get_collection(GK.REGULARIZATION_LOSSES)]
    updates = [op.name for op in v1.get_collection(GK.UPDATE_OPS)]
    if trainable:
        assert trainable_names == ["module/batch_normalization/beta",
                                   "module/batch_normalization/gamma",
                                   "module/dense/bias", "module/dense/kernel"]
        assert len(losses) == 1 and losses[0].startswith("module/dense/kernel/Regularizer/")
        assert sorted(updates) == [
            "module_apply_default/batch_normalization/AssignMovingAvg/AssignSubVariableOp",
            "module_apply_default/batch_normalization/AssignMovingAvg_1/AssignSubVariableOp"]
    else:
        assert (trainable_names, losses, updates) == ([], [], [])
    assert len(v1.global_variables()) == 6  # gamma, beta, moving mean/variance, kernel, bias


def test_inference_variant_has_no_update_ops(graph, bn_spec):
    module = hub.Module(bn_spec, trainable=True)
    module(np.ones([2, 3], np.float32))
    assert v1.get_collection(GK.UPDATE_OPS) == []
    assert len(v1.get_collection(GK.REGULARIZATION_LOSSES)) == 1


def test_update_ops_move_the_shared_statistics(graph, bn_spec):
    module = hub.Module(bn_spec, tags={"train"}, trainable=True)
    module(np.full([4, 3], 10.0, np.float32))
    mean = module.variable_map["batch_normalization/moving_mean"]
    with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        session.run(v1.get_collection(GK.UPDATE_OPS))
        np.testing.assert_allclose(session.run(mean), [1.0] * 3, rtol=1e-5)  # 0.9*0 + 0.1*10


def test_keras_collections_reach_the_consumer(graph):
    spec = hub.create_module_spec(modulefns.keras_layers, [({"train"}, {"training": True})])
    module = hub.Module(spec, tags={"train"}, trainable=True)
    module(np.ones([2, 3], np.float32))
    assert len(v1.get_collection(GK.UPDATE_OPS)) == 2
    assert len(v1.get_collection(GK.REGULARIZATION_LOSSES)) == 1


# --- variables ---------------------------------------------------------------------------

def test_variable_map_and_variables(graph, bn_spec):
    module = hub.Module(bn_spec, name="net")
    assert list(module.variable_map) == [
        "batch_normalization/beta", "batch_normalization/gamma",
        "batch_normalization/moving_mean", "batch_normalization/moving_variance",
        "dense/bias", "dense/kernel"]
    assert [v.op.name for v in module.variables] == [
        f"net/{key}" for key in module.variable_map]


def test_module_without_variables(graph):
    module = hub.Module(hub.create_module_spec(modulefns.no_variables))
    assert module.variable_map == {} and module.variables == []
    np.testing.assert_allclose(_run(module([0.0, 2.0])), [-1.0, 5.0])


def test_partitioned_variables(graph):
    module = hub.Module(hub.create_module_spec(modulefns.partitioned))
    parts = module.variable_map["w"]
    assert [p.op.name for p in parts] == ["module/w/part_0", "module/w/part_1"]
    assert module.variables == parts
    y = module([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    np.testing.assert_allclose(_run(y), [[6.0, -6.0], [3.0, -3.0]])


# --- other tensors and graphs ------------------------------------------------------------

def test_sparse_inputs(graph):
    module = hub.Module(hub.create_module_spec(modulefns.sparse_input))
    sparse = tf.SparseTensor(indices=[[0, 0], [0, 2], [1, 1]], values=[1.0, 1.0, 5.0],
                             dense_shape=[2, 3])
    np.testing.assert_allclose(_run(module(sparse)), [4.0, 10.0])


def test_sparse_input_with_a_dense_tensor_is_an_error(graph):
    module = hub.Module(hub.create_module_spec(modulefns.sparse_input))
    with pytest.raises(TypeError, match="Can't convert 'default'"):
        module(tf.ones([2, 3]))


@contextlib.contextmanager
def _control_flow(version):
    """TF 2 graphs use control flow v2 (If/While + functions); TF1-era publisher code that
    calls tf.compat.v1.disable_v2_behavior() gets v1 (Switch/Merge + COND/WHILE_CONTEXT)."""
    was_v2 = v1.control_flow_v2_enabled()
    if version == "v1":
        v1.disable_control_flow_v2()
    try:
        yield version
    finally:
        if was_v2:
            v1.enable_control_flow_v2()
        else:
            v1.disable_control_flow_v2()


@pytest.fixture(params=["v2", "v1"], ids=["control-flow-v2", "control-flow-v1"])
def control_flow_version(request):
    with _control_flow(request.param) as version:
        yield version


def test_control_flow_inside_the_module(control_flow_version):
    spec = hub.create_module_spec(modulefns.control_flow)
    contexts = {"cond_context", "while_context"} & set(spec.meta_graph().collection_def)
    assert contexts == (set() if control_flow_version == "v2" else {"cond_context",
                                                                     "while_context"})
    with tf.Graph().as_default():
        module = hub.Module(spec)
        positive = module({"x": [1.0, 2.0], "n": 3}, as_dict=True)
        negative = module({"x": [-1.0, -2.0], "n": 0}, as_dict=True)
        values = _run([positive, negative])
    np.testing.assert_allclose(values[0]["cond"], [2.0, 4.0])
    np.testing.assert_allclose(values[0]["loop"], [8.0, 16.0])
    np.testing.assert_allclose(values[1]["cond"], [1.0, 2.0])
    np.testing.assert_allclose(values[1]["loop"], [-1.0, -2.0])


def test_module_applied_inside_a_v1_while_loop(half_spec):
    with _control_flow("v1"), tf.Graph().as_default():
        module = hub.Module(half_spec)
        _, result = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, module(x)),
                                  [tf.constant(0), tf.constant([0.0])])
        np.testing.assert_allclose(_run(result), [3.5])  # 0 -> 2 -> 3 -> 3.5


def test_text_module_with_table(graph, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("cat\ndog\nbird\n")
    spec = hub.create_module_spec(functools.partial(modulefns.text_module, str(vocab)))
    module = hub.Module(spec)
    out = module(["bird", "cow", "cat"], as_dict=True)
    assert len(v1.get_collection(GK.TABLE_INITIALIZERS)) == 1
    values = _run(out)
    np.testing.assert_array_equal(values["ids"], [2, -1, 0])
    np.testing.assert_allclose(values["default"], [[2.0, 20.0], [-1.0, -1.0], [0.0, 0.0]])


def test_ragged_inputs(graph):
    def module_fn():
        rows = v1.ragged.placeholder(tf.float32, ragged_rank=1, value_shape=[])
        hub.add_signature(inputs=rows, outputs=tf.reduce_sum(rows, axis=1))

    spec = hub.create_module_spec(module_fn)
    assert spec.get_input_info_dict()["default"].is_composite
    module = hub.Module(spec)
    np.testing.assert_allclose(_run(module(tf.ragged.constant([[1.0, 2.0], [3.0]]))),
                               [3.0, 3.0])


def test_each_instance_has_its_own_table(graph, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("cat\ndog\n")
    spec = hub.create_module_spec(functools.partial(modulefns.text_module, str(vocab)))
    first, second = hub.Module(spec), hub.Module(spec)
    ids = [first(["dog"], as_dict=True)["ids"], second(["cat"], as_dict=True)["ids"]]
    assert len(v1.get_collection(GK.TABLE_INITIALIZERS)) == 2
    assert [list(v) for v in _run(ids)] == [[1], [0]]


def test_image_size_of_a_module_uses_its_variant(graph):
    spec = hub.create_module_spec(
        modulefns.image_module,
        [({"train"}, {"shape": (None, 64, 32, 3)}), (set(), {"height": 9, "width": 7})])
    assert hub.get_expected_image_size(hub.Module(spec, tags={"train"})) == [64, 32]
    assert hub.get_expected_image_size(hub.Module(spec)) == [9, 7]
    with pytest.raises(ValueError, match="known height and width"):
        hub.get_expected_image_size(hub.Module(_no_attachment(spec)))
    assert hub.get_num_image_channels(hub.Module(spec, tags={"train"})) == 3


def _no_attachment(spec):
    """The default variant of ``spec`` without its attachment collection."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.meta_graphs.add().CopyFrom(spec.meta_graph())
    del saved_model.meta_graphs[0].collection_def["hub_module_attachments"]
    return hub.ModuleSpec(saved_model)


def test_attached_message_through_the_module(graph):
    spec = hub.create_module_spec(modulefns.image_module, [(set(), {"height": 5, "width": 6})])
    module = hub.Module(spec)
    info = module.get_attached_message("image_module_info", hub.ImageModuleInfo, required=True)
    assert info.default_image_size.width == 6
    assert module.get_attached_message("nothing", hub.ImageModuleInfo) is None


# --- eval_function_for_module -------------------------------------------------------------

def test_eval_function_for_module(fruit_spec):
    with hub.eval_function_for_module(fruit_spec) as f:
        np.testing.assert_allclose(f([1.0, 2.0]), [6.0, 12.0])
        pets = f({"apples": [1.0], "pears": [2.0]}, signature="fruit_to_pet", as_dict=True)
        np.testing.assert_allclose(pets["cats"], [5.0])
        np.testing.assert_allclose(pets["dogs"], [-5.0])
        with pytest.raises(ValueError, match="Signature 'nope' is missing"):
            f([1.0], signature="nope")
        with pytest.raises(TypeError, match=r"missing \['pears'\]"):
            f({"apples": [1.0]}, signature="fruit_to_pet")


def test_eval_function_for_module_with_tags_and_tables(bn_spec):
    with hub.eval_function_for_module(bn_spec, tags={"train"}) as f:
        out = f(np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]], np.float32))
    # Training-mode batch norm: each feature becomes -1, 1 over the batch; the dense kernel of
    # ones sums the three features.
    np.testing.assert_allclose(out, [[-3.0, -3.0], [3.0, 3.0]], atol=1e-2)


def test_eval_function_rejects_unknown_variant(fruit_spec):
    with pytest.raises(SpecError, match="No such graph variant"), \
            hub.eval_function_for_module(fruit_spec, tags={"train"}):
        pass


# --- colocation (format doc §3.1, §3.2, §4.5 step 7) ------------------------------------------


def _colocated_with_variable_module():
    x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
    v = tf.compat.v1.get_variable("v", [], initializer=tf.compat.v1.ones_initializer())
    with tf.compat.v1.colocate_with(v):
        y = tf.multiply(v, x, name="y")
    hub.add_signature(inputs=x, outputs=y)


def test_ops_colocated_with_a_variable_follow_the_state_variable():
    spec = hub.create_module_spec(_colocated_with_variable_module)
    with tf.Graph().as_default():
        module = hub.Module(spec)
        y = module([1.0, 2.0])
        assert y.op.colocation_groups() == [b"loc:@module/v"]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            assert list(session.run(y)) == [1.0, 2.0]


def _state_colocated_with_placeholder_module():
    x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
    with tf.compat.v1.colocate_with(x):
        v = tf.compat.v1.get_variable("v", [])
    hub.add_signature(inputs=x, outputs=x * v)


def test_a_state_op_colocated_with_a_non_state_op_is_refused():
    with pytest.raises(hub.SpecError, match="State op 'v'.*colocated with node 'x'") as info:
        hub.create_module_spec(_state_colocated_with_placeholder_module)
    # The old library's key phrases, which callers match on, are kept.
    assert "state-holding node must not be subject to a tf.colocate_with" in str(info.value)
    assert "'loc:@x'" in str(info.value)


def _input_colocated_module():
    v = tf.compat.v1.get_variable("v", [])
    with tf.compat.v1.colocate_with(v):
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
    hub.add_signature(inputs=x, outputs=x * v)


def test_an_input_with_a_colocation_constraint_is_refused():
    with pytest.raises(hub.SpecError, match="input 'default' .*colocated"):
        hub.create_module_spec(_input_colocated_module)


def _inputs_from_one_split():
    """Two inputs taken from the outputs of one Split op; ``sum`` is colocated with it."""
    first, second = tf.split(tf.constant([5.0, 6.0, 7.0, 8.0]), 2, name="halves")
    with v1.colocate_with(first):
        total = tf.add(first, second, name="sum")
    hub.add_signature("both", inputs={"a": first, "b": second}, outputs=total)
    hub.add_signature("first_only", inputs={"a": first}, outputs=total)


@pytest.fixture(scope="module")
def split_spec():
    return hub.create_module_spec(_inputs_from_one_split)


def test_inputs_from_a_multi_output_op_follow_their_feeds(graph, split_spec):
    anchor = tf.constant([0.0, 0.0], name="anchor")
    with v1.colocate_with(anchor):
        a = tf.constant([1.0, 2.0], name="a")
        b = tf.constant([10.0, 20.0], name="b")
    module = hub.Module(split_spec, name="m")
    total = module({"a": a, "b": b}, signature="both")
    assert total.op.colocation_groups() == [b"loc:@anchor"]
    np.testing.assert_allclose(_run(total), [11.0, 22.0])


def test_inputs_from_differently_colocated_ops_cannot_share_a_constraint(graph, split_spec):
    a = tf.constant([1.0, 2.0], name="a")
    b = tf.constant([10.0, 20.0], name="b")
    module = hub.Module(split_spec, name="m")
    with pytest.raises(ValueError, match=r"Failed to rewrite colocation constraints .* "
                                         r"'loc:@m_apply_both/halves' .* "
                                         r"\[b'loc:@a'\] vs \[b'loc:@b'\]"):
        module({"a": a, "b": b}, signature="both")


def test_an_op_fed_in_part_keeps_its_own_group_apart(graph, split_spec):
    module = hub.Module(split_spec, name="m")
    with pytest.raises(ValueError, match=r"'loc:@m_apply_first_only/halves' .* \[b'loc:@a'\] "
                                         r"vs \[b'loc:@m_apply_first_only/halves'\]"):
        module({"a": tf.constant([1.0, 2.0], name="a")}, signature="first_only")
