"""File-system or process ops are reachable from a signature's outputs.

What: walking back from each signature's outputs (stopping at its inputs) through the graph
and into every function the reached nodes call (`If`/`While` branches, `PartitionedCall`,
`tf.function` bodies), an op is found that reads or writes files (`ReadFile`, `WriteFile`,
`MatchingFiles`, checkpoint `Save`/`Restore` ops, file readers and file datasets, summary file
writers, `ImmutableConst`, `PrintV2` to a file) or runs Python (`PyFunc`, `PyFuncStateless`,
`EagerPyFunc`). The save/restore subgraph is not reached from outputs and is never reported;
neither are table initializers that read the module's own assets (`asset_filepaths`).

Why: calling a signature should compute on its inputs and nothing else. A file op makes the
module depend on paths on the publisher's machine (or write to the consumer's disk); a Python
op cannot be loaded at all outside the publisher's process, because its code is not in the
graph. Registries and serving systems treat both as unsafe.

Example: `tf.io.read_file("/home/me/labels.txt")` used to build a label lookup inside the
signature: `op ReadFile (node 'ReadFile') runs when signature 'default' is called: it reads
or writes files at run time`.

Fix: read files while building the module and store the result as a constant, a variable or
an asset (`tf.lookup.TextFileInitializer` registers its file as an asset); replace
`tf.py_function`/`tf.numpy_function` by TensorFlow ops. If an op is intended, add it to the
`allow` option with a comment why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Location, Severity

if TYPE_CHECKING:
    from hubpub.checks.graph import ModuleView, VariantView

CODE = "HUB301"
NAME = "unsafe-ops"
SEVERITY = Severity.ERROR
OPTIONS: dict[str, type] = {"allow": list}
DEFAULTS: dict[str, Any] = {"allow": ()}

FILE_OPS = frozenset({
    "ReadFile", "WriteFile", "MatchingFiles", "ImmutableConst",
    "Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints",
    "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2",
    "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "TFRecordReader", "TFRecordReaderV2",
    "LMDBReader", "TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset",
    "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2", "CSVDataset", "CSVDatasetV2",
    "ExperimentalCSVDataset", "LMDBDataset", "ExperimentalLMDBDataset", "SqlDataset",
    "ExperimentalSqlDataset", "MatchingFilesDataset", "ExperimentalMatchingFilesDataset",
    "SaveDataset", "SaveDatasetV2", "LoadDataset", "DatasetToTFRecord",
    "ExperimentalDatasetToTFRecord", "SnapshotDataset", "SnapshotDatasetV2",
    "CreateSummaryFileWriter", "CreateSummaryDbWriter",
    "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
})
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
TABLE_FILE_INIT_OPS = frozenset({"InitializeTableFromTextFile", "InitializeTableFromTextFileV2"})


def _problem(node: Any, asset_tensors: set[str], *, in_function: bool) -> str | None:
    """Why a node is unsafe, or None."""
    if node.op in PYTHON_OPS:
        return "it runs Python code that is not part of the module and cannot be loaded"
    if node.op == "PrintV2":
        stream = node.attr["output_stream"].s.decode("utf-8", "replace")
        return f"it prints to {stream}" if stream.startswith("file://") else None
    if node.op not in FILE_OPS:
        return None
    if node.op in TABLE_FILE_INIT_OPS:
        # Function arguments cannot be traced to an asset: keep false positives near zero.
        if in_function or _as_tensor(node.input[1]) in asset_tensors:
            return None
        return "it initializes a table from a file that is not one of the module's assets"
    return "it reads or writes files at run time"


def _as_tensor(ref: str) -> str:
    return ref if ":" in ref else f"{ref}:0"


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    allowed = set(options["allow"])
    for variant in module.variants:
        yield from _check_variant(variant, allowed)


def _check_variant(variant: VariantView, allowed: set[str]) -> Iterator[Hit]:
    assets = {_as_tensor(t) for t in variant.collection("asset_filepaths")}
    # (function or "", node name) -> (node, signatures that reach it); "" is the top level.
    reached: dict[tuple[str, str], tuple[Any, list[str]]] = {}
    for signature in variant.signatures:
        top = variant.signature_nodes(signature)
        for name in top:
            reached.setdefault(("", name), (variant.nodes[name], []))[1].append(signature)
        for function in variant.reachable_functions(sorted(top)):
            for node in variant.functions[function].node_def:
                reached.setdefault((function, node.name), (node, []))[1].append(signature)
    for (function, name), (node, signatures) in sorted(reached.items(), key=lambda i: i[0]):
        if node.op in allowed:
            continue
        why = _problem(node, assets, in_function=bool(function))
        if why is None:
            continue
        names = ", ".join(f"'{s}'" for s in signatures)
        if function:
            # Body nodes have no source line of their own; name them <function>/<node>.
            where = f"node '{name}' in function '{function}'"
            location = Location(path=variant.path, variant=variant.tags,
                                signature=signatures[0], node=f"{function}/{name}")
        else:
            where = f"node '{name}'"
            location = variant.locate(name, signature=signatures[0])
        yield Hit(f"op {node.op} ({where}) runs when signature {names} is called: {why}",
                  location)
