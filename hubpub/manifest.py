"""The manifest: a publisher's YAML file, checked and turned into a frozen ``Manifest``.

Every value keeps its line and column, so each problem (YAML syntax, schema, a missing file)
is reported as ``manifest.yaml:LINE:COL: message``, all of them at once. No TensorFlow here:
a typo must fail in well under a second.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import yaml

from hubpub.errors import ManifestError, ManifestProblem

__all__ = [
    "Manifest",
    "Variant",
    "Weights",
    "load_manifest",
    "problems_as_json",
    "split_callable",
]

KeyPath = tuple[Any, ...]  # str keys and int list indexes, as jsonschema's error.path
Position = tuple[int, int]  # 1-based (line, column)

_YAML = "tag:yaml.org,2002:"
_MAP, _SEQ, _STR, _MERGE = _YAML + "map", _YAML + "seq", _YAML + "str", _YAML + "merge"
_TIMESTAMP = _YAML + "timestamp"
# Guards walks over alias bombs ("billion laughs"); a real manifest has a few hundred values.
_MAX_VALUES = 100_000

# Which weights keys each source uses; the others would be silently ignored, so they are errors.
_WEIGHTS_KEYS = {
    "initializers": {"source"},
    "checkpoint": {"source", "checkpoint", "variable_map", "scope"},
    "training_dir": {"source", "training_dir", "variable_map", "scope"},
    "hook": {"source", "hook"},
}

# Common SPDX license ids (https://spdx.org/licenses/). Ids not listed are accepted when they
# are well formed; only near misses of these are reported.
_SPDX_IDS = (
    "0BSD", "AFL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0",
    "Artistic-2.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear",
    "BSD-4-Clause", "BSL-1.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-4.0",
    "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0",
    "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "EPL-1.0", "EPL-2.0", "EUPL-1.2",
    "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "ISC",
    "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "MIT", "MIT-0",
    "MPL-2.0", "ODbL-1.0", "OFL-1.1", "PDDL-1.0", "PostgreSQL", "Python-2.0", "UPL-1.0",
    "Unlicense", "WTFPL", "Zlib",
)
_SPDX_DEPRECATED = {
    "AGPL-3.0": ("AGPL-3.0-only", "AGPL-3.0-or-later"),
    "GPL-2.0": ("GPL-2.0-only", "GPL-2.0-or-later"),
    "GPL-3.0": ("GPL-3.0-only", "GPL-3.0-or-later"),
    "LGPL-2.1": ("LGPL-2.1-only", "LGPL-2.1-or-later"),
    "LGPL-3.0": ("LGPL-3.0-only", "LGPL-3.0-or-later"),
}
_SPDX_IDSTRING = re.compile(r"[A-Za-z0-9.+-]+")
_SPDX_OPERATORS = {"AND", "OR", "WITH"}

_TYPE_WORDS = {
    "string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
    "object": "a mapping", "array": "a list", "null": "empty",
}

# JSON Schema's "integer" accepts 1.0; a manifest version of 1.0 is a mistake, not a 1.
_TYPE_CHECKER = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool))
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, type_checker=_TYPE_CHECKER)


@dataclass(frozen=True)
class Variant:
    """One graph variant: its tag set (sorted) and the keyword arguments for module_fn."""

    tags: tuple[str, ...]
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Weights:
    """Where the variables' values come from. Paths are absolute; ``hook`` is as written."""

    source: str = "initializers"
    checkpoint: Path | None = None
    training_dir: Path | None = None
    variable_map: dict[str, str] = field(default_factory=dict)  # module var -> checkpoint key
    scope: str | None = None
    hook: str | None = None


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. Paths are absolute, except ``path`` (as the user gave it)."""

    path: Path
    handle: str
    publisher: str
    name: str
    version: int
    module_fn: str | None
    recipe: dict[str, Any] | None
    variants: list[Variant]
    signatures: dict[str, str | dict[str, Path]]
    weights: Weights
    assets: dict[str, Path]
    training_sources: list[Path]
    metadata: dict[str, Any]
    lint: dict[str, Any]
    docs: dict[str, Any]
    output: Path
    lines: dict[str, Position] = field(default_factory=dict, repr=False)

    @property
    def folder(self) -> Path:
        """The absolute folder of the manifest: relative paths in it start here."""
        return self.path.resolve().parent

    def location(self, key: str) -> Position:
        """(line, column) of a dotted key like ``lint.suppress.1``, else of its nearest parent."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0]
        return (1, 1)


