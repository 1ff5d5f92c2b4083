"""`hubpub docs TARGET`: write a module's documentation page, or check that it is up to date.

TARGET is a manifest (the last build's tarball is documented when it exists, else the spec is
built in memory), a module directory, a ``.tar.gz`` or a handle. ``--check`` regenerates the
page in memory and compares it with the file at ``--out``: exit 0 when equal, 1 with a unified
diff when it drifted or still has placeholders (or, for ``--format tfhub``, breaks the
format's rules), 2 for bad input.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub.errors import HubpubError, InputError
from hubpub.files.atomic import write_text_atomically
from hubpub.files.inputs import PAGE, read_text

if TYPE_CHECKING:
    from hubpub.manifest import Manifest

FORMATS = ("markdown", "tfhub", "kaggle")  # hubpub.docs.render.FORMATS, without importing jinja2
_MANIFEST_SUFFIXES = (".yaml", ".yml")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "docs", help="write or check a module's documentation page",
        description="Generate a module's documentation from the module itself and its manifest.")
    p.add_argument("target", metavar="TARGET",
                   help="manifest (.yaml), module directory, .tar.gz or handle")
    p.add_argument("--out", type=Path, metavar="PATH",
                   help="file to write (a directory for --format kaggle); default: stdout, "
                        "or docs.out of the manifest")
    p.add_argument("--format", choices=FORMATS, default="markdown", dest="fmt",
                   help="markdown page (default), legacy tfhub.dev page, or Kaggle instance files")
    p.add_argument("--check", action="store_true",
                   help="compare with --out instead of writing; exit 1 with a diff when it differs")
    meta = p.add_argument_group("metadata (for modules without a manifest; overrides the manifest)")
    meta.add_argument("--handle", metavar="PUBLISHER/NAME/VERSION")
    meta.add_argument("--description")
    meta.add_argument("--license", metavar="SPDX_ID")
    meta.add_argument("--fine-tunable", action=argparse.BooleanOptionalAction, default=None)
    meta.add_argument("--task",
                      help="image-feature-vector, image-classification, text-embedding, ...")
    meta.add_argument("--dataset")
    meta.add_argument("--architecture")
    meta.add_argument("--language")
    meta.add_argument("--learning-rate-note")
    meta.add_argument("--asset-path", metavar="URL", help="URL of the tarball (tfhub format)")
    meta.add_argument("--kaggle-instance", metavar="SLUG")
    meta.add_argument("--usage-handle", metavar="HANDLE",
                      help="what the snippets load; default: TARGET, or the built tarball's name")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.docs.meta import DocMeta
    from hubpub.docs.render import render_summary

    flags = {"description": args.description, "license": args.license,
             "fine_tunable": args.fine_tunable, "task": args.task, "dataset": args.dataset,
             "architecture": args.architecture, "language": args.language,
             "learning_rate_note": args.learning_rate_note, "asset_path": args.asset_path,
             "kaggle_instance": args.kaggle_instance}
    try:
        identity = DocMeta.from_handle(args.handle)
    except ValueError as exc:
        raise HubpubError(f"--handle: {exc}") from exc
    identity_flags: dict[str, Any] = {"publisher": identity.publisher, "name": identity.name,
                      "version": identity.version}
    target = Path(args.target)
    out = args.out
    if target.suffix in _MANIFEST_SUFFIXES and target.is_file():
        # A page written next to a build (`hubpub build --out DIR`) documents that build.
        beside = out.parent if out is not None and (out.parent / "build-report.json").is_file() \
            else None
        summary, meta, report, default_usage, docs_out = _from_manifest(target, build_dir=beside)
        meta = meta.updated(**identity_flags, **flags)
        if out is None and docs_out is not None:
            out = docs_out
    else:
        summary = _summary_of(args.target)
        meta = DocMeta(**identity_flags).updated(**flags)
        report, default_usage = None, args.target
    if args.check and out is None:
        raise HubpubError("--check needs --out PATH (or docs.out in the manifest) to compare with")
    paths = _output_paths(out, args.fmt, meta, report)
    # A page that is not UTF-8, a FIFO or a device is an input error (exit 2), never drift.
    existing = {name: read_text(path, PAGE)
                for name, path in paths.items() if path is not None and os.path.lexists(path)}
    files = render_summary(summary, meta, fmt=args.fmt, build_report=report,
                           handle=args.usage_handle or default_usage, existing=existing)
    if args.check:
        return _check(files, paths, existing, args.fmt)
    _report_problems(files, paths, args.fmt, stream=sys.stderr, as_warnings=True)
    if out is None:
        _print_files(files)
        return 0
    for name, text in files.items():
        path = paths[name]
        assert path is not None  # every file has a path once out is given
        write_text_atomically(path, text)
        print(f"wrote {paths[name]}", file=sys.stderr)
    return 0


# --- reading the target ----------------------------------------------------------------------
def _from_manifest(path: Path, *, build_dir: Path | None = None
                   ) -> tuple[dict[str, Any], Any, Any, str, Path | None]:
    """Summary, metadata, build report, default usage handle and docs.out of a manifest.

    The last build's module (its directory, else its tarball) in ``build_dir`` (default: the
    manifest's output) is what gets documented; with no build output the spec is built in
    memory, which runs the publisher's module_fn.
    """
    from hubpub.docs.meta import DocMeta
    from hubpub.docs.render import default_handle, tarball_facts
    from hubpub.manifest import load_manifest

    manifest = load_manifest(path)
    meta = DocMeta.from_manifest(manifest)
    output = Path(build_dir or manifest.output)
    report_path = output / "build-report.json"
    report = None
    if report_path.is_file():
        from hubpub.files.inputs import load_json

        try:
            report = load_json(report_path, what="build report")
        except InputError as exc:
            raise HubpubError(f"{exc}; rebuild with `hubpub build {path}`") from exc
    facts = tarball_facts(report)
    tarball = output / (facts["name"] if facts else default_handle(meta))
    module_dir = output / tarball.name.removesuffix(".tar.gz")
    if (module_dir / "saved_model.pb").is_file():
        summary = _summary_of(str(module_dir))
    elif tarball.is_file():
        summary = _summary_of(str(tarball))
    else:
        summary = _summary_of(str(manifest.path), manifest=manifest)
    docs_out = (manifest.docs or {}).get("out")
    if docs_out is not None:
        docs_out = Path(manifest.path).parent / docs_out
    return summary, meta, report, meta.asset_path or default_handle(meta), docs_out


def _summary_of(target: str, *, manifest: Manifest | None = None) -> dict[str, Any]:
    """The summary of any target; a manifest's spec is built in memory (runs its module_fn)."""
    from hubpub.docs.summary import summarize
    from hubpub.target import load_view

    return summarize(load_view(target, manifest=manifest))


