""".nlut format version 3, the lean container (docs/nlut-format.md, "Version 3").

Byte layout (integers little-endian; encodings in :mod:`lutplug.codec.wire`)::

    0   4  magic b"NLUT"
    4   1  format version 3
    5   m  field map, a LEB128 bit set: bit 0 signed, bit 1 tensor block deflated, bit 2 tensor
           facts follow, bits 3.. the description record's slots (lutplug.codec.record)
    .   .  tensor facts (bit 2 only): a varint of bits (1 shaper, 2 shaper float32, 4 residual
           lattice int16, 8 tensor index, 16 shaper delta-coded, 32 residual lattice
           delta-coded), the shaper's entry count (varint), the tensor index
    .   .  description record (lutplug.codec.record)
    .   B  tensor block: raw bytes, or (bit 1) a raw DEFLATE stream (RFC 1951) of them; its
           length before compression follows from the configuration and the facts
    .   4  CRC-32 (ISO-HDLC, as zlib.crc32) of every byte before it, bit 0 of byte 5 cleared
    .  96  signed files only: the signer's raw Ed25519 public key and the signature of every byte
           before it (the flag set)

Tensor block: ``m.q`` int8 (every network tensor but a residual lattice, in
:func:`lutplug.codec.layout.packed_layout` order), ``m.s`` float16 (their scales), the residual
lattice int8 or int16 (N, N, N, 3), the shaper float16 or float32 (M, 3) — or, with a tensor
index, each indexed tensor in index order, then the shaper. Nothing is allocated from a claimed
size before it is checked; the file is refused at the first byte that does not fit.

Delta coding (facts 16 and 32, chosen by the writer when the block deflates smaller): the
shaper's bit patterns (uint16 for float16, uint32 for float32) are stored as differences along
its entries (each channel apart; the first entry as it is), and the residual lattice's integers
as differences along red, the fastest axis (``[b, g, r, c]``), both modulo 2^bits; multi-byte
values then byte-shuffled (every value's lowest byte first, then the next byte, …). A smooth
curve or a smooth residual becomes small numbers that deflate well.
"""
from __future__ import annotations

import dataclasses
import math
import zlib
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from lutplug.codec import layout, record
from lutplug.codec.signing import PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from lutplug.codec.tensorfile import MAX_ELEMENTS, TensorSpec
from lutplug.codec.wire import Malformed, Reader, Writer
from lutplug.errors import LutError, StrippedSignatureError

VERSION = 3
FLAG_SIGNED, FLAG_DEFLATED, FLAG_FACTS = 0x01, 0x02, 0x04
#: Field-map bits before the description record's slots.
MAP_FLAG_BITS = 3
MAP_BITS = MAP_FLAG_BITS + len(record.SLOTS)
FACT_SHAPER, FACT_SHAPER_F32, FACT_LATTICE_I16, FACT_INDEX = 0x01, 0x02, 0x04, 0x08
FACT_SHAPER_DELTA, FACT_LATTICE_DELTA = 0x10, 0x20
FACT_BITS = 6
CRC_BYTES = 4
SIGNATURE_BLOCK = PUBLIC_KEY_BYTES + SIGNATURE_BYTES
#: Shortest possible file: magic, version, a one-byte map, an empty record, no block, CRC.
MIN_BYTES = 5 + 1 + CRC_BYTES
#: Largest file accepted (signature excluded) and largest tensor block, inflated.
MAX_FILE = 16 << 20
MAX_BLOCK = 64 << 20
#: Tensor index: dtype codes, most entries, most axes, name characters.
DTYPES: Dict[int, np.dtype] = {1: np.dtype("<i1"), 2: np.dtype("<i2"), 3: np.dtype("<f2"),
                               4: np.dtype("<f4"), 5: np.dtype("<f8"), 6: np.dtype("<i4")}
_CODES = {v: k for k, v in DTYPES.items()}
MAX_INDEX, MAX_AXES, MAX_NAME = 64, 4, 64
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")

#: ``check(description, specs)``: the caller's layout check, before the tensor block is inflated.
Check = Callable[[dict, Dict[str, TensorSpec]], None]


@dataclasses.dataclass
class Facts:
    """What the tensor block holds besides what the configuration says: a shaper (entries,
    type), a residual lattice's type, or a tensor index (name, dtype, shape)."""

    shaper: int = 0
    shaper_dtype: np.dtype = np.dtype("<f2")
    lattice_dtype: np.dtype = np.dtype("<i1")
    index: Optional[List[Tuple[str, np.dtype, Tuple[int, ...]]]] = None
    shaper_delta: bool = False
    lattice_delta: bool = False

    def bits(self) -> int:
        return ((FACT_SHAPER if self.shaper else 0)
                | (FACT_SHAPER_F32 if self.shaper_dtype == np.float32 else 0)
                | (FACT_LATTICE_I16 if self.lattice_dtype == np.int16 else 0)
                | (FACT_INDEX if self.index is not None else 0)
                | (FACT_SHAPER_DELTA if self.shaper_delta else 0)
                | (FACT_LATTICE_DELTA if self.lattice_delta else 0))


