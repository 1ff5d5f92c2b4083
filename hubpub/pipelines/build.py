"""``hubpub build``: manifest -> spec -> checks -> export -> smoke test -> tarball -> report.

Everything is staged in a private folder inside the output directory and moved into place
only when every step succeeded, so a failed or interrupted build leaves ``--out`` as it was.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub.errors import CheckFailure
from hubpub.execution.publisher import TIMEOUT_SECONDS, time_limit
from hubpub.files.outdir import publish, staging
from hubpub.manifest import Manifest, Signing
from hubpub.target import Progress, build_spec, export_weights, load_recipe, module_view

if TYPE_CHECKING:
    from hubpub.checks.findings import Finding
    from hubpub.execution.smoke import InProcessSmokeRun, SmokeResult, SmokeRun
    from hubpub.files.package import PackResult
    from hubpub.spec.view import ModuleView

__all__ = ["BuildResult", "build", "run_checks"]

log = logging.getLogger(__name__)


@dataclass
class BuildResult:
    out_dir: Path
    tarball: Path
    sha256: str
    module_dir: Path
    report: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)


def run_checks(manifest: Manifest, view: ModuleView) -> list[Finding]:
    from hubpub.checks.baseline import filter_new, load_baseline
    from hubpub.checks.config import config_from_manifest
    from hubpub.checks.engine import run_checks as run

    config = config_from_manifest(manifest)
    findings = run(view, config)
    if config.baseline is not None:
        findings = filter_new(findings, load_baseline(config.baseline))
    return findings


def _versions() -> dict[str, str]:
    from hubpub import __version__
    from hubpub._tf import tf

    return {"hubpub": __version__, "tensorflow": tf.__version__,
            "python": platform.python_version()}


def _file_table(module_dir: Path, packed: PackResult) -> dict[str, dict[str, Any]]:
    """Each module file's size and SHA-256 (as packing hashed it)."""
    table = {}
    for path in sorted(p for p in module_dir.rglob("*") if p.is_file()):
        name = path.relative_to(module_dir).as_posix()
        table[name] = {"bytes": path.stat().st_size, "sha256": packed.files[name]}
    return table


class _Timer:
    def __init__(self, progress: Progress | None) -> None:
        self.timings: dict[str, float] = {}
        self._progress = progress

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self._progress:
            self._progress(name, None, None)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)


def build(manifest: Manifest, *, out_dir: Path | None = None, progress: Progress | None = None,
          smoke: bool = True, timeout: float = TIMEOUT_SECONDS,
          tf2: bool | None = None, sign: Signing | None = None) -> BuildResult:
    """Build, check, export, smoke-test, pack and document the module a manifest describes.

    With ``tf2`` (default: the manifest's ``tf2``), also convert the export into a TF2
    Reusable SavedModel ``<base>-tf2/``, smoke-test it against the TF1 module and pack it.
    With ``sign``, sign each export beside its tarball (``pipelines.signatures``).

    Raises CheckFailure (exit 1) when checks or the smoke test find errors, and other
    HubpubErrors (exit 2) for bad input; ``out_dir`` is untouched in both cases. Each run of
    publisher code, and the smoke test, is stopped after ``timeout`` seconds.
    """
    from hubpub.execution.smoke import start_smoke_test

    runs: list[SmokeRun | InProcessSmokeRun] = []
    # A built-in recipe's graph is hubpub's own, so its smoke test runs in this process, on a
    # thread beside packing (InProcessSmokeRun says why). Modules of publisher code get a
    # fresh, confined child, started first: it imports TensorFlow while this process works.
    in_process = manifest.recipe is not None

    out = Path(out_dir) if out_dir else manifest.output

    def start_smoke() -> SmokeRun | InProcessSmokeRun | None:
        if smoke and not runs:
            if not in_process:  # the confined child may read only there (and the system)
                from hubpub.files.outdir import refuse_system_folder

                refuse_system_folder(out)
                with suppress(OSError):  # not writable: staging says so, next
                    out.mkdir(parents=True, exist_ok=True)
            runs.append(start_smoke_test(
                timeout=timeout, in_process=in_process, readable=[out],
                fine_tune=manifest.metadata.get("fine_tunable") is not False,
                requires=manifest.requires))
        return runs[0] if runs else None

    if not in_process:
        start_smoke()
    try:
        with time_limit(timeout):
            return _build(manifest, out,
                          _Timer(progress), start_smoke, progress,
                          tf2=manifest.tf2 if tf2 is None else tf2, timeout=timeout,
                          sign=sign)
    finally:
        for run in runs:
            run.cancel()


