"""Lint configuration: which rules run, at what severity, with which options and suppressions.

The manifest's ``lint:`` section is read once into a frozen ``LintConfig``; command-line flags
override it (``with_overrides``). Every code, option and value is checked against the rule
registry here, so a typo in a manifest is a ManifestError naming rule, option and line instead
of a silently disabled rule. No TensorFlow here.

Selection follows flake8: ``select`` and ``ignore`` hold code prefixes (``HUB``, ``HUB1``,
``HUB102``); when both match a code, the longer prefix wins, and on a tie the code is ignored.
HUB000 (the target could not be loaded) is always reported as an error: it cannot be ignored,
re-levelled, suppressed or baselined.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from hubpub.checks import rules as registry
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.errors import HubpubError, ManifestError, ManifestProblem

__all__ = [
    "LOAD_FAILURE",
    "UNUSED_SUPPRESSION",
    "LintConfig",
    "Suppression",
    "config_from_manifest",
    "parse_lint_section",
    "with_overrides",
]

LOAD_FAILURE = "HUB000"
UNUSED_SUPPRESSION = "HUB001"
# Codes a user may type in select / ignore: "HUB" followed by up to three digits.
CODE_PREFIX = re.compile(r"HUB[0-9]{0,3}")
_LINT_KEYS = ("select", "ignore", "severity", "options", "suppress", "baseline")
_SUPPRESS_KEYS = ("code", "reason", "variant", "signature", "node")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

Locate = Callable[[str], tuple[int, int]]


@dataclass(frozen=True)
class Suppression:
    """One ``lint.suppress`` entry: a code, an optional variant / signature / node, a reason."""

    code: str
    reason: str
    variant: tuple[str, ...] | None = None  # sorted tags
    signature: str | None = None
    node: str | None = None  # exact node name or an fnmatch pattern such as "dropout/*"
    location: Location = field(default_factory=Location)  # the entry in the manifest

    def matches(self, finding: Finding) -> bool:
        loc = finding.location
        if finding.code != self.code:
            return False
        if self.variant is not None and loc.variant != self.variant:
            return False
        if self.signature is not None and loc.signature != self.signature:
            return False
        return self.node is None or (loc.node is not None
                                     and fnmatch.fnmatchcase(loc.node, self.node))

    def describe(self) -> str:
        where = Location(variant=self.variant, signature=self.signature, node=self.node)
        return ", ".join(filter(None, [self.code, where.describe()]))


@dataclass(frozen=True)
class LintConfig:
    """Everything the engine needs to decide policy; rules never see it."""

    select: tuple[str, ...] = ("HUB",)
    ignore: tuple[str, ...] = ()
    severities: Mapping[str, Severity] = field(default_factory=dict)  # code -> configured level
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # code -> user values
    suppressions: tuple[Suppression, ...] = ()
    baseline: Path | None = None

    def is_selected(self, code: str) -> bool:
        """Longest matching prefix wins between select and ignore; a tie ignores."""
        if code == LOAD_FAILURE:
            return True
        selected = _longest_prefix(code, self.select)
        if selected < 0:
            return False
        return selected > _longest_prefix(code, self.ignore)

    def severity(self, rule: ModuleType) -> Severity:
        return self.severities.get(rule.CODE, rule.SEVERITY)

    def options_for(self, rule: ModuleType) -> dict[str, Any]:
        """The rule's defaults updated with the configured values (a fresh dict each call)."""
        return {**rule.DEFAULTS, **self.options.get(rule.CODE, {})}


def _longest_prefix(code: str, prefixes: Iterable[str]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=-1)


# --- the manifest's lint section -------------------------------------------------------------

class LintSource(Protocol):
    """What ``config_from_manifest`` reads of a ``hubpub.manifest.Manifest`` (a layer up)."""

    @property
    def lint(self) -> Mapping[str, Any]: ...

    @property
    def path(self) -> Path: ...

    def location(self, key: str) -> tuple[int, int]: ...


def config_from_manifest(manifest: LintSource) -> LintConfig:
    """Read ``manifest.lint`` (raw dict) into a LintConfig; ManifestError with every problem."""
    return parse_lint_section(manifest.lint or {}, path=str(manifest.path),
                              locate=manifest.location, base_dir=Path(manifest.path).parent)


