"""A reader of TensorFlow's checkpoint format (tensor bundle V2), in numpy, without TensorFlow.

Spleeter's weights ship as a TensorFlow 1 checkpoint: ``model.index`` and
``model.data-00000-of-00001``. The index is a LevelDB-format table (an "SSTable"): data blocks
of prefix-compressed keys, an index block pointing at them, and a 48-byte footer pointing at
the index block; every block is followed by a type byte (0: stored, 1: snappy) and a masked
CRC-32C. Its keys are the variable names, sorted; the empty key holds a ``BundleHeaderProto``
and every other value is a ``BundleEntryProto`` (dtype, shape, shard, offset, size, masked
CRC-32C of the tensor's bytes), whose few fields are read here straight from protobuf's wire
format. Tensors are little-endian, row-major, in the data shard at ``offset``.

Written from the format as TensorFlow's ``tensor_bundle.cc`` and LevelDB's ``table_format.md``
describe it; :func:`write_checkpoint` writes the same format (uncompressed, one shard), so tests
can check the reader on files they make themselves.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from demixer.engine.errors import ModelNotAvailable

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the 8-byte magic
BLOCK_TRAILER_SIZE = 5  # compression type byte + masked CRC-32C
MASK_DELTA = 0xA282EAD8

# TensorFlow's DataType enum values this reader understands -> numpy little-endian dtypes
DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    9: np.dtype("<i8"),  # DT_INT64
}


class CheckpointError(ModelNotAvailable):
    """The checkpoint is not in the expected format, or a checksum does not match."""


# ---------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), as LevelDB and the tensor bundle use it
# ---------------------------------------------------------------------------------------------

_POLY = 0x82F63B78  # reflected Castagnoli polynomial


@cache
def _table() -> np.ndarray:
    """The byte-at-a-time lookup table: uint32 (256,)."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


def _crc_bytes(state: int, data: bytes) -> int:
    """Feed ``data`` to the CRC register one byte at a time (small inputs only)."""
    table = _table().tolist()
    for byte in data:
        state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
    return state


