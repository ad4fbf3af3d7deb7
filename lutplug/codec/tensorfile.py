"""Minimal reader/writer of the safetensors format, in numpy alone (hosts such as Nuke and GIMP
have numpy but not the ``safetensors`` package). Files each writes, the other reads (tested).

Layout (https://github.com/huggingface/safetensors): u64 little-endian header length ``n``, ``n``
bytes of UTF-8 JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{str: str}}``, then the tensor bytes (little-endian, C order). No code is ever executed on load.
"""
from __future__ import annotations

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


def loads(buf: bytes, what: str = "tensor data") -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Parse safetensors bytes into (tensors, metadata), validating every offset and shape
    against the buffer before touching data. Raises :class:`LutError` on anything malformed."""
    if len(buf) < 8:
        raise LutError(f"{what} is truncated (no header)")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER or 8 + n > len(buf):
        raise LutError(f"{what} header claims {n} bytes; the data holds {len(buf) - 8}")
    try:
        header = json.loads(buf[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise LutError(f"{what} header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise LutError(f"{what} header is not a JSON object")
    data = memoryview(buf)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise LutError(f"{what} metadata must map strings to strings")
    tensors: Dict[str, np.ndarray] = {}
    spans = []
    for name, info in header.items():
        try:
            dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
            shape = [int(s) for s in info["shape"]]
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise LutError(f"{what}: tensor {name!r} has a malformed description") from None
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if any(s < 0 for s in shape) or count > MAX_ELEMENTS:
            raise LutError(f"{what}: tensor {name!r} has an unacceptable shape {shape}")
        if not 0 <= begin <= end <= len(data) or end - begin != count * dtype.itemsize:
            raise LutError(f"{what}: tensor {name!r} offsets {begin}..{end} do not fit its shape "
                           f"{shape} or the {len(data)} data bytes")
        spans.append((begin, end))
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).astype(
            dtype.newbyteorder("="))
    spans.sort()
    covered = 0
    for begin, end in spans:
        if begin != covered:
            raise LutError(f"{what}: tensor data overlaps or leaves gaps")
        covered = end
    if covered != len(data):
        raise LutError(f"{what}: {len(data) - covered} stray bytes after the tensors")
    return tensors, dict(meta)


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate key {dup!r}")
    return dict(pairs)
