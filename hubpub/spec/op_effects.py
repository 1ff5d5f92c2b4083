"""What each TensorFlow op touches outside the graph: the reviewed list hubpub runs ops from.

hubpub runs a module only when every op it would run touches no file, network, process or
debug sink. A denylist of dangerous ops trails every TensorFlow release; this is the opposite:
``op_snapshots/op_effects.json`` classifies every op of the shipped registry snapshots, one
entry per op, each read by a person (``"reviewed": true``). An op missing from it, or not yet
reviewed, does not run. ``tools/classify_ops.py`` proposes entries for a new TensorFlow
version; README ("Security") describes the review.

Some ops are safe or not by an attribute (``PrintV2``'s ``output_stream``, ``DecodeProtoV2``'s
``descriptor_source``): their entry lists the attribute values that are safe.

``HUBPUB_OP_EFFECTS`` names another classification file to use instead (to try a review
before it ships).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from hubpub.errors import SpecError

__all__ = ["EFFECTS_ENV", "PURE", "OpEffects", "op_effects"]

EFFECTS_ENV = "HUBPUB_OP_EFFECTS"
PURE = "pure"
# Words a message uses for each effect.
DESCRIPTIONS = {
    "file": "it reads or writes files at run time",
    "network": "it talks to other processes, hosts or devices",
    "process": "it runs code outside the graph or ends the process",
    "debug": "it writes to a debug sink (tfdbg dump files or a gRPC debug server)",
}


@dataclass(frozen=True)
class OpEffects:
    """The reviewed classification: ``effect(node)`` says what a node would touch."""

    source: str
    ops: Mapping[str, Mapping[str, Any]]

    def classified(self, op: str) -> bool:
        """Whether ``op`` has a reviewed entry."""
        entry = self.ops.get(op)
        return entry is not None and entry.get("reviewed") is True

    def effect(self, node: Any) -> tuple[str, str] | None:
        """``node``'s effect (``pure`` or another) and, when an attribute decided it, the
        attribute and its value in words; None when ``node.op`` has no reviewed entry."""
        if not self.classified(node.op):
            return None
        entry = self.ops[node.op]
        for attr, rule in entry.get("attrs", {}).items():
            if attr in node.attr:
                value = _attr_value(node.attr[attr])
                if not _safe(value, rule):
                    return str(rule["effect"]), f" ({attr} {value!r})"
        return str(entry["effect"]), ""


def _attr_value(value: Any) -> str | list[str]:
    """A string or list-of-strings attribute as text (other kinds: their text form)."""
    kind = value.WhichOneof("value")
    if kind == "s":
        return value.s.decode("utf-8", "replace")
    if kind == "list":
        return [s.decode("utf-8", "replace") for s in value.list.s]
    return str(value).strip()


def _safe(value: str | list[str], rule: Mapping[str, Any]) -> bool:
    if value in rule.get("safe", []):
        return True
    return isinstance(value, str) and value.startswith(tuple(rule.get("safe_prefixes", [])))


@lru_cache(maxsize=None)
def _load(path: str | None) -> OpEffects:
    if path is None:
        resource = resources.files("hubpub.spec.op_snapshots").joinpath("op_effects.json")
        text, source = resource.read_text(encoding="utf-8"), "hubpub's reviewed list of ops"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path} (named by {EFFECTS_ENV}): cannot read it: {exc}") from exc
        source = f"the reviewed list of ops in {path}"
    try:
        data = json.loads(text)
        ops = data["ops"]
        if not isinstance(ops, dict):
            raise TypeError("'ops' is not a mapping")
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError(f"{path or 'op_effects.json'}: not an op classification: {exc}") from exc
    return OpEffects(source=source, ops=ops)


def op_effects() -> OpEffects:
    """The classification in use: ``HUBPUB_OP_EFFECTS``'s file, else the shipped one.

    Raises:
        SpecError: the file named by ``HUBPUB_OP_EFFECTS`` cannot be read or parsed.
    """
    return _load(os.environ.get(EFFECTS_ENV) or None)
