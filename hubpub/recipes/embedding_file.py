"""Reading an embedding text file (``token v1 ... vD`` per line) into one float32 matrix.

word2vec, GloVe and fastText publish embeddings as text: one token per line, then its D
numbers. Such files run to gigabytes (GloVe 840B: 2.2 M lines, 5.6 GB), so the reader streams
them: the main thread reads chunks of whole lines, threads parse them in parallel
(``embedding_lines``), and the main thread puts each chunk's rows, in file order, into one
float32 matrix. A number costs 4 bytes, never a Python float, and the matrix is allocated once
from an estimate on page-aligned memory (so TensorFlow takes it without a copy), then grown or
shrunk in place by ``mremap``.

What the reader accepts:

- fields separated by any ASCII whitespace (spaces, tabs); LF or CRLF line ends; trailing
  whitespace; blank lines (skipped); a UTF-8 byte-order mark at the start;
- a first line of exactly two integers ``N D`` (word2vec, fastText): a header; the file must
  then hold N vectors of D numbers, and the first vector line must have exactly D;
- the vector is the line's last D fields and the token is everything before them, so tokens
  may hold spaces (GloVe 840B has ``. . .``). Without a header, D is read from the first
  vector line, whose token must not hold spaces;
- values are exactly ``numpy.float32(float(field))``; a value that is not a finite number,
  or that float32 cannot hold, is an error;
- tokens must be UTF-8; a line whose token is not is an error naming the line (convert the
  file with ``iconv``): TensorFlow would accept the bytes, but no consumer's UTF-8 string could
  ever look them up;
- a token seen twice is an error by default; ``duplicates="first"`` keeps its first line,
  ``"last"`` its last, dropping the others; ``max_tokens=N`` reads only the first N vector
  lines (files list the most frequent tokens first).

Every problem is an :class:`~hubpub.errors.EmbeddingFileError` naming the file and its
1-based line: ``emb.txt:17: expected 300 numbers, found 299``. No TensorFlow here.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from hubpub.errors import EmbeddingFileError, InputError
from hubpub.files.inputs import EMBEDDING_LINE, open_input
from hubpub.recipes.embedding_lines import (
    NO_TOKEN,
    Block,
    Layout,
    detect_layout,
    parse_exactly,
    parse_fast,
)

__all__ = ["DUPLICATES", "Embeddings", "read_embedding_file"]

log = logging.getLogger(__name__)

#: Bytes read and parsed at a time; see bench/bench_parse.py for the measurements.
CHUNK_BYTES = 2 << 20

#: What ``duplicates`` may be: a repeated token is an error, or its first or last line wins.
DUPLICATES = ("error", "first", "last")

_BOM = b"\xef\xbb\xbf"
# A token far longer than any word or phrase, and a number far longer than any float's text.
_MAX_TOKEN_BYTES = 1 << 20
_MAX_NUMBER_BYTES = 64


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
                        spare_rows: int = 0, duplicates: str = "error",
                        max_tokens: int | None = None,
                        threads: int | None = None) -> Embeddings:
    """Parse an embedding text file into tokens and a float32 matrix.

    Args:
      path: the text file (see the module docstring for what it may hold).
      progress: called as ``progress(bytes_parsed, file_bytes)`` after each chunk.
      spare_rows: zero rows to reserve after the matrix, so that ``Embeddings.padded()`` up
        to that many rows is free.
      duplicates: ``"error"``, ``"first"`` or ``"last"``: what a repeated token does.
      max_tokens: read only the first this many vector lines.
      threads: parsing threads (default: the CPUs this process may use, at most 8).

    Raises:
      EmbeddingFileError: the file cannot be read, has no embeddings, or has a malformed line.
    """
    if duplicates not in DUPLICATES:
        raise ValueError(f"duplicates must be one of {DUPLICATES}, got {duplicates!r}")
    path = Path(path)
    reader = _Reader(str(path), spare_rows, duplicates, max_tokens)
    try:
        with open_input(path, what="embedding file") as stream:
            total = os.fstat(stream.fileno()).st_size
            reader.read(_chunks(stream, reader), total, progress, threads or _cpus())
    except InputError as exc:  # missing, unreadable, not a regular file
        raise EmbeddingFileError(exc.detail, path=str(path)) from exc
    except OSError as exc:
        raise EmbeddingFileError(f"cannot read the embedding file: {exc.strerror or exc}",
                                 path=str(path)) from exc
    finally:
        _release_parse_buffers()
    return reader.finish()


def _release_parse_buffers() -> None:
    """Give the parse's freed buffers back to the system (about 40 MB, whatever the file's
    size): the build's peak comes later, with TensorFlow loaded, and the matrix is all that
    is left of the parse."""
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # Arrow's cached chunk buffers
    with contextlib.suppress(OSError, AttributeError):  # glibc only
        ctypes.CDLL(None).malloc_trim(0)  # the parse threads' malloc arenas


def _cpus() -> int:
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    return min(count, 8)


def max_line_bytes(dim: int | None) -> int:
    """The longest line read: a token and ``dim`` numbers, each far longer than any real one
    (before the dimension is known, the ``EMBEDDING_LINE`` limit alone)."""
    cap = EMBEDDING_LINE.max_bytes
    return cap if dim is None else min(cap, _MAX_TOKEN_BYTES + _MAX_NUMBER_BYTES * dim)


def _chunks(stream: BinaryIO, reader: _Reader) -> Iterator[tuple[bytearray, int]]:
    """``(whole lines, bytes of the file read so far)``; each chunk ends with a newline.

    A line longer than a chunk is gathered in one growing buffer (never re-copied per
    chunk), up to ``max_line_bytes``: a 300 MB file of one line is refused after reading
    the first megabytes, naming the line.
    """
    carry, done, lines = bytearray(), 0, 0
    while True:
        chunk = carry
        start = len(chunk)
        chunk += stream.read(CHUNK_BYTES)
        size = len(chunk) - start
        done += size
        if not size:
            if carry:
                yield carry + b"\n", done
            return
        cut = chunk.rfind(b"\n", start) + 1
        end_of_carried = chunk.find(b"\n", start) if cut and start else len(chunk)
        limit = max_line_bytes(reader.layout.dim if reader.layout else
                               reader.header[2] if reader.header else None)
        if end_of_carried > limit:
            raise reader.error(lines + 1, f"the line is longer than {limit:,} bytes; is this "
                                          f"an embedding text file? (raise the limit with "
                                          f"{EMBEDDING_LINE.env})")
        if not cut:  # no line end yet: one long line
            carry = chunk
            continue
        carry = chunk[cut:]
        del chunk[cut:]
        lines += chunk.count(b"\n")
        yield chunk, done


class _Reader:
    """Parsing state: the matrix, tokens seen, lines that held no vector, the options."""

    def __init__(self, path: str, spare_rows: int, duplicates: str,
                 max_tokens: int | None) -> None:
        self.path = path
        self.spare_rows = spare_rows
        self.duplicates = duplicates
        self.max_tokens = max_tokens
        self.layout: Layout | None = None
        self.header: tuple[int, int, int] | None = None  # line, N, D
        self.matrix: _AlignedRows | None = None
        self.rows = 0  # vector lines read (duplicates not yet dropped)
        self.next_line = 1
        self.tokens: list[str] = []
        self.seen: set[str] = set()
        self.row_of: dict[str, int] | None = None  # token -> its kept row, for "last"
        self.dropped: list[int] = []  # rows of duplicates to drop
        self.skipped: list[int] = []  # header and blank lines, ascending

    def error(self, line: int | None, message: str) -> EmbeddingFileError:
        return EmbeddingFileError(message, path=self.path, line=line)

    @property
    def full(self) -> bool:
        return self.max_tokens is not None and self.rows >= self.max_tokens

    def read(self, chunks: Iterator[tuple[bytearray, int]], total: int,
             progress: Callable[[int, int], None] | None, threads: int) -> None:
        """Parse chunks on ``threads`` threads; take their rows in file order."""
        pending: deque[tuple[Future[Block | None], bytearray, int]] = deque()
        with ThreadPoolExecutor(threads, "hubpub-parse") as pool:
            try:
                for chunk, done in chunks:
                    rest = chunk if self.layout is not None else self._start(chunk, total)
                    if rest is None:  # blank lines and the header only
                        continue
                    assert self.layout is not None  # set by the first vector line
                    pending.append((pool.submit(parse_fast, rest, self.layout), rest, done))
                    while len(pending) > 2 * threads or (pending and pending[0][0].done()):
                        self._take(*pending.popleft(), total, progress)
                    if self.full:
                        return
                while pending and not self.full:
                    self._take(*pending.popleft(), total, progress)
            finally:
                for future, _, _ in pending:
                    future.cancel()

    def _take(self, future: Future[Block | None], chunk: bytearray, done: int, total: int,
              progress: Callable[[int, int], None] | None) -> None:
        block, problem = future.result(), None
        if block is None:
            assert self.layout is not None
            block, problem = parse_exactly(chunk, self.layout.dim)
        first_line = self.next_line
        self._add(block, first_line)
        if problem is not None and not self.full:
            raise self.error(first_line + problem.index, problem.message)
        self.next_line += block.lines
        if progress is not None:
            progress(done, total)

    def _start(self, chunk: bytearray, total: int) -> bytearray | None:
        """Read the header and the first vector line: the dimension, the layout, the matrix.

        Returns the chunk from the first vector line on, or None when it has none.
        """
        position = 3 if self.next_line == 1 and chunk.startswith(_BOM) else 0
        while position < len(chunk):
            end = chunk.index(b"\n", position)
            line, number = bytes(chunk[position:end]), self.next_line
            fields = line.split()
            if not fields:
                self.skipped.append(number)
            elif self.header is not None or not self._header(fields, number, total):
                self._first_vector_line(line, fields, number)
                rows = self.header[1] if self.header else self._estimate(chunk, total)
                if self.max_tokens is not None:
                    rows = min(rows, self.max_tokens)
                assert self.layout is not None  # set by _first_vector_line
                self.matrix = _AlignedRows(rows + self.spare_rows, self.layout.dim)
                return chunk[position:]
            self.next_line += 1
            position = end + 1
        return None

    def _header(self, fields: list[bytes], number: int, total: int) -> bool:
        """True when ``fields`` (of the first non-blank line) are a ``N D`` header, now noted.

        The claim must fit the file: each of N lines holds a token and D numbers, at least
        ``2 D + 2`` bytes, so a header claiming more than the file can hold is refused before
        anything is allocated for it.
        """
        if len(fields) != 2 or not (fields[0].isdigit() and fields[1].isdigit()):
            return False
        if max(len(fields[0]), len(fields[1])) > 18:  # past 10^18: no file holds that
            raise self.error(number, f"the header 'N D' announces {fields[0][:30].decode()} "
                                     f"tokens of dimension {fields[1][:30].decode()}, more than "
                                     f"any file can hold")
        rows, dim = int(fields[0]), int(fields[1])
        if dim < 1:
            raise self.error(number, "the header 'N D' announces dimension 0")
        least = (rows if self.max_tokens is None else min(rows, self.max_tokens)) * (2 * dim + 2)
        if least > total or 2 * dim + 2 > total:
            raise self.error(number, f"the header 'N D' announces {rows:,} tokens of dimension "
                                     f"{dim:,}, at least {max(least, 2 * dim + 2):,} bytes, but "
                                     f"the file has {total:,}")
        self.header = (number, rows, dim)
        self.skipped.append(number)
        return True

    def _first_vector_line(self, line: bytes, fields: list[bytes], number: int) -> None:
        if line[:1].isspace():
            raise self.error(number, NO_TOKEN)
        if self.header is not None:
            header_line, _, dim = self.header
            if len(fields) != dim + 1:
                raise self.error(number, f"the header on line {header_line} announces "
                                         f"dimension {dim}, but this line has "
                                         f"{len(fields) - 1} numbers after its token")
        elif len(fields) == 1:
            raise self.error(number, "a token without numbers; each line must be "
                                     "'token v1 v2 ... vD'")
        else:
            dim = len(fields) - 1
        self.layout = detect_layout(line, dim)

    def _estimate(self, chunk: bytearray, total: int) -> int:
        """Rows to allocate: from the first chunk's lines, generously (unused pages cost nothing)."""
        lines = max(chunk.count(b"\n"), 1)
        rows = int(total * lines / len(chunk) * 1.1) + 16
        return min(rows, self.max_tokens) if self.max_tokens is not None else rows

    def _add(self, block: Block, first_line: int) -> None:
        """Append a block's rows (up to ``max_tokens``), checking duplicates on the way."""
        count = len(block.tokens)
        if self.max_tokens is not None:
            count = min(count, self.max_tokens - self.rows)
        self.skipped += [first_line + i for i in block.skipped]
        start, end = self.rows, self.rows + count
        assert self.matrix is not None  # made with the first vector line
        if end + self.spare_rows > self.matrix.rows:
            self.matrix.resize(max(end, int(self.matrix.rows * 1.25)) + self.spare_rows)
        self.matrix.array[start:end] = block.values[:count]
        tokens = block.tokens[:count] if count < len(block.tokens) else block.tokens
        self.tokens += tokens
        self.rows = end
        new = set(tokens)
        if len(new) == count and self.seen.isdisjoint(new):
            self.seen |= new
            if self.row_of is not None:
                self.row_of.update(zip(tokens, range(start, end), strict=True))
        else:
            self._duplicates(start, end)

    def _duplicates(self, start: int, end: int) -> None:
        for row in range(start, end):
            token = self.tokens[row]
            if token not in self.seen:
                self.seen.add(token)
                if self.row_of is not None:
                    self.row_of[token] = row
            elif self.duplicates == "error":
                first = self.tokens.index(token)
                raise self.error(self._line_of_row(row),
                                 f"duplicate token {token!r} (first on line "
                                 f"{self._line_of_row(first)}); each token may have one "
                                 "vector only (or set the recipe's 'duplicates' to first or "
                                 "last)")
            elif self.duplicates == "first":
                self.dropped.append(row)
            else:
                if self.row_of is None:
                    self.row_of = {t: i for i, t in enumerate(self.tokens[:row])}
                self.dropped.append(self.row_of[token])
                self.row_of[token] = row

    def _line_of_row(self, row: int) -> int:
        line = row + 1
        for skipped in self.skipped:
            if skipped > line:
                break
            line += 1
        return line

    def finish(self) -> Embeddings:
        if self.layout is None or self.rows == 0:
            raise self.error(None, "the file holds no embeddings (expected lines of "
                                   "'token v1 v2 ... vD')")
        if self.header is not None and self.header[1] != self.rows and not self.full:
            raise self.error(self.header[0], f"the header announces {self.header[1]} tokens "
                                             f"but the file holds {self.rows}; is it "
                                             "truncated?")
        tokens, rows = self.tokens, self.rows
        if self.dropped:
            tokens, rows = self._drop_duplicates()
            log.info("%s: dropped %d duplicate token lines (duplicates: %s)", self.path,
                     len(self.dropped), self.duplicates)
        assert self.matrix is not None  # made with the first vector line
        self.matrix.resize(rows + self.spare_rows)
        storage = self.matrix.array
        storage[rows:] = 0
        log.debug("read %d embeddings of dimension %d from %s", rows, self.layout.dim,
                  self.path)
        return Embeddings(tokens, storage[:rows], storage)

    def _drop_duplicates(self) -> tuple[list[str], int]:
        """Close the gaps of dropped rows in place, a block of rows at a time."""
        dropped = sorted(set(self.dropped))
        keep_until = [*dropped[1:], self.rows]
        write = dropped[0]
        step = 1 << 14
        assert self.matrix is not None
        for row, stop in zip(dropped, keep_until, strict=True):
            for source in range(row + 1, stop, step):
                count = min(step, stop - source)
                array = self.matrix.array
                array[write:write + count] = array[source:source + count]
                write += count
        gone = set(dropped)
        return [t for i, t in enumerate(self.tokens) if i not in gone], write


