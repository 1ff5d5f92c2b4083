"""Parsing one chunk of an embedding text file (whole lines) into tokens and float32 rows.

Two parsers with the same result. ``parse_fast`` hands the chunk to Apache Arrow's CSV reader
(C++, releases the GIL, so chunks parse in parallel on threads) with the file's layout: the
delimiter, and whether lines end with one (fastText's ``.vec``). Lines that do not fit the
layout (a token with spaces, tabs, runs of spaces, a blank line of spaces) come back through
Arrow's invalid-row hook and are parsed one by one. Anything else unusual (a value that is not
a number, not finite or out of float32's range, a token that is empty or not UTF-8, a lone
``\\r``) makes it give up on the chunk, and ``parse_exactly`` parses it line by line, in
Python, to name the first bad line.

Values are exactly ``numpy.float32(float(field))``: Arrow parses each field to the nearest
float64 (fast_float, correctly rounded), and NumPy rounds that to float32, the same two
roundings as the reference path. Parsing straight to float32 would round once and differ
from it on some inputs (a test holds such cases).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Block", "Layout", "LineProblem", "detect_layout", "parse_exactly", "parse_fast",
           "split_line"]


@dataclass(frozen=True)
class Layout:
    """How the file's first vector line is laid out; most files keep it throughout."""

    dim: int
    delimiter: str = " "
    trailing: bool = False  # every line ends with the delimiter (fastText .vec)


@dataclass
class Block:
    """The rows of one chunk: ``values[i]`` is the vector of ``tokens[i]``."""

    tokens: list[str]
    values: np.ndarray  # float32 [len(tokens), dim]
    lines: int  # line ends in the chunk
    skipped: list[int] = field(default_factory=list)  # blank lines, 0-based in the chunk


@dataclass(frozen=True)
class LineProblem:
    """A malformed line: ``index`` is 0-based in its chunk."""

    index: int
    message: str


NO_TOKEN = ("the line starts with whitespace, so its token is empty; each line must be "
            "'token v1 v2 ... vD'")


def detect_layout(line: bytes, dim: int) -> Layout:
    """The layout of a vector line (without its newline)."""
    line = line.rstrip(b"\r")
    delimiter = "\t" if b"\t" in line and b" " not in line else " "
    return Layout(dim, delimiter, line.endswith(delimiter.encode()))


def split_line(line: bytes, dim: int) -> tuple[bytes, list[bytes]] | str | None:
    """``(token, fields)`` of a line; None for a blank line; a message when it is malformed.

    The vector is the last ``dim`` fields; everything before them is the token, which may
    itself hold spaces (GloVe 840B has ``. . .``).
    """
    parts = line.rsplit(None, dim)
    if not parts:
        return None
    if line[:1].isspace():
        return NO_TOKEN
    if len(parts) <= dim:
        found = len(parts) - 1
        if found == 0 and dim > 0:
            return f"expected {dim} numbers, found 0"
        return f"expected {dim} numbers, found {found}"
    return parts[0], parts[1:]


def _values(fields: Sequence[bytes], dim: int) -> np.ndarray | str:
    """The line's float32 vector, or a message naming the first bad value."""
    numbers = []
    for i, text in enumerate(fields):
        shown = text.decode("utf-8", "replace")
        try:
            number = float(text)
        except ValueError:
            return f"{shown!r} is not a number (value {i + 1} of {dim})"
        if not math.isfinite(number):
            return f"value {i + 1} of {dim} is {shown!r}; embedding values must be finite"
        numbers.append(number)
    with np.errstate(over="ignore"):
        vector = np.array(numbers, np.float64).astype(np.float32)
    if not np.isfinite(vector).all():
        i = int(np.flatnonzero(~np.isfinite(vector))[0])
        return (f"value {i + 1} of {dim} is {fields[i].decode()!r}, beyond float32's range "
                f"(±3.4e38)")
    return vector


def _parse_line(line: bytes, dim: int) -> tuple[str, np.ndarray] | str | None:
    """One line: ``(token, vector)``, None when blank, or a message."""
    split = split_line(line, dim)
    if split is None or isinstance(split, str):
        return split
    raw, fields = split
    vector = _values(fields, dim)
    if isinstance(vector, str):
        return vector
    try:
        token = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"the token {raw!r} is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                "tokens must be UTF-8 (convert the file, e.g. with iconv)")
    return token, vector


def parse_exactly(chunk: bytes | bytearray, dim: int) -> tuple[Block, LineProblem | None]:
    """Line by line, in Python: the rows before the first malformed line, and that line."""
    lines = bytes(chunk).split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    tokens: list[str] = []
    vectors: list[np.ndarray] = []
    skipped: list[int] = []
    problem = None
    for index, line in enumerate(lines):
        parsed = _parse_line(line, dim)
        if parsed is None:
            skipped.append(index)
        elif isinstance(parsed, str):
            problem = LineProblem(index, parsed)
            break
        else:
            tokens.append(parsed[0])
            vectors.append(parsed[1])
    values = np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)
    return Block(tokens, values, len(lines), skipped), problem


