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

from hubpub.errors import InputError, ModuleFormatError
from hubpub.files.inputs import CHECKPOINT_INDEX, read_input
from hubpub.spec.lite import BundleEntry, BundleHeader, dtype_name

__all__ = ["FOOTER_SIZE", "TABLE_MAGIC", "CheckpointIndex", "ShardCheck", "TensorEntry",
           "mask_crc32c", "parse_checkpoint_index", "read_checkpoint_index"]

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
    slices: tuple[TensorEntry, ...] = ()  # the slices of partitioned variables

    def stored(self) -> list[TensorEntry]:
        """Every entry with bytes in a data shard: whole tensors and slices."""
        return [e for e in self.tensors.values() if not e.slice_crcs] + list(self.slices)

    def shard_name(self, shard: int) -> str:
        return f"variables.data-{shard:05d}-of-{self.num_shards:05d}"


def mask_crc32c(crc: int) -> int:
    """The masked CRC32C LevelDB stores (a CRC of data that holds CRCs stays useful)."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class ShardCheck:
    """Checks the entries of one data shard as TensorFlow reads them at restore, streaming.

    TensorFlow refuses a tensor whose offset is negative, whose bytes run past its shard or
    whose CRC32C does not match; so does this, in one pass over the shard's bytes (``feed``
    them in order, then ``problems()``). Entries that overlap are refused as well (the
    writer never makes them), which keeps the pass linear: each byte is checksummed once.
    """

    def __init__(self, entries: list[TensorEntry], shard: str, size: int) -> None:
        self.shard = shard
        self._problems: list[str] = []
        self._todo: list[TensorEntry] = []
        end, previous = 0, ""
        for entry in sorted(entries, key=lambda e: (e.offset, e.size, e.name)):
            where = f"tensor '{entry.name}'"
            if entry.offset < 0 or entry.size < 0:
                self._problems.append(f"{where} has offset {entry.offset} and size "
                                      f"{entry.size} in {shard}; both must be >= 0")
            elif entry.offset + entry.size > size:
                self._problems.append(f"{where} ends at byte {entry.offset + entry.size} of "
                                      f"{shard}, which has {size}")
            elif entry.offset < end:
                self._problems.append(f"{where} overlaps tensor '{previous}' in {shard}")
            else:
                self._todo.append(entry)
                end, previous = entry.offset + entry.size, entry.name
        self._position = 0
        self._next = 0
        self._crc = 0

    def feed(self, chunk: bytes) -> None:
        """The shard's next bytes."""
        import google_crc32c

        start, stop = self._position, self._position + len(chunk)
        view = memoryview(chunk)
        while self._next < len(self._todo) and self._todo[self._next].offset < stop:
            entry = self._todo[self._next]
            end = entry.offset + entry.size
            piece = view[max(entry.offset, start) - start:min(end, stop) - start]
            self._crc = google_crc32c.extend(self._crc, bytes(piece))
            if end > stop:
                break
            self._finish(entry)
        self._position = stop

    def _finish(self, entry: TensorEntry) -> None:
        if mask_crc32c(self._crc) != entry.crc32c:
            self._problems.append(f"tensor '{entry.name}': the CRC32C of its {entry.size} "
                                  f"bytes in {self.shard} does not match the index (the data "
                                  f"is corrupt; TensorFlow refuses to restore it)")
        self._crc = 0
        self._next += 1

    def problems(self) -> list[str]:
        """What is wrong, once every byte was fed."""
        while self._next < len(self._todo):  # empty tensors at the very end
            entry = self._todo[self._next]
            if entry.offset + entry.size > self._position:
                self._problems.append(f"tensor '{entry.name}': {self.shard} ended before its "
                                      f"bytes did")
                self._next += 1
                continue
            self._finish(entry)
        return self._problems


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
        slice_entries: list[TensorEntry] = []
        for _, handle in _entries(_block(data, index_offset, index_size)):
            offset, pos = _varint(handle, 0)
            size, _ = _varint(handle, pos)
            for key, value in _entries(_block(data, offset, size)):
                if not key:
                    header = BundleHeader.FromString(value)
                elif key[0] == 0:  # a zero byte starts the key of a partition's slice
                    owner = _slice_owner(key)
                    entry = _tensor_entry(f"{owner} (a slice)", value)
                    slices.setdefault(owner, []).append(entry.crc32c)
                    slice_entries.append(entry)
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
    return CheckpointIndex(header.num_shards, tensors, tuple(slice_entries))


def read_checkpoint_index(path: Path, *, where: str | None = None) -> CheckpointIndex:
    try:
        data = read_input(path, CHECKPOINT_INDEX)
    except InputError as exc:
        raise ModuleFormatError(str(exc)) from exc
    return parse_checkpoint_index(data, where=where or str(path))
