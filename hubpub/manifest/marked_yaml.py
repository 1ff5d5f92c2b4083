"""Reading YAML with the line and column of every key, value and list item.

PyYAML's safe loader drops positions once a document is built; manifests need them for
``file:line:col`` messages. This loader also refuses what a manifest never needs (Python
tags, alias bombs, duplicate keys) instead of silently accepting it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import yaml

from hubpub.errors import InputError, ManifestError, ManifestProblem
from hubpub.files.inputs import MANIFEST, decode_utf8, read_input

__all__ = ["MAX_DEPTH", "KeyPath", "MarkedLoader", "Marks", "Position", "load_marked", "read_text",
           "yaml_problem"]

KeyPath = tuple[Any, ...]  # str keys and int list indexes, as jsonschema's error.path
Position = tuple[int, int]  # 1-based (line, column)

_YAML = "tag:yaml.org,2002:"
_MAP, _SEQ, _STR, _MERGE = _YAML + "map", _YAML + "seq", _YAML + "str", _YAML + "merge"
_TIMESTAMP = _YAML + "timestamp"
# Guards walks over alias bombs ("billion laughs"); a real manifest has a few hundred values.
_MAX_VALUES = 100_000


class Marks(NamedTuple):
    """Where a value is: ``anchor`` is its key (or list item), ``value`` the value itself."""

    anchor: Position
    value: Position


def _position(mark: yaml.Mark) -> Position:
    return (mark.line + 1, mark.column + 1)


# Mappings and lists inside each other; a real manifest nests five or six deep.
MAX_DEPTH = 64


class _Marked:
    """A safe loader that builds plain values and remembers where each one is.

    PyYAML's constructor forgets positions and silently keeps the last of two equal keys, so
    this walks the composed node tree itself. Only plain mappings, lists and scalars are built;
    any other tag (``!!python/object`` and friends) is refused, never constructed.
    """

    get_single_node: Any
    resolve: Any
    construct_object: Any
    dispose: Any

    def __init__(self, text: str) -> None:
        super().__init__(text)  # type: ignore[call-arg]
        self.positions: dict[KeyPath, Marks] = {}
        self.problems: list[tuple[Position, str]] = []
        self.invalid: set[KeyPath] = set()  # values replaced by None after a problem
        self._budget = _MAX_VALUES
        self._depth = 0
        self._open: set[int] = set()  # nodes being walked, to catch recursive aliases

    def load_marked(self) -> Any:
        root = self.get_single_node()
        if root is None:
            return None
        self.positions[()] = Marks((1, 1), _position(root.start_mark))
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
        if self._depth >= MAX_DEPTH:
            raise _TooDeep(problem=_TOO_DEEP, problem_mark=node.start_mark)
        self._open.add(id(node))
        self._depth += 1
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path)
            assert isinstance(node, yaml.MappingNode)  # a scalar was handled above
            return self._mapping(node, path)
        finally:
            self._depth -= 1
            self._open.discard(id(node))

    def _construct(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        try:
            return self.construct_object(node)
        except ValueError:  # an integer with thousands of digits, for one
            shown = node.value if len(node.value) <= 20 else f"{node.value[:12]}..."
            return self._refuse(node, path, f"'{shown}' ({len(node.value)} characters) cannot "
                                            f"be read as a {node.tag.rsplit(':', 1)[-1]}")

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        # An explicit tag must agree with what the plain value means ('!!int abc' does not).
        implicit = self.resolve(yaml.ScalarNode, node.value, (True, False))
        if node.tag not in (implicit, _STR):
            return self._refuse(node, path, _tag_message(node.tag))
        if node.tag == _TIMESTAMP:  # dates mean nothing in a manifest: keep the text
            return node.value
        return self._construct(node, path)

    def _sequence(self, node: yaml.SequenceNode, path: KeyPath) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            at = _position(item.start_mark)
            self.positions[path + (index,)] = Marks(at, at)
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
            self.positions[path + (key,)] = Marks(at, _position(value_node.start_mark))
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
            meaning = self._construct(node, ())
            if meaning is None or isinstance(meaning, bool):
                meaning = str(meaning).lower().replace("none", "null")
            else:
                meaning = "a number" if isinstance(meaning, (int, float)) else "a date"
            self.problems.append((at, f"key {node.value} is read as {meaning} by YAML; "
                                      f"quote it (\"{node.value}\") to use it as a name"))
        return None


class _TooDeep(yaml.MarkedYAMLError):
    """Nesting beyond MAX_DEPTH: found while composing or walking, not a syntax error."""


_TOO_DEEP = f"lists and mappings nested more than {MAX_DEPTH} deep"


class MarkedLoader(_Marked, yaml.SafeLoader):
    """PyYAML's own parser: its messages for invalid YAML are the ones users see."""

    _composing = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        # PyYAML composes recursively: stop at MAX_DEPTH, long before RecursionError.
        self._composing += 1
        try:
            if self._composing > MAX_DEPTH + 1:
                raise _TooDeep(problem=_TOO_DEEP, problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._composing -= 1


# libyaml's parser (in PyYAML's wheels) gives the same nodes and marks, about 50 times faster
# than the pure-Python one, which spent seconds per megabyte; its messages differ, so invalid
# YAML is parsed again by MarkedLoader for the message. libyaml composes recursively in C with
# no limit (100,000 nested '[' crash the process), so text with many brackets, which a real
# manifest never has, goes to MarkedLoader, which stops at MAX_DEPTH.
_MAX_BRACKETS_FOR_LIBYAML = 4096
_FAST_LOADERS: tuple[type[_Marked], ...] = ()
if getattr(yaml, "__with_libyaml__", False):
    class _FastMarkedLoader(_Marked, yaml.CSafeLoader):
        pass

    _FAST_LOADERS = (_FastMarkedLoader,)


def load_marked(text: str, shown: str) -> tuple[Any, _Marked]:
    """The document and the loader that read it (positions, problems, invalid paths).

    Raises:
        ManifestError: the text is not valid YAML, nests too deeply or expands too much.
    """
    brackets = text.count("[") + text.count("{")
    fast = _FAST_LOADERS if brackets <= _MAX_BRACKETS_FOR_LIBYAML else ()
    for loader_class in (*fast, MarkedLoader):
        loader = loader_class(text)
        try:
            try:
                return loader.load_marked(), loader
            finally:
                loader.dispose()
        except yaml.YAMLError as exc:
            if loader_class is not MarkedLoader and not isinstance(exc, _TooDeep):
                continue  # a syntax error: parse again for PyYAML's message
            raise ManifestError([yaml_problem(shown, text, exc)]) from None
    raise AssertionError("MarkedLoader always returns or raises")


def _tag_message(tag: str) -> str:
    shown = "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag
    return (f"YAML tag '{shown}' is not allowed in a manifest: use plain strings, numbers, "
            "true/false, lists and mappings")


def read_text(path: Path, shown: str) -> str:
    """The manifest's text: a regular file within the MANIFEST limit, UTF-8."""
    def fail(line: int, col: int, message: str) -> ManifestError:
        return ManifestError([ManifestProblem(shown, line, col, message)])

    if path.is_dir():
        raise fail(1, 1, "is a directory; pass the manifest file, e.g. "
                         f"{path / 'manifest.yaml'}")
    try:
        raw = read_input(path, MANIFEST)
        return decode_utf8(raw, path=shown, what="manifest")
    except InputError as exc:
        raise fail(exc.line or 1, exc.column or 1, exc.detail) from exc


def yaml_problem(shown: str, text: str, exc: yaml.YAMLError) -> ManifestProblem:
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
