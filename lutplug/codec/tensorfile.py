"""Minimal reader/writer of the safetensors format, in numpy alone (hosts such as Nuke and GIMP
have numpy but not the ``safetensors`` package). Files each writes, the other reads (tested).

Layout (https://github.com/huggingface/safetensors): u64 little-endian header length ``n``, ``n``
bytes of UTF-8 JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{str: str}}``, then the tensor bytes (little-endian, C order). No code is ever executed on load.
"""
from __future__ import annotations

import dataclasses
import json
import struct
from typing import Dict, Tuple

import numpy as np

from lutplug.errors import LutError

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "U16": np.uint16,
           "U32": np.uint32, "BOOL": np.bool_}
_NAMES = {np.dtype(v).newbyteorder("<"): k for k, v in _DTYPES.items()}

#: Refuse headers longer than this (bytes): ours are a few hundred.
MAX_HEADER = 1 << 20
#: Refuse tensors with more elements than this.
MAX_ELEMENTS = 1 << 24


def dumps(tensors: Dict[str, np.ndarray], metadata: Dict[str, str]) -> bytes:
    """Serialise ``tensors`` (name → array) and string ``metadata``. Names are sorted; tensors are
    laid out in that order (like the reference writer), so output is deterministic."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        dt = arr.dtype.newbyteorder("<")
        if dt not in _NAMES:
            raise LutError(f"tensor {name!r} has unsupported dtype {arr.dtype}")
        data = arr.astype(dt, copy=False).tobytes()
        header[name] = {"dtype": _NAMES[dt], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the reference pads the header to 8 bytes
    return struct.pack("<Q", len(raw)) + raw + b"".join(blobs)


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """One tensor as the header describes it: little-endian ``dtype``, ``shape``, and its byte
    span [begin, end) in the data section."""

    dtype: np.dtype
    shape: Tuple[int, ...]
    begin: int
    end: int


def header_length(prefix: bytes, what: str = "tensor data") -> int:
    """Length of the JSON header from the first 8 bytes, refused above :data:`MAX_HEADER`."""
    if len(prefix) < 8:
        raise LutError(f"{what} is truncated (no header)")
    (n,) = struct.unpack("<Q", prefix[:8])
    if n > MAX_HEADER:
        raise LutError(f"{what} header claims {n} bytes, more than the {MAX_HEADER} accepted")
    return n


def parse_header(raw: bytes, what: str = "tensor data") -> Tuple[Dict[str, TensorSpec], Dict[str, str], int]:
    """Parse and check a JSON header (the ``n`` bytes after the length): (specs, metadata, length
    of the data section it implies). Nothing is allocated from a size the header claims; the
    spans must tile the data section exactly (no gap, no overlap)."""
    try:
        header = strict_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LutError(f"{what} header is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(header, dict):
        raise LutError(f"{what} header is not a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise LutError(f"{what} metadata must map strings to strings")
    specs: Dict[str, TensorSpec] = {}
    for name, info in header.items():
        try:
            dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
            shape = tuple(_int(s) for s in info["shape"])
            begin, end = (_int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise LutError(f"{what}: tensor {name[:80]!r} has a malformed description") from None
        count = 1
        for s in shape:
            count *= s
        if len(shape) > 8 or any(s < 0 for s in shape) or count > MAX_ELEMENTS:
            raise LutError(f"{what}: tensor {name[:80]!r} has an unacceptable shape "
                           f"{list(shape)[:9]} (at most {MAX_ELEMENTS} elements, 8 axes)")
        if not 0 <= begin <= end or end - begin != count * dtype.itemsize:
            raise LutError(f"{what}: tensor {name[:80]!r} offsets {begin}..{end} do not fit its "
                           f"shape {list(shape)}")
        specs[name] = TensorSpec(dtype, shape, begin, end)
    covered = 0
    for spec in sorted(specs.values(), key=lambda t: (t.begin, t.end)):
        if spec.begin != covered:
            raise LutError(f"{what}: tensor data overlaps or leaves gaps")
        covered = spec.end
    return specs, dict(meta), covered


def read_tensors(specs: Dict[str, TensorSpec], data: bytes, what: str = "tensor data") -> Dict[str, np.ndarray]:
    """The tensors of a checked header from its data section (exactly as long as it implies)."""
    need = max((t.end for t in specs.values()), default=0)
    if len(data) != need:
        raise LutError(f"{what}: the header describes {need} data bytes, the data holds {len(data)}")
    view = memoryview(data)
    return {name: np.frombuffer(view[t.begin:t.end], dtype=t.dtype).reshape(t.shape).astype(
            t.dtype.newbyteorder("=")) for name, t in specs.items()}


def loads(buf: bytes, what: str = "tensor data") -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Parse safetensors bytes into (tensors, metadata), validating every offset and shape
    against the buffer before touching data. Raises :class:`LutError` on anything malformed."""
    n = header_length(buf, what)
    if 8 + n > len(buf):
        raise LutError(f"{what} header claims {n} bytes; the data holds {len(buf) - 8}")
    specs, meta, _ = parse_header(buf[8:8 + n], what)
    return read_tensors(specs, buf[8 + n:], what), meta


def _int(value) -> int:
    """A JSON integer (not a bool, float or string)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    return value


def strict_json(text: str) -> object:
    """``json.loads`` refusing duplicate keys and NaN/Infinity (ValueError): a reader must not
    pick one of two values, and no field of ours is a non-finite number."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        seen = set()
        dup = next(k for k in keys if k in seen or seen.add(k))
        raise ValueError(f"duplicate key {dup[:80]!r}")
    return dict(pairs)
