"""``hubpub publish MANIFEST``: the last build as a new version of a Kaggle model variation.

A dry run unless ``--yes``: it prints every file with its size and SHA-256, the slugs,
framework, license, notes and the gates. Exit 0 ready (dry run) or published, 1 a gate
refused the build, 2 usage or input error or a failed upload.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubpub.pipelines.publish import PublishPlan


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "publish", help="publish the last build to Kaggle Models (a dry run unless --yes)",
        description="Publish the last build of MANIFEST as a new version of a Kaggle model "
                    "variation: the TF1 module under TensorFlow1, a TF2 export (tf2: true) "
                    "under TensorFlow2, with a signature when the build is signed. Without "
                    "--yes, print what would be uploaded. Refuses a missing or stale build, "
                    "one that does not verify, lint errors and an unexplained breaking "
                    "change. Credentials: kagglehub's (KAGGLE_API_TOKEN, KAGGLE_USERNAME and "
                    "KAGGLE_KEY, or ~/.kaggle/kaggle.json). Needs hubpub[kaggle] to upload. "
                    "Exit 0 ready or published, 1 a gate refused, 2 usage, input or upload "
                    "error.")
    p.add_argument("manifest", help="the module's manifest (YAML)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="the build folder (default: the manifest's output)")
    p.add_argument("--to", metavar="kaggle:OWNER/MODEL/VARIATION",
                   help="where to publish (default: the manifest's publish.kaggle)")
    p.add_argument("--notes", help="version notes (default: the changes since previous:)")
    p.add_argument("--rebuild", action="store_true",
                   help="also rebuild in a temporary folder and require identical bytes "
                        "(as `hubpub verify --manifest`; imports TensorFlow, slower)")
    p.add_argument("--yes", action="store_true", help="upload (default: a dry run)")
    p.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="give up on a Kaggle request (or a file's upload) after this long "
                        "(default 300)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or json: the plan, and what was published")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.manifest import load_manifest
    from hubpub.pipelines.publish import parse_destination, plan_publish, publish

    manifest = load_manifest(args.manifest)
    target = None
    if args.to:
        private = manifest.kaggle.private if manifest.kaggle else True
        target = parse_destination(args.to, private=private)
    if args.yes:
        from hubpub.pipelines.kaggle_upload import credentials_source

        credentials_source()  # no credentials: say so before the gates' work
    plan = plan_publish(manifest, out_dir=args.out, target=target, notes=args.notes,
                        rebuild=args.rebuild)
    published = publish(plan, timeout=args.timeout) if args.yes and plan.ok else []
    if args.format == "json":
        document = plan.to_json()
        document["published"] = [p.__dict__ for p in published]
        print(json.dumps(document, indent=2))
    else:
        sys.stdout.write(render_plan(plan, dry_run=not args.yes))
        for item in published:
            state = "already published by an earlier run" if item.already else "published"
            print(f"{state}: {item.handle} version {item.version}  {item.url}")
    return 0 if plan.ok else 1


def render_plan(plan: PublishPlan, *, dry_run: bool) -> str:
    lines = [f"{'dry run: ' if dry_run else ''}publish {plan.manifest.handle} version "
             f"{plan.version} (build {plan.build_dir})",
             f"  license: {plan.license_name} ({plan.manifest.metadata.get('license')})",
             "  notes: " + plan.notes.replace("\n", "\n         ")]
    for instance in plan.instances:
        total = sum(f.bytes for f in instance.files)
        lines += [f"  {instance.handle}",
                  f"    owner {instance.target.owner}, model {instance.target.model}, "
                  f"framework {instance.framework}, variation {instance.target.variation}, "
                  f"fine-tunable {'yes' if instance.fine_tunable else 'no'}",
                  f"    {len(instance.files)} file(s), {total:,} bytes, from "
                  f"{instance.module_dir}"]
        lines += [f"    {f.bytes:>12,}  {f.sha256}  {f.name}" for f in instance.files]
    lines.append("  gates:")
    for gate in plan.gates:
        lines.append(f"    {'ok     ' if gate.ok else 'REFUSED'}  {gate.name}: {gate.message}")
        lines += [f"             {detail}" for detail in gate.details]
    if not plan.ok:
        lines.append("not published: fix what the gates refused, rebuild, and run again")
    elif dry_run:
        lines.append("ready; nothing was uploaded (run with --yes to publish)")
    return "\n".join(lines) + "\n"
