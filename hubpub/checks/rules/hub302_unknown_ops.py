"""The module uses ops that the installed TensorFlow does not know.

What: an op type, at the top level of a variant or inside one of its library functions, that
is neither registered in this TensorFlow's op registry nor the name of a function defined in
the graph's own library. One finding per op type and variant, pointing at its first node.

Why: a consumer's TensorFlow must know every op to import the graph. Custom ops (compiled
kernels loaded with `tf.load_op_library`) and ops of a newer or patched TensorFlow make
`hub.Module`, `hub.load` and `tf.saved_model.load` fail with "Op type not registered", unless
every consumer first loads the same shared library built for their exact TensorFlow.

Example: a module built with a `ZeroOut` op from a custom `.so`: `op type 'ZeroOut' (node
'zero_out') is not registered in TensorFlow 2.21.0`.

When the op belongs to a known op library (tensorflow_text, tf_sentencepiece), the message
names it and says how to install it.

Fix: for an op library's ops, install the library and name it in the manifest
(`requires: [tensorflow_text]`): hubpub imports it wherever it loads the module, records it
in the module, and the module's page tells consumers to import it. Otherwise rebuild the
module from standard TensorFlow ops; if the custom op is unavoidable, publish its library
with the module, document how to load it, and suppress this finding with that reason. Lint
with the oldest TensorFlow version you support.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Location, Severity

if TYPE_CHECKING:
    from hubpub.spec.op_registry import OpRegistry
    from hubpub.spec.view import ModuleView

CODE = "HUB302"
NAME = "unknown-ops"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    from hubpub.spec.op_registry import op_registry

    registry = op_registry()  # no TensorFlow import when a snapshot answers
    for variant in module.variants:
        first: dict[str, tuple[str | None, str]] = {}  # op -> (function, node) first seen
        counts: dict[str, int] = {}
        for function, node in variant.iter_nodes():
            if node.op in variant.functions:
                continue
            counts[node.op] = counts.get(node.op, 0) + 1
            first.setdefault(node.op, (function, node.name))
        for op in sorted(first):
            if registry.knows(op):
                continue
            function, name = first[op]
            more = f", {counts[op]} nodes" if counts[op] > 1 else ""
            where = f"node '{name}'" + (f" in function '{function}'" if function else "")
            location = (variant.locate(name) if function is None else
                        Location(path=variant.path, variant=variant.tags,
                                 node=f"{function}/{name}"))
            yield Hit(f"op type '{op}' ({where}{more}) is not registered in TensorFlow "
                      f"{registry.tensorflow}{_which(registry)}: {_library_advice(op, variant)}",
                      location)


def _which(registry: OpRegistry) -> str:
    """Which registry answered, unless it is the installed TensorFlow's own (live or its
    snapshot: they agree on every op TensorFlow itself registers)."""
    from hubpub.spec.op_registry import installed_tensorflow_version, snapshot_registry

    installed = installed_tensorflow_version()
    if registry.tensorflow == installed and installed and snapshot_registry(installed):
        return ""
    return f" (per {registry.source}; TensorFlow {installed or 'is not'} installed)"


def _library_advice(op: str, variant: Any) -> str:
    """Which library defines ``op``, when it is a known one, and how to get it."""
    from hubpub.spec.requirements import library_for_op, missing_library_advice

    library = library_for_op(op)
    if library is None:
        return "consumers cannot load this module without the library that defines it"
    return (f"it is an op of {library.module}, which is not loaded: "
            f"{missing_library_advice(library.module)}; a publisher also names it in the "
            f"manifest (requires: [{library.module}])")
