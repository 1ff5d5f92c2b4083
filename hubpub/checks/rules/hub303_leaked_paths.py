"""Absolute paths of the publisher's machine are stored in the module's graph.

What: a resource `shared_name` (tables, variables, queues) or a small string constant, at the
top level or in a library function, holds an absolute path under a typical home, temp or
data folder (`/home/...`, `/Users/...`, `/tmp/...`, `/mnt/...`, `C:\\...`), also when the path
is joined from pieces at run time (`tf.strings.join(["/t", "mp/x"])`). Asset path constants
are not reported (export replaces them, format §1.6), nor are table names that embed an asset
path in a module that is not exported yet (hubpub's export renames those).

Why: the path is useless on the consumer's machine and tells everyone who downloads the module
the publisher's user name and folder layout. When the string is used at run time (a file
name), the module also breaks as soon as it leaves that machine.

Example: a vocabulary table built by tensorflow_hub from `/home/alice/vocab.txt` keeps
`shared_name: "hash_table_/home/alice/vocab.txt_-2_-1"` in `saved_model.pb`.

Fix: export with hubpub (it rewrites asset paths and table names), build from a neutral
location, or give the resource an explicit name; move run-time files into assets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Location, Severity
from hubpub.spec.view import attr_tensor

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB303"
NAME = "leaked-paths"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

_ROOTS = ("home", "Users", "tmp", "private", "var", "mnt", "media", "root", "opt", "srv",
          "data", "content", "workspace", "scratch", "gpfs", "nfs", "export", "net")
ABSOLUTE_PATH = re.compile(
    r"(?<![A-Za-z0-9:/.])/(?:" + "|".join(_ROOTS) + r")/[^\s'\"]+"
    r"|(?<![A-Za-z0-9])[A-Za-z]:\\[^\s'\"]+")
_MAX_CONST_ELEMENTS = 16  # vocabularies are data, not leaks; only small strings are scanned
_STRING = 7  # DT_STRING
_JOINS = frozenset({"StringJoin", "Add", "AddV2"})


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        yield from _check_variant(variant)


def _check_variant(variant: VariantView) -> Iterator[Hit]:
    asset_nodes = {t.split(":")[0] for t in variant.collection("asset_filepaths")}
    asset_paths = set()
    for name in asset_nodes:
        if name in variant.nodes:
            asset_paths.update(_strings(variant, variant.nodes[name]))
    for function, node in variant.iter_nodes():
        if function is None and node.name in asset_nodes:
            continue
        texts = []
        if "shared_name" in node.attr:
            shared = node.attr["shared_name"].s.decode("utf-8", "replace")
            if not any(path in shared for path in asset_paths):
                texts.append(("shared_name", shared))
        if node.op == "Const":
            texts.extend(("value", s) for s in _strings(variant, node))
        if function is None and node.op in _JOINS:
            joined = _joined_path(variant, node)
            if joined is not None:
                texts.append(("string pieces, joined at run time", joined))
        for what, text in texts:
            match = ABSOLUTE_PATH.search(text)
            if match is None:
                continue
            where = f"node '{node.name}'" + (f" in function '{function}'" if function else "")
            location = (variant.locate(node.name) if function is None else
                        Location(path=variant.path, variant=variant.tags,
                                 node=f"{function}/{node.name}"))
            yield Hit(f"{where} stores the absolute path '{match.group(0)}' in its {what}: it "
                      f"reveals the publisher's machine and is meaningless elsewhere", location)
            break


def _joined_path(variant: VariantView, node: Any) -> str | None:
    """The constant string a join builds, when no piece holds the path on its own."""
    joined = variant.fold_string(node.name)
    if joined is None or not ABSOLUTE_PATH.search(joined):
        return None
    for ref in node.input:
        piece = variant.fold_string(ref)
        if piece is not None and ABSOLUTE_PATH.search(piece):
            return None  # reported at that piece (a Const or an inner join)
    return joined


def _strings(variant: VariantView, node: Any) -> list[str]:
    """The values of a small string Const, decoded; [] for anything else."""
    if node.op != "Const" or node.attr["dtype"].type != _STRING:
        return []
    tensor = attr_tensor(node.attr["value"])
    if len(tensor.string_val) > _MAX_CONST_ELEMENTS:
        return []
    return [v.decode("utf-8", "replace") for v in tensor.string_val]