def parse_fast(chunk: bytes | bytearray, layout: Layout) -> Block | None:
    """Arrow's CSV reader on the chunk; None when ``parse_exactly`` must decide."""
    import pyarrow as pa
    from pyarrow import csv

    if b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n"):
        return None  # Arrow ends a line at a lone CR; split_line keeps it in the line
    if not _is_utf8(chunk):
        return None
    odd: list[int] = []

    def odd_row(row: object) -> str:
        odd.append(row.number)  # type: ignore[attr-defined]
        return "skip"

    dim = layout.dim
    names, convert = _arrow_options(layout)
    try:
        table = csv.read_csv(
            pa.py_buffer(chunk),
            csv.ReadOptions(column_names=names, use_threads=False, block_size=len(chunk) + 1),
            csv.ParseOptions(delimiter=layout.delimiter, quote_char=False,
                             invalid_row_handler=odd_row),
            convert)
        column = table.column(0).cast(pa.string())  # str tokens (the chunk is UTF-8)
    except pa.ArrowInvalid:  # not a number: the exact path names the line
        return None
    if table.num_rows and (_badly_delimited(column)
                           or (layout.trailing and _has_text(table.column(dim + 1)))):
        return None
    tokens = column.to_pylist()
    values = _matrix(table.select(names[1:dim + 1]), dim)
    if values is None:
        return None
    return _merge_odd_rows(chunk, odd, tokens, values, dim)


def _is_utf8(chunk: bytes | bytearray) -> bool:
    """Whether the chunk is UTF-8 (Arrow checks it at over 20 GB/s, without a copy).

    A chunk that is not goes to the exact path before Arrow reads it: Arrow's invalid-row hook
    decodes an odd row strictly, and when that fails it can only print the exception.
    """
    if chunk.isascii():
        return True
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, len(chunk)], np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(chunk)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


@functools.cache
def _arrow_options(layout: Layout) -> tuple[list[str], object]:
    """Column names and conversion options for a layout, made once (301 columns cost)."""
    import pyarrow as pa
    from pyarrow import csv

    names = [f"f{i}" for i in range(layout.dim + 1 + layout.trailing)]
    types = {names[0]: pa.binary()}  # the token
    types.update(dict.fromkeys(names[1:layout.dim + 1], pa.float64()))
    if layout.trailing:
        types[names[-1]] = pa.binary()  # empty, checked in parse_fast
    # no null values: "nan" and "" must not become nulls (a default null check is also slow)
    return names, csv.ConvertOptions(column_types=types, null_values=[],
                                     strings_can_be_null=False)


def _badly_delimited(tokens: object) -> bool:
    """Tokens that are empty, or start or end with whitespace: split_line would differ."""
    import pyarrow.compute as pc

    return bool(pc.any(pc.match_substring_regex(tokens, r"^$|^[\t\n\v\f\r ]|[\t\n\v\f\r ]$"))
                .as_py())


def _has_text(column: object) -> bool:
    import pyarrow.compute as pc

    return bool(pc.max(pc.binary_length(column)).as_py())


def _matrix(table: object, dim: int) -> np.ndarray | None:
    """The float32 rows of Arrow's float64 columns; None when a value is not finite there."""
    if not table.num_rows:  # type: ignore[attr-defined]
        return np.zeros((0, dim), np.float32)
    batch = table.combine_chunks().to_batches()[0]  # type: ignore[attr-defined]
    with np.errstate(over="ignore"):
        values = np.asarray(batch.to_tensor(row_major=True)).astype(np.float32)
    return values if np.isfinite(values).all() else None


def _merge_odd_rows(chunk: bytes | bytearray, odd: list[int], tokens: list[str],
                    values: np.ndarray, dim: int) -> Block | None:
    """Put the lines Arrow set aside (parsed here one by one) back in their places.

    Arrow numbers rows from 1 without its empty lines, so those are counted here too.
    """
    lines = chunk.count(b"\n")
    if not odd and len(tokens) == lines:  # the common case: one row per line
        return Block(tokens, values, lines)
    split = bytes(chunk).split(b"\n")
    kept = [i for i, line in enumerate(split[:lines]) if line not in (b"", b"\r")]
    if len(kept) != len(tokens) + len(odd) or any(n < 1 or n > len(kept) for n in odd):
        return None
    skipped = sorted(set(range(lines)) - set(kept))
    odd_tokens, odd_vectors, at = [], [], []
    for rank, number in enumerate(sorted(odd)):
        parsed = _parse_line(split[kept[number - 1]], dim)
        if parsed is None:
            skipped.append(kept[number - 1])
            continue
        if isinstance(parsed, str):
            return None
        odd_tokens.append(parsed[0])
        odd_vectors.append(parsed[1])
        at.append(number - 1 - rank)
    if odd_vectors:
        values = np.insert(values, at, np.stack(odd_vectors), axis=0)
        merged: list[str] = []
        previous = 0
        for position, token in zip(at, odd_tokens, strict=True):
            merged += tokens[previous:position]
            merged.append(token)
            previous = position
        tokens = merged + tokens[previous:]
    return Block(tokens, values, lines, sorted(skipped))
