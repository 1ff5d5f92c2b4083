"""Small module_fns for the lint rule tests, and two ways to view their variants.

``spec_view`` builds them with hubpub's ``create_module_spec``, like a publisher's manifest
does. ``raw_view`` builds them the way a plain TF1 exporter would (``export_meta_graph`` per
variant, nothing added): hubpub itself puts tf_keras updates and losses into the collections,
so modules missing them come from other tools, and only ``raw_view`` can make one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import hubpub as hub
from hubpub._tf import tf
from hubpub.checks.config import LintConfig
from hubpub.checks.engine import run_checks
from hubpub.checks.findings import Finding
from hubpub.spec.view import ModuleView

v1 = tf.compat.v1

TagsAndArgs = Iterable[tuple[Iterable[str], Mapping[str, Any]]]
THIS_FILE = str(Path(__file__).resolve())
VIEW_PATH = "hubpub.yaml"


def _training_flag(training: bool, as_tensor: bool) -> Any:
    """A python bool, or an unfed ``placeholder_with_default`` holding it."""
    if not as_tensor:
        return training
    return v1.placeholder_with_default(training, [], name="is_training")


def dense_module(*, l2: float | None = None, trainable: bool = True) -> None:
    """One dense layer; ``l2`` adds a kernel regularizer to REGULARIZATION_LOSSES.

    The kernel initializer draws with ``RandomUniform``, like dropout does.
    """
    import tf_keras

    x = v1.placeholder(tf.float32, [None, 4], name="x")
    regularizer = tf_keras.regularizers.l2(l2) if l2 is not None else None
    y = v1.layers.dense(x, 3, kernel_initializer=v1.random_uniform_initializer(),
                        kernel_regularizer=regularizer, trainable=trainable)
    hub.add_signature(inputs=x, outputs=y)


def embedding_module() -> None:
    """A bare embedding table looked up by id, like a text-embedding module."""
    ids = v1.placeholder(tf.int64, [None], name="ids")
    table = v1.get_variable("embeddings", [10, 3])
    hub.add_signature(inputs=ids, outputs=tf.nn.embedding_lookup(table, ids))


def input_regularizer_module() -> None:
    """A regularization loss built from the signature input (wrong: it must use variables)."""
    import tf_keras

    x = v1.placeholder(tf.float32, [None, 4], name="x")
    y = v1.layers.dense(x, 3, kernel_regularizer=tf_keras.regularizers.l2(0.01))
    activity = tf.multiply(0.01, tf.reduce_sum(tf.abs(y)), name="activity_penalty")
    v1.add_to_collection(v1.GraphKeys.REGULARIZATION_LOSSES, activity)
    hub.add_signature(inputs=x, outputs=y)


def batch_norm_module(training: bool, *, momentum: float = 0.99, fused: bool | None = None,
                      as_tensor: bool = False, keras: bool = False) -> None:
    """Batch norm on a 4-D input, as tf.layers or tf_keras builds it in graph mode.

    ``as_tensor`` passes ``training`` as a bool tensor (the layer then builds ``If`` ops).
    """
    x = v1.placeholder(tf.float32, [None, 4, 4, 3], name="images")
    flag = _training_flag(training, as_tensor)
    if keras:
        import tf_keras

        y = tf_keras.layers.BatchNormalization(momentum=momentum, fused=fused)(x, training=flag)
    else:
        y = v1.layers.batch_normalization(x, momentum=momentum, fused=fused, training=flag)
    hub.add_signature(inputs=x, outputs=y)


def dropout_module(training: bool, *, rate: float = 0.3, as_tensor: bool = False,
                   keras: bool = False) -> None:
    """Dropout after the input, as tf.layers or tf_keras builds it in graph mode."""
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    flag = _training_flag(training, as_tensor)
    if keras:
        import tf_keras

        y = tf_keras.layers.Dropout(rate)(x, training=flag)
    else:
        y = v1.layers.dropout(x, rate=rate, training=flag)
    hub.add_signature(inputs=x, outputs=y)


def fed_flag_dropout_module() -> None:
    """Dropout switched by a signature input: the consumer decides, in every variant."""
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    flag = v1.placeholder(tf.bool, [], name="is_training")
    y = v1.layers.dropout(x, rate=0.3, training=flag)
    hub.add_signature(inputs={"x": x, "is_training": flag}, outputs=y)


def constant_weights_module() -> None:
    """Weights frozen into constants: nothing a consumer could fine-tune."""
    x = v1.placeholder(tf.float32, [None, 2], name="x")
    hub.add_signature(inputs=x, outputs=tf.matmul(x, tf.constant([[1.0], [2.0]])))


def counter_module(training: bool) -> None:
    """A step counter in UPDATE_OPS of every variant (wrong outside the train variant)."""
    x = v1.placeholder(tf.float32, [None, 2], name="x")
    counter = v1.get_variable("calls", [], dtype=tf.int64, trainable=False,
                              initializer=v1.zeros_initializer())
    v1.add_to_collection(v1.GraphKeys.UPDATE_OPS, v1.assign_add(counter, 1))
    hub.add_signature(inputs=x, outputs=v1.layers.dense(x, 1, use_bias=False))


def optimizer_module(optimizer: str, *, global_step: bool = False, **kwargs: Any) -> None:
    """A dense layer with a training op built inside the module (what HUB202/HUB208 catch).

    ``optimizer`` names a ``tf.compat.v1.train`` class, e.g. ``"FtrlOptimizer"``.
    """
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    y = v1.layers.dense(x, 3)
    step = v1.train.get_or_create_global_step() if global_step else None
    getattr(v1.train, optimizer)(**kwargs).minimize(tf.reduce_sum(y), global_step=step)
    hub.add_signature(inputs=x, outputs=y)


def spec_view(module_fn: Callable[..., None], tags_and_args: TagsAndArgs | None = None, *,
              drop_collections: Iterable[str] | None = None, **view_fields: Any) -> ModuleView:
    """The view ``hubpub lint`` has of a manifest's spec; ``view_fields`` go to ModuleView."""
    spec = hub.create_module_spec(module_fn, tags_and_args, drop_collections=drop_collections)
    return ModuleView.from_saved_model(spec.saved_model, source_lines=spec.source_lines,
                                       path=VIEW_PATH, **view_fields)


