"""HUB203: batch-norm momentum above the threshold, fused and unfused, tf.layers and Keras."""

from __future__ import annotations

from functools import partial

import pytest

from hubpub.checks.findings import Severity
from hubpub.checks.rules import hub203_batchnorm_momentum as rule
from tests.checks.modulefns import (
    batch_norm_module,
    lint,
    source_text,
    spec_view,
    train_and_default,
)

# id -> (batch_norm_module arguments, nodes where the momentum shows up)
LAYERS = {
    "tf-fused": ({}, {"batch_normalization/Const"}),
    "tf-unfused": ({"fused": False}, {"batch_normalization/AssignMovingAvg/decay"}),
    # Tensor flag: the constants sit in If branch functions; reported at the If node.
    "tf-fused-tensor-flag": ({"as_tensor": True}, {"batch_normalization/cond_1"}),
    "tf-unfused-tensor-flag": ({"fused": False, "as_tensor": True},
                               {"batch_normalization/cond_2", "batch_normalization/cond_3"}),
    "keras-fused": ({"keras": True}, {"batch_normalization/Const"}),
    "keras-unfused": ({"keras": True, "fused": False},
                      {"batch_normalization/AssignMovingAvg/decay"}),
    "keras-fused-tensor-flag": ({"keras": True, "as_tensor": True},
                                {"batch_normalization/cond_1"}),
}
MOMENTA = (0.999, 0.99)


@pytest.fixture(scope="module")
def views():
    return {(name, momentum): spec_view(partial(batch_norm_module, momentum=momentum, **args),
                                        train_and_default())
            for name, (args, _) in LAYERS.items() for momentum in MOMENTA}


@pytest.mark.parametrize("name", LAYERS)
def test_momentum_above_threshold(views, name):
    [finding] = lint(rule, views[name, 0.999])
    assert (finding.code, finding.severity) == (rule.CODE, Severity.WARNING)
    assert "batch norm 'batch_normalization' has momentum 0.999, above 0.99" in finding.message
    assert finding.location.variant == ("train",)  # once, where the layer trains
    assert finding.location.node in LAYERS[name][1]
    assert "batchnormalization" in source_text(finding.location).lower().replace("_", "")


@pytest.mark.parametrize("name", LAYERS)
def test_momentum_at_threshold(views, name):
    # 0.99 is stored as float32 (0.99000001) or as 1 - 0.01: neither counts as above 0.99.
    assert lint(rule, views[name, 0.99]) == []


@pytest.mark.parametrize("name", LAYERS)
def test_threshold_is_an_option(views, name):
    assert lint(rule, views[name, 0.999], max_momentum=0.9995) == []
    assert len(lint(rule, views[name, 0.99], max_momentum=0.95)) == 1


def test_inference_only_module_has_no_momentum():
    view = spec_view(partial(batch_norm_module, False, momentum=0.999))
    assert lint(rule, view) == []


def keras_model_called_later(is_training: bool = True, fixed_momentum: float | None = None):
    """A functional model built on its own Input, then called on the signature's tensor; with
    ``fixed_momentum`` the publisher fixes the momentum between the two."""
    import tf_keras

    import hubpub as hub
    from hubpub._tf import tf

    inputs = tf_keras.Input(shape=(4, 4, 2))
    norm = tf_keras.layers.BatchNormalization(momentum=0.999)
    model = tf_keras.Model(inputs, norm(inputs))
    if fixed_momentum is not None:
        norm.momentum = fixed_momentum
    images = tf.compat.v1.placeholder(tf.float32, [None, 4, 4, 2])
    hub.add_signature(inputs=images, outputs=model(images, training=is_training))  # the call


@pytest.mark.parametrize(("fixed", "found"), [(None, 1), (0.9, 0)])
def test_a_keras_layer_is_reported_once_where_a_signature_runs_it(fixed, found):
    view = spec_view(partial(keras_model_called_later, fixed_momentum=fixed),
                     [({"train"}, {"is_training": True}), (set(), {"is_training": False})])
    findings = lint(rule, view)
    assert len(findings) == found
    if found:
        assert "hub.add_signature(inputs=images" in source_text(findings[0].location)
