"""Usage snippets written for one module: its real handle, tags, signature keys, dtypes, shapes.

Each snippet is a complete Python program (tests run every one of them against the module it
documents). Example inputs are TensorFlow expressions so that the same text works in TF1 graph
mode and in TF2 eager mode: images in [0, 1] at the expected size, strings for string inputs,
zeros for integer and boolean inputs. Unknown dimensions become 2 for the batch and 3 elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DEFAULT_IMAGE_SIZE", "build_usage", "is_local_directory_handle"]

# Used when neither an attachment nor the signature gives the image size.
DEFAULT_IMAGE_SIZE = (224, 224)
_BATCH = 2
_OTHER_DIM = 3
_SENTENCES = ("the quick brown fox", "hello world", "a cat", "two dogs")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = frozenset({"False", "None", "True", "and", "as", "assert", "async", "await",
                       "break", "class", "continue", "def", "del", "elif", "else", "except",
                       "finally", "for", "from", "global", "if", "import", "in", "is",
                       "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
                       "while", "with", "yield"})


def is_local_directory_handle(handle: str) -> bool:
    """Whether ``tf.saved_model.load`` can take the handle as it is (a directory path)."""
    return not (handle.endswith((".tar.gz", ".tgz")) or "://" in handle
                or re.match(r"^[a-z0-9_-]+/[a-z0-9._/-]+/\d+$", handle) is not None
                and not handle.startswith((".", "/")))


def build_usage(summary: Mapping[str, Any], handle: str, *,
                tf2_handle: str | None = None) -> dict[str, Any]:
    """Snippets for the templates: ``tf1``, ``tf1_fine_tuning`` (or None), ``tf2``, and facts.

    With ``tf2_handle`` (the folder of the TF2 export), ``keras`` is a ``hub.KerasLayer``
    snippet for it, else None.

    ``skipped`` lists signatures left out of the snippets (composite-tensor inputs, which
    cannot be written as literals). Each snippet starts by importing the op libraries the
    module records (``requires``).
    """
    default_tags = list(summary["default_variant"])
    variant = _variant(summary, default_tags)
    usable, skipped = {}, []
    for name, sig in variant["signatures"].items():
        if any(t["kind"] == "composite" for t in sig["inputs"]):
            skipped.append(name)
        else:
            usable[name] = sig
    tune_tags = list(summary["fine_tune_variant"])
    requires = list(summary.get("requires") or [])
    imports = "".join(f"import {name}  # registers ops the module uses\n" for name in requires)

    def first(code: str | None) -> str | None:
        return None if code is None else imports + code

    return {
        "handle": handle,
        "tags": default_tags,
        "fine_tune_tags": tune_tags,
        "resolves": not is_local_directory_handle(handle),
        "requires": requires,
        "tf1": first(_tf1(handle, default_tags, usable)),
        "tf1_fine_tuning": first(_tf1_fine_tuning(handle, _variant(summary, tune_tags))),
        "tf2": first(_tf2(handle, default_tags, usable)),
        "skipped": skipped,
        "keras_handle": tf2_handle,
        "keras": first(_keras(tf2_handle, usable["default"])
                       if tf2_handle and "default" in usable else None),
    }


def _variant(summary: Mapping[str, Any], tags: Sequence[str]) -> Mapping[str, Any]:
    return next(v for v in summary["variants"] if list(v["tags"]) == list(tags))


# --- example inputs ------------------------------------------------------------------------
def _dims(shape: Sequence[int | None], fill: Sequence[int] = ()) -> list[int]:
    """Concrete dimensions: known ones kept, unknown ones from ``fill`` or defaults."""
    out = []
    for i, d in enumerate(shape):
        if d is not None:
            out.append(d)
        elif i < len(fill):
            out.append(fill[i])
        else:
            out.append(_BATCH if i == 0 else _OTHER_DIM)
    return out


def _strings(dims: Sequence[int], start: int = 0) -> Any:
    if not dims:
        return _SENTENCES[start % len(_SENTENCES)]
    return [_strings(dims[1:], start + i) for i in range(dims[0])]


def _is_image(tensor: Mapping[str, Any]) -> bool:
    shape = tensor["shape"]
    return (tensor["dtype"].startswith("float") and shape is not None and len(shape) == 4
            and (tensor["key"] == "images" or shape[3] == 3))


def _dense_expr(tensor: Mapping[str, Any], image_size: Sequence[int] | None) -> str:
    dtype, shape = tensor["dtype"], tensor["shape"]
    if dtype == "string":
        dims = _dims(shape) if shape is not None else [_BATCH]
        return f"tf.constant({_strings(dims)!r})"
    if shape is None:  # unknown rank: a short vector is the least surprising
        if dtype.startswith("float"):
            return f"tf.constant([1.0, 2.0, 10.0], dtype=tf.{dtype})"
        return f"tf.zeros([3], dtype=tf.{dtype})"
    if _is_image(tensor):
        height, width = image_size or DEFAULT_IMAGE_SIZE
        dims = _dims(shape, (_BATCH, height, width))
        return f"tf.random.uniform({dims}, dtype=tf.{dtype})  # images in [0, 1]"
    dims = _dims(shape)
    if dtype.startswith("float"):
        return f"tf.random.uniform({dims}, dtype=tf.{dtype})"
    return f"tf.zeros({dims}, dtype=tf.{dtype})"


def _sparse_parts(tensor: Mapping[str, Any]) -> tuple[str, str, str]:
    """indices, values, dense_shape of a small 2-D SparseTensor (two rows, ragged)."""
    rank = len(tensor["shape"]) if tensor["shape"] is not None else 2
    rank = max(rank, 1)
    coords = [[0] * rank, [0] * (rank - 1) + [1], [1] + [0] * (rank - 1)]
    dense_shape = [_BATCH] + [2 if i == rank - 1 else 1 for i in range(1, rank)]
    if rank == 1:
        coords, dense_shape = [[0], [1]], [2]
    dtype = tensor["dtype"]
    if dtype == "string":
        values = f"tf.constant({[w for s in _SENTENCES[:2] for w in s.split()][:len(coords)]!r})"
    elif dtype.startswith("float"):
        values = f"tf.constant({[1.0, 2.0, 3.0][:len(coords)]!r}, dtype=tf.{dtype})"
    else:
        values = f"tf.constant({[1, 0, 1][:len(coords)]!r}, dtype=tf.{dtype})"
    return (f"tf.constant({coords!r}, dtype=tf.int64)", values,
            f"tf.constant({dense_shape!r}, dtype=tf.int64)")


def _tf1_input(tensor: Mapping[str, Any], image_size: Sequence[int] | None) -> str:
    if tensor["kind"] == "sparse":
        indices, values, dense_shape = _sparse_parts(tensor)
        return (f"tf.sparse.SparseTensor(indices={indices}, values={values}, "
                f"dense_shape={dense_shape})")
    return _dense_expr(tensor, image_size)


def _tf2_inputs(tensor: Mapping[str, Any],
                image_size: Sequence[int] | None) -> list[tuple[str, str]]:
    """Keyword arguments of the TF2 signature function for one signature input."""
    if tensor["kind"] == "sparse":  # tf.saved_model.load splits sparse inputs in three
        indices, values, dense_shape = _sparse_parts(tensor)
        key = tensor["key"]
        return [(f"{key}_indices", indices), (f"{key}_values", values),
                (f"{key}_dense_shape", dense_shape)]
    return [(tensor["key"], _dense_expr(tensor, image_size))]


# --- code layout ---------------------------------------------------------------------------
def _split_comment(expr: str) -> tuple[str, str]:
    code, sep, comment = expr.partition("  # ")
    return code, (f"  # {comment}" if sep else "")


def _dict_lines(items: Sequence[tuple[str, str]], indent: str) -> list[str]:
    lines = []
    for key, expr in items:
        code, comment = _split_comment(expr)
        lines.append(f"{indent}    {key!r}: {code},{comment}")
    return lines


def _kwargs_lines(items: Sequence[tuple[str, str]], indent: str) -> list[str]:
    if all(_IDENTIFIER.match(k) and k not in _KEYWORDS for k, _ in items):
        lines = []
        for key, expr in items:
            code, comment = _split_comment(expr)
            lines.append(f"{indent}    {key}={code},{comment}")
        return lines
    return [f"{indent}    **{{", *_dict_lines(items, indent + "    "), f"{indent}    }},"]


def _tags_set(tags: Sequence[str]) -> str:
    return "{" + ", ".join(repr(t) for t in tags) + "}"


def _module_line(handle: str, tags: Sequence[str], *, trainable: bool = False) -> str:
    args = [repr(handle)]
    if trainable:
        args.append("trainable=True")
    if tags:
        args.append(f"tags={_tags_set(tags)}")
    return f"module = hub.Module({', '.join(args)})"


def _tf1_call(sig_name: str, sig: Mapping[str, Any], indent: str) -> list[str]:
    """Lines of ``module(...)`` for one signature, ending without a newline."""
    inputs, image_size = sig["inputs"], sig["image_size"]
    keywords = []
    if sig_name != "default":
        keywords.append(f"signature={sig_name!r}")
    if [o["key"] for o in sig["outputs"]] != ["default"]:
        keywords.append("as_dict=True")
    if len(inputs) == 1 and inputs[0]["key"] == "default":
        code, comment = _split_comment(_tf1_input(inputs[0], image_size))
        head = ", ".join([code, *keywords])
        return [f"module({head}){comment}"]
    if not inputs:
        return [f"module({', '.join(keywords)})"]
    items = [(t["key"], _tf1_input(t, image_size)) for t in inputs]
    tail = "".join(f", {k}" for k in keywords)
    return ["module(", f"{indent}    {{", *_dict_lines(items, indent + "    "),
            f"{indent}    }}{tail})"]


def _tf1(handle: str, tags: Sequence[str], signatures: Mapping[str, Any]) -> str:
    lines = ["import tensorflow as tf", "", "import hubpub as hub", "",
             "with tf.Graph().as_default():  # hub.Module builds a TF1 graph",
             f"    {_module_line(handle, tags)}"]
    if len(signatures) == 1:
        (name, sig), = signatures.items()
        call = _tf1_call(name, sig, "    ")
        lines.append(f"    outputs = {call[0]}")
        lines.extend(call[1:])
    else:
        lines.append("    outputs = {}")
        for name, sig in signatures.items():
            call = _tf1_call(name, sig, "    ")
            lines.append(f"    outputs[{name!r}] = {call[0]}")
            lines.extend(call[1:])
    lines += ["    with tf.compat.v1.Session() as session:",
              "        session.run([tf.compat.v1.global_variables_initializer(),",
              "                     tf.compat.v1.tables_initializer()])",
              "        print(session.run(outputs))"]
    return "\n".join(lines) + "\n"


def _tf1_fine_tuning(handle: str, variant: Mapping[str, Any]) -> str | None:
    """A training loop of three steps, or None when there is nothing to train."""
    if not variant["trainable_variables"]:
        return None
    signatures = variant["signatures"]
    candidates = (["default"] if "default" in signatures else []) + sorted(signatures)
    for name in candidates:
        sig = signatures[name]
        floats = [o["key"] for o in sig["outputs"] if o["dtype"].startswith("float")]
        if floats and not any(t["kind"] == "composite" for t in sig["inputs"]):
            break
    else:
        return None
    call = _tf1_call(name, {**sig, "outputs": [{"key": "_"}]}, "    ")  # always as_dict=True
    lines = ["import tensorflow as tf", "", "import hubpub as hub", "",
             "with tf.Graph().as_default():",
             f"    {_module_line(handle, variant['tags'], trainable=True)}",
             f"    outputs = {call[0]}", *call[1:],
             f"    # Replace with your task's head and loss on {floats[0]!r}.",
             f"    loss = tf.reduce_mean(tf.square(outputs[{floats[0]!r}]))"]
    if variant["regularization_losses"]:
        lines.append("    loss += tf.add_n(tf.compat.v1.losses.get_regularization_losses())")
    lines.append("    optimizer = tf.compat.v1.train.GradientDescentOptimizer(learning_rate=0.01)")
    if variant["update_ops"]:
        lines += ["    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)",
                  "    with tf.control_dependencies(update_ops):",
                  "        train_op = optimizer.minimize(loss)"]
    else:
        lines.append("    train_op = optimizer.minimize(loss)")
    lines += ["    with tf.compat.v1.Session() as session:",
              "        session.run([tf.compat.v1.global_variables_initializer(),",
              "                     tf.compat.v1.tables_initializer()])",
              "        for step in range(3):",
              "            _, loss_value = session.run([train_op, loss])",
              "            print(step, loss_value)"]
    return "\n".join(lines) + "\n"


def _tf2(handle: str, tags: Sequence[str], signatures: Mapping[str, Any]) -> str:
    local = is_local_directory_handle(handle)
    lines = ["import tensorflow as tf", ""]
    if local:
        lines.append(f"module = tf.saved_model.load({handle!r}, tags={list(tags)!r})")
    else:
        lines += ["import hubpub as hub", "",
                  f"module_dir = hub.resolve({handle!r})  # downloads or unpacks, then caches",
                  f"module = tf.saved_model.load(module_dir, tags={list(tags)!r})"]
    for name, sig in signatures.items():
        items = [kw for t in sig["inputs"] for kw in _tf2_inputs(t, sig["image_size"])]
        head = f"outputs = module.signatures[{name!r}]("
        if items:
            lines += [head, *_kwargs_lines(items, ""), ")"]
        else:
            lines.append(head + ")")
        lines.append(f"print({name!r}, {{key: value.numpy() for key, value in outputs.items()}})")
    return "\n".join(lines) + "\n"


def _keras(handle: str, sig: Mapping[str, Any]) -> str:
    """The TF2 export in Keras: ``hub.KerasLayer`` on the default signature's inputs."""
    inputs, outputs = sig["inputs"], [o["key"] for o in sig["outputs"]]
    args = [repr(handle), "trainable=True"]
    if len(outputs) > 1:  # __call__ returns a dict then; Keras wants one tensor
        args.append(f"output_key={'default' if 'default' in outputs else outputs[0]!r}")
    lines = ["import tensorflow as tf", "import tensorflow_hub as hub  # 0.16 or later", "",
             f"layer = hub.KerasLayer({', '.join(args)})"]
    if len(inputs) == 1:
        code, comment = _split_comment(_dense_expr(inputs[0], sig["image_size"]))
        lines.append(f"outputs = layer({code}, training=False){comment}")
    else:
        items = [(t["key"], _dense_expr(t, sig["image_size"])) for t in inputs]
        lines += ["outputs = layer({", *_dict_lines(items, ""), "}, training=False)"]
    lines += ["print(outputs.shape)",
              "print(len(layer.trainable_weights), 'trainable weights,',",
              "      len(layer.losses), 'regularization losses')"]
    return "\n".join(lines) + "\n"