def parse_lint_section(raw: Mapping[str, Any], *, path: str, locate: Locate,
                       base_dir: Path) -> LintConfig:
    """Check and convert a raw ``lint:`` mapping.

    Args:
        raw: the section as parsed from YAML.
        path: the manifest, for messages.
        locate: dotted manifest key ("lint.suppress.1") -> (line, column).
        base_dir: what a relative ``baseline`` path is relative to.

    Raises:
        ManifestError: listing every problem, each at its manifest line.
    """
    problems: list[ManifestProblem] = []

    def problem(key: str, message: str) -> None:
        line, column = locate(key)
        problems.append(ManifestProblem(path, line, column, message))

    if not isinstance(raw, Mapping):
        problem("lint", "lint must be a mapping with select, ignore, severity, options, "
                        "suppress or baseline")
        raise ManifestError(problems)
    for key in raw:
        if key not in _LINT_KEYS:
            problem(f"lint.{key}", f"lint: unknown key {key!r}; use one of {', '.join(_LINT_KEYS)}")
    config = LintConfig(
        select=_prefixes(raw, "select", problem) or ("HUB",),
        ignore=_prefixes(raw, "ignore", problem),
        severities=_severities(raw.get("severity", {}), problem),
        options=_options(raw.get("options", {}), problem),
        suppressions=_suppressions(raw.get("suppress", []), path, locate, problem),
        baseline=_baseline(raw.get("baseline"), base_dir, problem),
    )
    if problems:
        raise ManifestError(problems)
    return config


def _prefixes(raw: Mapping[str, Any], key: str, problem: Callable[[str, str], None]
              ) -> tuple[str, ...]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problem(f"lint.{key}", f"lint.{key} must be a list of rule codes or prefixes")
        return ()
    out = []
    for i, prefix in enumerate(value):
        message = _prefix_problem(prefix)
        if message:
            problem(f"lint.{key}.{i}", f"lint.{key}: {message}")
        else:
            out.append(prefix)
    return tuple(out)


def _prefix_problem(prefix: Any) -> str | None:
    if not isinstance(prefix, str) or not CODE_PREFIX.fullmatch(prefix):
        return f"{prefix!r} is not a rule code or prefix (HUB followed by up to three digits)"
    if not any(code.startswith(prefix) for code in registry.RULES):
        return f"{prefix!r} matches no rule; `hubpub rules` lists them"
    return None


def _rule_problem(code: Any, *, configurable: bool = True) -> str | None:
    if not isinstance(code, str) or code not in registry.RULES:
        return f"unknown rule {code!r}; `hubpub rules` lists them"
    if configurable and code == LOAD_FAILURE:
        return f"{LOAD_FAILURE} (target could not be loaded) is always an error and cannot be configured"
    return None


def _severities(value: Any, problem: Callable[[str, str], None]) -> dict[str, Severity]:
    if not isinstance(value, Mapping):
        problem("lint.severity", "lint.severity must map rule codes to error or warning")
        return {}
    out = {}
    for code, level in value.items():
        message = _rule_problem(code)
        if message is None:
            try:
                out[code] = Severity.parse(str(level))
            except ValueError as exc:
                message = str(exc)
        if message:
            problem(f"lint.severity.{code}", f"lint.severity: {message}")
    return out


def _options(value: Any, problem: Callable[[str, str], None]) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        problem("lint.options", "lint.options must map rule codes to {option: value}")
        return {}
    out: dict[str, dict[str, Any]] = {}
    for code, settings in value.items():
        key = f"lint.options.{code}"
        message = _rule_problem(code)
        if message:
            problem(key, f"lint.options: {message}")
            continue
        if not isinstance(settings, Mapping):
            problem(key, f"lint.options.{code} must map option names to values")
            continue
        rule = registry.get(code)
        for name, raw_value in settings.items():
            try:
                out.setdefault(code, {})[name] = _checked_option(rule, name, raw_value)
            except ValueError as exc:
                problem(f"{key}.{name}", f"lint.options: {exc}")
    return out


def _checked_option(rule: ModuleType, name: Any, value: Any) -> Any:
    if name not in rule.OPTIONS:
        known = ", ".join(sorted(rule.OPTIONS)) or "none"
        raise ValueError(f"{rule.CODE} has no option {name!r} (its options: {known})")
    kind = rule.OPTIONS[name]
    ok = {
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        bool: isinstance(value, bool),
        str: isinstance(value, str),
        list: isinstance(value, list) and all(isinstance(v, str) for v in value),
    }.get(kind, isinstance(value, kind))
    if not ok:
        raise ValueError(f"{rule.CODE}.{name} must be {_kind_name(kind)}, got {value!r}")
    if kind is float:
        return float(value)
    if kind is list:
        return tuple(value)
    return value


