"""``hubpub diff OLD NEW``: the changes between two module versions, with a verdict.

Exit 0 identical or compatible, 1 breaking, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubpub.diff import Change, DiffResult

_RED, _GREEN, _YELLOW, _BOLD, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[1m", "\x1b[0m"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff", help="compare two module versions and say whether consumers break",
        description="Compare what consumers of a module depend on (variants, signatures with "
                    "their keys, dtypes, shapes and kinds, attachments, variables, assets, "
                    "fine-tuning collections, metadata) between OLD and NEW, and give a verdict: "
                    "identical, compatible or breaking. Each side is a manifest, a module "
                    "directory, a .tar.gz or a URL. Directories and tarballs are read without "
                    "TensorFlow and without the variables' values. Exit 0 identical or "
                    "compatible, 1 breaking, 2 usage or input error.")
    p.add_argument("old", metavar="OLD", help="the released module (or its manifest)")
    p.add_argument("new", metavar="NEW", help="the new module (or its manifest)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or json: {verdict, changes[]}")
    p.add_argument("--numeric", action="store_true",
                   help="also run both modules on the same generated inputs and report the "
                        "largest output difference per signature (imports TensorFlow)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.commands._console import use_colour
    from hubpub.diff import BREAKING, diff_targets

    result = diff_targets(args.old, args.new, numeric=args.numeric)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(render_text(result, color=use_colour(sys.stdout)))
    return 1 if result.verdict == BREAKING else 0


def render_changes(changes: Sequence[Change], *, color: bool = False) -> str:
    """One line per change: its weight (breaking or compatible), path and message."""
    lines = []
    for change in changes:
        label = "breaking  " if change.breaking else "compatible"
        if color:
            label = f"{_RED if change.breaking else _GREEN}{label}{_RESET}"
        lines.append(f"  {label}  {change.path}: {change.message}\n")
    return "".join(lines)


def render_text(result: DiffResult, *, color: bool = False) -> str:
    verdict = result.verdict
    shown = verdict
    if color:
        tint = {"breaking": _RED, "compatible": _YELLOW, "identical": _GREEN}[verdict]
        shown = f"{_BOLD}{tint}{verdict}{_RESET}"
    count = sum(c.kind != "numeric" for c in result.changes)
    if verdict == "identical":
        summary = "same interface, same bytes"
    else:
        breaking = len(result.breaking)
        summary = (f"{count} change{'s' * (count != 1)}, {breaking} breaking consumers of "
                   f"{result.old}" if breaking else
                   f"{count} change{'s' * (count != 1)}, none breaks consumers of {result.old}")
    return (f"{result.old} -> {result.new}\n" + render_changes(result.changes, color=color)
            + f"verdict: {shown} ({summary})\n")
