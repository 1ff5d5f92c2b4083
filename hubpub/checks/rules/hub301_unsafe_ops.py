"""Ops not reviewed as pure (touching no file, network, process or debug sink) would run.

What: an op whose reviewed effect (`hubpub/spec/op_snapshots/op_effects.json`) is not `pure`:
it reads or writes files (`ReadFile`, `WriteFile`, `MatchingFiles`, checkpoint `Save`/`Restore`
ops, file readers and datasets, summary writers, `ImmutableConst`, `PrintV2` to a file,
`DecodeProtoV2` with a descriptor file), talks to other hosts or devices (`Send`/`Recv`,
collectives, RPC), runs Python (`PyFunc`, `EagerPyFunc`) or writes to a debug sink
(`DebugIdentity*` with `debug_urls`); or an op TensorFlow knows that the list lacks (new in a
TensorFlow version, not yet reviewed). Ops TensorFlow does not know are HUB302's. Reached from
anything a loader or a consumer runs: a signature's outputs (the walk stops at its inputs), the
table initializers, the variables' initializers, the init ops and other node collections
(`saved_model_main_op`, `legacy_init_op`, `update_ops`, ...) and the checkpoint save/restore
subgraph, and every library function those nodes call (`If`/`While` branches,
`PartitionedCall`, `tf.function` bodies). Not reported: checkpoint ops of the saver that read
or write the checkpoint the loader names, table initializers that read one of the module's own
assets (`asset_filepaths`), and nodes nothing runs. When a file op's path is a constant,
also one built from pieces (`tf.strings.join`), the message shows it.

Why: loading a module or calling a signature should compute on its inputs and nothing else.
Loading runs the initializers, so an op there runs on every consumer's machine (and in
`hubpub build` and `validate`) before any signature is called. A file op makes the module
depend on paths on the publisher's machine or write to the consumer's disk; a Python op
cannot be loaded at all outside the publisher's process, because its code is not in the
graph. Registries and serving systems treat both as unsafe. `hubpub build` and
`hubpub validate` never run a module with such an op, whatever its severity or suppressions,
unless the op is in `allow`.

Example: `tf.io.read_file("/home/me/labels.txt")` used to build a label lookup inside the
signature: `op ReadFile (node 'ReadFile') runs when signature 'default' is called: it reads
or writes files at run time (path '/home/me/labels.txt')`; a `tf.io.write_file` in a table
initializer: `op WriteFile (node 'WriteFile') runs when the module loads (table initializer
'init_all_tables'): it reads or writes files at run time`.

Fix: read files while building the module and store the result as a constant, a variable or
an asset (`tf.lookup.TextFileInitializer` registers its file as an asset); replace
`tf.py_function`/`tf.numpy_function` by TensorFlow ops. If an op is intended, add it to the
`allow` option with a comment why (this also lets `build` and `validate` run the module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Location, Severity
from hubpub.spec.op_effects import DESCRIPTIONS, PURE

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB301"
NAME = "unsafe-ops"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {"allow": list}
DEFAULTS: dict[str, Any] = {"allow": ()}

PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
TABLE_FILE_INIT_OPS = frozenset({"InitializeTableFromTextFile", "InitializeTableFromTextFileV2"})
# Checkpoint ops the saver runs on the path the loader feeds (see _check_variant).
CHECKPOINT_OPS = frozenset({"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2",
                            "RestoreSlice", "MergeV2Checkpoints"})
# Node collections whose entries loaders run, with how the message names them.
_LOAD_COLLECTIONS = {
    "table_initializer": "the module loads (table initializer '{}')",
    "saved_model_main_op": "the module loads (main op '{}')",
    "saved_model_legacy_init_op": "the module loads (legacy init op '{}')",
    "legacy_init_op": "the module loads (legacy init op '{}')",
    "init_op": "the module loads (init op '{}')",
    "local_init_op": "the module loads (local init op '{}')",
}
_VARIABLE_COLLECTIONS = ("variables", "local_variables", "trainable_variables",
                         "model_variables", "global_variables")
_NOT_RUN = frozenset({"asset_filepaths"})  # Consts whose value the loader replaces
_SAVER = "the variables are restored or saved"


class _Judge:
    """Decides whether a node may run: reviewed as pure, or a call of the graph's own
    function; an op TensorFlow does not know is HUB302's, not this rule's."""

    def __init__(self, variant: VariantView, asset_tensors: set[str]) -> None:
        from hubpub.spec.op_effects import op_effects
        from hubpub.spec.op_registry import op_registry

        self.effects = op_effects()
        self.registry = op_registry()
        self.functions = variant.functions
        self.assets = asset_tensors
        self.libraries = _declared_library_ops(variant)

    def problem(self, node: Any, *, in_function: bool) -> str | None:
        """Why a node must not run, or None."""
        if node.op in self.functions:
            return None  # a call of a library function: its body is judged node by node
        if node.op in PYTHON_OPS:
            return "it runs Python code that is not part of the module and cannot be loaded"
        if node.op in TABLE_FILE_INIT_OPS:
            return self._table_problem(node, in_function=in_function)
        judged = self.effects.effect(node)
        if judged is not None:
            effect, detail = judged
            if effect == PURE:
                return None
            return DESCRIPTIONS.get(effect, f"its effect is '{effect}'") + detail
        if not self.registry.knows(node.op) or self.libraries(node.op):
            return None
        version = ".".join(self.registry.tensorflow.split(".")[:2])
        return (f"it is not on {self.effects.source} for TensorFlow {version}: hubpub runs "
                f"only ops reviewed to touch no file, network, process or debug sink")

    def _table_problem(self, node: Any, *, in_function: bool) -> str | None:
        # Function arguments cannot be traced to an asset: keep false positives near zero.
        if len(node.input) < 2:  # a malformed NodeDef: TensorFlow would refuse it
            return (f"it initializes a table from a file, and its node has {len(node.input)} "
                    f"input(s) where the op has 2 (a malformed NodeDef)")
        if in_function or _as_tensor(node.input[1]) in self.assets:
            return None
        return "it initializes a table from a file that is not one of the module's assets"


def _declared_library_ops(variant: VariantView) -> Callable[[str], bool]:
    """Whether an op belongs to an op library the module declares (manifest ``requires:``).

    Such ops are not TensorFlow's, so not on the reviewed list; they run only when their
    library is declared.
    """
    from hubpub.spec import requirements

    declared = set(requirements.recorded_requirements([variant.meta_graph]))

    def declared_op(op: str) -> bool:
        library = requirements.library_for_op(op)
        return library is not None and library.module in declared

    return declared_op


def _as_tensor(ref: str) -> str:
    return ref if ":" in ref else f"{ref}:0"


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    allowed = set(options["allow"])
    for variant in module.variants:
        yield from _check_variant(variant, allowed)


def _entry_points(variant: VariantView) -> list[tuple[str, set[str], str | None]]:
    """What loaders and consumers run: (when, top-level nodes reached, signature or None)."""
    from hubpub.spec.lite import VariableDef
    from hubpub.spec.view import node_name

    out: list[tuple[str, set[str], str | None]] = []
    for signature in variant.signatures:
        out.append((f"signature '{signature}' is called", variant.signature_nodes(signature),
                    signature))
    for key, when in _LOAD_COLLECTIONS.items():
        for entry in variant.collection(key):
            out.append((when.format(node_name(entry)), variant.ancestors([entry]), None))
    initializers = []
    for key in _VARIABLE_COLLECTIONS:
        for raw in variant.collection_bytes(key):
            try:
                definition = VariableDef.FromString(raw)
            except Exception:  # noqa: BLE001  (not a VariableDef: HUB402 reports odd collections)
                continue
            initializers += [n for n in (definition.initializer_name,
                                         definition.initial_value_name) if n]
    if initializers:
        out.append(("the module's variables are initialized", variant.ancestors(initializers),
                    None))
    for key in variant.collection_keys:
        if key in _LOAD_COLLECTIONS or key in _NOT_RUN:
            continue
        entries = variant.collection(key)
        if entries:
            out.append((f"collection '{key}' is run", variant.ancestors(entries), None))
    saver = variant.saver
    roots = [n for n in (saver.save_tensor_name, saver.restore_op_name) if n]
    if roots:
        out.append((_SAVER, variant.ancestors(roots), None))
    return out


def _check_variant(variant: VariantView, allowed: set[str]) -> Iterator[Hit]:
    from hubpub.spec.view import node_name

    judge = _Judge(variant, {_as_tensor(t) for t in variant.collection("asset_filepaths")})
    checkpoint_file = variant.saver.filename_tensor_name
    # (function or "", node name) -> (node, when it runs, signatures that reach it).
    reached: dict[tuple[str, str], tuple[Any, str, list[str]]] = {}
    for when, top, signature in _entry_points(variant):
        # Signatures come first: a node they reach is reported as run by a call.
        for name in top:
            entry = reached.setdefault(("", name), (variant.nodes[name], when, []))
            if signature is not None:
                entry[2].append(signature)
        for function in variant.reachable_functions(sorted(top)):
            for node in variant.functions[function].node_def:
                entry = reached.setdefault((function, node.name), (node, when, []))
                if signature is not None:
                    entry[2].append(signature)
    for (function, name), (node, when, signatures) in sorted(reached.items(),
                                                             key=lambda i: i[0]):
        if node.op in allowed:
            continue
        if (when == _SAVER and not function and node.op in CHECKPOINT_OPS
                and node_name(checkpoint_file) in variant.ancestors(node.input[:1])):
            continue  # only the saver runs it, on the checkpoint path the loader feeds
        why = judge.problem(node, in_function=bool(function))
        if why is None:
            continue
        if signatures:
            when = "signature " + ", ".join(f"'{s}'" for s in signatures) + " is called"
        path_input = 1 if node.op in TABLE_FILE_INIT_OPS else 0
        reads_files = node.op in TABLE_FILE_INIT_OPS or why.startswith(DESCRIPTIONS["file"])
        if not function and reads_files and len(node.input) > path_input:
            path = variant.fold_string(node.input[path_input])
            if path is not None:
                why += f" (path '{path}')"
        if function:
            # Body nodes have no source line of their own; name them <function>/<node>.
            where = f"node '{name}' in function '{function}'"
            location = Location(path=variant.path, variant=variant.tags,
                                signature=signatures[0] if signatures else None,
                                node=f"{function}/{name}")
        else:
            where = f"node '{name}'"
            location = variant.locate(name, signature=signatures[0] if signatures else None)
        yield Hit(f"op {node.op} ({where}) runs when {when}: {why}", location)
