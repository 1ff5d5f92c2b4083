"""The smoke test's part for a TF2 export: the Reusable SavedModel against the TF1 module.

Runs in the smoke test's fresh process, on the inputs the TF1 inference variant was run on:
every serving signature and ``__call__(..., training=False)`` must give the TF1 outputs
(within 1e-5) and the same outputs twice; ``training=True`` and every regularization loss
must run and give finite values; then one training step must change the weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["TOLERANCE", "check_tf2_export"]

TOLERANCE = 1e-5


def _differs(expected: Any, actual: Any) -> bool:
    import numpy as np

    a, b = np.asarray(expected), np.asarray(actual)
    if a.shape != b.shape:
        return True
    if a.dtype.kind in "fc":
        return not np.allclose(a, b, rtol=TOLERANCE, atol=TOLERANCE)
    return not np.array_equal(a, b)


def _not_finite(value: Any) -> bool:
    import numpy as np

    array = np.asarray(value)
    return array.dtype.kind == "f" and not np.all(np.isfinite(array))


def _composite(values: Mapping[str, Any]) -> bool:
    from hubpub._tf import tf

    return any(isinstance(v, (tf.SparseTensor, tf.RaggedTensor)) for v in values.values())


def _as_dict(outputs: Any, keys: list[str]) -> dict[str, Any]:
    if isinstance(outputs, Mapping):
        return {k: v.numpy() for k, v in outputs.items()}
    return {keys[0]: outputs.numpy()}


def check_tf2_export(tf2_dir: str, tf1: Mapping[str, Mapping[str, Any]],
                     inputs: Mapping[str, Callable[[], dict]], *, fine_tune: bool = True,
                     has_updates: bool = False) -> list[str]:
    """Problems found in the TF2 export at ``tf2_dir``; ``tf1`` holds the TF1 outputs.

    With ``fine_tune``, last (it changes the weights), one training step as
    ``hub.KerasLayer(trainable=True)`` takes it; ``has_updates``: the TF1 train variant has
    update ops, so the step must change the moving statistics too.
    """
    from hubpub._tf import tf

    where = "TF2 export"
    try:
        loaded = tf.saved_model.load(tf2_dir)
    except Exception as exc:  # the export is what is under test: report, don't crash
        return [f"{where}: tf.saved_model.load failed: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0]}"]
    problems = []
    for name, expected in sorted(tf1.items()):
        if name not in loaded.signatures and _composite(inputs[name]()):
            continue  # TF2 serving signatures take dense tensors: convert left it out
        if name not in loaded.signatures:
            problems.append(f"{where}: signature '{name}' is missing")
            continue
        actual = loaded.signatures[name](**inputs[name]())
        for key, value in sorted(expected.items()):
            if key not in actual:
                problems.append(f"{where}: signature '{name}' has no output '{key}'")
            elif _differs(value, actual[key].numpy()):
                problems.append(f"{where}: signature '{name}' output '{key}' differs from the "
                                f"TF1 module's inference output (tolerance {TOLERANCE})")
    problems.extend(_check_call(loaded, tf1.get("default", {}), inputs["default"], where))
    for i, loss in enumerate(loaded.regularization_losses):
        if _not_finite(loss().numpy()):
            problems.append(f"{where}: regularization loss {i} is not finite")
    if fine_tune and "default" in inputs:
        from hubpub.execution.smoke_finetune import tf2_fine_tuning_problems

        problems.extend(tf2_fine_tuning_problems(loaded, inputs["default"],
                                                 has_updates=has_updates))
    return problems


def _check_call(loaded: Any, expected: Mapping[str, Any], make: Callable[[], dict],
                where: str) -> list[str]:
    import numpy as np

    keys = sorted(expected)
    args = make()
    arg = next(iter(args.values())) if len(args) == 1 else args
    try:
        first = _as_dict(loaded(arg, training=False), keys)
        second = _as_dict(loaded(arg, training=False), keys)
        trained = _as_dict(loaded(arg, training=True), keys)
    except Exception as exc:
        return [f"{where}: __call__ failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"]
    problems = []
    for key, value in sorted(expected.items()):
        if key not in first:
            problems.append(f"{where}: __call__ has no output '{key}'")
            continue
        if _differs(value, first[key]):
            problems.append(f"{where}: __call__(training=False) output '{key}' differs from "
                            f"the TF1 module's inference output (tolerance {TOLERANCE})")
        if not np.array_equal(first[key], second[key]):
            problems.append(f"{where}: __call__(training=False) output '{key}' is not "
                            "deterministic")
        if _not_finite(trained[key]):
            problems.append(f"{where}: __call__(training=True) output '{key}' has NaN/inf")
    return problems
