"""``hubpub lint TARGET...``: check manifests, module directories, tarballs or URLs.

Several TARGETs (what a pre-commit hook passes) are linted one after the other, each with its
own manifest configuration, into one report.

Exit codes: 0 no finding at or above ``--fail-on``; 1 there is one (see ``exit_code_for``);
2 usage or input error: bad flags, a malformed manifest, a TARGET that does not exist. A
module that exists but cannot be loaded (corrupt protos, hostile tarball, module_fn raising)
is reported as finding HUB000, in the chosen format, and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hubpub.checks.findings import Finding, Severity
from hubpub.errors import HubpubError
from hubpub.files.atomic import write_text_atomically

if TYPE_CHECKING:
    from hubpub.checks.config import LintConfig
    from hubpub.files.private_cache import PrivateCache
    from hubpub.manifest import Manifest

__all__ = ["exit_code_for", "lint_target", "register", "run"]

LOG = logging.getLogger(__name__)

FORMATS = ("text", "json", "sarif", "github")


def exit_code_for(findings: Sequence[Finding], fail_on: Severity) -> int:
    """The whole exit policy of a lint: 1 when an unsuppressed finding is at or above
    ``fail_on``, else 0. Suppressed findings never fail; baselined ones were already removed;
    HUB000 is an error, so it fails at either threshold."""
    failing = [f for f in findings if f.suppressed is None and f.severity >= fail_on]
    return 1 if failing else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lint", help="check a module against the TF1 Hub publisher rules",
        description="Check a manifest (the spec is built in memory, nothing is exported), a "
                    "module directory, a .tar.gz or a URL. Exit 0: clean; 1: findings at or "
                    "above --fail-on; 2: usage or input error.")
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="hubpub.yaml, a module directory, a module .tar.gz or a URL")
    add_report_arguments(p)
    p.set_defaults(run=run)


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    """The options `hubpub lint` and `hubpub validate` share."""
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (text)")
    p.add_argument("--fail-on", choices=("error", "warning"), default="error",
                   help="lowest severity that makes the exit code 1 (error)")
    p.add_argument("--select", action="append", metavar="CODES",
                   help="run only rules with these code prefixes, comma-separated (replaces "
                        "the manifest's lint.select)")
    p.add_argument("--ignore", action="append", metavar="CODES",
                   help="skip rules with these code prefixes (replaces lint.ignore)")
    p.add_argument("--severity", action="append", default=[], metavar="CODE=LEVEL",
                   help="report CODE as error or warning; repeatable")
    p.add_argument("--option", action="append", default=[], metavar="CODE.NAME=VALUE",
                   help="set a rule option, e.g. HUB301.allow=PrintV2; repeatable")
    p.add_argument("--baseline", type=Path, metavar="FILE",
                   help="report only findings that are not recorded in FILE")
    p.add_argument("--write-baseline", type=Path, metavar="FILE",
                   help="record the current findings in FILE and exit 0 unless HUB000")
    p.add_argument("--output", type=Path, metavar="FILE",
                   help="write the report to FILE instead of standard output")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour text output (auto: on a terminal when NO_COLOR is unset)")
    p.add_argument("--no-cache", dest="cache", action="store_false",
                   help="build a manifest's module afresh even when nothing it reads changed "
                        "(the cache lives in $HUBPUB_CACHE_DIR or the user's cache folder)")
    add_timeout_argument(p)


def add_timeout_argument(p: argparse.ArgumentParser) -> None:
    """``--timeout``: for lint, validate and build."""
    from hubpub.execution.publisher import TIMEOUT_SECONDS

    p.add_argument("--timeout", type=_seconds, default=TIMEOUT_SECONDS, metavar="SECONDS",
                   help="stop publisher code (importing and running module_fn, the weights "
                        f"hook) and the smoke test after this long (default {TIMEOUT_SECONDS:g})")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _codes(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def _use_color(args: argparse.Namespace) -> bool:
    if args.format != "text" or args.output is not None or args.color == "never":
        return False
    if args.color == "always":
        return True
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def run(args: argparse.Namespace) -> int:
    return lint(args)


def _refuse_overwriting_inputs(args: argparse.Namespace) -> None:
    """--output and --write-baseline must not name a target, the baseline or each other."""
    inputs = [("target", t) for t in args.targets] + [("--baseline", args.baseline)]
    writes = [("--output", args.output), ("--write-baseline", args.write_baseline)]
    for i, (flag, written) in enumerate(writes):
        if written is None:
            continue
        for what, path in inputs + writes[i + 1:]:
            if path is not None and _same_file(Path(written), Path(path)):
                raise HubpubError(f"{flag} {written} is also the {what} {path}: writing it "
                                  f"would destroy that input; write to another file")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def lint(args: argparse.Namespace, *,
         extra: Callable[[str, Manifest | None, LintConfig, float], list[Finding]] | None = None
         ) -> int:
    """Lint every target and report; ``extra(target, manifest, config, timeout)`` adds
    findings (validate's smoke test)."""
    from hubpub.checks.baseline import filter_new, load_baseline, write_baseline
    from hubpub.checks.config import LintConfig, config_from_manifest, with_overrides
    from hubpub.execution.publisher import time_limit
    from hubpub.reporters import REPORTERS
    from hubpub.reporters.text import summary_counts
    from hubpub.target import is_manifest

    # Every manifest, flag and baseline is checked before anything is linted: a configuration
    # error exits 2 without importing TensorFlow or running any publisher code.
    _refuse_overwriting_inputs(args)
    plans = []
    for target in args.targets:
        manifest = None
        config = LintConfig()
        if is_manifest(target):
            from hubpub.manifest import load_manifest

            manifest = load_manifest(target)
            config = config_from_manifest(manifest)
        config = with_overrides(config, select=_codes(args.select), ignore=_codes(args.ignore),
                                severity=args.severity, option=args.option,
                                baseline=args.baseline)
        baseline = None
        if args.write_baseline is None and config.baseline is not None:
            baseline = load_baseline(config.baseline)
        plans.append((target, manifest, config, baseline))

    cache = None  # only manifests are answered from it
    if getattr(args, "cache", False) and any(plan[1] is not None for plan in plans):
        from hubpub.files.private_cache import PrivateCache, default_folder

        cache = PrivateCache(default_folder())
    findings: list[Finding] = []
    for target, manifest, config, baseline in plans:
        with time_limit(args.timeout):  # a manifest target runs its module_fn
            new = lint_target(target, config, manifest=manifest, cache=cache)
        if extra is not None and not any(f.code == "HUB000" for f in new):
            new = sorted(new + extra(target, manifest, config, args.timeout),
                         key=Finding.sort_key)
        findings.extend(new if baseline is None else filter_new(new, baseline))

    if args.write_baseline is not None:
        count = write_baseline(args.write_baseline, findings)
        print(f"hubpub: recorded {count} finding{'s' * (count != 1)} in {args.write_baseline}",
              file=sys.stderr)
        findings = filter_new(findings, load_baseline(args.write_baseline))

    report = REPORTERS[args.format](findings, target=" ".join(args.targets),
                                    color=_use_color(args),
                                    root=Path.cwd())
    if args.output is None:
        sys.stdout.write(report)
    else:
        write_text_atomically(args.output, report)
        counts = summary_counts(findings)
        print(f"hubpub: {counts['errors']} errors, {counts['warnings']} warnings "
              f"({counts['suppressed']} suppressed); {args.format} report in {args.output}",
              file=sys.stderr)
    return exit_code_for(findings, Severity.parse(args.fail_on))


def lint_target(target: str, config: LintConfig, *, manifest: Manifest | None = None,
                cache: PrivateCache | None = None) -> list[Finding]:
    """Load TARGET and run the checks; a target that cannot be loaded gives HUB000.

    With a ``cache``, a manifest whose inputs are unchanged is answered from it (see
    ``hubpub.pipelines.lint_cache``; stderr says so), and a fresh answer is stored.

    HandleError (TARGET does not exist) and ManifestError (a malformed manifest) propagate:
    those are input errors (exit 2), not findings about a module.
    """
    if cache is None or manifest is None:
        return _lint_once(target, config, manifest)
    from hubpub.pipelines.lint_cache import ManifestLint

    job = ManifestLint(cache, target, manifest, config)
    cached = job.lookup()
    if cached is not None:
        print(f"hubpub: {target}: findings from the lint cache (nothing the build reads "
              f"changed; --no-cache lints afresh)", file=sys.stderr)
        return cached
    with job.recording():
        findings = _lint_once(target, config, manifest)
    job.store(findings)
    return findings


def _lint_once(target: str, config: LintConfig, manifest: Manifest | None) -> list[Finding]:
    from hubpub.checks.engine import load_failure, run_checks
    from hubpub.errors import ModuleFormatError, PublisherCodeError, SpecError
    from hubpub.target import load_view

    try:
        view = load_view(target, manifest=manifest)
    except (ModuleFormatError, PublisherCodeError, SpecError) as exc:
        LOG.debug("%s could not be loaded: %s", target, exc)
        return [load_failure(exc, target)]
    return run_checks(view, config)
