"""Reading an embedding text file (``token v1 ... vD`` per line) into one float32 matrix.

word2vec and GloVe publish embeddings as text: one token per line, then its D numbers,
separated by whitespace; word2vec files may start with a ``N D`` header line. Such files run
to gigabytes, so the reader streams them: the file is read in large byte chunks, the numbers
of each chunk are parsed in bulk by numpy's C parser, and they land in one preallocated float32
matrix. A number costs 4 bytes, never a Python float (about 30 bytes in a list), and the
matrix is never copied or grown.

Every malformed line is reported with its 1-based line number as an
:class:`~hubpub.errors.EmbeddingFileError`: ``emb.txt:17: expected 300 numbers, found 299``.
No TensorFlow here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from hubpub.errors import EmbeddingFileError

__all__ = ["Embeddings", "read_embedding_file"]

log = logging.getLogger(__name__)

#: Bytes read and parsed at a time. Measured on 143 MB of 300-d text: 128 KB to 1 MB parse
#: at the same rate (about 110 MB/s) and keep the chunk's temporaries near 15 MB; 8 MB chunks
#: were slower (cache misses) and cost 55 MB of temporaries.
CHUNK_BYTES = 1 << 20

# numpy's C text parser: whitespace-separated, no comment character (tokens such as
# "#hashtag" would otherwise be cut), no quoting.
_LOADTXT = {"dtype": np.float32, "comments": None, "quotechar": None, "ndmin": 2}

_NO_TOKEN = ("the line starts with whitespace, so its token is empty; each line must be "
             "'token v1 v2 ... vD'")


@dataclass(frozen=True, eq=False)
class Embeddings:
    """Tokens in file order and their vectors: ``matrix[i]`` is the vector of ``tokens[i]``."""

    tokens: list[str]
    matrix: np.ndarray  # float32 [N, D]
    # The buffer ``matrix`` is a view of: its rows past N are zeros reserved by the reader
    # (``spare_rows``), so ``padded()`` needs no copy.
    _storage: np.ndarray | None = field(default=None, repr=False)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def padded(self, extra_rows: int) -> np.ndarray:
        """The matrix followed by ``extra_rows`` rows of zeros (for out-of-vocabulary buckets).

        A view without copying when the reader reserved at least that many spare rows;
        otherwise one copy.
        """
        n = len(self.tokens)
        storage = self._storage
        if storage is not None and storage.shape[0] >= n + extra_rows:
            return storage[:n + extra_rows]
        out = np.zeros((n + extra_rows, self.dim), dtype=np.float32)
        out[:n] = self.matrix
        return out


def read_embedding_file(path: str | Path, *,
                        progress: Callable[[int, int], None] | None = None,
                        spare_rows: int = 0) -> Embeddings:
    """Parse an embedding text file into tokens and a float32 matrix.

    Args:
      path: the text file, UTF-8 tokens; LF or CRLF line ends; blank lines are skipped. A
        first line of exactly two integers (``N D``, word2vec style) is a header: it fixes
        the dimension and the number of tokens the file must hold.
      progress: called as ``progress(bytes_read, file_bytes)`` after each chunk.
      spare_rows: zero rows to reserve after the matrix, so that ``Embeddings.padded()`` up
        to that many rows is free.

    Raises:
      EmbeddingFileError: the file cannot be read, has no embeddings, or has a malformed line
        (wrong count of numbers, a value that is not a finite number, a token that is missing,
        not UTF-8 or seen before).
    """
    path = Path(path)
    try:
        total = path.stat().st_size
        capacity = _count_lines(path)
        with path.open("rb") as stream:
            reader = _Reader(str(path), capacity, spare_rows)
            for lines, first_line in _line_batches(stream, progress, total):
                reader.feed(lines, first_line)
    except OSError as exc:
        raise EmbeddingFileError(f"cannot read the embedding file: {exc.strerror or exc}",
                                 path=str(path)) from exc
    return reader.finish()


def _count_lines(path: Path) -> int:
    """Upper bound of the number of vectors, so the matrix is allocated once at its size."""
    count, last = 0, b"\n"
    with path.open("rb") as stream:
        while block := stream.read(CHUNK_BYTES):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _line_batches(stream: BinaryIO, progress: Callable[[int, int], None] | None,
                  total: int) -> Iterator[tuple[list[bytes], int]]:
    """Yield ``(lines, number of the first line)`` for each chunk, cut at line ends."""
    carry, first_line, done = b"", 1, 0
    while True:
        block = stream.read(CHUNK_BYTES)
        done += len(block)
        if block:
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:  # a line longer than a chunk: keep reading
                carry = data
                continue
            lines, carry = data[:cut].split(b"\n"), data[cut + 1:]
        elif carry:
            lines, carry = [carry], b""
        else:
            return
        yield lines, first_line
        first_line += len(lines)
        if progress is not None:
            progress(done, total)


class _Reader:
    """Parsing state: the preallocated matrix, tokens seen, lines that held no vector."""

    def __init__(self, path: str, capacity: int, spare_rows: int) -> None:
        self.path = path
        self.capacity = capacity
        self.spare_rows = spare_rows
        self.dim: int | None = None
        self.header_rows: int | None = None
        self.buffer: np.ndarray | None = None
        self.rows = 0
        self.tokens: list[str] = []
        self.seen: set[str] = set()
        self.skipped: list[int] = []  # header and blank lines, ascending

    def error(self, line: int | None, message: str) -> EmbeddingFileError:
        return EmbeddingFileError(message, path=self.path, line=line)

    def feed(self, lines: list[bytes], first_line: int) -> None:
        if self.buffer is None:
            lines, first_line = self._start(lines, first_line)
            if self.buffer is None:  # only blank lines so far
                return
        if not self._feed_fast(lines, first_line):
            self._feed_slowly(lines, first_line)

    def finish(self) -> Embeddings:
        if self.buffer is None or self.rows == 0:
            raise self.error(None, "the file holds no embeddings (expected lines of "
                                   "'token v1 v2 ... vD')")
        if self.header_rows is not None and self.header_rows != self.rows:
            raise self.error(self.skipped[0], f"the header announces {self.header_rows} tokens "
                                              f"but the file holds {self.rows}; is it truncated?")
        log.debug("read %d embeddings of dimension %d from %s", self.rows, self.dim, self.path)
        storage = self.buffer[:self.rows + self.spare_rows]
        return Embeddings(self.tokens, storage[:self.rows], storage)

    def _start(self, lines: list[bytes], first_line: int) -> tuple[list[bytes], int]:
        """Find the dimension (header or first vector) and allocate the matrix."""
        for i, line in enumerate(lines):
            number = first_line + i
            fields = line.split()
            if not fields:
                self.skipped.append(number)
                continue
            if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
                self.header_rows, self.dim = int(fields[0]), int(fields[1])
                self.skipped.append(number)
                if self.dim < 1:
                    raise self.error(number, "the header 'N D' announces dimension 0")
                i += 1
            elif line[:1].isspace():
                raise self.error(number, _NO_TOKEN)
            elif len(fields) == 1:
                raise self.error(number, "a token without numbers; each line must be "
                                         "'token v1 v2 ... vD'")
            else:
                self.dim = len(fields) - 1
            self.buffer = np.zeros((self.capacity + self.spare_rows, self.dim), np.float32)
            return lines[i:], first_line + i
        return [], first_line

    def _feed_fast(self, lines: list[bytes], first_line: int) -> bool:
        """All checks in bulk; False (nothing changed) when any fails, to find out where."""
        parts = [line.split(None, 1) for line in lines]
        if not all(len(p) == 2 for p in parts) or any(line[:1].isspace() for line in lines):
            return False
        try:
            tokens = [p[0].decode("utf-8") for p in parts]
        except UnicodeDecodeError:
            return False
        new = set(tokens)
        if len(new) != len(tokens) or not self.seen.isdisjoint(new):
            return False
        try:
            values = np.loadtxt([p[1] for p in parts], **_LOADTXT)
        except ValueError:
            return False
        if values.shape != (len(tokens), self.dim) or not np.isfinite(values).all():
            return False
        self.seen |= new
        self._append(tokens, values, first_line)
        return True

    def _feed_slowly(self, lines: list[bytes], first_line: int) -> None:
        """Line by line: skip blank lines, raise for the first malformed one."""
        tokens: list[str] = []
        rests: list[bytes] = []
        numbers: list[int] = []
        here: dict[str, int] = {}
        problem = None
        for i, line in enumerate(lines):
            number = first_line + i
            parts = line.split(None, 1)
            if not parts:
                self.skipped.append(number)
                continue
            problem = self._token_problem(line, parts, number, here)
            if problem:
                break
            tokens.append(parts[0].decode("utf-8"))
            rests.append(parts[1])
            numbers.append(number)
            here[tokens[-1]] = number
        # a bad number before the line with the token problem is the first error
        values = self._parse_values(rests, numbers)
        if problem:
            raise problem
        if tokens:
            self.seen.update(tokens)
            self._append(tokens, values, numbers[0])

    def _append(self, tokens: list[str], values: np.ndarray, first_line: int) -> None:
        end = self.rows + len(tokens)
        if end > self.capacity:
            raise self.error(first_line, "the file grew while it was being read")
        self.buffer[self.rows:end] = values
        self.rows = end
        self.tokens.extend(tokens)

    def _token_problem(self, line: bytes, parts: list[bytes], number: int,
                       here: dict[str, int]) -> EmbeddingFileError | None:
        if line[:1].isspace():
            return self.error(number, _NO_TOKEN)
        if len(parts) == 1:
            return self.error(number, f"expected {self.dim} numbers, found 0")
        try:
            token = parts[0].decode("utf-8")
        except UnicodeDecodeError as exc:
            return self.error(number, f"the token {parts[0]!r} is not valid UTF-8 "
                                      f"({exc.reason} at byte {exc.start})")
        if token in here or token in self.seen:
            first = here.get(token) or self._line_of_row(self.tokens.index(token))
            return self.error(number, f"duplicate token {token!r} (first on line {first}); "
                                      "each token may have one vector only")
        return None

    def _line_of_row(self, row: int) -> int:
        line = row + 1
        for skipped in self.skipped:
            if skipped > line:
                break
            line += 1
        return line

    def _parse_values(self, rests: list[bytes], numbers: list[int]) -> np.ndarray:
        """Numbers of many lines in one call to numpy's parser; line by line on failure."""
        if not rests:
            return np.zeros((0, self.dim), np.float32)
        try:
            values = np.loadtxt(rests, **_LOADTXT)
            if values.shape == (len(rests), self.dim) and np.isfinite(values).all():
                return values
        except ValueError:
            pass
        return np.stack([self._parse_line(rest, number)
                         for rest, number in zip(rests, numbers, strict=True)])

    def _parse_line(self, rest: bytes, number: int) -> np.ndarray:
        fields = rest.split()
        if len(fields) != self.dim:
            raise self.error(number, f"expected {self.dim} numbers, found {len(fields)}")
        try:
            values = np.loadtxt([b" ".join(fields)], **_LOADTXT)[0]
            if np.isfinite(values).all():
                return values
        except ValueError:
            pass
        for i, text in enumerate(fields):  # find the culprit
            shown = text.decode("utf-8", "replace")
            try:
                value = np.loadtxt([text], **_LOADTXT)[0, 0]
            except ValueError:
                raise self.error(number, f"{shown!r} is not a number (value {i + 1} of "
                                         f"{self.dim})") from None
            if not np.isfinite(value):
                raise self.error(number, f"value {i + 1} of {self.dim} is {shown!r}; "
                                         "embedding values must be finite")
        raise AssertionError("unreachable: a line failed to parse, then each value parsed")