def _apply(columns: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A GF(2) 32x32 matrix (its 32 columns, uint32) applied to each of ``values`` (uint32)."""
    out = np.zeros_like(values)
    for bit in range(32):
        out ^= columns[bit] * ((values >> np.uint32(bit)) & np.uint32(1))
    return out


def _one_zero_byte() -> np.ndarray:
    """The linear map "feed one zero byte" on the register, as 32 columns."""
    basis = (np.uint32(1) << np.arange(32, dtype=np.uint32)).astype(np.uint32)
    return (_table()[basis & np.uint32(0xFF)] ^ (basis >> np.uint32(8))).astype(np.uint32)


def _zeros_operator(count: int) -> np.ndarray:
    """The map "feed ``count`` zero bytes", by repeated squaring of the one-byte map."""
    result = (np.uint32(1) << np.arange(32, dtype=np.uint32)).astype(np.uint32)  # identity
    power = _one_zero_byte()
    while count:
        if count & 1:
            result = _apply(power, result)
        power = _apply(power, power)
        count >>= 1
    return result


def crc32c(data: bytes | bytearray | memoryview | np.ndarray) -> int:
    """CRC-32C of ``data``, vectorised: ~0.5 s for Spleeter's 79 MB of weights.

    The register update is affine in the register, so the input is cut into ``lanes`` equal
    spans whose CRCs (from a zero register) are computed side by side, one byte column at a
    time, then folded pairwise: ``state(a + b) = shift(state(a), len(b)) ^ state(b)``, where
    ``shift`` feeds zero bytes (a 32x32 matrix over GF(2), squared at each level). The bytes past
    the last whole span are fed one at a time.
    """
    raw = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    n = raw.size
    lanes = 1
    while lanes * 2 * 512 <= n and lanes < 1 << 15:
        lanes *= 2
    if lanes < 16:
        return _crc_bytes(0xFFFFFFFF, raw.tobytes()) ^ 0xFFFFFFFF
    span = n // lanes
    columns = np.ascontiguousarray(raw[: lanes * span].reshape(lanes, span).T)
    table = _table()
    state = np.zeros(lanes, dtype=np.uint32)
    for column in columns:  # (lanes,) bytes at the same position in every span
        state = table[(state ^ column) & np.uint32(0xFF)] ^ (state >> np.uint32(8))
    shift = _zeros_operator(span)
    while state.size > 1:
        state = _apply(shift, state[0::2]) ^ state[1::2]
        shift = _apply(shift, shift)
    # the initial all-ones register, carried across every byte, then the spans' own part
    start = int(_apply(shift, np.array([0xFFFFFFFF], dtype=np.uint32))[0])
    total = start ^ int(state[0])
    return _crc_bytes(total, raw[lanes * span :].tobytes()) ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """LevelDB's masking (a CRC stored next to the data it covers is rotated and offset)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + MASK_DELTA) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------
# protobuf wire format (varints and length-delimited fields)
# ---------------------------------------------------------------------------------------------


def read_varint(buffer: bytes, pos: int) -> tuple[int, int]:
    """A base-128 varint at ``pos``: (value, position after it)."""
    value = shift = 0
    while True:
        if pos >= len(buffer):
            raise CheckpointError("truncated varint in checkpoint index")
        byte = buffer[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("overlong varint in checkpoint index")


def proto_fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of each field: ints for varint/fixed fields, bytes for the rest."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(message):
        key, pos = read_varint(message, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = read_varint(message, pos)
        elif wire == 1:
            (value,) = struct.unpack_from("<Q", message, pos)
            pos += 8
        elif wire == 2:
            length, pos = read_varint(message, pos)
            value = message[pos : pos + length]
            pos += length
        elif wire == 5:
            (value,) = struct.unpack_from("<I", message, pos)
            pos += 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire} in checkpoint index")
        if pos > len(message):
            raise CheckpointError("truncated protobuf message in checkpoint index")
        fields.append((number, value))
    return fields


@dataclass(frozen=True)
class BundleEntry:
    """Where one tensor lives (the fields of ``BundleEntryProto`` this reader uses)."""

    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None  # masked, as stored


def _shape(message: bytes) -> tuple[int, ...]:
    """``TensorShapeProto``: repeated ``Dim dim = 2`` with ``int64 size = 1``."""
    dims = []
    for number, value in proto_fields(message):
        if number == 2 and isinstance(value, bytes):
            size = next((v for n, v in proto_fields(value) if n == 1), 0)
            assert isinstance(size, int)
            dims.append(size)
        elif number == 3 and value:
            raise CheckpointError("a checkpoint tensor has an unknown rank")
    return tuple(dims)


def parse_entry(message: bytes) -> BundleEntry:
    """``BundleEntryProto``: dtype=1, shape=2, shard_id=3, offset=4, size=5, crc32c=6 (fixed32),
    slices=7 (partitioned variables, which this reader refuses)."""
    found: dict[int, int | bytes] = dict(proto_fields(message))
    if 7 in found:
        raise CheckpointError("partitioned (sliced) checkpoint variables are not supported")
    shape = found.get(2, b"")
    crc = found.get(6)
    values = [found.get(number, 0) for number in (1, 3, 4, 5)]
    numbers = [v for v in values if isinstance(v, int)]
    if not isinstance(shape, bytes) or len(numbers) != len(values):
        raise CheckpointError("malformed BundleEntryProto in checkpoint index")
    dtype, shard_id, offset, size = numbers
    return BundleEntry(
        dtype, _shape(shape), shard_id, offset, size, crc if isinstance(crc, int) else None
    )


# ---------------------------------------------------------------------------------------------
# the table (SSTable) itself
# ---------------------------------------------------------------------------------------------


def _block(table: bytes, offset: int, size: int) -> bytes:
    """A block's contents, after checking its trailer (type byte, masked CRC-32C)."""
    end = offset + size
    if end + BLOCK_TRAILER_SIZE > len(table):
        raise CheckpointError("checkpoint index is truncated (a block runs past its end)")
    kind = table[end]
    (stored,) = struct.unpack_from("<I", table, end + 1)
    if mask_crc(crc32c(table[offset : end + 1])) != stored:
        raise CheckpointError("checkpoint index block fails its CRC-32C check")
    if kind != 0:
        # TensorFlow writes bundle indexes uncompressed; snappy (1) would need a decoder
        raise CheckpointError(f"checkpoint index block is compressed (type {kind})")
    return table[offset:end]


def block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """The (key, value) pairs of one block, keys rebuilt from their shared prefixes."""
    if len(block) < 4:
        raise CheckpointError("checkpoint index block too short")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise CheckpointError("checkpoint index block has a bad restart count")
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = read_varint(block, pos)
        unshared, pos = read_varint(block, pos)
        value_length, pos = read_varint(block, pos)
        if shared > len(key) or pos + unshared + value_length > limit:
            raise CheckpointError("corrupt entry in a checkpoint index block")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + value_length]))
        pos += value_length
    return entries


