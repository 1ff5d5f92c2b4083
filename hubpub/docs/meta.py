"""What a docs page says about a module beyond its graphs: identity, description, license, ...

The values come from the manifest, or from command-line flags when documenting a module that
has no manifest. Whatever is unknown becomes a placeholder that ``hubpub docs --check`` flags,
so a page with missing metadata cannot pass CI by accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

__all__ = ["PLACEHOLDER", "DocMeta", "find_placeholders"]

# Every placeholder starts with this; --check searches for it.
PLACEHOLDER = "TODO(hubpub)"

_HANDLE_RE = re.compile(
    r"^(?P<publisher>[a-z0-9][a-z0-9_-]*)/(?P<name>[a-z0-9][a-z0-9._/-]*?)(?:/(?P<version>\d+))?$")


def _todo(what: str) -> str:
    return f"{PLACEHOLDER}: {what}"


class ManifestFields(Protocol):
    """What docs read of a ``hubpub.manifest.Manifest`` (docs sit a layer below it)."""

    @property
    def path(self) -> Path: ...
    @property
    def publisher(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...
    @property
    def docs(self) -> Mapping[str, Any]: ...
    @property
    def signatures(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class DocMeta:
    """Metadata of one module version, as the docs templates see it (``module`` there)."""

    publisher: str | None = None
    name: str | None = None
    version: int | None = None
    description: str | None = None
    license: str | None = None
    fine_tunable: bool | None = None
    task: str | None = None
    dataset: str | None = None
    architecture: str | None = None
    language: str | None = None
    learning_rate_note: str | None = None
    asset_path: str | None = None  # URL of the tarball (tfhub format)
    kaggle_instance: str | None = None  # Kaggle instance slug
    claims: Mapping[str, str] = field(default_factory=dict)  # signature -> common signature
    template: Path | None = None  # the publisher's own Jinja2 template

    @classmethod
    def from_manifest(cls, manifest: ManifestFields) -> DocMeta:
        """Read a ``hubpub.manifest.Manifest`` (only these attributes are read)."""
        md = dict(manifest.metadata or {})
        docs = dict(manifest.docs or {})
        claims = {}
        for sig, claim in sorted((manifest.signatures or {}).items()):
            if isinstance(claim, Mapping):  # {"schema": Path}: the publisher's own schema
                claims[sig] = f"{Path(claim['schema']).name} (publisher schema)"
            else:
                claims[sig] = str(claim)
        template = docs.get("template")
        if template is not None:
            template = Path(manifest.path).parent / template
        return cls(
            publisher=manifest.publisher, name=manifest.name, version=int(manifest.version),
            description=md.get("description"), license=md.get("license"),
            fine_tunable=md.get("fine_tunable"), task=md.get("task"),
            dataset=md.get("dataset"), architecture=md.get("architecture"),
            language=md.get("language"), learning_rate_note=md.get("learning_rate_note"),
            asset_path=docs.get("asset_path"), kaggle_instance=docs.get("kaggle_instance"),
            claims=claims, template=template,
        )

    @classmethod
    def from_handle(cls, handle: str | None, **values: Any) -> DocMeta:
        """Metadata from flags; ``handle`` is ``publisher/name[/version]``.

        Raises:
            ValueError: the handle is not of that form (the CLI turns it into a usage error).
        """
        publisher = name = version = None
        if handle:
            match = _HANDLE_RE.match(handle)
            if not match:
                raise ValueError(f"handle {handle!r} is not publisher/name[/version] "
                                 f"(lower-case letters, digits, '_', '-', '.')")
            publisher, name = match["publisher"], match["name"]
            version = int(match["version"]) if match["version"] else None
        return cls(publisher=publisher, name=name, version=version, **values)

    def updated(self, **values: Any) -> DocMeta:
        """A copy with the given values replaced; ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def for_page(self) -> dict[str, Any]:
        """The values templates show, with placeholders for what is unknown."""
        return {
            "publisher": self.publisher or _todo("publisher (pass --handle publisher/name/1)"),
            "name": self.name or _todo("name (pass --handle publisher/name/1)"),
            "version": self.version if self.version is not None else _todo("version"),
            "handle": f"{self.publisher}/{self.name}" if self.publisher and self.name
            else _todo("publisher/name (pass --handle)"),
            "description": (self.description or "").strip()
            or _todo("describe the module (metadata.description or --description)"),
            "license": self.license or _todo("SPDX license id (metadata.license or --license)"),
            "fine_tunable": self.fine_tunable,
            "fine_tunable_text": _todo("fine-tunable? (metadata.fine_tunable or --fine-tunable)")
            if self.fine_tunable is None else str(bool(self.fine_tunable)).lower(),
            "task": self.task or _todo("task (metadata.task or --task)"),
            "dataset": self.dataset,
            "architecture": self.architecture,
            "language": self.language,
            "learning_rate_note": self.learning_rate_note,
            "asset_path": self.asset_path
            or _todo("URL of the .tar.gz (docs.asset_path or --asset-path)"),
            "kaggle_instance": self.kaggle_instance or "default",
            "claims": dict(self.claims),
        }


def find_placeholders(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every placeholder left in a generated page."""
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1)
            if PLACEHOLDER in line]
