"""``hubpub validate TARGET``: the lint plus the smoke test, for any existing module.

The smoke test loads the module in a fresh process with ``hubpub.Module`` and with
``tf.saved_model.load`` and runs every signature; each problem is finding HUB501.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hubpub.commands.lint import add_report_arguments, lint
from hubpub.errors import HubpubError

if TYPE_CHECKING:
    from hubpub.checks.config import LintConfig
    from hubpub.checks.findings import Finding
    from hubpub.manifest import Manifest


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate", help="lint an existing module and smoke-test that it loads and runs",
        description="Lint a module directory, .tar.gz or URL (built by hubpub or not), then "
                    "load it in a fresh process with hubpub.Module and tf.saved_model.load and "
                    "run every signature. Exit 0: clean; 1: findings at or above --fail-on; "
                    "2: usage or input error.")
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="a module directory, a module .tar.gz or a URL")
    add_report_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.target import is_manifest

    for target in args.targets:
        if is_manifest(target):
            raise HubpubError(f"{target}: validate checks an existing module; for a manifest "
                              "run `hubpub build` (it smoke-tests what it exports)")
    return lint(args, extra=_smoke_findings)


def _smoke_findings(target: str, manifest: Manifest | None, config: LintConfig,
                    timeout: float) -> list[Finding]:
    """HUB501 for each smoke-test problem; the test is refused when the module has ops hubpub
    does not run (``execution_blockers``), whatever the lint configuration reports."""
    from hubpub.checks.engine import execution_blockers, refusal
    from hubpub.checks.findings import Finding, Location, Severity
    from hubpub.checks.rules import hub501_smoke_test
    from hubpub.execution.smoke import start_smoke_test
    from hubpub.target import load_view, module_directory

    with module_directory(target) as folder:
        blockers = execution_blockers(load_view(str(folder)), config)
        if blockers:
            problems = [refusal(blockers, "smoke test")]
        else:
            fine_tune = manifest is None or manifest.metadata.get("fine_tunable") is not False
            problems = start_smoke_test(
                folder, timeout=timeout, fine_tune=fine_tune,
                requires=manifest.requires if manifest else ()).wait().problems
    return [Finding(hub501_smoke_test.CODE, Severity.ERROR, problem, Location(path=target))
            for problem in problems]
