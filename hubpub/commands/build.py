"""``hubpub build MANIFEST``: the main job (spec, checks, export, smoke test, tarball, docs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hubpub.commands.lint import add_timeout_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build", help="build, check, export, smoke-test and pack a module from its manifest",
        description="Build the module a manifest describes: spec for every variant, checks, "
                    "export, smoke test in a fresh process, reproducible .tar.gz, "
                    "build-report.json and the Markdown page. Exit 0 built, 1 checks or smoke "
                    "test failed, 2 usage or input error.")
    p.add_argument("manifest", help="the module's manifest (YAML)")
    p.add_argument("--out", type=Path, help="output directory (default: the manifest's output)")
    p.add_argument("--no-smoke-test", action="store_true", help="skip the smoke test")
    p.add_argument("--tf2", action="store_true", default=None,
                   help="also write <publisher>-<name>-<version>-tf2/ and its .tar.gz: the "
                        "module as a TF2 SavedModel for hub.KerasLayer (manifest: tf2: true)")
    p.add_argument("--sign", metavar="KEY",
                   help="sign the exported module with OpenSSF model signing: KEY is an "
                        "elliptic-curve private key (PEM), or 'sigstore' for keyless signing "
                        "in CI; writes <tarball>.sig (manifest: sign:; needs hubpub[sign])")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_timeout_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.manifest import load_manifest

    manifest = load_manifest(args.manifest)  # before TensorFlow: a typo fails fast
    if args.out is not None:
        from hubpub.files.outdir import refuse_system_folder

        refuse_system_folder(args.out, f"--out {args.out}")
    from hubpub.checks.config import config_from_manifest

    config_from_manifest(manifest)  # so does an unknown rule code or option in `lint:`
    from hubpub.pipelines.signatures import check_signing, parse_sign_option

    sign = parse_sign_option(args.sign) if args.sign else manifest.sign
    if sign is not None:
        check_signing(manifest, sign)
    from hubpub.commands._console import StepProgress, use_colour
    from hubpub.errors import CheckFailure
    from hubpub.pipelines.build import build
    from hubpub.reporters.text import render_text

    def report(findings: list) -> None:
        if findings:
            sys.stderr.write(render_text(findings, target=str(args.manifest),
                                         color=use_colour(sys.stderr), root=Path.cwd()))

    progress = StepProgress(sys.stderr, quiet=args.quiet)
    try:
        result = build(manifest, out_dir=args.out, progress=progress,
                       smoke=not args.no_smoke_test, timeout=args.timeout, tf2=args.tf2,
                       sign=sign)
    except CheckFailure as failure:
        progress.finish()
        report(failure.findings)
        raise
    progress.finish()
    report(result.findings)
    print(f"built {result.tarball} ({result.report['tarball']['bytes']:,} bytes)")
    print(f"sha256 {result.sha256}")
    previous = result.report.get("previous")
    if previous:  # the diff against the manifest's `previous:` release
        count = len(previous["changes"])
        accepted = (f"; intended: {previous['breaking_ok']}"
                    if previous["verdict"] == "breaking" else "")
        print(f"against {previous['previous']}: {previous['verdict']} "
              f"({count} change{'s' * (count != 1)}{accepted}; `hubpub diff --previous "
              f"{args.manifest}` lists them)")
    if "tf2" in result.report:
        tf2 = result.report["tf2"]["tarball"]
        print(f"built {result.out_dir / tf2['file']} ({tf2['bytes']:,} bytes, TF2)")
        print(f"sha256 {tf2['sha256']}")
    signature = result.report.get("signature")
    if signature:
        print(f"signed {result.out_dir / signature['file']} ({signature['method']})")
    return 0
