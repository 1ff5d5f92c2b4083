"""Reading a checkpoint's ``variables.index`` without TensorFlow and without the values.

The index is an immutable sorted table (the LevelDB table layout TensorFlow uses for tensor
bundles): data blocks of prefix-compressed key/value entries, an index block pointing at them,
and a 48-byte footer ending in a magic number. Each key is a tensor name; each value a
``BundleEntryProto`` with the tensor's dtype, shape, shard, offset, size and CRC32C. The empty
key holds the ``BundleHeaderProto``. Keys of slices of partitioned variables start with a zero
byte; the full variable's entry describes them, so they are skipped.

Knowing the CRC32C of every tensor tells whether two checkpoints hold the same values without
reading the data files, which may be gigabytes.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError

from hubpub.errors import ModuleFormatError
from hubpub.spec.lite import BundleEntry, BundleHeader, dtype_name

__all__ = ["FOOTER_SIZE", "TABLE_MAGIC", "CheckpointIndex", "TensorEntry",
           "parse_checkpoint_index", "read_checkpoint_index"]

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
_TRAILER = 5  # compression type byte + masked CRC32C
_NO_COMPRESSION = 0


@dataclass(frozen=True)
class TensorEntry:
    """One checkpointed tensor, as the index describes it."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int
    slice_crcs: tuple[int, ...] = ()  # a partitioned variable: the CRC32C of each slice

    @property
    def checksum(self) -> tuple[int, ...]:
        """Equal for two entries when their values are (save for a CRC collision) equal."""
        return (self.crc32c, *self.slice_crcs)


@dataclass(frozen=True)
class CheckpointIndex:
    num_shards: int
    tensors: dict[str, TensorEntry]


class _Corrupt(Exception):
    """Raised inside the parser; turned into ModuleFormatError with the file's name."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Corrupt("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _block(data: bytes, offset: int, size: int) -> bytes:
    if offset < 0 or size < 4 or offset + size + _TRAILER > len(data):
        raise _Corrupt(f"a block handle ({offset}, {size}) points outside the file")
    if data[offset + size] != _NO_COMPRESSION:
        raise _Corrupt(f"compressed blocks (type {data[offset + size]}) are not supported")
    return data[offset:offset + size]


def _entries(block: bytes) -> list[tuple[bytes, bytes]]:
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * restarts
    if end < 0:
        raise _Corrupt("a block's restart array is larger than the block")
    out: list[tuple[bytes, bytes]] = []
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_size, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + value_size > end:
            raise _Corrupt("an entry runs past its block")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        out.append((key, block[pos:pos + value_size]))
        pos += value_size
    return out


def _slice_owner(key: bytes) -> str:
    """The variable name in a slice key: a zero byte, then the name in OrderedCode's string
    encoding (0x00 written as 00 ff, 0xff as ff 00, ended by 00 01), then the slice."""
    name, pos = bytearray(), 1
    while pos + 1 < len(key):
        pair = key[pos:pos + 2]
        if pair == b"\x00\x01":
            break
        if pair in (b"\x00\xff", b"\xff\x00"):
            name.append(pair[0])
            pos += 2
        else:
            name.append(key[pos])
            pos += 1
    return name.decode("utf-8", errors="replace")


def _tensor_entry(name: str, value: bytes) -> TensorEntry:
    proto = BundleEntry.FromString(value)
    shape = tuple(int(d.size) for d in proto.shape.dim)
    return TensorEntry(name, dtype_name(proto.dtype), shape, proto.shard_id, proto.offset,
                       proto.size, proto.crc32c)


def parse_checkpoint_index(data: bytes, *, where: str) -> CheckpointIndex:
    """Parse the bytes of a ``.index`` file; ``where`` names it in errors."""
    try:
        if len(data) < FOOTER_SIZE:
            raise _Corrupt("shorter than a table footer")
        footer = data[-FOOTER_SIZE:]
        (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
        if magic != TABLE_MAGIC:
            raise _Corrupt("no table magic number at the end")
        _, pos = _varint(footer, 0)  # metaindex handle: offset and size, unused
        _, pos = _varint(footer, pos)
        index_offset, pos = _varint(footer, pos)
        index_size, _ = _varint(footer, pos)
        header = None
        tensors: dict[str, TensorEntry] = {}
        slices: dict[str, list[int]] = {}
        for _, handle in _entries(_block(data, index_offset, index_size)):
            offset, pos = _varint(handle, 0)
            size, _ = _varint(handle, pos)
            for key, value in _entries(_block(data, offset, size)):
                if not key:
                    header = BundleHeader.FromString(value)
                elif key[0] == 0:  # a zero byte starts the key of a partition's slice
                    slices.setdefault(_slice_owner(key), []).append(
                        BundleEntry.FromString(value).crc32c)
                else:
                    name = key.decode("utf-8", errors="replace")
                    tensors[name] = _tensor_entry(name, value)
    except (_Corrupt, DecodeError, struct.error) as exc:
        raise ModuleFormatError(f"{where} is not a readable checkpoint index: {exc}") from exc
    if header is None:
        raise ModuleFormatError(f"{where} is not a readable checkpoint index: it has no header "
                                f"entry")
    for name, crcs in slices.items():
        if name in tensors:
            tensors[name] = dataclasses.replace(tensors[name], slice_crcs=tuple(crcs))
    return CheckpointIndex(header.num_shards, tensors)


def read_checkpoint_index(path: Path, *, where: str | None = None) -> CheckpointIndex:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModuleFormatError(f"cannot read {where or path}: {exc.strerror}") from exc
    return parse_checkpoint_index(data, where=where or str(path))
