"""The TensorFlow-free checkpoint writer writes what TensorFlow's Saver writes, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

import hubpub
from hubpub._tf import tf
from hubpub.spec import checkpoint_writer
from hubpub.spec.checkpoint_index import read_checkpoint_index
from hubpub.spec.checkpoint_writer import can_write, write_checkpoint
from hubpub.spec.export import export_spec

FILES = ("variables.index", "variables.data-00000-of-00001")


def _values() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "embeddings": rng.standard_normal((300, 17)).astype(np.float32),
        "dense/bias": rng.standard_normal(5),  # float64
        "step": np.array(-3, np.int64),  # a scalar
        "mask": np.array([True, False, True]),
        "half": np.full((2, 3), 0.5, np.float16),
        "bytes": np.arange(7, dtype=np.uint8),
        "empty": np.zeros((0, 4), np.float32),
        "wörter": np.arange(6, dtype=np.int32).reshape(2, 3),  # a non-ASCII key
    }


def _saver_files(folder, values) -> None:
    """What a module's Saver (sharded, V2) writes for these values."""
    folder.mkdir()
    with tf.Graph().as_default():
        variables = {name: tf.compat.v1.get_variable(f"v{i}", initializer=value)
                     for i, (name, value) in enumerate(values.items())}
        saver = tf.compat.v1.train.Saver(variables, sharded=True,
                                         write_version=tf.compat.v1.train.SaverDef.V2)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(folder / "variables"), write_meta_graph=False,
                       write_state=False)


def test_files_are_those_of_tensorflows_saver(tmp_path):
    values = _values()
    _saver_files(tmp_path / "tf", values)
    (tmp_path / "hubpub").mkdir()
    write_checkpoint(tmp_path / "hubpub" / "variables", values)
    for name in FILES:
        assert (tmp_path / "hubpub" / name).read_bytes() == (tmp_path / "tf" / name).read_bytes()


def test_tensorflow_reads_back_every_value(tmp_path):
    values = _values()
    values["transposed"] = np.arange(12, dtype=np.float32).reshape(3, 4).T  # not contiguous
    write_checkpoint(tmp_path / "variables", values)
    reader = tf.train.load_checkpoint(str(tmp_path / "variables"))
    for name, value in values.items():
        restored = reader.get_tensor(name)
        assert restored.dtype == value.dtype and restored.shape == value.shape, name
        np.testing.assert_array_equal(restored, value)


def test_an_index_of_many_blocks(tmp_path, monkeypatch):
    """Small blocks force several data blocks and separator keys between them."""
    monkeypatch.setattr(checkpoint_writer, "_BLOCK_SIZE", 96)
    values = {f"layer_{i:03d}/kernel": np.full((i % 3 + 1,), i, np.float32) for i in range(60)}
    write_checkpoint(tmp_path / "variables", values)
    assert read_checkpoint_index(tmp_path / "variables.index").tensors.keys() == values.keys()
    reader = tf.train.load_checkpoint(str(tmp_path / "variables"))
    for name, value in values.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value)


def test_progress_reports_the_bytes_written(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint_writer, "_CHUNK", 1000)
    seen: list[int] = []
    write_checkpoint(tmp_path / "variables", {"a": np.zeros(700, np.float32),
                                              "b": np.zeros(300, np.float32)},
                     progress=seen.append)
    assert seen == [1000, 2000, 2800, 3800, 4000]


def test_what_it_does_not_write():
    assert can_write(np.zeros(2, np.float32))
    assert not can_write(np.array([b"a"], dtype=object))
    assert not can_write(np.zeros(2, ">f4"))  # big-endian
    assert not can_write([1.0, 2.0])


def _module_fn():
    x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
    w = tf.compat.v1.get_variable("w", [3, 2], initializer=tf.compat.v1.zeros_initializer())
    b = tf.compat.v1.get_variable("b", [2], initializer=tf.compat.v1.zeros_initializer())
    hubpub.add_signature(inputs=x, outputs=tf.matmul(x, w) + b)


@pytest.fixture(scope="module")
def spec():
    return hubpub.create_module_spec(_module_fn)


def test_export_writes_the_same_module_with_or_without_a_session(spec, tmp_path):
    """Values for every variable skip TensorFlow's variables; an init_fn needs a session."""
    values = {"w": np.arange(6, dtype=np.float32).reshape(3, 2), "b": np.ones(2, np.float32)}
    export_spec(spec, tmp_path / "direct", checkpoint_path=None, values=values)
    export_spec(spec, tmp_path / "session", checkpoint_path=None, values=values,
                init_fn=lambda module, session: None)
    for name in FILES:
        assert ((tmp_path / "direct" / "variables" / name).read_bytes()
                == (tmp_path / "session" / "variables" / name).read_bytes())
    with tf.Graph().as_default():
        out = hubpub.Module(str(tmp_path / "direct"))(np.ones((1, 3), np.float32))
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            np.testing.assert_array_equal(session.run(out), [[7.0, 10.0]])


@pytest.mark.parametrize("values", [
    {"w": np.ones((3, 2), np.float32)},  # b comes from its initializer
    {"w": np.ones((3, 2), np.float64), "b": np.zeros(2, np.float32)},  # TensorFlow casts w
])
def test_partial_or_other_dtype_values_go_through_tensorflow(spec, tmp_path, values):
    export_spec(spec, tmp_path / "m", checkpoint_path=None, values=values)
    reader = tf.train.load_checkpoint(str(tmp_path / "m" / "variables" / "variables"))
    assert reader.get_tensor("w").dtype == np.float32
    np.testing.assert_array_equal(reader.get_tensor("w"), np.ones((3, 2)))
    np.testing.assert_array_equal(reader.get_tensor("b"), [0.0, 0.0])