def split_callable(ref: str, folder: Path) -> tuple[Path | str, str]:
    """Split ``file.py:fn`` into (absolute file, fn) or ``pkg.mod:fn`` into ("pkg.mod", fn)."""
    target, _, function = ref.rpartition(":")
    if target.endswith(".py"):
        return (folder / target).resolve(), function
    return target, function


def problems_as_json(error: ManifestError) -> list[dict[str, Any]]:
    """The problems of a ManifestError as plain dicts (keys: path, line, column, message)."""
    return [{"path": p.path, "line": p.line, "column": p.column, "message": p.message}
            for p in error.problems]


def load_manifest(path: str | Path) -> Manifest:
    """Read, validate and resolve a manifest.

    Raises:
        ManifestError: with every problem found, each with its line and column.
    """
    shown = str(path)
    path = Path(path)
    text = _read_text(path, shown)
    try:
        loader = _MarkedLoader(text)
        try:
            document = loader.load_marked()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ManifestError([_yaml_problem(shown, text, exc)]) from None
    positions = loader.positions
    if document is None:
        raise ManifestError([ManifestProblem(
            shown, 1, 1, "the manifest is empty: it needs at least 'module' and 'module_fn'")])
    if not isinstance(document, dict):
        line, col = positions[()].value
        raise ManifestError([ManifestProblem(
            shown, line, col,
            f"the manifest must be a mapping of keys to values, not {_describe(document)}")])

    found = list(loader.problems)
    bad_paths = set(loader.invalid)
    for at, message, bad in _schema_problems(document, positions):
        if not _under(bad, loader.invalid):
            found.append((at, message))
            bad_paths.add(bad)
    folder = path.resolve().parent
    found.extend(_file_problems(document, positions, folder, bad_paths))
    found.extend(_variant_problems(document, positions, bad_paths))
    found.extend(_license_problems(document, positions, bad_paths))
    found.extend(_lint_problems(document, positions, folder, shown, bad_paths))
    if found:
        raise ManifestError([ManifestProblem(shown, line, col, message)
                             for (line, col), message in sorted(set(found))])
    return _build(path, document, positions, folder)


# --- reading YAML with positions -------------------------------------------------------------


class _Marks(NamedTuple):
    """Where a value is: ``anchor`` is its key (or list item), ``value`` the value itself."""

    anchor: Position
    value: Position


def _position(mark: yaml.Mark) -> Position:
    return (mark.line + 1, mark.column + 1)