def _unsigned(arr: np.ndarray) -> np.ndarray:
    """``arr``'s bit patterns as unsigned integers of the same size (a view)."""
    return arr.view(np.dtype(f"<u{arr.dtype.itemsize}"))


def delta_encode(arr: np.ndarray, axis: int) -> bytes:
    """``arr`` (little-endian) delta-coded along ``axis`` modulo 2^bits, then byte-shuffled."""
    bits = _unsigned(np.ascontiguousarray(arr, arr.dtype.newbyteorder("<")))
    out = bits.copy()
    head = [slice(None)] * arr.ndim
    tail = [slice(None)] * arr.ndim
    head[axis], tail[axis] = slice(1, None), slice(None, -1)
    out[tuple(head)] = bits[tuple(head)] - bits[tuple(tail)]  # wraps modulo 2^bits
    planes = out.reshape(-1).view(np.uint8).reshape(-1, arr.dtype.itemsize)
    return np.ascontiguousarray(planes.T).tobytes()


def delta_decode(data: bytes, dtype: np.dtype, shape: Tuple[int, ...], axis: int) -> np.ndarray:
    """The inverse of :func:`delta_encode`: an array of ``dtype`` and ``shape``."""
    size = np.dtype(dtype).itemsize
    planes = np.frombuffer(data, np.uint8).reshape(size, -1)
    bits = np.ascontiguousarray(planes.T).view(np.dtype(f"<u{size}")).reshape(shape)
    return np.cumsum(bits, axis=axis, dtype=bits.dtype).view(np.dtype(dtype).newbyteorder("<"))


# ----------------------------------------------------------------------------- framing

def crc(signed_part: bytes) -> bytes:
    """The CRC-32 field of ``signed_part`` (everything before the CRC, signed flag cleared)."""
    head = bytearray(signed_part[:6])
    if len(head) > 5:
        head[5] &= ~FLAG_SIGNED & 0xFF
    value = zlib.crc32(bytes(signed_part[6:]), zlib.crc32(bytes(head)))
    return value.to_bytes(4, "little")


def _crc_ok(part: bytes) -> bool:
    return len(part) >= MIN_BYTES and bytes(part[-CRC_BYTES:]) == crc(part[:-CRC_BYTES])


def split(data: bytes, source: str) -> Tuple[bytes, bytes, Optional[bytes], Optional[bytes]]:
    """(signed part, payload = signed part after byte 5, public key or None, signature or None)
    of version 3 bytes whose magic and version were checked, without parsing anything.
    :class:`StrippedSignatureError` when byte 5 says signed but the file is complete without
    its signature block (the CRC-32 ends the file)."""
    if len(data) < MIN_BYTES:
        raise LutError("file is too short to be a .nlut", source)
    if len(data) > MAX_FILE + SIGNATURE_BLOCK:
        raise LutError(f"file is {len(data)} bytes, more than the {MAX_FILE} accepted", source)
    if not data[5] & FLAG_SIGNED:
        return data, data[5:], None, None
    end = len(data) - SIGNATURE_BLOCK
    if not (end >= MIN_BYTES and _crc_ok(data[:end])) and _crc_ok(data):
        raise StrippedSignatureError("the header says signed but the file ends before the "
                                     "signature: the signature was stripped", source)
    if end < MIN_BYTES:
        raise LutError("file is too short to be a signed .nlut", source)
    return data[:end], data[5:end], data[end:end + PUBLIC_KEY_BYTES], data[end + PUBLIC_KEY_BYTES:]


# ----------------------------------------------------------------------------- reading

