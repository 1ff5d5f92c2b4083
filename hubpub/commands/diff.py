"""``hubpub diff OLD NEW``: the changes between two module versions, with a verdict.

Exit 0 identical or compatible, 1 breaking, 2 usage or input error. With ``--previous`` each
manifest is diffed against its ``previous:`` release, and a break its ``breaking_ok`` explains
exits 0, as ``hubpub build`` lets it pass; a manifest without ``previous:`` is skipped (with a
note), so the pre-commit hook can run on every manifest.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hubpub.errors import HubpubError

if TYPE_CHECKING:
    from hubpub.diff import Change, DiffResult

_RED, _GREEN, _YELLOW, _BOLD, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[1m", "\x1b[0m"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff", help="compare two module versions and say whether consumers break",
        usage="hubpub diff [--format {text,json}] [--numeric] OLD NEW\n"
              "       hubpub diff --previous [--format {text,json}] [--numeric] MANIFEST "
              "[MANIFEST ...]",
        description="Compare what consumers of a module depend on (variants, signatures with "
                    "their keys, dtypes, shapes and kinds, attachments, variables, assets, "
                    "fine-tuning collections, metadata) between OLD and NEW, and give a verdict: "
                    "identical, compatible or breaking. Each side is a manifest, a module "
                    "directory, a .tar.gz or a URL. Directories and tarballs are read without "
                    "TensorFlow and without the variables' values. Exit 0 identical or "
                    "compatible, 1 breaking, 2 usage or input error.")
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="the released module and the new one (or their manifests); with "
                        "--previous, one or more manifests")
    p.add_argument("--previous", action="store_true",
                   help="diff each MANIFEST against the release its `previous:` key names; a "
                        "breaking verdict passes only with previous.breaking_ok (as in build)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or json: {verdict, changes[]}")
    p.add_argument("--numeric", action="store_true",
                   help="also run both modules on the same generated inputs and report the "
                        "largest output difference per signature (imports TensorFlow)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.diff import BREAKING, diff_targets

    if args.previous:
        return _run_previous(args)
    if len(args.targets) != 2:
        raise HubpubError(f"diff takes two targets, OLD and NEW (got {len(args.targets)}); "
                          f"to diff a manifest against its previous release, use --previous")
    result = diff_targets(*args.targets, numeric=args.numeric)
    _print(result, args.format)
    return 1 if result.verdict == BREAKING else 0


def _run_previous(args: argparse.Namespace) -> int:
    from hubpub.diff import diff_previous, release_blocker
    from hubpub.manifest import load_manifest

    manifests = [load_manifest(target) for target in args.targets]  # every typo, first
    code = 0
    for manifest in manifests:
        if manifest.previous is None:  # a first release, or a module not released yet
            print(f"hubpub: {manifest.path} has no `previous:` key: nothing to diff against",
                  file=sys.stderr)
            continue
        result = diff_previous(manifest, numeric=args.numeric)
        _print(result, args.format, accepted=manifest.previous.breaking_ok)
        if release_blocker(result, breaking_ok=manifest.previous.breaking_ok):
            code = 1
    return code


def _print(result: DiffResult, fmt: str, *, accepted: str | None = None) -> None:
    from hubpub.commands._console import use_colour

    if fmt == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(render_text(result, color=use_colour(sys.stdout), accepted=accepted))


def render_changes(changes: Sequence[Change], *, color: bool = False) -> str:
    """One line per change: its weight (breaking or compatible), path and message."""
    lines = []
    for change in changes:
        label = "breaking  " if change.breaking else "compatible"
        if color:
            label = f"{_RED if change.breaking else _GREEN}{label}{_RESET}"
        lines.append(f"  {label}  {change.path}: {change.message}\n")
    return "".join(lines)


def render_text(result: DiffResult, *, color: bool = False, accepted: str | None = None) -> str:
    """The changes and the verdict; ``accepted`` is the manifest's reason for a break."""
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
    text = (f"{result.old} -> {result.new}\n" + render_changes(result.changes, color=color)
            + f"verdict: {shown} ({summary})\n")
    if accepted and verdict == "breaking":
        text += f"the break is intended (previous.breaking_ok): {accepted}\n"
    return text