def _build(manifest: Manifest, out_dir: Path, timer: _Timer,
           start_smoke: Callable[[], SmokeRun | InProcessSmokeRun | None],
           progress: Progress | None, *, tf2: bool, timeout: float,
           sign: Signing | None = None) -> BuildResult:
    from hubpub.checks.findings import Severity
    from hubpub.files.package import pack, write_checksum
    from hubpub.pipelines.build_inputs import input_digests
    from hubpub.pipelines.signatures import sign_build

    base = f"{manifest.publisher}-{manifest.name}-{manifest.version}"
    # Staged first, so an unwritable --out fails before any publisher code runs.
    with staging(out_dir) as stage:
        with timer.step("load"):
            recipe = load_recipe(manifest, progress)
        smoke_run = start_smoke()
        try:
            with timer.step("spec"):
                spec = build_spec(manifest, recipe)
                view = module_view(manifest, spec)
            with timer.step("checks"):
                findings = run_checks(manifest, view)
            errors = [f for f in findings
                      if f.severity >= Severity.ERROR and f.suppressed is None]
            if errors:
                raise CheckFailure(f"{len(errors)} check error(s); the module was not exported",
                                   findings=findings)
            module_dir = stage / base
            with timer.step("export"):
                export_weights(manifest, spec, recipe, module_dir,
                               progress=(lambda done, total: progress("export", done, total))
                               if progress else None)
        finally:
            recipe.close()  # the weights are on disk now (or never will be): free them
        previous = None
        if manifest.previous is not None:
            with timer.step("diff"):
                previous = diff_against_previous(manifest, module_dir)
        converted = None
        if tf2:
            from hubpub.pipelines.convert import convert_in_fresh_process

            with timer.step("tf2"):  # a fresh process: the same module gives the same bytes
                converted = convert_in_fresh_process(module_dir, stage / f"{base}-tf2",
                                                     source=f"{base}.tar.gz", timeout=timeout)
        if smoke_run is not None:
            smoke_run.test(module_dir, converted.out_dir if converted else None)
        with timer.step("pack"):
            packed = pack(module_dir, stage / f"{base}.tar.gz",
                          progress=(lambda done, total: progress("pack", done, total))
                          if progress else None)
            write_checksum(packed)
            tf2_packed = None
            if converted is not None:
                tf2_packed = pack(converted.out_dir, stage / f"{base}-tf2.tar.gz")
                write_checksum(tf2_packed)
        with timer.step("smoke test"):
            smoke_result = smoke_run.wait() if smoke_run else None
        if smoke_result is not None and not smoke_result.ok:
            raise CheckFailure("smoke test failed:\n  " + "\n  ".join(smoke_result.problems),
                               findings=findings)
        report = _report(manifest, view, findings, module_dir, packed, smoke_result, timer)
        report["authoring"] = spec.notes  # what hubpub changed in the graphs, in full
        if previous is not None:
            report["previous"] = previous
        written = [base, packed.path.name, packed.path.name + ".sha256", "build-report.json"]
        if converted is not None and tf2_packed is not None:
            report["tf2"] = _tf2_report(converted, tf2_packed)
            written += [converted.out_dir.name, tf2_packed.path.name,
                        tf2_packed.path.name + ".sha256"]
        report["inputs"] = input_digests(manifest)  # what `publish` checks for a stale build
        if sign is not None:
            with timer.step("sign"):
                written += sign_build(sign, stage, report)
        with timer.step("docs"):
            written += _write_docs(manifest, view, report, stage, out_dir, base)
        report["timings"] = timer.timings
        (stage / "build-report.json").write_text(json.dumps(report, indent=2) + "\n")
        publish(stage, out_dir, written)
    return BuildResult(out_dir, out_dir / packed.path.name, packed.sha256, out_dir / base,
                       report, findings)


def diff_against_previous(manifest: Manifest, module_dir: Path) -> dict[str, Any]:
    """The exported module against ``previous:``, for the report and the page.

    Raises:
        CheckFailure: the verdict is breaking and ``previous.breaking_ok`` gives no reason.
    """
    from hubpub.diff import diff_previous, release_blocker
    from hubpub.diff.side import read_directory

    assert manifest.previous is not None
    new = read_directory(module_dir, shown=str(manifest.path), metadata=manifest.metadata)
    result = diff_previous(manifest, new=new)
    log.info("against %s: %s", manifest.previous.shown, result.verdict)
    blocker = release_blocker(result, breaking_ok=manifest.previous.breaking_ok)
    if blocker:
        reasons = "\n  ".join(f"{c.path}: {c.message}" for c in result.breaking)
        raise CheckFailure(f"not released: {blocker}:\n  {reasons}")
    return {"previous": manifest.previous.shown, "verdict": result.verdict,
            "breaking_ok": manifest.previous.breaking_ok,
            "changes": [c.to_json() for c in result.changes]}


def _report(manifest: Manifest, view: ModuleView, findings: list[Finding], module_dir: Path,
            packed: PackResult,
            smoke_result: SmokeResult | None, timer: _Timer) -> dict[str, Any]:
    from hubpub.docs.summary import summarize

    files = _file_table(module_dir, packed)
    return {
        "handle": manifest.handle,
        "version": manifest.version,
        "tarball": {"file": packed.path.name, "bytes": packed.size, "sha256": packed.sha256},
        "summary": summarize(view, files={k: v["bytes"] for k, v in files.items()}),
        "checks": [f.to_json() for f in findings],
        "smoke_test": smoke_result.to_json() if smoke_result is not None else None,
        "files": files,
        "timings": timer.timings,
        "versions": _versions(),
    }


def _tf2_report(converted: Any, packed: Any) -> dict[str, Any]:
    """What the build report says of the TF2 export."""
    from dataclasses import asdict

    details = asdict(converted)
    details["dir"] = converted.out_dir.name
    del details["out_dir"]
    details["tarball"] = {"file": packed.path.name, "bytes": packed.size,
                          "sha256": packed.sha256}
    return details


def _write_docs(manifest: Manifest, view: ModuleView, report: dict[str, Any], stage: Path,
                out_dir: Path, base: str) -> list[str]:
    """The Markdown page ``<base>.md`` next to the tarball; returns the staged file names.

    Named after the module, not README.md, so that building into the project folder never
    replaces a file the publisher wrote.
    """
    from hubpub.docs.render import MARKDOWN_FILE, render_docs

    name = f"{base}.md"
    previous = out_dir / name
    from hubpub.files.inputs import PAGE, read_text

    existing = ({MARKDOWN_FILE: read_text(previous, PAGE)}  # not UTF-8, a FIFO: exit 2
                if os.path.lexists(previous) else None)  # its hand-written sections survive
    pages = render_docs(view, manifest, fmt="markdown", build_report=report, existing=existing)
    (stage / name).write_text(pages[MARKDOWN_FILE], encoding="utf-8")
    return [name]