# --- output ----------------------------------------------------------------------------------
def _output_paths(out: Path | None, fmt: str, meta: Any, report: Any = None
                  ) -> dict[str, Path | None]:
    """File name -> where it goes. Kaggle files go into the directory ``out``; the other
    formats write ``out`` itself, or ``out/<name>`` when ``out`` is an existing directory."""
    from hubpub.docs.render import file_names

    names = file_names(fmt, meta, report)
    if out is None:
        return dict.fromkeys(names)
    if fmt == "kaggle" or out.is_dir():
        return {name: out / name for name in names}
    return {names[0]: out}


def _print_files(files: Mapping[str, str]) -> None:
    if len(files) == 1:
        sys.stdout.write(next(iter(files.values())))
        return
    for name, text in files.items():
        sys.stdout.write(f"==> {name} <==\n{text}")


def _report_problems(files: Mapping[str, str], paths: Mapping[str, Path | None], fmt: str, *,
                     stream: Any, as_warnings: bool) -> int:
    """Placeholders and tfhub-format problems of the generated files; returns their number."""
    from hubpub.docs.meta import find_placeholders
    from hubpub.docs.tfhub_format import validate_tfhub_page

    count = 0
    kind = "warning" if as_warnings else "error"
    for name, text in files.items():
        # Printed pages are named as printed (one page) or by their ==> name <== header.
        label = str(paths.get(name) or ("<stdout>" if len(files) == 1 else name))
        for line, content in find_placeholders(text):
            print(f"{label}:{line}: {kind}: placeholder left: {content}", file=stream)
            count += 1
        if fmt == "tfhub":
            for problem in validate_tfhub_page(text, label):
                print(f"{problem.path}:{problem.line}: {kind}: {problem.message}", file=stream)
                count += 1
    return count


def _check(files: Mapping[str, str], paths: Mapping[str, Path | None],
           existing: Mapping[str, str], fmt: str) -> int:
    drifted = 0
    for name, text in files.items():
        path = paths[name]
        old = existing.get(name)
        if old == text:
            continue
        drifted += 1
        diff = difflib.unified_diff(
            (old or "").splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=f"{path}" + ("" if old is not None else " (missing)"),
            tofile=f"{path} (regenerated)")
        sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in diff)
        print(f"{path}: out of date; regenerate it with hubpub docs ... --out {path}",
              file=sys.stderr)
    problems = _report_problems(files, paths, fmt, stream=sys.stderr, as_warnings=False)
    if drifted or problems:
        return 1
    for name in files:
        print(f"{paths[name]}: up to date", file=sys.stderr)
    return 0
