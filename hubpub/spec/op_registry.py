"""Which op types TensorFlow knows, and which of them are stateful, without importing it.

A module is protos; checking that a consumer's TensorFlow can load it (HUB302) only needs the
names TensorFlow registers. Importing TensorFlow to learn them costs seconds, so each supported
version ships a snapshot of its registry (``op_snapshots/tensorflow-X.Y.json``), written by
``tools/snapshot_op_registry.py`` in a fresh interpreter that imported TensorFlow alone.

``op_registry()`` picks the answer that cannot be wrong:

- TensorFlow already imported in this process: its live registry, which also holds the ops of
  libraries loaded here (``tensorflow_text``, a custom ``.so``);
- else the snapshot for the installed TensorFlow's ``X.Y``;
- else (no snapshot for this version) TensorFlow is imported and its live registry read.

``OpRegistry.source`` says which one answered, so a report can tell the user.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from typing import Any

__all__ = ["OpRegistry", "installed_tensorflow_version", "live_registry", "op_registry",
           "registered_ops", "snapshot_registry", "snapshot_versions"]

# Distributions that install the `tensorflow` package, most common first.
_TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos",
                     "tensorflow-aarch64", "tf-nightly", "tf-nightly-cpu")
_SNAPSHOTS = "hubpub.spec.op_snapshots"


@dataclass(frozen=True)
class OpRegistry:
    """The op types one TensorFlow registers; ``stateful`` is the subset marked stateful.

    ``state_ops`` (stateful ops without inputs: variables, tables, queues) and ``ref_outputs``
    (ops with a reference-typed output) are None in a snapshot written before they were
    recorded; ask ``live_registry()`` then.
    """

    tensorflow: str
    source: str  # human-readable: which registry answered
    ops: frozenset[str]
    stateful: frozenset[str]
    state_ops: frozenset[str] | None = None
    ref_outputs: frozenset[str] | None = None

    def knows(self, op: str) -> bool:
        return op in self.ops

    def is_stateful(self, op: str) -> bool:
        return op in self.stateful


def installed_tensorflow_version() -> str | None:
    """The installed TensorFlow's version, read from package metadata (no import)."""
    module = sys.modules.get("tensorflow")
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    for name in _TF_DISTRIBUTIONS:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def snapshot_versions() -> list[str]:
    """The ``X.Y`` versions hubpub ships a snapshot for, oldest first."""
    names = [entry.name for entry in resources.files(_SNAPSHOTS).iterdir()
             if entry.name.startswith("tensorflow-") and entry.name.endswith(".json")]
    versions = [name.removeprefix("tensorflow-").removesuffix(".json") for name in names]
    return sorted(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


@lru_cache(maxsize=None)
def snapshot_registry(version: str) -> OpRegistry | None:
    """The shipped snapshot for ``version``'s ``X.Y``, or None when there is none."""
    resource = resources.files(_SNAPSHOTS).joinpath(f"tensorflow-{_minor(version)}.json")
    if not resource.is_file():
        return None
    data: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return OpRegistry(
        tensorflow=data["tensorflow"],
        source=f"hubpub's snapshot of TensorFlow {data['tensorflow']}'s op registry",
        ops=frozenset(data["ops"]), stateful=frozenset(data["stateful"]),
        state_ops=frozenset(data["state_ops"]) if "state_ops" in data else None,
        ref_outputs=frozenset(data["ref_outputs"]) if "ref_outputs" in data else None)


def registered_ops() -> tuple[str, list[Any]]:
    """TensorFlow's version and the ``OpDef`` of every op registered in this process.

    Needs TensorFlow and nothing else of hubpub's, so that ``tools/snapshot_op_registry.py``
    runs in a virtual environment holding another TensorFlow version.
    """
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session as c_api

    buffer = c_api.TF_GetAllOpList()
    try:
        return tf.__version__, list(op_def_pb2.OpList.FromString(c_api.TF_GetBuffer(buffer)).op)
    finally:
        c_api.TF_DeleteBuffer(buffer)


def live_registry() -> OpRegistry:
    """The registry of the TensorFlow in this process (imported if it is not yet)."""
    import hubpub._tf  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow's first import)

    version, ops = registered_ops()
    return OpRegistry(
        tensorflow=version,
        source=f"the op registry of TensorFlow {version} loaded in this process",
        ops=frozenset(op.name for op in ops),
        stateful=frozenset(op.name for op in ops if op.is_stateful),
        state_ops=frozenset(op.name for op in ops if op.is_stateful and not op.input_arg),
        ref_outputs=frozenset(op.name for op in ops if any(a.is_ref for a in op.output_arg)))


def op_registry() -> OpRegistry:
    """The registry that answers without a false "unknown op" (see the module docstring)."""
    if "tensorflow" in sys.modules:
        return live_registry()
    version = installed_tensorflow_version()
    snapshot = snapshot_registry(version) if version else None
    if snapshot is not None and (snapshot.tensorflow == version or _is_release(version)):
        return snapshot  # patch releases of one X.Y register the same ops
    return live_registry()


def _is_release(version: str | None) -> bool:
    """A final release (``2.21.1``), not a pre-release or nightly, whose op set may differ."""
    return version is not None and all(part.isdigit() for part in version.split("."))
