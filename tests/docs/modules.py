"""Test modules built by hand with tf.compat.v1, in the TF1 Hub format layout (format doc §1).

Until hubpub's own export lands, this writes what it will write: one MetaGraphDef per variant
(tags, signatures, supported collections, attachments, saved_model_assets), ``tfhub_module.pb``
(bytes 08 03), variables saved by a sharded V2 Saver at ``variables/variables`` from the
default variant, and the asset files under ``assets/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hubpub._tf import tf
from hubpub.spec.protos import ImageModuleInfo, ModuleAttachment

# module_fn(**args) -> (signatures {name: (inputs, outputs)}, attachments {key: message})
ModuleFn = Callable[..., tuple[Mapping[str, tuple[Mapping, Mapping]], Mapping[str, Any]]]
_EXPORTED_ASSET = b"SAVEDMODEL-ASSET"


def pets_module(is_training: bool, vocab_file: str) -> tuple[dict, dict]:
    """Five signatures over shared variables; a train variant with update ops and an L2 loss.

    ``default``: features [None, 3] -> default [None, 2] (dense layer, batch-centred).
    ``fruit_to_pet``: apples, bananas [None] -> cats, dogs.
    ``image_feature_vector``: images [None, None, None, 3] -> default [None, 4]; the
    ``image_module_info`` attachment says 8 x 8.
    ``text_embedding``: sentences string [None] -> default [None, 2] via a vocabulary asset.
    ``sparse_tokens``: tokens sparse string [None, None] -> default [None, 2].
    """
    v1 = tf.compat.v1
    kernel = v1.get_variable("dense/kernel", [3, 2],
                             regularizer=lambda w: 0.01 * tf.reduce_sum(w * w))
    bias = v1.get_variable("dense/bias", [2], initializer=v1.zeros_initializer())
    moving_mean = v1.get_variable("center/moving_mean", [2], trainable=False,
                                  initializer=v1.zeros_initializer())
    features = v1.placeholder(tf.float32, [None, 3], name="features")
    hidden = tf.matmul(features, kernel) + bias
    if is_training:
        mean = tf.reduce_mean(hidden, axis=0)
        v1.add_to_collection(v1.GraphKeys.UPDATE_OPS,
                             v1.assign(moving_mean, 0.9 * moving_mean + 0.1 * mean))
        centred = hidden - mean
    else:
        centred = hidden - moving_mean

    scale = v1.get_variable("scale", [], initializer=v1.constant_initializer(2.0))
    apples = v1.placeholder(tf.float32, [None], name="apples")
    bananas = v1.placeholder(tf.float32, [None], name="bananas")

    conv = v1.get_variable("conv/kernel", [3, 3, 3, 4])
    images = v1.placeholder(tf.float32, [None, None, None, 3], name="images")
    image_features = tf.reduce_mean(
        tf.nn.conv2d(images, conv, strides=1, padding="SAME"), axis=[1, 2])

    embeddings = v1.get_variable("embeddings", [5, 2])
    table = tf.lookup.StaticVocabularyTable(
        tf.lookup.TextFileInitializer(vocab_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                      tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
        num_oov_buckets=1)
    sentences = v1.placeholder(tf.string, [None], name="sentences")
    words = tf.strings.split(sentences).to_sparse()
    sentence_ids = tf.SparseTensor(words.indices, table.lookup(words.values), words.dense_shape)
    sentence_vectors = tf.nn.embedding_lookup_sparse(embeddings, sentence_ids, None,
                                                     combiner="sqrtn")
    tokens = v1.sparse_placeholder(tf.string, [None, None], name="tokens")
    token_ids = tf.SparseTensor(tokens.indices, table.lookup(tokens.values), tokens.dense_shape)
    token_vectors = tf.nn.embedding_lookup_sparse(embeddings, token_ids, None, combiner="sum")

    info = ImageModuleInfo()
    info.default_image_size.height = 8
    info.default_image_size.width = 8
    signatures = {
        "default": ({"default": features}, {"default": centred}),
        "fruit_to_pet": ({"apples": apples, "bananas": bananas},
                         {"cats": apples * scale + bananas, "dogs": apples - bananas * scale}),
        "image_feature_vector": ({"images": images}, {"default": image_features}),
        "text_embedding": ({"sentences": sentences}, {"default": sentence_vectors}),
        "sparse_tokens": ({"tokens": tokens}, {"default": token_vectors}),
    }
    return signatures, {"image_module_info": info}


def half_plus_two_like(**_: Any) -> tuple[dict, dict]:
    """y = a * x + b with a = 0.5, b = 2, x of unknown shape (like the fixture)."""
    v1 = tf.compat.v1
    a = v1.get_variable("a", [], initializer=v1.constant_initializer(0.5))
    b = v1.get_variable("b", [], initializer=v1.constant_initializer(2.0))
    x = v1.placeholder(tf.float32)
    return {"default": ({"default": x}, {"default": a * x + b})}, {}


def export_by_hand(module_dir: Path, module_fn: ModuleFn,
                   variants: Sequence[tuple[Sequence[str], Mapping[str, Any]]]) -> Path:
    """Write a TF1 Hub format module from ``module_fn`` built once per variant."""
    v1 = tf.compat.v1
    module_dir = Path(module_dir)
    (module_dir / "variables").mkdir(parents=True)
    (module_dir / "assets").mkdir()
    from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    for tags, args in variants:
        graph = tf.Graph()
        with graph.as_default():
            signatures, attachments = module_fn(**args)
            meta = v1.train.export_meta_graph(graph=graph, strip_default_attrs=True)
            meta.meta_info_def.tags.extend(tags)
            for name, (inputs, outputs) in signatures.items():
                sig = meta.signature_def[name]
                for key, tensor in inputs.items():
                    sig.inputs[key].CopyFrom(v1.saved_model.build_tensor_info(tensor))
                for key, tensor in outputs.items():
                    sig.outputs[key].CopyFrom(v1.saved_model.build_tensor_info(tensor))
            for key, message in attachments.items():
                wrapped = ModuleAttachment(key=key, value=message.SerializeToString())
                meta.collection_def["hub_module_attachments"].bytes_list.value.append(
                    wrapped.SerializeToString())
            _export_assets(meta, module_dir, meta_graph_pb2)
            if not tags:
                with v1.Session(graph=graph) as session:
                    session.run([v1.global_variables_initializer(), v1.tables_initializer()])
                    v1.train.Saver(sharded=True, write_version=v1.train.SaverDef.V2).save(
                        session, str(module_dir / "variables" / "variables"),
                        write_meta_graph=False, write_state=False)
        for key in list(meta.collection_def):
            if key not in _SUPPORTED and key != "saved_model_assets":
                del meta.collection_def[key]
        meta.ClearField("saver_def")
        saved_model.meta_graphs.add().CopyFrom(meta)
    (module_dir / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (module_dir / "tfhub_module.pb").write_bytes(b"\x08\x03")
    return module_dir


_SUPPORTED = {"variables", "trainable_variables", "model_variables", "table_initializer",
              "update_ops", "regularization_losses", "asset_filepaths", "cond_context",
              "while_context", "hub_module_attachments"}


def _export_assets(meta: Any, module_dir: Path, meta_graph_pb2: Any) -> None:
    nodes = {n.name: n for n in meta.graph_def.node}
    if "asset_filepaths" not in meta.collection_def:
        return
    for tensor_name in meta.collection_def["asset_filepaths"].node_list.value:
        node = nodes[tensor_name.split(":")[0]]
        source = Path(node.attr["value"].tensor.string_val[0].decode())
        shutil.copyfile(source, module_dir / "assets" / source.name)
        node.attr["value"].tensor.string_val[0] = _EXPORTED_ASSET
        asset = meta_graph_pb2.AssetFileDef(filename=source.name)
        asset.tensor_info.name = tensor_name
        meta.collection_def["saved_model_assets"].any_list.value.add().Pack(asset)


def export_pets(module_dir: Path, vocab_dir: Path) -> Path:
    vocab = Path(vocab_dir) / "vocab.txt"
    vocab.write_text("cat\ndog\nfish\nbird")
    return export_by_hand(module_dir, pets_module, [
        (["train"], {"is_training": True, "vocab_file": str(vocab)}),
        ([], {"is_training": False, "vocab_file": str(vocab)}),
    ])
