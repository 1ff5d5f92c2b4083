"""hub.Module built and applied inside function graphs: Defun, tf.function, wrap_function.

A function runs every stateful op it holds on each call, so the module's state must live in
the graph that runs the initializers (once), and each apply graph must hold only what the
outputs need, control dependencies included.
"""

from __future__ import annotations

import numpy as np
import pytest

import hubpub as hub
from hubpub._tf import tf

v1 = tf.compat.v1


def random_weight_with_side_inputs() -> None:
    """``y = x + w`` with a randomly initialized resource variable ``w``.

    Also holds what a function must not run: a placeholder ``unused`` that no output needs
    and an assign of it into a second variable.
    """
    x = v1.placeholder(tf.float32, shape=[], name="x")
    unused = v1.placeholder(tf.float32, shape=[], name="unused")
    w = v1.get_variable("w", shape=[], initializer=v1.random_uniform_initializer(1.0, 2.0),
                        use_resource=True)
    other = v1.get_variable("other", shape=[], initializer=v1.zeros_initializer(),
                            use_resource=True)
    other.assign(unused)
    hub.add_signature(inputs={"x": x}, outputs=x + w)


def counting_output() -> None:
    """The output waits for ``calls += 1`` through a control dependency only."""
    calls = v1.get_variable("calls", shape=[], dtype=tf.int64,
                            initializer=v1.zeros_initializer(), use_resource=True)
    with tf.control_dependencies([calls.assign_add(1)]):
        y = tf.constant(7.0) + 1.0
    hub.add_signature(inputs={}, outputs=y)


@pytest.fixture(scope="module")
def random_spec():
    return hub.create_module_spec(random_weight_with_side_inputs)


@pytest.fixture(scope="module")
def counting_spec():
    return hub.create_module_spec(counting_output)


def test_defun_state_is_initialized_once_in_the_outer_graph(random_spec):
    from tensorflow.python.framework import function

    @function.Defun(tf.float32, tf.float32)
    def apply_twice(a, b):
        module = hub.Module(random_spec, name="mod")
        return module(a), module(b)

    with tf.Graph().as_default() as graph:
        first, second = apply_twice(tf.constant(1.0), tf.constant(5.0))
        assert sorted(v.op.name for v in v1.global_variables()) == ["mod/other", "mod/w"]
        assert all(v.graph is graph for v in v1.global_variables())
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            a1, b1 = session.run([first, second])
            a2, b2 = session.run([first, second])
            w = session.run(graph.get_tensor_by_name("mod/w/Read/ReadVariableOp:0"))
    # The random initializer ran once: both calls and both runs see the same w.
    np.testing.assert_allclose([a1, b1, a2, b2], [1.0 + w, 5.0 + w, 1.0 + w, 5.0 + w],
                               rtol=1e-6)
    assert 1.0 <= w <= 2.0


def test_tf_function_in_a_graph_uses_the_outer_state(random_spec):
    with tf.Graph().as_default():

        @tf.function
        def apply(a):
            return hub.Module(random_spec, name="mod")(a)

        y = apply(tf.constant(3.0))
        w = [v for v in v1.global_variables() if v.op.name == "mod/w"][0]
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            session.run(w.assign(1.5))
            assert session.run(y) == pytest.approx(4.5)


def test_control_dependencies_of_outputs_are_kept_in_functions(counting_spec):
    from tensorflow.python.framework import function

    @function.Defun()
    def apply():
        return hub.Module(counting_spec, name="counter")()

    with tf.Graph().as_default() as graph:
        y = apply()
        calls = graph.get_tensor_by_name("counter/calls/Read/ReadVariableOp:0")
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            assert session.run(y) == pytest.approx(8.0)
            assert session.run(y) == pytest.approx(8.0)
            assert session.run(calls) == 2


def test_module_from_the_graph_applied_in_a_function_inside_it(random_spec):
    with tf.Graph().as_default():
        module = hub.Module(random_spec, name="outer")

        @tf.function
        def apply(a):
            return module(a)

        y = apply(tf.constant(2.0))
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            session.run(module.variable_map["w"].assign(1.25))
            assert session.run(y) == pytest.approx(3.25)


def test_wrap_function_owns_its_state_and_prunes_its_initializers(random_spec):
    initializers = []

    def build(a, b):
        module = hub.Module(random_spec, name="wrapped")
        initializers.append(v1.initializers.global_variables())
        return [module(a), module(b)]

    spec = tf.TensorSpec([], tf.float32)
    wrapped = v1.wrap_function(build, [spec, spec])
    wrapped.prune([], initializers)()
    first = [t.numpy() for t in wrapped(1.0, 10.0)]
    second = [t.numpy() for t in wrapped(1.0, 10.0)]
    assert first == second
    assert first[1] - first[0] == pytest.approx(9.0)


def test_tf_function_in_eager_mode_says_what_to_use(random_spec):
    @tf.function(autograph=False)  # autograph would wrap the error in its own type
    def apply(a):
        return hub.Module(random_spec)(a)

    with pytest.raises(hub.SpecError, match="hubpub.load"):
        apply(tf.constant(1.0))
