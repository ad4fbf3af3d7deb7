"""The .nlut container: a versioned, optionally signed, zlib-compressed safetensors payload.

Byte layout (all integers little-endian; see docs/nlut-format.md)::

    0   4  magic  b"NLUT"
    4   1  format version (1)
    5   1  flags: bit 0 = signed; other bits must be 0
    6   2  reserved, 0
    8   4  payload length P
    12  P  payload: zlib (RFC 1950) stream, with the preset dictionary :data:`ZDICT`, of a
           safetensors blob whose ``__metadata__`` has one key, ``"nlut"``: the JSON description
           (model config, domain, tags, provenance, quality)
    12+P    (signed only) 32-byte Ed25519 public key + 64-byte signature of bytes [0, 12+P)

The file must end exactly there: any trailing, missing or changed byte is detected (a signed file's
signature covers everything before it; the structure covers the rest).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
import zlib
from typing import Dict, Optional, Tuple

import numpy as np

from lutplug.codec import tensorfile
from lutplug.codec.signing import PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from lutplug.errors import LutError

MAGIC = b"NLUT"
VERSION = 1
FLAG_SIGNED = 0x01
HEADER = struct.Struct("<4sBBHI")
#: zlib preset dictionary of format version 1 (RFC 1950 FDICT): the strings every payload repeats
#: (safetensors header keys, description keys). It saves ~400 bytes per file — a third of a small
#: .nlut. Part of the format: never change it within version 1 (a test pins its SHA-256).
ZDICT = (
    b'{"__metadata__":{"nlut":"{\\"colorspace\\":{\\"input\\":\\"ACEScct\\",\\"output\\":'
    b'\\"sRGB - Display\\"},\\"domain\\":[[0.0,0.0,0.0],[1.0,1.0,1.0]],\\"format\\":\\"nlut\\",'
    b'\\"model\\":{\\"act\\":\\"relu\\",\\"center\\":true,\\"format\\":\\"lutplug-mlp\\",'
    b'\\"fourier\\":0,\\"hidden\\":[16,16],\\"in_curve\\":8,\\"out_curve\\":8,\\"skip\\":'
    b'\\"linear\\",\\"version\\":1},\\"provenance\\":{\\"created\\":\\"2026-01-01T00:00:00+00:00\\",'
    b'\\"grid\\":33,\\"lutplug\\":\\"0.1.0\\",\\"parent\\":null,\\"settings\\":{\\"budget_bytes\\":'
    b'null,\\"device\\":\\"cpu\\",\\"seed\\":0,\\"target\\":{\\"de_max\\":3.0,\\"de_mean\\":0.45,'
    b'\\"de_p99\\":1.5,\\"psnr\\":45.0}},\\"source\\":\\".cube\\",\\"source_bytes\\":0,'
    b'\\"source_sha256\\":\\"\\"},\\"quality\\":{\\"de_max\\":0.0,\\"de_mean\\":0.0,\\"de_p95\\":0.0,'
    b'\\"de_p99\\":0.0,\\"max_abs\\":0.0,\\"meets_target\\":true,\\"points\\":0,\\"psnr\\":0.0},'
    b'\\"shaper_domain\\":[[0.0,0.0,0.0],[1.0,1.0,1.0]],\\"title\\":\\"\\"}"},'
    + b"".join(b'"m.%s.q":{"dtype":"I8","shape":[16,3],"data_offsets":[0,48]},'
               b'"m.%s.s":{"dtype":"F16","shape":[],"data_offsets":[48,50]},' % (n, n)
               for n in (b"A", b"W0", b"W1", b"W2", b"b0", b"b1", b"b2", b"c", b"cin", b"cout"))
    + b'"shaper":{"dtype":"F16","shape":[64,3],"data_offsets":[0,384]}}'
)

#: Largest payload accepted, compressed and decompressed (ours are a few KB).
MAX_PAYLOAD = 16 << 20
MAX_DECOMPRESSED = 64 << 20


@dataclasses.dataclass
class Container:
    """What a .nlut file holds, decoded but not interpreted."""

    tensors: Dict[str, np.ndarray]
    description: dict
    signed_part: bytes = b""  # header + payload (what a signature covers)
    public_key: Optional[bytes] = None
    signature: Optional[bytes] = None

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of header + payload with the signed flag cleared: the grade's identity,
        the same before and after signing."""
        if not self.signed_part:
            return ""
        head = bytearray(self.signed_part[:HEADER.size])
        head[5] &= ~FLAG_SIGNED & 0xFF
        return hashlib.sha256(bytes(head) + self.signed_part[HEADER.size:]).hexdigest()