def decode(data: bytes, source: str, check: Optional[Check] = None
           ) -> Tuple[Dict[str, np.ndarray], dict, bytes, Optional[bytes], Optional[bytes]]:
    """(tensors, description, signed part, key, signature) of version 3 bytes. Reading order:
    framing (:func:`split`), CRC-32, field map, tensor facts, description record, the tensor
    layout and ``check`` (before anything is inflated), then the tensor block, inflated to
    exactly the size the layout needs. Structure only: the caller checks the signature first.
    Raises :class:`LutError` naming ``source``."""
    signed_part, _, key, sig = split(data, source)
    if not _crc_ok(signed_part):
        if sig is None and len(data) > SIGNATURE_BLOCK and _crc_ok(data[:-SIGNATURE_BLOCK]):
            raise LutError("the header says unsigned but a signature block follows: the signed "
                           "flag was cleared", source)
        raise LutError("file is corrupted: its CRC-32 does not match (changed, truncated or padded "
                       "bytes)", source)
    field_map, facts, description, spans = _head(signed_part, source)
    specs = _specs(description, facts, source)
    if check is not None:
        check(description, specs)
    raw = _block(signed_part[slice(*spans["tensors"])], bool(field_map & FLAG_DEFLATED),
                 max((t.end for t in specs.values()), default=0), source)
    if facts.lattice_delta and layout.PACKED_LATTICE not in specs:
        raise LutError("tensor facts say the residual lattice is delta-coded, but the network has none",
                       source)
    delta_axes = {layout.SHAPER: 0 if facts.shaper_delta else None,
                  layout.PACKED_LATTICE: 2 if facts.lattice_delta else None}
    tensors = {}
    for name, t in specs.items():
        axis = delta_axes.get(name)
        if axis is None:
            arr = np.frombuffer(raw, t.dtype, math.prod(t.shape), t.begin).reshape(t.shape)
        else:
            arr = delta_decode(raw[t.begin:t.end], t.dtype, t.shape, axis)
        tensors[name] = arr.astype(t.dtype.newbyteorder("="))
    return tensors, description, signed_part, key, sig


def sections(data: bytes, source: str = ".nlut") -> Dict[str, Tuple[int, int]]:
    """Byte spans [start, end) of a version 3 file's parts, found by parsing (nothing is
    inflated): ``header`` (magic, version), ``map``, ``facts``, ``record``, ``tensors`` (the
    tensor block as stored: what "overhead" leaves out), ``crc`` and, signed, ``signature``."""
    signed_part, _, _, sig = split(data, source)
    spans = _head(signed_part, source)[3]
    if sig is not None:
        spans["signature"] = (len(signed_part), len(data))
    return spans


def _head(signed_part: bytes, source: str) -> Tuple[int, Facts, dict, Dict[str, Tuple[int, int]]]:
    """(field map, tensor facts, description, byte spans) of a signed part: everything but the
    tensor block parsed."""
    r = Reader(signed_part, 5, len(signed_part) - CRC_BYTES)
    try:
        field_map = r.bitmap("field map", MAP_BITS)
        spans = {"header": (0, 5), "map": (5, r.pos)}
        facts_start = r.pos
        facts = _read_facts(r) if field_map & FLAG_FACTS else Facts()
        spans["facts"] = (facts_start, r.pos)
        record_start = r.pos
        description = record.decode(r, field_map >> MAP_FLAG_BITS)
    except Malformed as exc:
        raise LutError(str(exc), source) from None
    end = len(signed_part)
    spans.update(record=(record_start, r.pos), tensors=(r.pos, end - CRC_BYTES),
                 crc=(end - CRC_BYTES, end))
    return field_map, facts, description, spans


def _read_facts(r: Reader) -> Facts:
    bits = r.varint("tensor facts", (1 << FACT_BITS) - 1)
    if not bits or (bits & FACT_SHAPER_F32 and not bits & FACT_SHAPER) \
            or (bits & FACT_LATTICE_I16 and bits & FACT_INDEX):
        raise Malformed(f"tensor facts {bits:#x} are not a valid combination")
    if (bits & FACT_SHAPER_DELTA and not bits & FACT_SHAPER) or (bits & FACT_LATTICE_DELTA and bits & FACT_INDEX):
        raise Malformed(f"tensor facts {bits:#x} are not a valid combination")
    facts = Facts(lattice_dtype=DTYPES[2] if bits & FACT_LATTICE_I16 else DTYPES[1],
                  shaper_dtype=DTYPES[4] if bits & FACT_SHAPER_F32 else DTYPES[3],
                  shaper_delta=bool(bits & FACT_SHAPER_DELTA),
                  lattice_delta=bool(bits & FACT_LATTICE_DELTA))
    if bits & FACT_SHAPER:
        facts.shaper = r.varint("shaper entry count", layout.MAX_SHAPER)
        if facts.shaper < 2:
            raise Malformed(f"shaper has {facts.shaper} entries (at least 2)")
    if bits & FACT_INDEX:
        facts.index = []
        count = r.varint("tensor index count", MAX_INDEX)
        if not count:
            raise Malformed("tensor index is empty")
        for i in range(count):
            name = r.take(r.varint("tensor name length", MAX_NAME), "tensor name").decode("ascii", "replace")
            if not name or not set(name) <= _NAME_CHARS or (facts.index and name <= facts.index[-1][0]):
                raise Malformed(f"tensor index entry {i}: name {name[:40]!r} is not a sorted "
                                "[A-Za-z0-9_.] name")
            code = r.varint("tensor dtype", max(DTYPES))
            if code not in DTYPES:
                raise Malformed(f"tensor {name!r} has an unknown dtype code {code}")
            shape = tuple(r.varint("tensor shape", MAX_ELEMENTS) for _ in range(r.varint("tensor axes", MAX_AXES)))
            facts.index.append((name, DTYPES[code], shape))
    return facts


