"""The manifest: a publisher's YAML file, checked and turned into a frozen ``Manifest``.

Every value keeps its line and column, so each problem (YAML syntax, schema, a missing file)
is reported as ``manifest.yaml:LINE:COL: message``, all of them at once. No TensorFlow here:
a typo must fail in well under a second.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast

import jsonschema

from hubpub.errors import InputError, ManifestError, ManifestProblem
from hubpub.files.inputs import load_json
from hubpub.files.outdir import system_folder_problem
from hubpub.manifest.marked_yaml import KeyPath, Marks, Position, load_marked, read_text
from hubpub.manifest.spdx import license_ids, license_problem

__all__ = [
    "KaggleTarget",
    "Manifest",
    "Previous",
    "Signing",
    "Variant",
    "Weights",
    "load_manifest",
    "problems_as_json",
    "split_callable",
]


# Which weights keys each source uses; the others would be silently ignored, so they are errors.
_WEIGHTS_KEYS = {
    "initializers": {"source"},
    "checkpoint": {"source", "checkpoint", "variable_map", "scope"},
    "training_dir": {"source", "training_dir", "variable_map", "scope"},
    "hook": {"source", "hook"},
}

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
class Previous:
    """The release a manifest's module replaces (``previous:``)."""

    module: str  # a URL, or an absolute path to a module directory or tarball
    shown: str  # as written in the manifest
    breaking_ok: str | None = None  # why breaking its consumers is intended


@dataclass(frozen=True)
class KaggleTarget:
    """A Kaggle model variation to publish to (``publish.kaggle`` or ``--to``)."""

    owner: str
    model: str
    variation: str
    private: bool = True  # visibility of the model when publishing creates it


@dataclass(frozen=True)
class Signing:
    """How a build signs its module directories (``sign:`` or ``build --sign``)."""

    key: Path | None = None  # an elliptic-curve private key (PEM); None: Sigstore keyless
    shown: str = "sigstore"  # as written, for messages

    @property
    def sigstore(self) -> bool:
        return self.key is None


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
    previous: Previous | None = None
    lines: dict[str, Position] = field(default_factory=dict, repr=False)
    # Dotted key -> how a code file or asset it names lies outside ``folder`` (HUB403).
    outside_project: dict[str, str] = field(default_factory=dict)
    tf2: bool = False  # also build the TF2 Reusable SavedModel
    kaggle: KaggleTarget | None = None  # publish.kaggle
    sign: Signing | None = None
    # Python modules whose import registers ops of the module (tensorflow_text).
    requires: list[str] = field(default_factory=list)

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
    text = read_text(path, shown)
    document, loader = load_marked(text, shown)
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


# --- schema ----------------------------------------------------------------------------------


def _load_schema() -> dict[str, Any]:
    return json.loads(resources.files("hubpub.manifest").joinpath("schema.json").read_text("utf-8"))


def _schema_problems(document: dict[str, Any], positions: Mapping[KeyPath, Marks]
                     ) -> Iterator[tuple[Position, str, KeyPath]]:
    """(position, message, path of the bad value) for every schema violation."""
    for error in _Validator(_load_schema()).iter_errors(document):
        yield from _explain(error, positions)


