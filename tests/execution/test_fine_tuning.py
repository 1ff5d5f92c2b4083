"""A module that builds must survive a consumer's first training step.

Publisher-style modules (tests/execution/publisher_modules.py) are built once for this file.
Each is fine-tuned as consumers do it: TF1 ``hub.Module(trainable=True, tags={"train"})``
with UPDATE_OPS and the regularization losses, in this process; the smoke test's training
step in a fresh process (where a gradient function of this process does not exist); and the
TF2 export through tensorflow_hub 0.16's ``hub.KerasLayer(trainable=True)``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.checks.rules import hub212_gradient_override
from hubpub.spec.view import ModuleView
from tests.execution import publisher_modules as pm

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:`tf.keras.backend.set_learning_phase` is deprecated:UserWarning")]

v1 = tf.compat.v1
IMAGES = np.random.default_rng(0).uniform(0, 1, [4, 8, 8, 3]).astype(np.float32)
BUILT = {
    "keras_called_with_training": (pm.keras_called_with_training, pm.TRAIN_AND_DEFAULT),
    "keras_input_tensor": (pm.keras_input_tensor, pm.TRAIN_AND_DEFAULT),
    "keras_first_build_updates_by_hand": (pm.keras_first_build_updates_by_hand,
                                          pm.TRAIN_AND_DEFAULT),
    "custom_gradient": (pm.custom_gradient, None),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``{name: (spec, exported module dir)}``."""
    root = tmp_path_factory.mktemp("publisher-modules")
    out = {}
    for name, (module_fn, variants) in BUILT.items():
        spec = hub.create_module_spec(module_fn, variants, random_seed=0)
        spec.export(root / name, checkpoint_path=None)
        out[name] = (spec, root / name)
    return out


_IN_A_FRESH_PROCESS = """
import json, sys
from hubpub.execution.smoke import run_smoke_test
from hubpub.pipelines.convert import convert_module
job = json.loads(sys.argv[1])
problems = {name: run_smoke_test(folder).problems for name, folder in job["smoke"].items()}
convert_module(*job["convert"])
print(json.dumps(problems))
"""


@pytest.fixture(scope="module")
def fresh_process(built, tmp_path_factory):
    """In one fresh process (no gradient function of this one): the smoke test of every
    module, ``{name: problems}``, and the TF2 export of the keras module, its folder."""
    tf2 = tmp_path_factory.mktemp("tf2") / "keras"
    job = {"smoke": {name: str(folder) for name, (_, folder) in built.items()},
           "convert": [str(built["keras_called_with_training"][1]), str(tf2)]}
    done = subprocess.run([sys.executable, "-c", _IN_A_FRESH_PROCESS, json.dumps(job)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), tf2


@pytest.fixture(scope="module")
def smoke_problems(fresh_process):
    return fresh_process[0]


def _update_ops(spec, tags):
    meta = spec.meta_graph(tags)
    key = v1.GraphKeys.UPDATE_OPS
    return list(meta.collection_def[key].node_list.value) if key in meta.collection_def else []


@pytest.mark.parametrize("name", ["keras_called_with_training", "keras_input_tensor"])
def test_keras_update_ops_are_the_train_variants_own(built, name):
    spec, _ = built[name]
    train = _update_ops(spec, {"train"})
    assert len(train) == 2 and all("AssignMovingAvg" in op for op in train)  # mean, variance
    assert _update_ops(spec, set()) == []
    kinds = {note["kind"] for note in spec.notes}
    assert kinds == {"tf_keras_collections", "gradient_overrides_removed"}


@pytest.mark.parametrize("name", ["keras_called_with_training", "keras_input_tensor"])
def test_a_tf1_consumer_fine_tunes_the_keras_module(built, name):
    _, folder = built[name]
    with tf.Graph().as_default():
        module = hub.Module(str(folder), trainable=True, tags={"train"})
        features = module(IMAGES)
        loss = tf.reduce_mean(tf.square(features)) + tf.add_n(
            v1.losses.get_regularization_losses())
        with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
            step = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        variables = {v.op.name.split("/", 1)[1]: v for v in module.variables}
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            before = session.run(variables)
            session.run(step)  # feeds nothing but the images
            after = session.run(variables)
    moved = {name for name in before if not np.array_equal(before[name], after[name])}
    assert {n for n in before if "kernel" in n or "moving_" in n} <= moved, moved


def test_the_smoke_test_passes_what_consumers_can_fine_tune(smoke_problems):
    assert smoke_problems["keras_called_with_training"] == []
    assert smoke_problems["keras_input_tensor"] == []


def test_the_smoke_test_names_an_update_op_no_consumer_can_feed(smoke_problems):
    (problem,) = smoke_problems["keras_first_build_updates_by_hand"]
    assert problem.startswith("variant {train} fine-tuning (hub.Module, trainable=True): the "
                              "training step needs placeholder '")
    assert "which is not a signature input" in problem


def test_the_smoke_test_names_a_gradient_that_did_not_travel(smoke_problems):
    (problem,) = smoke_problems["custom_gradient"]
    assert problem.startswith("variant {} fine-tuning (hub.Module, trainable=True): no "
                              "gradient for the trainable variables: No gradient defined")
    assert "IdentityN" in problem


def test_a_custom_gradient_is_hub212_at_the_publishers_line(built):
    spec, _ = built["custom_gradient"]
    view = ModuleView.from_saved_model(spec.saved_model, source_lines=spec.source_lines,
                                       path="module.py")
    (hit,) = hub212_gradient_override.check(view, {})
    assert hit.message.startswith("IdentityN node 'IdentityN' uses gradient function "
                                  "'CustomGradient-")
    assert hit.location.source.endswith("publisher_modules.py")
    line = pm.custom_gradient.__code__.co_firstlineno + 3
    assert hit.location.line == line  # the call of the decorated function


def test_silu_gradient_overrides_are_removed_and_reported(built):
    spec, _ = built["keras_called_with_training"]
    (note,) = [n for n in spec.notes if n["kind"] == "gradient_overrides_removed"
               and n["variant"] == ["train"]]
    assert note["nodes"] and all("IdentityN" in node for node in note["nodes"])
    view = ModuleView.from_saved_model(spec.saved_model, source_lines=spec.source_lines,
                                       path="module.py")
    assert list(hub212_gradient_override.check(view, {})) == []


def test_a_keras_layer_fine_tunes_the_tf2_export(fresh_process):
    """tensorflow_hub 0.16's hub.KerasLayer(trainable=True) fits the export of the module with
    batch norm and silu: kernels and moving statistics move, in a process that never saw the
    publisher's gradient functions."""
    from tests.keras_consumer import run_consumer, tensorflow_hub_016

    _, out = fresh_process
    report = run_consumer(tensorflow_hub_016(), {"path": str(out), "x": IMAGES.tolist(),
                                                 "dtype": "float32", "trainable": True,
                                                 "fit": True})
    changed = set(report["changed"])
    assert {"conv2d/kernel:0", "batch_normalization/gamma:0"} <= changed
    assert set(report["non_trainable"]) <= changed  # the moving statistics
    assert len(report["losses"]) == 1  # the kernel's l2


def mobilenet_v2(is_training: bool = False) -> None:
    import tf_keras

    images = v1.placeholder(tf.float32, [None, 32, 32, 3], name="images")
    model = tf_keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                              weights=None, include_top=False, pooling="avg")
    hub.add_signature(inputs={"images": images}, outputs=model(images, training=is_training))