def _specs(description: dict, facts: Facts, source: str) -> Dict[str, TensorSpec]:
    """The tensors the block holds, with their byte spans: from the configuration (packed) or
    the index, then the shaper. Refused when the configuration is invalid or the sizes exceed
    :data:`MAX_BLOCK`."""
    entries: List[Tuple[str, np.dtype, Tuple[int, ...]]]
    if facts.index is not None:
        entries = [(layout.MODEL_PREFIX + name, dtype, shape) for name, dtype, shape in facts.index]
    else:
        config = description.get("model")
        if not isinstance(config, dict):
            raise LutError("description has no model configuration", source)
        with layout.network_mismatch(source):
            packed = layout.packed_specs(config, facts.lattice_dtype)
        if facts.lattice_dtype == np.int16 and layout.PACKED_LATTICE not in packed:
            raise LutError("tensor facts give a residual lattice type, but the network has none", source)
        entries = [(name, dtype.newbyteorder("<"), shape) for name, (dtype, shape) in packed.items()]
    if facts.shaper:
        entries.append((layout.SHAPER, facts.shaper_dtype, (facts.shaper, 3)))
    specs: Dict[str, TensorSpec] = {}
    offset = 0
    for name, dtype, shape in entries:
        count = math.prod(shape)
        if count > MAX_ELEMENTS:
            raise LutError(f"tensor {name!r} has {count} elements, more than the {MAX_ELEMENTS} "
                           "accepted", source)
        specs[name] = TensorSpec(dtype, tuple(shape), offset, offset + count * dtype.itemsize)
        offset += count * dtype.itemsize
        if offset > MAX_BLOCK:
            raise LutError(f"tensors need more than the {MAX_BLOCK} bytes a tensor block may hold",
                           source)
    return specs


def _block(block: bytes, deflated: bool, size: int, source: str) -> bytes:
    """The tensor block's ``size`` bytes: stored, or inflated in one call bounded to
    ``size`` + 1 bytes (a stream yielding more, less, or followed by stray bytes is refused)."""
    if not deflated:
        if len(block) != size:
            raise LutError(f"tensor block holds {len(block)} bytes, the network needs {size}", source)
        return bytes(block)
    z = zlib.decompressobj(-15)
    try:
        raw = z.decompress(bytes(block), size + 1)
    except zlib.error as exc:
        raise LutError(f"tensor block is corrupted ({exc})", source) from None
    if len(raw) > size:
        raise LutError(f"tensor block inflates beyond the {size} bytes the network needs", source)
    if not z.eof or z.unused_data or len(raw) < size:
        raise LutError(f"tensor block inflates to {len(raw)} bytes, the network needs {size} "
                       "(truncated, or followed by stray bytes)", source)
    return raw


# ----------------------------------------------------------------------------- writing