class _AlignedRows:
    """A float32 ``[rows, dim]`` array on anonymous memory that grows and shrinks in place.

    Page-aligned: TensorFlow feeds a 64-byte aligned array to the variable without a copy
    (NumPy's own buffers are 16-byte aligned, and cost one more copy of the matrix). Resized
    with ``mremap``, so no data moves; pages never written are never resident.
    """

    def __init__(self, rows: int, dim: int) -> None:
        self.dim = dim
        self.rows = rows
        self._memory = self._map(rows)
        self.array = self._view()

    def _map(self, rows: int) -> mmap.mmap:
        return mmap.mmap(-1, max(rows * self.dim * 4, mmap.PAGESIZE), flags=mmap.MAP_PRIVATE)

    def _view(self) -> np.ndarray:
        count = self.rows * self.dim
        return np.frombuffer(self._memory, np.float32, count).reshape(self.rows, self.dim)

    def resize(self, rows: int) -> None:
        kept = min(rows, self.rows)
        del self.array  # the view pins the mapping
        try:
            self._memory.resize(max(rows * self.dim * 4, mmap.PAGESIZE))
        except (OSError, SystemError, ValueError):  # no mremap here: copy once
            old = np.frombuffer(self._memory, np.float32, kept * self.dim)
            memory = self._map(rows)
            np.frombuffer(memory, np.float32, kept * self.dim)[:] = old
            del old
            self._memory.close()
            self._memory = memory
        self.rows = rows
        self.array = self._view()