class _MarkedLoader(yaml.SafeLoader):
    """A safe loader that builds plain values and remembers where each one is.

    PyYAML's constructor forgets positions and silently keeps the last of two equal keys, so
    this walks the composed node tree itself. Only plain mappings, lists and scalars are built;
    any other tag (``!!python/object`` and friends) is refused, never constructed.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.positions: dict[KeyPath, _Marks] = {}
        self.problems: list[tuple[Position, str]] = []
        self.invalid: set[KeyPath] = set()  # values replaced by None after a problem
        self._budget = _MAX_VALUES
        self._open: set[int] = set()  # nodes being walked, to catch recursive aliases

    def load_marked(self) -> Any:
        root = self.get_single_node()
        if root is None:
            return None
        self.positions[()] = _Marks((1, 1), _position(root.start_mark))
        return self._walk(root, ())

    def _refuse(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        self.problems.append((_position(node.start_mark), message))
        self.invalid.add(path)

    def _walk(self, node: yaml.Node, path: KeyPath) -> Any:
        self._budget -= 1
        if self._budget < 0:
            raise yaml.YAMLError(f"the manifest expands to more than {_MAX_VALUES} values "
                                 "(YAML aliases nested too deeply?)")
        if id(node) in self._open:
            return self._refuse(node, path, "this value contains an alias of itself; "
                                            "manifests cannot be recursive")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        expected = _MAP if isinstance(node, yaml.MappingNode) else _SEQ
        if node.tag != expected:
            return self._refuse(node, path, _tag_message(node.tag))
        self._open.add(id(node))
        try:
            if expected == _SEQ:
                return self._sequence(node, path)
            return self._mapping(node, path)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        # An explicit tag must agree with what the plain value means ('!!int abc' does not).
        implicit = self.resolve(yaml.ScalarNode, node.value, (True, False))
        if node.tag not in (implicit, _STR):
            return self._refuse(node, path, _tag_message(node.tag))
        if node.tag == _TIMESTAMP:  # dates mean nothing in a manifest: keep the text
            return node.value
        return self.construct_object(node)

    def _sequence(self, node: yaml.SequenceNode, path: KeyPath) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            at = _position(item.start_mark)
            self.positions[(*path, index)] = _Marks(at, at)
            items.append(self._walk(item, (*path, index)))
        return items

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        # '<<' merges: explicit keys win, and earlier merged mappings win over later ones.
        for key_node, value_node in reversed(node.value):
            if key_node.tag == _MERGE:
                merged.update(self._merge(value_node, path))
        result: dict[str, Any] = {}
        first_seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._key(key_node)
            if key is None:
                continue
            at = _position(key_node.start_mark)
            if key in first_seen:
                self.problems.append((at, f"duplicate key '{key}' (first defined at line "
                                          f"{first_seen[key][0]}); keep only one"))
                continue
            first_seen[key] = at
            self.positions[(*path, key)] = _Marks(at, _position(value_node.start_mark))
            result[key] = self._walk(value_node, (*path, key))
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def _merge(self, node: yaml.Node, path: KeyPath) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                self.problems.append((_position(source.start_mark),
                                      "'<<' can only merge a mapping or a list of mappings"))
                continue
            merged.update(self._walk(source, path) or {})
        return merged

    def _key(self, node: yaml.Node) -> str | None:
        """The key as a string, or None after reporting why it cannot be one."""
        at = _position(node.start_mark)
        if not isinstance(node, yaml.ScalarNode):
            self.problems.append((at, "a key must be a plain string, not a list or mapping"))
            return None
        if node.tag == _STR:
            return node.value
        implicit = self.resolve(yaml.ScalarNode, node.value, (True, False))
        if node.tag != implicit:
            self.problems.append((at, _tag_message(node.tag)))
        else:
            meaning = self.construct_object(node)
            if meaning is None or isinstance(meaning, bool):
                meaning = str(meaning).lower().replace("none", "null")
            else:
                meaning = "a number" if isinstance(meaning, (int, float)) else "a date"
            self.problems.append((at, f"key {node.value} is read as {meaning} by YAML; "
                                      f"quote it (\"{node.value}\") to use it as a name"))
        return None


def _tag_message(tag: str) -> str:
    shown = "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag
    return (f"YAML tag '{shown}' is not allowed in a manifest: use plain strings, numbers, "
            "true/false, lists and mappings")


def _read_text(path: Path, shown: str) -> str:
    def fail(line: int, col: int, message: str) -> ManifestError:
        return ManifestError([ManifestProblem(shown, line, col, message)])

    if path.is_dir():
        raise fail(1, 1, "is a directory; pass the manifest file, e.g. "
                         f"{path / 'manifest.yaml'}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise fail(1, 1, f"cannot read the manifest: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line, col = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        raise fail(line, col, "the manifest is not UTF-8 text") from None


def _yaml_problem(shown: str, text: str, exc: yaml.YAMLError) -> ManifestProblem:
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[:exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        character = (f"U+{exc.character:04X}" if isinstance(exc.character, int)
                     else repr(exc.character))
        return ManifestProblem(shown, line, col,
                               f"invalid YAML: character {character} is not allowed")
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ManifestProblem(shown, 1, 1, f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    line, col = _position(mark) if mark else (1, 1)
    problem, context = exc.problem or "", exc.context or ""
    if context and problem.startswith("but "):  # "expected a single document ..., but found ..."
        message = f"{context}, {problem}"
    elif context and exc.context_mark and exc.context_mark is not mark:
        message = f"{problem} ({context} at line {exc.context_mark.line + 1})"
    else:
        message = problem or context
    if "'\\t'" in problem:
        message += "; indent with spaces, not tabs"
    return ManifestProblem(shown, line, col, f"invalid YAML: {message}")


# --- schema ----------------------------------------------------------------------------------


def _load_schema() -> dict[str, Any]:
    return json.loads(resources.files("hubpub").joinpath("manifest.schema.json").read_text("utf-8"))


def _schema_problems(document: dict[str, Any], positions: Mapping[KeyPath, _Marks]
                     ) -> Iterator[tuple[Position, str, KeyPath]]:
    """(position, message, path of the bad value) for every schema violation."""
    for error in _Validator(_load_schema()).iter_errors(document):
        yield from _explain(error, positions)


def _explain(error: jsonschema.ValidationError, positions: Mapping[KeyPath, _Marks]
             ) -> Iterator[tuple[Position, str, KeyPath]]:
    path = tuple(error.absolute_path)
    label = _label(path)
    hints = error.schema.get("x-messages", {}) if isinstance(error.schema, dict) else {}
    instance, kind = error.instance, error.validator

    def anchor(p: KeyPath) -> Position:
        return positions[p].anchor if p in positions else _nearest(p, positions)

    def value(p: KeyPath) -> Position:
        return positions[p].value if p in positions else _nearest(p, positions)

    if kind == "oneOf" and _only_required(error.validator_value):
        yield from _exclusive_keys(error, positions)
        return
    if kind in ("anyOf", "oneOf"):
        branch = _fitting_branch(error)
        best = jsonschema.exceptions.best_match([error])
        if branch or best is not error:
            for sub in branch or [best]:
                yield from _explain(sub, positions)
            return
    if "propertyNames" in error.absolute_schema_path:
        # The instance is the offending key itself; jsonschema keeps the parent as the path.
        key_path = (*path, instance)
        phrase = hints.get(kind) or _default_phrase(error)
        yield anchor(key_path), f"{label}: key '{instance}' {phrase}", key_path
        return
    if kind == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        for key in instance:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            yield anchor((*path, key)), _unknown_key(key, known, path, hints), (*path, key)
        return
    if kind == "required":
        for key in error.validator_value:
            if key not in instance:
                hint = hints.get(f"required:{key}")
                where = "" if not path else f"{label}: "
                message = f"{where}missing required key '{key}'"
                yield anchor(path), (f"{message} ({hint})" if hint else message), (*path, key)
        return
    if kind == "uniqueItems":
        seen: list[Any] = []
        for index, item in enumerate(instance):
            if item in seen:
                yield (value((*path, index)),
                       f"{label} lists {_describe(item)} more than once", (*path, index))
                return
            seen.append(item)
    hint = hints.get(kind)
    if not hint:
        yield value(path), f"{label} {_default_phrase(error)}", path
    elif kind == "pattern":
        yield value(path), f"{label} {_describe(instance)} {hint}", path
    elif kind in ("type", "enum", "const", "minimum", "anyOf", "oneOf"):
        yield value(path), f"{label} {hint}, not {_describe(instance)}", path
    else:
        yield value(path), f"{label} {hint}", path


def _fitting_branch(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The errors of the one anyOf/oneOf branch meant for this kind of value, if just one is.

    A string claim and a {schema: ...} mapping are different branches; best_match cannot tell
    which one the user meant when both fail at the same depth, but the value's type can.
    """
    by_branch: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context or []:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [errors for index, errors in by_branch.items()
               if _fits(error.validator_value[index], error.instance, errors)]
    return fitting[0] if len(fitting) == 1 else []