def encode(tensors: Dict[str, np.ndarray], description: dict, magic: bytes = b"NLUT") -> bytes:
    """Unsigned version 3 bytes for stored ``tensors`` (:func:`lutplug.codec.layout.stored_tensors`:
    packed ``m.q``/``m.s``/``m.lattice`` or one ``m.<name>`` each, and ``shaper``) and the
    description. ValueError for tensors this layout cannot name."""
    tensors = dict(tensors)
    shaper = tensors.pop(layout.SHAPER, None)
    facts = Facts()
    if layout.PACKED_Q in tensors:
        lattice = tensors.get(layout.PACKED_LATTICE)
        if lattice is not None:
            facts.lattice_dtype = np.dtype(lattice.dtype).newbyteorder("<")
        order = [(layout.PACKED_Q, (np.int8,)), (layout.PACKED_S, (np.float16,)),
                 (layout.PACKED_LATTICE, (np.int8, np.int16))]
        if set(tensors) - {name for name, _ in order}:
            raise ValueError(f"packed tensors cannot be stored with {sorted(tensors)}")
        arrays = []
        for name, types in order:
            if name in tensors:
                if np.asarray(tensors[name]).dtype not in types or np.ndim(tensors[name]) != (name == layout.PACKED_LATTICE) * 3 + 1:
                    raise ValueError(f"{name} cannot be stored as {np.asarray(tensors[name]).dtype}")
                arrays.append(tensors[name])
    else:
        facts.index = []
        arrays = []
        for name in sorted(tensors):
            arr = np.asarray(tensors[name])
            dtype = arr.dtype.newbyteorder("<")
            if not name.startswith(layout.MODEL_PREFIX) or dtype not in _CODES:
                raise ValueError(f"tensor {name!r} ({arr.dtype}) cannot be stored in a .nlut")
            facts.index.append((name[len(layout.MODEL_PREFIX):], dtype, arr.shape))
            arrays.append(arr)
    if shaper is not None:
        facts.shaper = len(shaper)
        facts.shaper_dtype = np.dtype(shaper.dtype).newbyteorder("<")
        if facts.shaper_dtype not in (DTYPES[3], DTYPES[4]):
            raise ValueError(f"shaper cannot be stored as {shaper.dtype}")
        arrays.append(shaper)
    lattice_at = next((i for i, a in enumerate(arrays) if facts.index is None and np.ndim(a) == 4), None)
    shaper_at = len(arrays) - 1 if shaper is not None else None
    raw, small, facts.shaper_delta, facts.lattice_delta = encode_block(arrays, shaper_at, lattice_at)
    deflated = len(small) < len(raw)
    slots, values = record.encode(description)
    w = Writer()
    w.raw(magic + bytes([VERSION]))
    bits = facts.bits()
    w.bitmap(slots << MAP_FLAG_BITS | (FLAG_FACTS if bits else 0) | (FLAG_DEFLATED if deflated else 0))
    if bits:
        _write_facts(w, facts, bits)
    w.raw(values)
    w.raw(small if deflated else raw)
    body = bytes(w.buf)
    return body + crc(body)


def _write_facts(w: Writer, facts: Facts, bits: int) -> None:
    if facts.index is not None and not facts.index:
        raise ValueError("a .nlut needs at least one network tensor")
    w.varint(bits)
    if facts.shaper:
        w.varint(facts.shaper)
    if facts.index is not None:
        w.varint(len(facts.index))
    for name, dtype, shape in facts.index or ():
        w.varint(len(name))
        w.raw(name.encode("ascii"))
        w.varint(_CODES[dtype])
        w.varint(len(shape))
        for n in shape:
            w.varint(n)


def encode_block(arrays: List[np.ndarray], shaper_at: Optional[int], lattice_at: Optional[int]
                 ) -> Tuple[bytes, bytes, bool, bool]:
    """(raw bytes, DEFLATE stream, shaper delta-coded, lattice delta-coded) of the tensor block
    holding ``arrays`` in order — the shaper at ``shaper_at`` and the residual lattice at
    ``lattice_at`` (or None) delta-coded where that deflates smaller."""
    best: Optional[Tuple[int, bytes, bytes, bool, bool]] = None
    for shaper_delta in ((False, True) if shaper_at is not None else (False,)):
        for lattice_delta in ((False, True) if lattice_at is not None else (False,)):
            parts = []
            for i, a in enumerate(arrays):
                a = np.asarray(a)
                if (i == shaper_at and shaper_delta) or (i == lattice_at and lattice_delta):
                    parts.append(delta_encode(a, 0 if i == shaper_at else 2))
                else:
                    parts.append(np.ascontiguousarray(a, a.dtype.newbyteorder("<")).tobytes())
            raw = b"".join(parts)
            deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY)
            small = deflater.compress(raw) + deflater.flush()
            size = min(len(small), len(raw))
            if best is None or size < best[0]:
                best = (size, raw, small, shaper_delta, lattice_delta)
    if best is None:  # pragma: no cover - the loops above run at least once
        raise ValueError("no tensor block was encoded")
    return best[1], best[2], best[3], best[4]


def packed_block_bytes(tensors: Dict[str, np.ndarray]) -> int:
    """Bytes of the tensor block a version 3 file stores for packed network tensors (``m.q``,
    ``m.s`` and the optional ``m.lattice`` of :func:`lutplug.codec.layout.stored_tensors`, no
    shaper): what candidates of one table are compared by."""
    arrays = [tensors[name] for name in (layout.PACKED_Q, layout.PACKED_S, layout.PACKED_LATTICE)
              if name in tensors]
    lattice_at = len(arrays) - 1 if layout.PACKED_LATTICE in tensors else None
    raw, small, _, _ = encode_block(arrays, None, lattice_at)
    return min(len(raw), len(small))
