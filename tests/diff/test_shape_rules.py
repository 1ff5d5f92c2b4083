"""Which shape changes a consumer survives: inputs may widen, outputs may narrow."""

from __future__ import annotations

import pytest

from hubpub.diff.compare import _tensor
from hubpub.spec.view import TensorView


def _change(kind: str, old: tuple | None, new: tuple | None):
    (change,) = _tensor(kind, "p", "k", TensorView("k", "dense", "float32", old, ("a:0",)),
                        TensorView("k", "dense", "float32", new, ("b:0",)))
    return change


@pytest.mark.parametrize("kind, old, new, breaking", [
    ("input", (None, 3), (None, None), False),     # widened
    ("input", (None, 3), None, False),             # unknown rank accepts everything
    ("input", (None, None), (None, 3), True),      # narrowed
    ("input", None, (None, 3), True),
    ("input", (None, 3), (None, 4), True),         # changed
    ("input", (None, 3), (None, 3, 1), True),      # rank
    ("output", (None, None), (None, 3), False),    # narrowed: more than promised
    ("output", (8, 3), (None, 3), False),          # batch follows the inputs
    ("output", (None, 2048), (None, None), True),  # a Dense layer on top needs 2048
    ("output", (None, 3), None, True),
    ("output", (None, 3), (None, 4), True),
])
def test_shape_rules(kind, old, new, breaking):
    change = _change(kind, old, new)
    assert change.breaking is breaking
    assert change.old == (None if old is None else list(old))


def test_renamed_tensors_are_not_a_change():
    assert list(_tensor("input", "p", "k",
                        TensorView("k", "dense", "float32", (None, 3), ("x:0",)),
                        TensorView("k", "dense", "float32", (None, 3), ("renamed/x:0",)))) == []