def _fits(branch: Any, instance: Any, errors: Sequence[jsonschema.ValidationError]) -> bool:
    if any(e.validator == "type" and not e.relative_path for e in errors):
        return False
    if isinstance(branch, dict) and "enum" in branch:
        return any(type(choice) is type(instance) for choice in branch["enum"])
    return True


def _default_phrase(error: jsonschema.ValidationError) -> str:
    kind, instance, expected = error.validator, error.instance, error.validator_value
    got = _describe(instance)
    if kind == "type":
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in _as_list(expected))
        return f"must be {words}, not {got}"
    if kind in ("enum", "const"):
        choices = _as_list(expected)
        message = f"must be {_one_of(choices)}, not {got}"
        close = difflib.get_close_matches(str(instance), [str(c) for c in choices], n=1)
        return f"{message} (did you mean '{close[0]}'?)" if close else message
    if kind == "minimum":
        return f"must be at least {expected}, not {got}"
    if kind in ("minLength", "minItems", "minProperties"):
        return "must not be empty"
    if kind == "pattern":
        return f"{got} does not match the pattern {expected}"
    if kind == "anyOf":
        return f"is {got}, which matches none of the allowed forms"
    return error.message


def _only_required(branches: Sequence[Any]) -> bool:
    return all(isinstance(b, dict) and set(b) == {"required"} for b in branches)


