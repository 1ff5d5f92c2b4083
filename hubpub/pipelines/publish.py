"""``hubpub publish``: the last build of a manifest -> a new version of a Kaggle model variation.

``plan_publish`` reads the build (``build-report.json`` in the output folder) and works out
everything offline: the instances (the TF1 module under ``tensorFlow1``; with a TF2 export,
that one under ``tensorFlow2``), their files with size and SHA-256 (``model.sig`` included
for a signed build), slugs, license, model card and notes, and the gates. A gate that fails
keeps every byte at home:

- build: a build of this manifest's handle and version exists;
- inputs: none of the files the build read changed since (``build_inputs``), and the
  manifest still asks for what the build made (TF2 export, signature);
- verify: each tarball passes ``hubpub verify`` (digest, layout, format; with ``rebuild``,
  a byte-identical rebuild), and the folders to upload hold exactly the tarballs' bytes;
- lint: the checks of the manifest's ``lint:`` find no error in the built module;
- previous: the verdict against ``previous:`` is not breaking, or ``breaking_ok`` says why.

``publish`` then uploads (``kaggle_upload``). A journal in the output folder
(``kaggle-publish.json``) records each instance's version before the upload, so that a run
after a failure (a dropped connection once Kaggle had created the version included) finds
the version it made instead of creating another.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubpub.errors import HubpubError, InputError, PublishError
from hubpub.files.atomic import write_text_atomically
from hubpub.files.package import sha256_of
from hubpub.files.signing import SIGNATURE_NAME
from hubpub.manifest import KaggleTarget, Manifest
from hubpub.pipelines.verify import Check

__all__ = ["JOURNAL_FILE", "PlannedFile", "PlannedInstance", "PublishPlan", "Published",
           "parse_destination", "plan_publish", "publish"]

JOURNAL_FILE = "kaggle-publish.json"
_REPORT = "build-report.json"
_KAGGLE_WEB = "https://www.kaggle.com/models"


@dataclass(frozen=True)
class PlannedFile:
    name: str  # path inside the instance, '/'-separated
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True)
class PlannedInstance:
    """One instance to upload: where, what, and the card Kaggle shows for it."""

    framework: str  # tensorFlow1 | tensorFlow2, as Kaggle names the framework
    target: KaggleTarget
    module_dir: Path
    signature: Path | None
    files: list[PlannedFile]
    overview: str
    usage: str
    fine_tunable: bool
    training_data: tuple[str, ...]

    @property
    def handle(self) -> str:
        t = self.target
        return f"{t.owner}/{t.model}/{self.framework}/{t.variation}"

    def to_json(self) -> dict[str, Any]:
        return {"handle": self.handle, "framework": self.framework,
                "folder": str(self.module_dir), "fine_tunable": self.fine_tunable,
                "training_data": list(self.training_data),
                "files": [f.to_json() for f in self.files]}


@dataclass(frozen=True)
class PublishPlan:
    manifest: Manifest
    build_dir: Path
    build_id: str  # "<version>:<TF1 tarball's SHA-256>": names this build in the journal
    version: int
    license_name: str
    notes: str
    instances: list[PlannedInstance]
    gates: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(g.ok for g in self.gates)

    def to_json(self) -> dict[str, Any]:
        return {"manifest": str(self.manifest.path), "build": str(self.build_dir),
                "version": self.version, "license": self.license_name, "notes": self.notes,
                "instances": [i.to_json() for i in self.instances],
                "gates": [g.to_json() for g in self.gates], "ready": self.ok}


@dataclass(frozen=True)
class Published:
    handle: str
    version: int
    url: str
    already: bool  # an earlier run had created it; nothing was uploaded now


def parse_destination(text: str, *, private: bool = True) -> KaggleTarget:
    """``kaggle:OWNER/MODEL/VARIATION`` (``--to``) -> a target.

    Raises:
        HubpubError: another form, or a part that is not a Kaggle slug.
    """
    import re

    kind, _, rest = text.partition(":")
    parts = rest.split("/")
    slug = re.compile(r"^[a-z0-9][a-z0-9-]*$")
    if kind != "kaggle" or len(parts) != 3 or not all(slug.match(p) for p in parts):
        raise HubpubError(f"--to {text}: expected kaggle:OWNER/MODEL/VARIATION, each a Kaggle "
                          "slug (lowercase letters, digits and '-')")
    owner, model, variation = parts
    return KaggleTarget(owner, model, variation, private=private)


# --- the plan --------------------------------------------------------------------------------


def plan_publish(manifest: Manifest, *, out_dir: Path | None = None,
                 target: KaggleTarget | None = None, notes: str | None = None,
                 rebuild: bool = False) -> PublishPlan:
    """Everything the upload would send, and the gates; no network.

    Raises:
        PublishError: no destination, no build to publish, or a license Kaggle does not take.
    """
    from hubpub.docs.kaggle import KAGGLE_LICENSES, kaggle_license

    target = target or manifest.kaggle
    if target is None:
        line, column = manifest.location("publish")
        raise PublishError(f"{manifest.path}:{line}:{column}: no destination: add "
                           "`publish: {kaggle: {owner: ..., model: ..., variation: ...}}` to "
                           "the manifest, or give --to kaggle:OWNER/MODEL/VARIATION")
    license_id = manifest.metadata.get("license")
    license_name = kaggle_license(license_id)
    if license_name is None:
        line, column = manifest.location("metadata.license")
        accepted = ", ".join(sorted(KAGGLE_LICENSES))
        raise PublishError(f"{manifest.path}:{line}:{column}: metadata.license "
                           f"{license_id!r} has no Kaggle license; Kaggle Models accepts "
                           f"one of (SPDX ids): {accepted}")
    build_dir = Path(out_dir) if out_dir else manifest.output
    report = _read_report(manifest, build_dir)
    gates = [_inputs_gate(manifest, report)]
    instances = _instances(manifest, target, build_dir, report)
    gates.append(_verify_gate(manifest, build_dir, report, instances, rebuild=rebuild))
    gates.append(_lint_gate(manifest, instances[0].module_dir))
    gates.append(_previous_gate(manifest, report))
    build_id = f"{manifest.version}:{report['tarball']['sha256']}"
    return PublishPlan(manifest, build_dir, build_id, manifest.version,
                       license_name, notes or _default_notes(manifest, report), instances,
                       gates)


def _read_report(manifest: Manifest, build_dir: Path) -> dict[str, Any]:
    from hubpub.files.inputs import load_json

    path = build_dir / _REPORT
    hint = f"run `hubpub build {manifest.path}` first"
    if not path.is_file():
        raise PublishError(f"no build to publish: {path} does not exist; {hint}")
    try:
        report = load_json(path, what="build report")
    except InputError as exc:
        raise PublishError(f"{exc}; {hint}") from exc
    if not isinstance(report, dict) or not isinstance(report.get("tarball"), dict):
        raise PublishError(f"{path} is not a build report of `hubpub build`; {hint}")
    if (report.get("handle"), report.get("version")) != (manifest.handle, manifest.version):
        raise PublishError(f"{path} is the build of {report.get('handle')} version "
                           f"{report.get('version')}, not of {manifest.handle} version "
                           f"{manifest.version}; {hint}")
    return report


def _inputs_gate(manifest: Manifest, report: dict[str, Any]) -> Check:
    from hubpub.pipelines.build_inputs import stale_inputs

    recorded = report.get("inputs")
    if not isinstance(recorded, dict):
        return Check("inputs", False, "the build does not record its inputs (an older "
                                      "hubpub); rebuild it")
    problems = stale_inputs(manifest, recorded)
    if manifest.tf2 and "tf2" not in report:
        problems.append("the manifest asks for a TF2 export (tf2: true); the build has none")
    if manifest.sign is not None and "signature" not in report:
        problems.append("the manifest asks for a signature (sign:); the build is unsigned")
    if problems:
        return Check("inputs", False, f"the build is stale; rebuild with `hubpub build "
                                      f"{manifest.path}`", problems)
    return Check("inputs", True, f"{len(recorded)} input file(s) unchanged since the build")


def _instances(manifest: Manifest, target: KaggleTarget, build_dir: Path,
               report: dict[str, Any]) -> list[PlannedInstance]:
    from hubpub.docs import kaggle
    from hubpub.docs.meta import DocMeta
    from hubpub.docs.render import render_summary

    tarball = report["tarball"]["file"]
    exports = [("tensorFlow1", tarball, report.get("signature"))]
    if "tf2" in report:
        exports.append(("tensorFlow2", report["tf2"]["tarball"]["file"],
                        report["tf2"].get("signature")))
    meta = DocMeta.from_manifest(manifest)
    web = f"{_KAGGLE_WEB}/{target.owner}/{target.model}"
    pages = render_summary(report["summary"], meta, fmt="kaggle", build_report=report,
                           handle=f"{web}/TensorFlow1/{target.variation}/${{VERSION_NUMBER}}")
    instances = []
    for framework, name, signature in exports:
        module_dir = build_dir / name.removesuffix(".tar.gz")
        if not module_dir.is_dir():
            raise PublishError(f"no build to publish: {module_dir} is missing; run `hubpub "
                               f"build {manifest.path}` again")
        prefix = "" if framework == "tensorFlow1" else f"{kaggle.TF2_FOLDER}/"
        card = json.loads(pages[f"{prefix}{kaggle.METADATA_FILE}"])
        signed = build_dir / signature["file"] if signature else None
        instances.append(PlannedInstance(
            framework, target, module_dir, signed, _files(module_dir, signed),
            overview=card["overview"], usage=card["usage"],
            fine_tunable=card["fineTunable"] is True,
            training_data=tuple(card["trainingData"])))
    return instances


def _files(module_dir: Path, signature: Path | None) -> list[PlannedFile]:
    files = [PlannedFile(p.relative_to(module_dir).as_posix(), p.stat().st_size, sha256_of(p))
             for p in sorted(module_dir.rglob("*")) if p.is_file()]
    if signature is not None and signature.is_file():
        files.append(PlannedFile(SIGNATURE_NAME, signature.stat().st_size, sha256_of(signature)))
    return files


def _verify_gate(manifest: Manifest, build_dir: Path, report: dict[str, Any],
                 instances: list[PlannedInstance], *, rebuild: bool) -> Check:
    from hubpub.errors import ArchiveError, ModuleFormatError
    from hubpub.pipelines.verify import verify_tarball

    problems, done = [], []
    for instance in instances:
        tarball = instance.module_dir.with_name(instance.module_dir.name + ".tar.gz")
        try:
            result = verify_tarball(tarball, manifest=manifest.path
                                    if rebuild and instance.framework == "tensorFlow1" else None)
        except (ArchiveError, ModuleFormatError, PublishError) as exc:
            problems.append(f"{tarball.name}: {exc}")
            continue
        problems += [f"{tarball.name}: {c.name}: {c.message}" for c in result.checks
                     if not c.ok]
        done += [c.name for c in result.checks]
        problems += _folder_problems(instance, tarball)
        problems += _signature_problems(instance, report)
    checks = ", ".join(dict.fromkeys(done))
    if problems:
        return Check("verify", False, "the build does not verify; rebuild it", problems)
    return Check("verify", True, f"{checks}: ok; the folders hold the tarballs' bytes")


def _folder_problems(instance: PlannedInstance, tarball: Path) -> list[str]:
    """What differs between the folder to upload and the verified tarball."""
    import hashlib

    from hubpub.files.archive import iter_members

    packed = {}
    for _, parts, data in iter_members(tarball):
        if data is not None:
            digest = hashlib.sha256()
            while chunk := data.read(1 << 20):
                digest.update(chunk)
            packed["/".join(parts)] = digest.hexdigest()
    here = {f.name: f.sha256 for f in instance.files if f.name != SIGNATURE_NAME}
    lines = [f"{instance.module_dir.name}/{name} differs from the tarball's member"
             for name in sorted(here.keys() & packed.keys()) if here[name] != packed[name]]
    lines += [f"{instance.module_dir.name}/{name} is not in {tarball.name}"
              for name in sorted(here.keys() - packed.keys())]
    lines += [f"{instance.module_dir.name}/{name} is missing (in {tarball.name})"
              for name in sorted(packed.keys() - here.keys())]
    return lines


def _signature_problems(instance: PlannedInstance, report: dict[str, Any]) -> list[str]:
    if instance.signature is None:
        return []
    entry = report["signature"] if instance.framework == "tensorFlow1" else \
        report["tf2"]["signature"]
    if not instance.signature.is_file():
        return [f"{instance.signature.name} (the build's signature) is missing"]
    if sha256_of(instance.signature) != entry["sha256"]:
        return [f"{instance.signature.name} is not the signature the build wrote"]
    return []


def _lint_gate(manifest: Manifest, module_dir: Path) -> Check:
    from hubpub.checks.findings import Severity
    from hubpub.pipelines.build import run_checks
    from hubpub.target import load_view

    findings = run_checks(manifest, load_view(str(module_dir)))
    errors = [f for f in findings if f.severity >= Severity.ERROR and f.suppressed is None]
    if errors:
        return Check("lint", False, f"{len(errors)} lint error(s) in the built module",
                     [f"{f.code} {f.message}" for f in errors])
    return Check("lint", True, f"no lint errors ({len(findings)} finding(s) in all)")


def _previous_gate(manifest: Manifest, report: dict[str, Any]) -> Check:
    previous = report.get("previous")
    if manifest.previous is None or not isinstance(previous, dict):
        return Check("previous", True, "no previous release to compare with")
    verdict = previous.get("verdict")
    if verdict == "breaking" and not manifest.previous.breaking_ok:
        return Check("previous", False, f"breaking against {previous.get('previous')}, and "
                                        "previous.breaking_ok does not say why",
                     [c.get("message", "") for c in previous.get("changes", [])])
    why = f"; intended: {manifest.previous.breaking_ok}" if verdict == "breaking" else ""
    return Check("previous", True, f"{verdict} against {previous.get('previous')}{why}")


def _default_notes(manifest: Manifest, report: dict[str, Any]) -> str:
    """The "Changes since" text of ``previous:``, else the handle and version."""
    previous = report.get("previous")
    if not isinstance(previous, dict):
        return f"{manifest.handle} version {manifest.version}, built with hubpub."
    changes = [f"- {c.get('path', '')}: {c.get('message', '')}"
               for c in previous.get("changes", [])]
    text = f"Changes since {previous.get('previous')} ({previous.get('verdict')})"
    if manifest.previous is not None and manifest.previous.breaking_ok:
        text += f"; breaking on purpose: {manifest.previous.breaking_ok}"
    return "\n".join([text + (":" if changes else "."), *changes])


# --- the upload ------------------------------------------------------------------------------


def publish(plan: PublishPlan, *, timeout: float = 300.0) -> list[Published]:
    """Uploads every planned instance as a new version; see the module docstring.

    Raises:
        PublishError: a gate failed, no credentials, the version exists, or the upload
            failed (each with what to do).
    """
    from hubpub.pipelines import kaggle_upload

    if not plan.ok:
        raise PublishError("not published: a gate failed (see the plan)")
    kaggle_upload.credentials_source()
    journal_path = plan.build_dir / JOURNAL_FILE
    journal = _read_journal(journal_path)
    done = []
    for instance in plan.instances:
        upload = _upload_of(plan, instance)
        latest = kaggle_upload.latest_version(upload, timeout=timeout)
        entry = journal.get(instance.handle, {})
        if entry.get("build") == plan.build_id and latest is not None and (
                entry.get("before") is None or latest > entry["before"]):
            journal[instance.handle] = {**entry, "state": "done", "version": latest}
            write_text_atomically(journal_path, json.dumps(journal, indent=2) + "\n")
            done.append(Published(instance.handle, latest, _url(instance, latest), True))
            continue
        if latest is not None and latest >= plan.version:
            raise PublishError(f"{instance.handle} already has version {latest}, so version "
                               f"{plan.version} of {plan.manifest.handle} was published "
                               "before; raise module.version in the manifest and rebuild")
        journal[instance.handle] = {"build": plan.build_id, "before": latest,
                                    "state": "sent"}
        write_text_atomically(journal_path, json.dumps(journal, indent=2) + "\n")
        with _staged(instance) as folder:
            kaggle_upload.upload_version(_upload_of(plan, instance, folder), notes=plan.notes,
                                         exists=latest is not None, timeout=timeout)
        created = kaggle_upload.latest_version(upload, timeout=timeout) or 1
        journal[instance.handle] = {**journal[instance.handle], "state": "done",
                                    "version": created}
        write_text_atomically(journal_path, json.dumps(journal, indent=2) + "\n")
        done.append(Published(instance.handle, created, _url(instance, created), False))
    return done


def _upload_of(plan: PublishPlan, instance: PlannedInstance, folder: Path | None = None
               ) -> Any:
    from hubpub.pipelines.kaggle_upload import InstanceUpload

    t = instance.target
    return InstanceUpload(t.owner, t.model, instance.framework, t.variation,
                          folder or instance.module_dir, instance.overview, instance.usage,
                          plan.license_name, instance.fine_tunable, instance.training_data,
                          private=t.private)


def _url(instance: PlannedInstance, version: int) -> str:
    t = instance.target
    framework = "TensorFlow1" if instance.framework == "tensorFlow1" else "TensorFlow2"
    return f"{_KAGGLE_WEB}/{t.owner}/{t.model}/{framework}/{t.variation}/{version}"


def _read_journal(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # unreadable: the version check still refuses a duplicate of a known one
    return journal if isinstance(journal, dict) else {}


@contextmanager
def _staged(instance: PlannedInstance) -> Iterator[Path]:
    """A private folder with the instance's files (hard links where possible) and model.sig."""
    folder = Path(tempfile.mkdtemp(prefix="hubpub-publish-"))
    try:
        for planned in instance.files:
            source = (instance.signature if planned.name == SIGNATURE_NAME
                      else instance.module_dir / planned.name)
            assert source is not None
            dest = folder / planned.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, dest)
            except OSError:
                shutil.copyfile(source, dest)
            if sha256_of(dest) != planned.sha256:
                raise PublishError(f"{source} changed since the plan was made; run again")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
