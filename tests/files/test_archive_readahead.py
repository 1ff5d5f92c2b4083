"""Decompressing on a thread ahead of tarfile: same bytes, bounded memory, errors in order,
and a close that never hangs."""

from __future__ import annotations

import gzip
import io
import threading
import time

import pytest

from hubpub.files.archive import _ReadAhead


class _Source:
    """A decompressed stream that counts its reads and can fail or stall at a given read."""

    def __init__(self, blocks: list[bytes], *, fail_at: int | None = None,
                 stall_at: int | None = None) -> None:
        self.blocks = blocks
        self.reads = 0
        self.closed = False
        self.fail_at, self.stall_at = fail_at, stall_at
        self.release = threading.Event()

    def read(self, size: int = -1, /) -> bytes:
        self.reads += 1
        if self.reads == self.fail_at:
            raise gzip.BadGzipFile("CRC check failed")
        if self.reads == self.stall_at:
            self.release.wait(30)
        return self.blocks.pop(0) if self.blocks else b""

    def close(self) -> None:
        self.closed = True


def test_reads_give_the_same_bytes_whatever_their_sizes():
    data = bytes(range(256)) * 5000
    stream = _ReadAhead(io.BytesIO(data), block=4096)
    out, sizes = [], [1, 512, 10240, 4096, 3, 100_000]
    while chunk := stream.read(sizes[len(out) % len(sizes)]):
        out.append(chunk)
    assert b"".join(out) == data
    assert stream.read(10) == b"" and stream.read() == b""
    stream.close()


def test_read_all_at_once():
    stream = _ReadAhead(io.BytesIO(b"x" * 10_000), block=1000)
    assert stream.read() == b"x" * 10_000


def test_it_stays_a_few_blocks_ahead():
    source = _Source([b"b" * 100] * 50)
    stream = _ReadAhead(source, block=100, depth=4)
    assert stream.read(100) == b"b" * 100
    time.sleep(0.3)  # time enough to inflate everything, were it unbounded
    assert source.reads <= 1 + 4 + 1  # the block read, the queue, one waiting to go in
    stream.close()
    assert source.closed


def test_an_error_comes_after_the_data_before_it():
    stream = _ReadAhead(_Source([b"a" * 10, b"b" * 10], fail_at=3), block=10)
    assert stream.read(10) == b"a" * 10
    assert stream.read(10) == b"b" * 10
    with pytest.raises(gzip.BadGzipFile, match="CRC check failed"):
        stream.read(10)
    assert stream.read(10) == b""  # the stream ended there


def test_close_does_not_wait_for_a_stalled_read():
    source = _Source([b"a" * 10], stall_at=2)
    stream = _ReadAhead(source, block=10)
    assert stream.read(10) == b"a" * 10
    start = time.monotonic()
    stream.close()
    assert time.monotonic() - start < 5
    assert not source.closed  # still being read: left to the thread, a daemon
    source.release.set()