def _exclusive_keys(error: jsonschema.ValidationError, positions: Mapping[KeyPath, _Marks]
                    ) -> Iterator[tuple[Position, str, KeyPath]]:
    """oneOf over 'required' branches: exactly one of these keys (module_fn / recipe)."""
    path = tuple(error.absolute_path)
    names = [key for branch in error.validator_value for key in branch["required"]]
    present = [key for key in names if key in error.instance]
    if not present:
        where = f"{_label(path)}: " if path else ""
        yield (positions[path].anchor,
               f"{where}missing {_one_of(names, quote=True)}: exactly one of them is needed",
               (*path, names[0]))
        return
    last = max(present, key=lambda k: positions[(*path, k)].anchor)
    yield (positions[(*path, last)].anchor,
           f"{' and '.join(repr(k) for k in present)} are both set: keep only one", (*path, last))


def _unknown_key(key: str, known: Sequence[str], path: KeyPath, hints: Mapping[str, str]) -> str:
    message = f"unknown key '{key}'"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"{message} (did you mean '{close[0]}'?)"
    if not path:  # a section's key written at the top level, e.g. 'license:'
        owner = _section_of(key)
        if owner:
            return f"{message} (it belongs under '{owner}')"
    hint = hints.get("additionalProperties")
    expected = f"expected one of: {', '.join(known)}" if known else "no keys are allowed here"
    return f"{message}; {expected}" + (f" ({hint})" if hint else "")


def _section_of(key: str) -> str | None:
    properties = _load_schema()["properties"]
    for section, schema in properties.items():
        if key in schema.get("properties", {}):
            return section
    return None


# --- checks that need the file system or several values --------------------------------------


def _file_problems(document: Mapping[str, Any], positions: Mapping[KeyPath, _Marks],
                   folder: Path, bad: set[KeyPath]) -> Iterator[tuple[Position, str]]:
    def ok(path: KeyPath, kind: type = str) -> bool:
        return _get(document, path, kind) is not None and not _under(path, bad)

    def at(path: KeyPath) -> Position:
        return positions[path].value

    for path in [("module_fn",), ("weights", "hook")]:
        if ok(path) and _get(document, path).rpartition(":")[0].endswith(".py"):
            problem = _missing(folder, _get(document, path).rpartition(":")[0], _label(path))
            if problem:
                yield at(path), problem
    if ok(("weights",), dict):
        yield from _weights_problems(document["weights"], positions, folder, bad)
    for section in ("assets", "signatures"):
        for name, entry in (_get(document, (section,), dict) or {}).items():
            path = (section, name, "schema") if section == "signatures" else (section, name)
            if ok(path):
                problem = _missing(folder, _get(document, path), _label(path))
                if problem is None and section == "signatures":
                    problem = _schema_file_problem(folder / entry["schema"], _label(path))
                if problem:
                    yield at(path), problem
    for index, _source in enumerate(_get(document, ("training_sources",), list) or []):
        path = ("training_sources", index)
        if ok(path):
            problem = _missing(folder, _get(document, path), _label(path))
            if problem:
                yield at(path), problem
    if ok(("docs", "template")):
        problem = _missing(folder, document["docs"]["template"], "docs.template")
        if problem:
            yield at(("docs", "template")), problem


