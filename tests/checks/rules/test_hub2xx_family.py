"""The HUB2xx family as a whole: registered and documented, TF-free imports, pure rules, and
real modules that must pass: the TF Hub team's half_plus_two and a well-built publisher module.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from functools import partial
from pathlib import Path

import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.checks import rules as registry
from hubpub.checks.config import LintConfig
from hubpub.checks.engine import run_checks
from hubpub.checks.ruledocs import rule_doc
from hubpub.spec.files import read_saved_model
from hubpub.spec.view import ModuleView
from tests.checks.modulefns import (
    VIEW_PATH,
    batch_norm_module,
    dropout_module,
    optimizer_module,
    raw_view,
    spec_view,
    train_and_default,
)
from tests.fixture_paths import HALF_PLUS_TWO

RULE_FILES = sorted(Path(registry.__file__).parent.glob("hub2[0-9][0-9]_*.py"))
HUB2 = LintConfig(select=("HUB2",))


def test_every_rule_file_is_registered():
    codes = {f"HUB{path.name[3:6]}" for path in RULE_FILES}
    assert len(codes) == len(RULE_FILES) >= 11
    assert codes <= set(registry.RULES)
    for path in RULE_FILES:
        assert registry.RULES[f"HUB{path.name[3:6]}"].__name__.endswith(path.stem)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_documented_with_options(path):
    rule = registry.get(f"HUB{path.name[3:6]}")
    doc = rule_doc(rule)
    assert doc.missing_sections == [], f"{rule.CODE} lacks {doc.missing_sections}"
    assert rule.CODE in path.name.upper() and rule.NAME.lower() == rule.NAME
    assert set(rule.OPTIONS) == set(rule.DEFAULTS)
    for name, kind in rule.OPTIONS.items():
        assert isinstance(rule.DEFAULTS[name], kind)


@pytest.mark.slow
def test_rule_modules_import_without_tensorflow():
    modules = [f"hubpub.checks.rules.{path.stem}" for path in RULE_FILES]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow')\n"
            "assert not loaded, loaded[:3]\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def half_plus_two(tmp_path_factory):
    folder = tmp_path_factory.mktemp("half_plus_two")
    with tarfile.open(HALF_PLUS_TWO) as archive:
        archive.extractall(folder, filter="data")  # a trusted fixture
    return ModuleView.from_saved_model(
        read_saved_model(folder), path=str(folder),
        checkpoint_path=str(folder / "variables" / "variables"),
        metadata={"fine_tunable": True})


def test_half_plus_two_passes(half_plus_two):
    assert half_plus_two.fine_tune_variant.variables  # the rules had something to look at
    assert run_checks(half_plus_two, HUB2) == []


def well_built_module(training: bool) -> None:
    """What the publisher guidance asks for: regularized kernels, a train variant, BN updates
    collected, momentum 0.99 and dropout 0.3 only in training."""
    import tf_keras

    images = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 3], name="images")
    regularizer = tf_keras.regularizers.l2(1e-4)
    net = tf.compat.v1.layers.conv2d(images, 4, 3, kernel_regularizer=regularizer)
    net = tf.compat.v1.layers.batch_normalization(net, momentum=0.99, training=training)
    net = tf_keras.layers.BatchNormalization(momentum=0.9)(net, training=training)
    net = tf.compat.v1.layers.flatten(net)
    net = tf.compat.v1.layers.dropout(net, rate=0.3, training=training)
    features = tf.compat.v1.layers.dense(net, 5, kernel_regularizer=regularizer)
    hub.add_signature(inputs=images, outputs=features)


@pytest.fixture(scope="module")
def well_built(tmp_path_factory):
    script = tmp_path_factory.mktemp("sources") / "train.py"
    script.write_text("import tensorflow as tf\n"
                      "optimizer = tf.compat.v1.train.FtrlOptimizer(0.1)\n"
                      "momentum = tf.compat.v1.train.MomentumOptimizer(0.1, 0.9)\n")
    return spec_view(well_built_module, train_and_default(), training_sources=[script],
                     metadata={"fine_tunable": True})


def test_a_well_built_module_passes(well_built):
    assert run_checks(well_built, HUB2) == []


@pytest.fixture(scope="module")
def busy_views():
    """Modules that trigger many rules at once, built with function bodies and raw exports."""
    return [
        raw_view(partial(batch_norm_module, keras=True, as_tensor=True, momentum=0.999),
                 train_and_default()),
        spec_view(partial(dropout_module, as_tensor=True, rate=0.8), [(set(), {"training": True})]),
        spec_view(partial(optimizer_module, "FtrlOptimizer", learning_rate=0.1,
                          l1_regularization_strength=0.1), drop_collections=["train_op"]),
    ]


def test_rules_leave_the_protos_untouched(busy_views):
    for view in busy_views:
        before = [v.meta_graph.SerializeToString(deterministic=True) for v in view.variants]
        findings = run_checks(view, HUB2)
        assert findings, "these modules are meant to trigger HUB2xx rules"
        after = [v.meta_graph.SerializeToString(deterministic=True) for v in view.variants]
        assert before == after


def test_findings_are_stable(busy_views):
    view = busy_views[0]
    first = [f.to_json() for f in run_checks(view, HUB2)]
    assert first == [f.to_json() for f in run_checks(view, HUB2)]
    assert {f["code"] for f in first} >= {"HUB203", "HUB206"}
    assert all(f["location"]["path"] == VIEW_PATH for f in first)