def raw_view(module_fn: Callable[..., None], tags_and_args: TagsAndArgs | None = None,
             **view_fields: Any) -> ModuleView:
    """The view of a module a plain TF1 exporter wrote: collections exactly as TF left them."""
    from tensorflow.core.protobuf import saved_model_pb2

    from hubpub.spec.authoring import _SIGNATURES  # where add_signature keeps them

    saved_model = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    lines = {}
    for tags, args in tags_and_args or [((), {})]:
        graph = tf.Graph()
        with graph.as_default():
            with v1.variable_scope("", use_resource=True):
                module_fn(**args)
            meta_graph = v1.train.export_meta_graph(graph=graph)
        for name, signature, _ in graph.get_collection(_SIGNATURES):
            meta_graph.signature_def[name].CopyFrom(signature)
        meta_graph.meta_info_def.tags[:] = sorted(tags)
        saved_model.meta_graphs.add().CopyFrom(meta_graph)
        lines[frozenset(tags)] = _creation_lines(graph)
    return ModuleView.from_saved_model(saved_model, source_lines=lines, path=VIEW_PATH,
                                       **view_fields)


def _creation_lines(graph: Any) -> dict[str, tuple[str, int]]:
    """Node -> its innermost creation line in this file: the module_fn's layer call."""
    out = {}
    for op in graph.get_operations():
        frame = next((f for f in reversed(op.traceback) if f.filename == THIS_FILE), None)
        if frame is not None:
            out[op.name] = (frame.filename, frame.lineno)
    return out


def lint(rule: ModuleType, view: ModuleView, **options: Any) -> list[Finding]:
    """One rule through the engine, which stamps code and severity (options over defaults)."""
    config = LintConfig(select=(rule.CODE,), options={rule.CODE: options})
    return run_checks(view, config)


def train_and_default(**common: Any) -> list[tuple[set[str], dict[str, Any]]]:
    """The usual two variants: ``train`` with training=True and the default with False."""
    return [({"train"}, {"training": True, **common}), (set(), {"training": False, **common})]


def source_text(location: Any) -> str:
    """The source line a location points at (to check that it is the layer call)."""
    return Path(location.source).read_text().splitlines()[location.line - 1]