def _weights_problems(weights: Mapping[str, Any], positions: Mapping[KeyPath, _Marks],
                      folder: Path, bad: set[KeyPath]) -> Iterator[tuple[Position, str]]:
    source = weights.get("source")
    if source not in _WEIGHTS_KEYS or _under(("weights", "source"), bad):
        return
    for key in weights:
        if key not in _WEIGHTS_KEYS[source] and not _under(("weights", key), bad):
            yield (positions[("weights", key)].anchor,
                   f"weights.{key} is not used with 'source: {source}'; remove it or change "
                   "the source")
    checkpoint, training_dir = weights.get("checkpoint"), weights.get("training_dir")
    if source == "checkpoint" and isinstance(checkpoint, str):
        problem = _checkpoint_problem(folder, checkpoint)
        if problem and not _under(("weights", "checkpoint"), bad):
            yield positions[("weights", "checkpoint")].value, problem
    if source == "training_dir" and isinstance(training_dir, str):
        problem = _training_dir_problem(folder, training_dir)
        if problem and not _under(("weights", "training_dir"), bad):
            yield positions[("weights", "training_dir")].value, problem


def _checkpoint_problem(folder: Path, prefix: str) -> str | None:
    target = folder / prefix
    if target.is_dir():
        return (f"weights.checkpoint: '{prefix}' is a directory; name a checkpoint prefix such "
                f"as {prefix.rstrip('/')}/model.ckpt-1000, or use 'source: training_dir'")
    if target.with_name(target.name + ".index").is_file() or target.is_file():
        return None
    return (f"weights.checkpoint: no checkpoint '{prefix}' (expected the file "
            f"'{prefix}.index' next to the manifest's folder)")


def _training_dir_problem(folder: Path, directory: str) -> str | None:
    target = folder / directory
    if not target.is_dir():
        return _missing(folder, directory, "weights.training_dir", directory=True)
    if not any(target.glob("*.index")):
        return f"weights.training_dir: '{directory}' holds no checkpoint (no *.index file)"
    return None


