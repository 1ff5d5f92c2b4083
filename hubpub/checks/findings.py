"""Records the checks produce: severities, locations, hits and findings. No TensorFlow here."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, NamedTuple

from hubpub.spec.view import Location

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
