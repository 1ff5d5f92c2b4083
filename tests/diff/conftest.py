"""Modules for the diff and verify tests, exported once per session into one folder."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import hubpub as hub
from tests.diff.modulefns import TRAIN_AND_DEFAULT, classifier, vocabulary

# name -> (module_fn keyword arguments, variants); "old" is the released module.
CONFIGS: dict[str, tuple[dict, list | None]] = {
    "old": ({}, TRAIN_AND_DEFAULT),
    "same": ({}, TRAIN_AND_DEFAULT),
    "renamed_input": ({"input_key": "features"}, TRAIN_AND_DEFAULT),
    "dtype": ({"dtype": "float64"}, TRAIN_AND_DEFAULT),
    "fixed_batch": ({"input_shape": (8, 3)}, TRAIN_AND_DEFAULT),
    "one_output": ({"outputs": ("default",)}, TRAIN_AND_DEFAULT),
    "extra_signature": ({"extra_signature": True}, TRAIN_AND_DEFAULT),
    "default_only": ({}, [(set(), {"training": False})]),
    "wider_kernel": ({"kernel_rows": 4}, TRAIN_AND_DEFAULT),
    "new_weights": ({"kernel_value": 2.0}, TRAIN_AND_DEFAULT),
    "renamed_nodes": ({"node_names": "renamed_"}, TRAIN_AND_DEFAULT),
    "image_224": ({"image_size": 224}, TRAIN_AND_DEFAULT),
    "image_192": ({"image_size": 192}, TRAIN_AND_DEFAULT),
}


def export(module_fn, variants, target: Path) -> Path:
    hub.create_module_spec(module_fn, variants, random_seed=0).export(
        target, checkpoint_path=None)
    return target


@pytest.fixture(scope="session")
def modules(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diff-modules")
    out = {name: export(functools.partial(classifier, **kwargs), variants, root / name)
           for name, (kwargs, variants) in CONFIGS.items()}
    for name, words in {"vocab_a": "cat\ndog\nbird\n", "vocab_b": "cat\ndog\nfish\n"}.items():
        vocab = root / "sources" / name / "vocab.txt"  # the same asset name, other words
        vocab.parent.mkdir(parents=True)
        vocab.write_text(words)
        out[name] = export(functools.partial(vocabulary, str(vocab)), None, root / name)
    return out