def _schema_file_problem(path: Path, label: str) -> str | None:
    try:
        schema = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return f"{label}: cannot read '{path.name}': {exc}"
    except json.JSONDecodeError as exc:
        return (f"{label}: '{path.name}' is not valid JSON "
                f"(line {exc.lineno}, column {exc.colno}: {exc.msg})")
    if not isinstance(schema, dict):
        return f"{label}: '{path.name}' must hold a JSON Schema object, not {_describe(schema)}"
    try:
        jsonschema.validators.validator_for(schema, default=_Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"{label}: '{path.name}' is not a valid JSON Schema: {exc.message}"
    return None


def _missing(folder: Path, relative: str, label: str, *, directory: bool = False) -> str | None:
    """A message when ``folder/relative`` is not an existing file (or directory)."""
    target = folder / relative
    if target.is_dir() if directory else target.is_file():
        return None
    kind = "directory" if directory else "file"
    if not directory and target.is_dir():
        return f"{label}: '{relative}' is a directory, not a file"
    message = f"{label}: {kind} '{relative}' not found"
    siblings = [p.name for p in target.parent.iterdir()] if target.parent.is_dir() else []
    close = difflib.get_close_matches(target.name, siblings, n=1, cutoff=0.7)
    if close:
        suggestion = str(Path(relative).with_name(close[0]))
        return f"{message} (did you mean '{suggestion}'?)"
    return f"{message} (paths are relative to the manifest's folder)"


def _variant_problems(document: Mapping[str, Any], positions: Mapping[KeyPath, _Marks],
                      bad: set[KeyPath]) -> Iterator[tuple[Position, str]]:
    first: dict[frozenset[str], int] = {}
    for index in range(len(_get(document, ("variants",), list) or [])):
        path = ("variants", index, "tags")
        tags = _get(document, path, list)
        if tags is None or _under(path, bad) or not all(isinstance(t, str) for t in tags):
            continue
        key = frozenset(tags)
        if key not in first:
            first[key] = index
            continue
        other_line = positions[("variants", first[key])].anchor[0]
        if key:
            message = (f"variants[{index}] has the same tags as variants[{first[key]}] "
                       f"(line {other_line}); each variant needs its own tag set")
        else:
            message = (f"variants[{index}] has no tags, like variants[{first[key]}] (line "
                       f"{other_line}); only one variant can be the default (tags: [])")
        yield positions[path].value, message


def _license_problems(document: Mapping[str, Any], positions: Mapping[KeyPath, _Marks],
                      bad: set[KeyPath]) -> Iterator[tuple[Position, str]]:
    path = ("metadata", "license")
    expression = _get(document, path)
    if not isinstance(expression, str) or not expression.strip() or _under(path, bad):
        return
    for license_id in _license_ids(expression):
        problem = _license_problem(license_id)
        if problem:
            yield positions[path].value, f"metadata.license: {problem}"


def _license_ids(expression: str) -> Iterator[str]:
    """License ids of an SPDX expression ('MIT OR Apache-2.0'); exception ids are skipped.

    Free text such as 'Apache License 2.0' comes back whole, so it can be matched as one id.
    """
    words = expression.replace("(", " ").replace(")", " ").split()
    if not any(word in _SPDX_OPERATORS for word in words):
        yield expression.strip()
        return
    after_with = False
    for word in words:
        if word not in _SPDX_OPERATORS and not after_with:
            yield word
        after_with = word == "WITH"


def _license_problem(license_id: str) -> str | None:
    if license_id in _SPDX_IDS or license_id.startswith(("LicenseRef-", "DocumentRef-")):
        return None
    if license_id.rstrip("+") in _SPDX_DEPRECATED:
        choices = _SPDX_DEPRECATED[license_id.rstrip("+")]
        return f"'{license_id}' is a deprecated SPDX id; use {_one_of(choices, quote=True)}"
    wanted = _license_key(license_id)
    exact = [known for known in _SPDX_IDS if _license_key(known) == wanted]
    # An abbreviation ('Apache2', 'BSD-3') names a longer id; a longer unknown id may be real.
    close = exact or [known for known in _SPDX_IDS
                      if wanted and _license_key(known).startswith(wanted)]
    if not close and not _SPDX_IDSTRING.fullmatch(license_id):
        keys = {_license_key(known): known for known in _SPDX_IDS}
        close = [keys[k] for k in difflib.get_close_matches(wanted, list(keys), n=1, cutoff=0.6)]
    if close:
        return (f"'{license_id}' is not an SPDX license id "
                f"(did you mean {_one_of(close[:3], quote=True)}?)")
    if _SPDX_IDSTRING.fullmatch(license_id):
        return None  # well formed, just not in our short list
    return (f"'{license_id}' is not an SPDX license id such as 'Apache-2.0' or 'MIT' "
            "(see https://spdx.org/licenses/; use 'LicenseRef-<name>' for your own license)")


def _license_key(text: str) -> str:
    """Lowercase letters and digits only, without 'license' and 'version' words."""
    key = re.sub(r"licen[cs]e|version|\bv(?=\d)", "", text.lower())
    return re.sub(r"[^a-z0-9]", "", key)


# --- small helpers ---------------------------------------------------------------------------


def _get(document: Any, path: KeyPath, kind: type | None = None) -> Any:
    """The value at ``path``, or None when it is absent or (with ``kind``) of another type."""
    for part in path:
        if isinstance(document, dict) and isinstance(part, str):
            document = document.get(part)
        elif isinstance(document, list) and isinstance(part, int) and part < len(document):
            document = document[part]
        else:
            return None
    if kind is not None and not isinstance(document, kind):
        return None
    return document


def _under(path: KeyPath, bad: set[KeyPath]) -> bool:
    """True when ``path`` or one of its parents holds a value already reported as wrong."""
    return any(path[:n] in bad for n in range(len(path) + 1))


def _nearest(path: KeyPath, positions: Mapping[KeyPath, _Marks]) -> Position:
    while path not in positions:
        path = path[:-1]
    return positions[path].anchor


def _label(path: KeyPath) -> str:
    """'variants[0].tags' for ("variants", 0, "tags"); 'the manifest' for the root."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the manifest"


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _one_of(choices: Sequence[Any], *, quote: bool = False) -> str:
    words = [f"'{c}'" if quote else str(c) for c in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _lint_problems(document: Mapping[str, Any], positions: Mapping[KeyPath, _Marks],
                   folder: Path, shown: str, bad: set[KeyPath]) -> list[tuple[Position, str]]:
    """Rule codes and options of ``lint:`` checked against the rule registry (no TensorFlow),
    so they are reported together with every other problem. Parts of the section that the
    schema already rejected are left out, so nothing is reported twice."""
    from hubpub.checks.config import parse_lint_section

    section = document.get("lint")
    if not isinstance(section, dict) or ("lint",) in bad:
        return []
    raw = {key: value for key, value in section.items()
           if not any(b[:2] == ("lint", key) for b in bad)}
    lines = _dotted_lines(positions)

    def locate(key: str) -> Position:
        while key and key not in lines:
            key = key.rpartition(".")[0]
        return lines.get(key, (1, 1))

    try:
        parse_lint_section(raw, path=shown, locate=locate, base_dir=folder)
    except ManifestError as exc:
        return [((p.line, p.column), p.message) for p in exc.problems]
    return []


def _dotted_lines(positions: Mapping[KeyPath, _Marks]) -> dict[str, Position]:
    """``"lint.suppress.1"`` -> (line, column) of that key or item."""
    return {".".join(str(p) for p in key): marks.anchor for key, marks in positions.items() if key}


# --- building the Manifest -------------------------------------------------------------------


def _build(path: Path, document: Mapping[str, Any], positions: Mapping[KeyPath, _Marks],
           folder: Path) -> Manifest:
    handle = document["module"]["handle"]
    publisher, _, name = handle.partition("/")
    variants = [Variant(tuple(sorted(v["tags"])), dict(v.get("args") or {}))
                for v in document.get("variants") or [{"tags": []}]]
    signatures = {
        key: {"schema": (folder / claim["schema"]).resolve()} if isinstance(claim, dict) else claim
        for key, claim in (document.get("signatures") or {}).items()
    }
    raw_weights = document.get("weights") or {}
    weights = Weights(
        source=raw_weights.get("source", "initializers"),
        checkpoint=_absolute(folder, raw_weights.get("checkpoint")),
        training_dir=_absolute(folder, raw_weights.get("training_dir")),
        variable_map=dict(raw_weights.get("variable_map") or {}),
        scope=raw_weights.get("scope"),
        hook=raw_weights.get("hook"),
    )
    lines = _dotted_lines(positions)
    return Manifest(
        path=path,
        handle=handle,
        publisher=publisher,
        name=name,
        version=document["module"]["version"],
        module_fn=document.get("module_fn"),
        recipe=dict(document["recipe"]) if "recipe" in document else None,
        variants=variants,
        signatures=signatures,
        weights=weights,
        assets={key: (folder / rel).resolve()
                for key, rel in (document.get("assets") or {}).items()},
        training_sources=[(folder / rel).resolve()
                          for rel in document.get("training_sources") or []],
        metadata=dict(document.get("metadata") or {}),
        lint=dict(document.get("lint") or {}),
        docs=dict(document.get("docs") or {}),
        output=(folder / document.get("output", "dist")).resolve(),
        lines=lines,
    )


def _absolute(folder: Path, relative: str | None) -> Path | None:
    return None if relative is None else (folder / relative).resolve()
