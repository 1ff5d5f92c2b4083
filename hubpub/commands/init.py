"""``hubpub init --template NAME DIR``: write a starting point that builds as written."""

from __future__ import annotations

import argparse

from hubpub.pipelines.scaffold import TEMPLATES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="write a new module project from a template",
                       description="Write a manifest, a module_fn and a README that build "
                                   "with `hubpub build` and pass the checks as written.")
    p.add_argument("directory", help="where to write the project (new or empty)")
    p.add_argument("--template", "-t", choices=TEMPLATES, default="basic")
    p.add_argument("--handle", help="publisher/name of the module (default: my-org/<dir>)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.pipelines.scaffold import write_scaffold

    files = write_scaffold(args.template, args.directory, handle=args.handle)
    for path in files:
        print(f"wrote {path}")
    print(f"next: cd {args.directory} && hubpub build hubpub.yaml")
    return 0
