"""Writing a V2 checkpoint (a tensor bundle) from NumPy arrays, without TensorFlow.

For weights hubpub already holds (a recipe's parsed matrix), TensorFlow's Saver would first
copy each array into a variable, so a multi-gigabyte matrix would be in memory twice; this
writer streams the array to disk instead. It writes the files the Saver of a module writes,
byte for byte (a test holds that):

- ``PREFIX.data-00000-of-00001``: each tensor's raw little-endian bytes, in key order;
- ``PREFIX.index``: an immutable sorted table (the LevelDB layout ``checkpoint_index``
  reads) mapping the empty key to a ``BundleHeaderProto`` and each name to a
  ``BundleEntryProto``: dtype, shape, offset, size and the masked CRC32C of the bytes.

Only numeric and boolean arrays: strings and partitioned variables are left to TensorFlow.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

import google_crc32c
import numpy as np

from hubpub.spec.checkpoint_index import FOOTER_SIZE, TABLE_MAGIC, mask_crc32c
from hubpub.spec.lite import BundleEntry, BundleHeader, dtype_number

__all__ = ["can_write", "write_checkpoint"]

_BLOCK_SIZE = 262_144  # what TensorFlow's table builder uses for bundle indexes
_RESTART_INTERVAL = 16
_CHUNK = 1 << 20  # bytes per write and per CRC update: small copies stay in the CPU cache
_VERSION = b"\x08\x01"  # VersionDef{producer: 1}: the tensor bundle format's version


def can_write(value: object) -> bool:
    """Whether ``value`` is an array this writer stores (numeric or bool, not object)."""
    return isinstance(value, np.ndarray) and _dtype_enum(value.dtype) is not None


def write_checkpoint(prefix: str | Path, tensors: Mapping[str, np.ndarray], *,
                     progress: Callable[[int], None] | None = None) -> None:
    """Write ``tensors`` (checkpoint key -> array) as the V2 checkpoint at ``prefix``.

    ``progress(bytes_written)`` is called as the data file grows.
    """
    entries: list[tuple[bytes, bytes]] = [(b"", BundleHeader(num_shards=1,
                                                             version=_VERSION)
                                           .SerializeToString())]
    offset = 0
    with open(f"{prefix}.data-00000-of-00001", "wb") as data:
        for name in sorted(tensors):
            array = tensors[name]
            dtype = _dtype_enum(array.dtype)
            if dtype is None:
                raise TypeError(f"{name}: cannot write {array.dtype} values without TensorFlow")
            crc = _write_bytes(data, array, offset, progress)
            entry = BundleEntry(dtype=dtype, offset=offset, size=array.nbytes,
                                crc32c=mask_crc32c(crc))
            entry.shape.SetInParent()  # a scalar has an empty shape, not a missing one
            for size in array.shape:
                entry.shape.dim.add(size=size)
            entries.append((name.encode("utf-8"), entry.SerializeToString()))
            offset += array.nbytes
    Path(f"{prefix}.index").write_bytes(_table(entries))


def _dtype_enum(dtype: np.dtype) -> int | None:
    if dtype.kind not in "biufc" or dtype.byteorder == ">":
        return None
    return dtype_number(dtype.name)


def _write_bytes(data: BinaryIO, array: np.ndarray, done: int,
                 progress: Callable[[int], None] | None) -> int:
    """Stream ``array``'s bytes into ``data``; returns their CRC32C."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)  # no copy when contiguous
    view = flat.data
    crc = 0
    for start in range(0, len(view), _CHUNK):
        chunk = bytes(view[start:start + _CHUNK])  # google_crc32c takes only read-only bytes
        crc = google_crc32c.extend(crc, chunk)
        data.write(chunk)
        if progress is not None:
            progress(done + start + len(chunk))
    return crc


# --- the sorted table ------------------------------------------------------------------------

def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class _Block:
    """A block being built: prefix-compressed entries, a restart point every 16 of them."""

    def __init__(self) -> None:
        self._out = bytearray()
        self._restarts = [0]
        self.count = 0  # entries
        self.first_key = self.last_key = b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.count % _RESTART_INTERVAL:
            shared = _common_prefix(key, self.last_key)
        elif self.count:
            self._restarts.append(len(self._out))
        else:
            self.first_key = key
        self._out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        self._out += key[shared:] + value
        self.count += 1
        self.last_key = key

    def size(self) -> int:
        """The block's size once finished (TensorFlow's builder closes blocks on it)."""
        return len(self._out) + 4 * len(self._restarts) + 4

    def finish(self) -> bytes:
        return bytes(self._out + struct.pack(f"<{len(self._restarts) + 1}I", *self._restarts,
                                             len(self._restarts)))


def _common_prefix(a: bytes, b: bytes) -> int:
    return len(os.path.commonprefix([a, b]))


def _separator(last: bytes, following: bytes | None) -> bytes:
    """The short index key TensorFlow's bytewise comparator picks between two blocks."""
    if following is None:  # after the last block: the shortest key >= last
        for i, byte in enumerate(last):
            if byte != 0xFF:
                return last[:i] + bytes([byte + 1])
        return last
    common = _common_prefix(last, following)
    if common < min(len(last), len(following)):
        byte = last[common]
        if byte < 0xFF and byte + 1 < following[common]:
            return last[:common] + bytes([byte + 1])
    return last


def _table(entries: list[tuple[bytes, bytes]]) -> bytes:
    """The table file: data blocks, an empty meta-index block, the index block, the footer."""
    blocks = [_Block()]
    for key, value in entries:
        blocks[-1].add(key, value)
        if blocks[-1].size() >= _BLOCK_SIZE:
            blocks.append(_Block())
    if not blocks[-1].count:  # the last entry filled a block
        blocks.pop()
    out = bytearray()

    def write(block: _Block) -> bytes:
        contents = block.finish()
        handle = _varint(len(out)) + _varint(len(contents))
        out.extend(contents)
        out.append(0)  # no compression
        out.extend(struct.pack("<I", mask_crc32c(google_crc32c.extend(
            google_crc32c.value(contents), b"\x00"))))
        return handle

    index = _Block()
    for i, block in enumerate(blocks):
        handle = write(block)
        following = blocks[i + 1].first_key if i + 1 < len(blocks) else None
        index.add(_separator(block.last_key, following), handle)
    meta_handle = write(_Block())
    index_handle = write(index)
    footer = (meta_handle + index_handle).ljust(FOOTER_SIZE - 8, b"\x00")
    out.extend(footer + struct.pack("<Q", TABLE_MAGIC))
    return bytes(out)