def encode(tensors: Dict[str, np.ndarray], description: dict) -> bytes:
    """Unsigned .nlut bytes for ``tensors`` and the JSON-able ``description``."""
    meta = {"nlut": json.dumps(description, separators=(",", ":"), sort_keys=True)}
    deflater = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, ZDICT)
    payload = deflater.compress(tensorfile.dumps(tensors, meta)) + deflater.flush()
    return HEADER.pack(MAGIC, VERSION, 0, 0, len(payload)) + payload


def add_signature(data: bytes, public_key: bytes, signature_fn) -> bytes:
    """Return ``data`` (an unsigned or signed .nlut) signed anew: flag set, then the signer's raw
    public key and the signature produced by ``signature_fn(signed_part) -> bytes``."""
    c = decode(data, "file")
    head = bytearray(c.signed_part[:HEADER.size])
    head[5] |= FLAG_SIGNED
    signed_part = bytes(head) + c.signed_part[HEADER.size:]
    signature = signature_fn(signed_part)
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        raise LutError("signature or public key has the wrong length")
    return signed_part + public_key + signature


def decode(data: bytes, source: str = ".nlut") -> Container:
    """Parse .nlut bytes. Structure only: signatures are checked by the caller.

    Raises :class:`LutError` for a wrong magic or version, unknown flags, a payload length or file
    length that disagrees, a decompression bomb, or malformed tensors/JSON.
    """
    if len(data) < HEADER.size:
        raise LutError("file is too short to be a .nlut", source)
    magic, version, flags, reserved, length = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise LutError("not a .nlut file (bad magic bytes)", source)
    if version != VERSION:
        raise LutError(f".nlut format version {version} is not supported (this lutplug reads "
                       f"version {VERSION})", source)
    if flags & ~FLAG_SIGNED or reserved:
        raise LutError(f"unknown flags {flags:#x}/{reserved:#x} in the header", source)
    signed = bool(flags & FLAG_SIGNED)
    expected = HEADER.size + length + (PUBLIC_KEY_BYTES + SIGNATURE_BYTES if signed else 0)
    if length > MAX_PAYLOAD or len(data) != expected:
        raise LutError(f"file is {len(data)} bytes but its header implies {expected} "
                       "(truncated, padded or corrupted)", source)
    end = HEADER.size + length
    payload = data[HEADER.size:end]
    try:
        inflater = zlib.decompressobj(zdict=ZDICT)
        raw = inflater.decompress(payload, MAX_DECOMPRESSED)
        if inflater.unconsumed_tail:
            raise LutError(f"payload inflates beyond {MAX_DECOMPRESSED} bytes", source)
        if not inflater.eof or inflater.unused_data:
            raise LutError("payload is truncated or followed by stray bytes", source)
    except zlib.error as exc:
        raise LutError(f"payload is corrupted ({exc})", source) from None
    try:
        tensors, meta = tensorfile.loads(raw, "payload")
    except LutError as exc:
        raise LutError(exc.message, source) from None
    if set(meta) != {"nlut"}:
        raise LutError("payload metadata must hold exactly the 'nlut' description", source)
    try:
        description = json.loads(meta["nlut"], object_pairs_hook=tensorfile._no_duplicates)
    except ValueError as exc:
        raise LutError(f"description is not valid JSON ({exc})", source) from None
    if not isinstance(description, dict):
        raise LutError("description is not a JSON object", source)
    key = sig = None
    if signed:
        key = data[end:end + PUBLIC_KEY_BYTES]
        sig = data[end + PUBLIC_KEY_BYTES:]
    return Container(tensors, description, data[:end], key, sig)
