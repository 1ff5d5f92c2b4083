"""Records the checks produce: severities, locations, hits and findings. No TensorFlow here."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from hubpub.errors import shortened_name

__all__ = ["Finding", "Hit", "Location", "Severity"]


class Severity(enum.IntEnum):
    """Ordered, so ``max()`` and ``--fail-on`` comparisons just work."""

    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: use 'warning' or 'error'") from None


@dataclass(frozen=True)
class Location:
    """Where a finding points; fill in what is known."""

    path: str | None = None  # manifest, module directory or tarball
    line: int | None = None  # manifest line, or the publisher's source line
    column: int | None = None
    source: str | None = None  # publisher source file, when line refers to it
    variant: tuple[str, ...] | None = None  # sorted tags; () is the default variant
    signature: str | None = None
    node: str | None = None
    member: str | None = None  # tarball member

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if "variant" in out:
            out["variant"] = list(out["variant"])
        return out

    def describe(self) -> str:
        """A short human description: variant, signature, node, member."""
        parts = []
        if self.variant is not None:
            parts.append("variant " + (("{" + ",".join(self.variant) + "}") if self.variant else "{}"))
        if self.signature is not None:
            parts.append(f"signature '{self.signature}'")
        if self.node is not None:
            parts.append(f"node '{self.node}'")
        if self.member is not None:
            parts.append(f"member '{shortened_name(self.member)}'")
        return ", ".join(parts)


class Hit(NamedTuple):
    """What a rule yields: the engine adds code and severity from the configuration."""

    message: str
    location: Location


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    location: Location
    suppressed: str | None = None  # the reason given in the configuration

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path or "", loc.source or "", loc.line or 0, loc.column or 0,
                loc.variant or (), loc.signature or "", loc.node or "", self.code, self.message)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "location": self.location.to_json(),
        }
        if self.suppressed is not None:
            out["suppressed"] = self.suppressed
        return out