def _kind_name(kind: type) -> str:
    return {float: "a number", int: "an integer", bool: "true or false", str: "a string",
            list: "a list of strings"}.get(kind, kind.__name__)


def _suppressions(value: Any, path: str, locate: Locate,
                  problem: Callable[[str, str], None]) -> tuple[Suppression, ...]:
    if not isinstance(value, list):
        problem("lint.suppress", "lint.suppress must be a list of {code, reason, ...} entries")
        return ()
    out: list[Suppression] = []
    for i, entry in enumerate(value):
        key = f"lint.suppress.{i}"
        if not isinstance(entry, Mapping):
            problem(key, "a suppression must be a mapping with code and reason")
            continue
        found = [f"unknown key {k!r} (use {', '.join(_SUPPRESS_KEYS)})"
                 for k in entry if k not in _SUPPRESS_KEYS]
        code = entry.get("code")
        message = _rule_problem(code)
        if message is None and code == UNUSED_SUPPRESSION:
            message = "HUB001 cannot be suppressed: delete the unused suppression instead"
        if message:
            found.append(message)
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            found.append("a suppression must give a reason (reason: \"why this is fine\")")
        variant = entry.get("variant")
        if variant is not None and not (isinstance(variant, list)
                                        and all(isinstance(t, str) for t in variant)):
            found.append("variant must be a list of tags ([] is the default variant)")
        for name in ("signature", "node"):
            if entry.get(name) is not None and not isinstance(entry[name], str):
                found.append(f"{name} must be a string")
        if found:
            for message in found:
                problem(key, f"lint.suppress[{i}]: {message}")
            continue
        assert isinstance(code, str) and isinstance(reason, str)  # checked above
        line, column = locate(key)
        out.append(Suppression(
            code=code, reason=reason.strip(),
            variant=None if variant is None else tuple(sorted(variant)),
            signature=entry.get("signature"), node=entry.get("node"),
            location=Location(path=path, line=line, column=column)))
    return tuple(out)


def _baseline(value: Any, base_dir: Path, problem: Callable[[str, str], None]) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problem("lint.baseline", "lint.baseline must be a file path relative to the manifest")
        return None
    return base_dir / value


# --- command-line overrides ------------------------------------------------------------------

def with_overrides(config: LintConfig, *, select: Sequence[str] | None = None,
                   ignore: Sequence[str] | None = None, severity: Sequence[str] = (),
                   option: Sequence[str] = (), baseline: Path | None = None) -> LintConfig:
    """Apply --select / --ignore (each replaces the manifest's list), --severity CODE=level,
    --option CODE.name=value and --baseline. HubpubError (exit 2) names the bad flag."""
    changes: dict[str, Any] = {}
    for flag, prefixes in (("select", select), ("ignore", ignore)):
        if prefixes is None:
            continue
        for prefix in prefixes:
            message = _prefix_problem(prefix)
            if message:
                raise HubpubError(f"--{flag}: {message}")
        changes[flag] = tuple(prefixes)
    severities = dict(config.severities)
    for item in severity:
        code, _, level = item.partition("=")
        message = _rule_problem(code) or (None if level else "expected CODE=error|warning")
        if message is None:
            try:
                severities[code] = Severity.parse(level)
            except ValueError as exc:
                message = str(exc)
        if message:
            raise HubpubError(f"--severity {item}: {message}")
    options = {code: dict(values) for code, values in config.options.items()}
    for item in option:
        target, sep, text = item.partition("=")
        code, dot, name = target.partition(".")
        message = None if sep and dot else "expected CODE.option=value"
        message = message or _rule_problem(code)
        if message is None:
            try:
                rule = registry.get(code)
                options.setdefault(code, {})[name] = _checked_option(
                    rule, name, _from_text(text, rule.OPTIONS.get(name, str)))
            except ValueError as exc:
                message = str(exc)
        if message:
            raise HubpubError(f"--option {item}: {message}")
    if baseline is not None:
        changes["baseline"] = baseline
    return replace(config, severities=severities, options=options, **changes)


def _from_text(text: str, kind: type) -> Any:
    """A command-line option value in the option's type."""
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if kind is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"expected {_kind_name(kind)}, got {text!r}") from None
    return text