def _explain(error: jsonschema.ValidationError, positions: Mapping[KeyPath, Marks]
             ) -> Iterator[tuple[Position, str, KeyPath]]:
    path = tuple(error.absolute_path)
    label = _label(path)
    hints = error.schema.get("x-messages", {}) if isinstance(error.schema, dict) else {}
    # jsonschema types these "Any | Unset"; a raised error always has them.
    instance: Any = error.instance
    kind, schema, expected = error.validator, cast(Any, error.schema), cast(Any, error.validator_value)

    def anchor(p: KeyPath) -> Position:
        return positions[p].anchor if p in positions else _nearest(p, positions)

    def value(p: KeyPath) -> Position:
        return positions[p].value if p in positions else _nearest(p, positions)

    if kind == "oneOf" and _only_required(expected):
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
        known = sorted(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        for key in instance:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            yield anchor((*path, key)), _unknown_key(key, known, path, hints), (*path, key)
        return
    if kind == "required":
        for key in expected:
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
        by_branch.setdefault(cast(int, sub.relative_schema_path[0]), []).append(sub)
    branches = cast(Any, error.validator_value)
    fitting = [errors for index, errors in by_branch.items()
               if _fits(branches[index], error.instance, errors)]
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


def _exclusive_keys(error: jsonschema.ValidationError, positions: Mapping[KeyPath, Marks]
                    ) -> Iterator[tuple[Position, str, KeyPath]]:
    """oneOf over 'required' branches: exactly one of these keys (module_fn / recipe)."""
    path = tuple(error.absolute_path)
    names = [key for branch in cast(Any, error.validator_value) for key in branch["required"]]
    present = [key for key in names if key in cast(Any, error.instance)]
    if not present:
        where = f"{_label(path)}: " if path else ""
        yield (positions[path].anchor,
               f"{where}missing {_one_of(names, quote=True)}: exactly one of them is needed",
               (*path, names[0]))
        return
    last = max(present, key=lambda k: positions[path + (k,)].anchor)
    yield (positions[path + (last,)].anchor,
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


def _file_problems(document: Mapping[str, Any], positions: Mapping[KeyPath, Marks],
                   folder: Path, bad: set[KeyPath]) -> Iterator[tuple[Position, str]]:
    def ok(path: KeyPath, kind: type = str) -> bool:
        return _get(document, path, kind) is not None and not _under(path, bad)

    def at(path: KeyPath) -> Position:
        return positions[path].value

    callables: list[KeyPath] = [("module_fn",), ("weights", "hook")]
    for path in callables:
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
    previous = _get(document, ("previous",))
    path = ("previous", "module") if isinstance(previous, dict) else ("previous",)
    if ok(path) and not _is_url(_get(document, path)):
        target = folder / _get(document, path)
        if not target.exists():
            yield at(path), (f"{_label(path)}: '{_get(document, path)}' not found: name the "
                             f"released module's directory or .tar.gz (relative to the "
                             f"manifest's folder) or its URL")
    if ok(("docs", "template")):
        problem = _missing(folder, document["docs"]["template"], "docs.template")
        if problem:
            yield at(("docs", "template")), problem
    if ok(("output",)):
        problem = system_folder_problem(folder / document["output"])
        if problem:
            yield at(("output",)), (f"output: {problem}; a build fills it and replaces files "
                                    f"in it, so give a folder of the project such as 'dist'")


def _weights_problems(weights: Mapping[str, Any], positions: Mapping[KeyPath, Marks],
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
        schema = load_json(path, what="schema file")
    except InputError as exc:
        cause = exc.__cause__
        if isinstance(cause, json.JSONDecodeError):
            return (f"{label}: '{path.name}' is not valid JSON "
                    f"(line {cause.lineno}, column {cause.colno}: {cause.msg})")
        return f"{label}: '{path.name}': {exc.detail}"
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


def _variant_problems(document: Mapping[str, Any], positions: Mapping[KeyPath, Marks],
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


def _license_problems(document: Mapping[str, Any], positions: Mapping[KeyPath, Marks],
                      bad: set[KeyPath]) -> Iterator[tuple[Position, str]]:
    path = ("metadata", "license")
    expression = _get(document, path)
    if not isinstance(expression, str) or not expression.strip() or _under(path, bad):
        return
    for license_id in license_ids(expression):
        problem = license_problem(license_id)
        if problem:
            yield positions[path].value, f"metadata.license: {problem}"


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


def _nearest(path: KeyPath, positions: Mapping[KeyPath, Marks]) -> Position:
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
        return f"'{_shortened(value)}'"
    if isinstance(value, (int, float)):
        return _shortened(str(value))
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _shortened(text: str, keep: int = 60) -> str:
    """A value as the message shows it: a 5000-digit number is not printed whole."""
    return text if len(text) <= keep else f"{text[:keep - 20]}... ({len(text)} characters)"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _one_of(choices: Sequence[Any], *, quote: bool = False) -> str:
    words = [f"'{c}'" if quote else str(c) for c in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _lint_problems(document: Mapping[str, Any], positions: Mapping[KeyPath, Marks],
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


def _dotted_lines(positions: Mapping[KeyPath, Marks]) -> dict[str, Position]:
    """``"lint.suppress.1"`` -> (line, column) of that key or item."""
    return {".".join(str(p) for p in key): marks.anchor for key, marks in positions.items() if key}


# --- building the Manifest -------------------------------------------------------------------


def _build(path: Path, document: Mapping[str, Any], positions: Mapping[KeyPath, Marks],
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
        previous=_previous(document.get("previous"), folder),
        lines=lines,
        outside_project=_outside_project(document, folder),
        tf2=bool(document.get("tf2", False)),
        kaggle=_kaggle_target((document.get("publish") or {}).get("kaggle")),
        sign=_signing(document.get("sign"), folder),
        requires=list(document.get("requires") or []),
    )


def _kaggle_target(raw: Any) -> KaggleTarget | None:
    if raw is None:
        return None
    return KaggleTarget(raw["owner"], raw["model"], raw["variation"], raw.get("private", True))


def _signing(raw: Any, folder: Path) -> Signing | None:
    if raw is None:
        return None
    if raw == "sigstore":
        return Signing()
    return Signing((folder / raw["key"]).resolve(), raw["key"])


def _outside_project(document: Mapping[str, Any], folder: Path) -> dict[str, str]:
    """Code files and assets the manifest names outside its folder, and how they get there."""
    named = {key: _get(document, tuple(key.split(".")), str) for key in ("module_fn",
                                                                         "weights.hook")}
    named = {key: ref.rpartition(":")[0] for key, ref in named.items()
             if ref and ref.rpartition(":")[0].endswith(".py")}
    named |= {f"assets.{name}": rel for name, rel in (document.get("assets") or {}).items()}
    out = {}
    for key, written in named.items():
        resolved = (folder / written).resolve()
        if resolved.is_relative_to(folder):
            continue
        if Path(written).is_absolute():
            how = "an absolute path"
        elif not Path(os.path.normpath(folder / written)).is_relative_to(folder):
            how = "'..'"
        else:
            how = "a symbolic link"
        where = "is" if str(resolved) == written else f"is {resolved},"
        out[key] = f"'{written}' {where} outside the manifest's folder {folder} (reached " \
                   f"through {how})"
    return out


def _is_url(value: str) -> bool:
    return re.match(r"^(https?|file)://", value, re.IGNORECASE) is not None


def _previous(raw: Any, folder: Path) -> Previous | None:
    if raw is None:
        return None
    entry = {"module": raw} if isinstance(raw, str) else dict(raw)
    shown = entry["module"]
    module = shown if _is_url(shown) else str((folder / shown).resolve())
    return Previous(module, shown, entry.get("breaking_ok"))


def _absolute(folder: Path, relative: str | None) -> Path | None:
    return None if relative is None else (folder / relative).resolve()