def read_table(path: Path) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of a LevelDB-format table file, in key order."""
    table = path.read_bytes()
    if len(table) < FOOTER_SIZE:
        raise CheckpointError(f"{path.name} is too short to be a checkpoint index")
    footer = table[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise CheckpointError(f"{path.name} is not a checkpoint index (bad table magic)")
    _, pos = read_varint(footer, 0)  # metaindex handle: offset,
    _, pos = read_varint(footer, pos)  # size (the bundle keeps no meta blocks)
    index_offset, pos = read_varint(footer, pos)
    index_size, _ = read_varint(footer, pos)
    entries: list[tuple[bytes, bytes]] = []
    for _, handle in block_entries(_block(table, index_offset, index_size)):
        offset, pos = read_varint(handle, 0)
        size, _ = read_varint(handle, pos)
        entries.extend(block_entries(_block(table, offset, size)))
    return entries


# ---------------------------------------------------------------------------------------------
# the tensor bundle on top of it
# ---------------------------------------------------------------------------------------------


def _data_path(index: Path, shard: int, shards: int) -> Path:
    prefix = index.name.removesuffix(".index")
    return index.with_name(f"{prefix}.data-{shard:05d}-of-{shards:05d}")


def read_checkpoint(index: Path, *, verify: bool = True) -> dict[str, np.ndarray]:
    """Every tensor of a TF checkpoint: name -> array with its dtype and shape.

    ``index`` is the ``*.index`` file; the data shards sit beside it. With ``verify`` each
    tensor's bytes are checked against the CRC-32C its entry records.
    Raises :class:`CheckpointError` on anything unexpected.
    """
    entries = read_table(index)
    if not entries or entries[0][0] != b"":
        raise CheckpointError(f"{index.name} has no bundle header")
    header = dict(proto_fields(entries[0][1]))
    shards = header.get(1, 1)
    endianness = header.get(2, 0)
    if not isinstance(shards, int) or endianness != 0:
        raise CheckpointError(f"{index.name}: only little-endian bundles are supported")
    blobs: dict[int, memoryview] = {}
    tensors: dict[str, np.ndarray] = {}
    for key, value in entries[1:]:
        entry = parse_entry(value)
        name = key.decode("utf-8")
        if entry.dtype not in DTYPES:
            raise CheckpointError(f"{name}: unsupported tensor dtype {entry.dtype}")
        dtype = DTYPES[entry.dtype]
        count = int(np.prod(entry.shape, dtype=np.int64))
        if count * dtype.itemsize != entry.size:
            raise CheckpointError(f"{name}: {entry.size} bytes do not fit shape {entry.shape}")
        if entry.shard_id not in blobs:
            data = _data_path(index, entry.shard_id, shards)
            if not data.is_file():
                raise CheckpointError(f"checkpoint data file {data.name} is missing")
            blobs[entry.shard_id] = memoryview(data.read_bytes())
        blob = blobs[entry.shard_id]
        if entry.offset + entry.size > len(blob):
            raise CheckpointError(f"{name} runs past the end of its data file")
        raw = blob[entry.offset : entry.offset + entry.size]
        if verify and entry.crc32c is not None and mask_crc(crc32c(raw)) != entry.crc32c:
            raise CheckpointError(f"{name} fails its CRC-32C check")
        tensors[name] = np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()
    return tensors


# ---------------------------------------------------------------------------------------------
# a writer of the same format, for tests (one data block, uncompressed, one shard)
# ---------------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire) + payload


def _entry_proto(array: np.ndarray, offset: int, crc: int) -> bytes:
    dtype = next(k for k, v in DTYPES.items() if v == array.dtype.newbyteorder("<"))
    dims = b"".join(_field(2, 2, _len(_field(1, 0, _varint(d)))) for d in array.shape)
    return (
        _field(1, 0, _varint(dtype))
        + _field(2, 2, _len(dims))
        + _field(4, 0, _varint(offset))
        + _field(5, 0, _varint(array.nbytes))
        + _field(6, 5, struct.pack("<I", crc))
    )


def _len(payload: bytes) -> bytes:
    return _varint(len(payload)) + payload


def _block_bytes(entries: list[tuple[bytes, bytes]], restart_every: int = 16) -> bytes:
    out = bytearray()
    restarts = []
    previous = b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_every == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        out += key[shared:] + value
        previous = key
    for restart in restarts:
        out += struct.pack("<I", restart)
    out += struct.pack("<I", len(restarts))
    return bytes(out)


def write_checkpoint(prefix: Path, tensors: dict[str, np.ndarray]) -> Path:
    """Write ``prefix.index`` and ``prefix.data-00000-of-00001``; return the index path.

    Each tensor goes in its own data block (as TensorFlow does for large tensors), so the index
    block has more than one handle to follow.
    """
    data = bytearray()
    entries = [(b"", _field(1, 0, _varint(1)))]  # BundleHeaderProto: one shard, little-endian
    for name in sorted(tensors):
        array = np.asarray(tensors[name]).astype(tensors[name].dtype.newbyteorder("<"), order="C")
        raw = array.tobytes()
        entries.append((name.encode(), _entry_proto(array, len(data), mask_crc(crc32c(raw)))))
        data += raw
    table = bytearray()
    handles = []
    for group in (entries[:1], *([e] for e in entries[1:])):
        block = _block_bytes(group)
        handles.append((group[-1][0], _varint(len(table)) + _varint(len(block))))
        table += block + bytes([0]) + struct.pack("<I", mask_crc(crc32c(block + bytes([0]))))
    meta = _block_bytes([])
    meta_handle = _varint(len(table)) + _varint(len(meta))
    table += meta + bytes([0]) + struct.pack("<I", mask_crc(crc32c(meta + bytes([0]))))
    index_block = _block_bytes(handles, restart_every=1)
    index_handle = _varint(len(table)) + _varint(len(index_block))
    table += index_block + bytes([0]) + struct.pack("<I", mask_crc(crc32c(index_block + b"\0")))
    footer = (meta_handle + index_handle).ljust(FOOTER_SIZE - 8, b"\0")
    table += footer + struct.pack("<Q", TABLE_MAGIC)
    index = prefix.with_name(prefix.name + ".index")
    index.write_bytes(bytes(table))
    _data_path(index, 0, 1).write_bytes(bytes(data))
    return index
