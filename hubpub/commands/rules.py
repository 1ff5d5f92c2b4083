"""``hubpub rules [CODE]``: list the lint rules, or print one rule's documentation.

Reads only the rule registry and docstrings: it never imports TensorFlow.
"""

from __future__ import annotations

import argparse

from hubpub.errors import HubpubError

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="list the lint rules, or show one rule's documentation",
                       description="Without CODE: every rule with its default severity, name "
                                   "and summary. With CODE: what it checks, why it matters, "
                                   "an example, the fix, and its options.")
    p.add_argument("code", nargs="?", metavar="CODE", help="a rule code such as HUB101")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.checks import rules as registry
    from hubpub.checks.ruledocs import rule_doc

    if args.code is None:
        docs = [rule_doc(rule) for _, rule in sorted(registry.RULES.items())]
        width = max(len(d.name) for d in docs)
        for doc in docs:
            print(f"{doc.code}  {doc.severity:<7}  {doc.name:<{width}}  {doc.summary}")
        return 0
    try:
        rule = registry.get(args.code.upper())
    except ValueError as exc:
        raise HubpubError(str(exc)) from None
    doc = rule_doc(rule)
    print(f"{doc.code} {doc.name} ({doc.severity})")
    print(doc.summary)
    print()
    print(doc.full_text())
    print()
    if doc.options:
        print("Options (set in the manifest as lint.options.CODE.NAME, or --option CODE.NAME=VALUE):")
        for name, default in doc.options.items():
            shown = list(default) if isinstance(default, tuple) else default
            print(f"  {name} ({doc.option_types.get(name, '?')}, default {shown!r})")
    else:
        print("Options: none")
    return 0