def test_a_keras_application_fine_tunes():
    """MobileNetV2 at its smallest: 52 batch-norm layers, built on its own Input first."""
    from hubpub.execution.smoke import signature_inputs
    from hubpub.execution.smoke_finetune import tf1_fine_tuning_problems

    spec = hub.create_module_spec(mobilenet_v2, pm.TRAIN_AND_DEFAULT, random_seed=0)
    assert len(_update_ops(spec, {"train"})) == 104 and _update_ops(spec, set()) == []
    train = frozenset({"train"})
    assert tf1_fine_tuning_problems(spec, train, signature_inputs(spec, train)) == []


def _embedding(dead: bool = False) -> None:
    """An embedding lookup; ``dead``: its output cannot move the weights (zero gradient)."""
    ids = v1.placeholder(tf.int64, [None], name="ids")
    table = v1.get_variable("table", [50, 8], initializer=v1.random_normal_initializer(seed=1))
    rows = tf.nn.embedding_lookup(table, ids)
    hub.add_signature(inputs={"ids": ids}, outputs=tf.nn.relu(-tf.abs(rows) - 1.0) if dead
                      else rows)


@pytest.mark.parametrize("dead", [False, True])
@pytest.mark.parametrize("api", ["tf1", "tf2"])
def test_a_large_variable_is_judged_by_its_gradient(monkeypatch, dead, api, tmp_path):
    """Past _COPIED_ELEMENTS no copy is made: a sparse, non-zero gradient is what moves it."""
    from hubpub.execution import smoke_finetune
    from hubpub.execution.smoke import signature_inputs

    monkeypatch.setattr(smoke_finetune, "_COPIED_ELEMENTS", 0)  # every variable is "large"
    spec = hub.create_module_spec(lambda: _embedding(dead), random_seed=0)
    inputs = signature_inputs(spec, frozenset())
    if api == "tf1":
        problems = smoke_finetune.tf1_fine_tuning_problems(spec, frozenset(), inputs)
    else:
        from hubpub.pipelines.convert import convert_module

        spec.export(str(tmp_path / "tf1"), checkpoint_path=None)
        convert_module(str(tmp_path / "tf1"), str(tmp_path / "tf2"))
        loaded = tf.saved_model.load(str(tmp_path / "tf2"))
        problems = smoke_finetune.tf2_fine_tuning_problems(
            loaded, inputs["default"], has_updates=False)
    assert len(problems) == dead, problems
    assert all("changed none of the 1 trainable" in p for p in problems), problems
