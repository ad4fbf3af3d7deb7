"""The .nlut container: a versioned, optionally signed file; versions 1 and 2 (and .nlutpack)
hold a zlib-compressed safetensors payload, version 3 is the lean binary container of
:mod:`lutplug.codec.lean`, to which :func:`split`, :func:`decode` and :func:`encode` hand its files.

Byte layout of versions 1 and 2 (all integers little-endian; see docs/nlut-format.md)::

    0   4  magic  b"NLUT"
    4   1  format version (1 or 2)
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
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from lutplug.codec import lean, tensorfile
from lutplug.codec.signing import PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from lutplug.errors import LutError, StrippedSignatureError

MAGIC = b"NLUT"
#: Version written: 3 (the lean container, :mod:`lutplug.codec.lean`); 1 and 2 (safetensors in
#: zlib, network tensors one by one or packed into two) are still read.
VERSION = lean.VERSION
FLAG_SIGNED = 0x01
HEADER = struct.Struct("<4sBBHI")
#: zlib preset dictionary of format versions 1 and 2 (RFC 1950 FDICT): the strings every payload
#: repeats (safetensors header keys, description keys). It saves ~400 bytes per file — a third of a
#: small .nlut. Part of the format: never change it within a version (a test pins its SHA-256).
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


@dataclasses.dataclass(frozen=True)
class Framing:
    """What distinguishes one file kind built on this container: magic, version, the one
    ``__metadata__`` key holding the JSON description, the zlib preset dictionary, a name for
    messages, the older versions still read (``version`` is the newest), and the version laid out
    as :mod:`lutplug.codec.lean` (``lean``; None: every version is zlib + safetensors). The .nlut
    framing is :data:`NLUT`; look packs (lutplug.codec.pack) define their own."""

    magic: bytes
    version: int
    meta_key: str
    zdict: bytes
    label: str
    older: Tuple[int, ...] = ()
    lean: Optional[int] = None


NLUT = Framing(MAGIC, VERSION, "nlut", ZDICT, ".nlut", older=(1, 2), lean=lean.VERSION)


@dataclasses.dataclass
class Container:
    """What a .nlut file holds, decoded but not interpreted."""

    tensors: Dict[str, np.ndarray]
    description: dict
    signed_part: bytes = b""  # header + payload (what a signature covers)
    public_key: Optional[bytes] = None
    signature: Optional[bytes] = None
    version: int = VERSION

    @property
    def content_hash(self) -> str:
        """The grade's identity (:func:`content_hash` of the signed part)."""
        return content_hash(self.signed_part) if self.signed_part else ""


def content_hash(signed_part: bytes) -> str:
    """SHA-256 (hex) of header + payload with the signed flag cleared: the grade's identity, the
    same however often it is (re-)signed by the key it names (signing first names the signer
    inside the payload, see :mod:`lutplug.codec.signature`). ``signed_part``: an unsigned file's
    bytes, or a signed one's without the key and signature."""
    head = bytearray(signed_part[:HEADER.size])
    head[5] &= ~FLAG_SIGNED & 0xFF
    return hashlib.sha256(bytes(head) + signed_part[HEADER.size:]).hexdigest()


def encode(tensors: Dict[str, np.ndarray], description: dict, framing: Framing = NLUT,
           version: Optional[int] = None) -> bytes:
    """Unsigned .nlut (or other ``framing``) bytes for ``tensors`` and the JSON-able
    ``description``, as format ``version`` (default: the framing's newest)."""
    version = framing.version if version is None else version
    if version != framing.version and version not in framing.older:
        raise ValueError(f"{framing.label} has no format version {version}")
    if version == framing.lean:
        return lean.encode(tensors, description, framing.magic)
    meta = {framing.meta_key: json.dumps(description, separators=(",", ":"), sort_keys=True)}
    deflater = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, framing.zdict)
    payload = deflater.compress(tensorfile.dumps(tensors, meta)) + deflater.flush()
    return HEADER.pack(framing.magic, version, 0, 0, len(payload)) + payload


def add_signature(data: bytes, public_key: bytes, signature_fn, framing: Framing = NLUT) -> bytes:
    """Return ``data`` (an unsigned or signed .nlut) signed anew: flag set, then the signer's raw
    public key and the signature produced by ``signature_fn(signed_part) -> bytes``."""
    c = decode(data, "file", framing)
    head = bytearray(c.signed_part[:HEADER.size])
    head[5] |= FLAG_SIGNED
    signed_part = bytes(head) + c.signed_part[HEADER.size:]
    signature = signature_fn(signed_part)
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        raise LutError("signature or public key has the wrong length")
    return signed_part + public_key + signature


def _check_stream(payload: bytes, zdict: bytes, source: str, quiet_at_limit: bool = False) -> None:
    """Inflate the whole zlib stream once, keeping nothing, so that a corrupted stream (bad
    checksum), a truncated one, stray bytes after it or one inflating beyond
    :data:`MAX_DECOMPRESSED` is refused in constant memory before anything is parsed.
    ``quiet_at_limit``: only look for corruption (return at the limit)."""
    z = zlib.decompressobj(zdict=zdict)
    total, step = 0, 1 << 16
    try:
        for start in range(0, len(payload), step):
            pending = payload[start:start + step]
            while pending and not z.eof:
                total += len(z.decompress(pending, 1 << 20))
                pending = z.unconsumed_tail
                if total > MAX_DECOMPRESSED:
                    if quiet_at_limit:
                        return
                    raise LutError(f"payload inflates beyond {MAX_DECOMPRESSED} bytes", source)
            if z.eof:
                break
    except zlib.error as exc:
        raise LutError(f"payload is corrupted ({exc})", source) from None
    if not z.eof or z.unused_data or start + step < len(payload):
        raise LutError("payload is truncated or followed by stray bytes", source)


class _Inflater:
    """Inflate a zlib stream piece by piece, never producing more than asked for."""

    def __init__(self, payload: bytes, source: str, zdict: bytes = ZDICT):
        self._z = zlib.decompressobj(zdict=zdict)
        self._pending = payload
        self._source = source
        self.produced = 0

    def read(self, count: int, what: str) -> bytes:
        """Exactly ``count`` more bytes of output (LutError if the stream ends first)."""
        out = bytearray()
        try:
            while len(out) < count:
                piece = self._z.decompress(self._pending, count - len(out))
                self._pending = self._z.unconsumed_tail
                out += piece
                if not piece and (self._z.eof or not self._pending):
                    raise LutError(f"payload ends inside the {what} (truncated or corrupted)",
                                   self._source)
        except zlib.error as exc:
            raise LutError(f"payload is corrupted ({exc})", self._source) from None
        self.produced += count
        return bytes(out)

    def finish(self) -> None:
        """The stream (checked whole by :func:`_check_stream`) must hold no more output."""
        try:
            extra = self._z.decompress(self._pending, 1)
        except zlib.error as exc:
            raise LutError(f"payload is corrupted ({exc})", self._source) from None
        if extra:
            raise LutError(f"payload inflates beyond the {self.produced} bytes its tensor header "
                           "describes", self._source)


#: ``check(description, specs)``: called once the description and the tensor header are known,
#: before any tensor data is inflated; raises LutError to refuse the file.
LayoutCheck = Callable[[dict, Dict[str, tensorfile.TensorSpec]], None]


def split(data: bytes, source: str = ".nlut",
          framing: Framing = NLUT) -> Tuple[bytes, bytes, Optional[bytes], Optional[bytes]]:
    """Check the framing of .nlut (or other ``framing``) bytes without inflating anything:
    (signed part = header + payload, payload, public key or None, signature or None).

    Raises :class:`LutError` for a wrong magic, an unknown (older or newer) version, unknown
    flags, lengths that disagree, and :class:`StrippedSignatureError` when the header says
    signed but the signature block is missing. A version 3 file's framing is checked by
    :func:`lutplug.codec.lean.split` (its payload: everything after byte 5)."""
    if bytes(data[:len(framing.magic)]) != framing.magic:
        raise LutError(f"not a {framing.label} file (bad magic bytes)", source)
    if framing.lean is not None and len(data) > 4 and data[4] == framing.lean:
        return lean.split(data, source)
    if len(data) < HEADER.size:
        raise LutError(f"file is too short to be a {framing.label}", source)
    magic, version, flags, reserved, length = HEADER.unpack_from(data)
    if version != framing.version and version not in framing.older:
        age = "older" if version < framing.version else "newer"
        raise LutError(f"{framing.label} format version {version} is {age} than the versions "
                       f"{', '.join(map(str, sorted(framing.older + (framing.version,))))} this lutplug "
                       "reads; refused (a rewritten version byte is how a downgrade would slip past "
                       "checks)", source)
    if flags & ~FLAG_SIGNED or reserved:
        raise LutError(f"unknown flags {flags:#x}/{reserved:#x} in the header", source)
    signed = bool(flags & FLAG_SIGNED)
    end = HEADER.size + length
    if length > MAX_PAYLOAD:
        raise LutError(f"header claims a {length}-byte payload, more than the {MAX_PAYLOAD} "
                       "accepted", source)
    if signed and len(data) == end:
        raise StrippedSignatureError("the header says signed but the file ends before the "
                                     "signature: the signature was stripped", source)
    expected = end + (PUBLIC_KEY_BYTES + SIGNATURE_BYTES if signed else 0)
    if len(data) != expected:
        raise LutError(f"file is {len(data)} bytes but its header implies {expected} "
                       "(truncated, padded or corrupted)", source)
    if not signed:
        return data, data[HEADER.size:], None, None
    return data[:end], data[HEADER.size:end], data[end:end + PUBLIC_KEY_BYTES], data[end + PUBLIC_KEY_BYTES:]


def decode(data: bytes, source: str = ".nlut", framing: Framing = NLUT,
           check: Optional[LayoutCheck] = None) -> Container:
    """Parse .nlut (or other ``framing``) bytes. Structure only: signatures are checked by the
    caller.

    The payload is inflated in steps: the tensor header first (at most
    :data:`tensorfile.MAX_HEADER` bytes), then exactly the data it describes; ``check`` sees the
    description and tensor shapes before that data is inflated. So a lying header, a
    decompression bomb or a huge metadata field is refused before any large allocation.
    Raises :class:`LutError` for anything malformed (see :func:`split`). Version 3 is read by
    :func:`lutplug.codec.lean.decode` (same guarantees, no zlib stream to check first).
    """
    signed_part, payload, key, sig = split(data, source, framing)
    if framing.lean is not None and signed_part[4] == framing.lean:
        arrays, lean_description, signed_part, key, sig = lean.decode(data, source, check)
        return Container(arrays, lean_description, signed_part, key, sig, version=framing.lean)
    inflater = _Inflater(payload, source, framing.zdict)
    try:
        n = _local(tensorfile.header_length, source, inflater.read(8, "tensor header length"),
                   "payload")
    except LutError:
        _check_stream(payload, framing.zdict, source, quiet_at_limit=True)  # corruption explains it
        raise
    _check_stream(payload, framing.zdict, source)
    specs, meta, data_bytes = _local(tensorfile.parse_header, source,
                                     inflater.read(n, "tensor header"), "payload")
    if 8 + n + data_bytes > MAX_DECOMPRESSED:
        raise LutError(f"tensor header describes {data_bytes} data bytes; at most "
                       f"{MAX_DECOMPRESSED - 8 - n} are accepted", source)
    if set(meta) != {framing.meta_key}:
        raise LutError(f"payload metadata must hold exactly the {framing.meta_key!r} description",
                       source)
    try:
        description = tensorfile.strict_json(meta[framing.meta_key])
    except (ValueError, RecursionError) as exc:
        raise LutError(f"description is not valid JSON ({str(exc)[:200]})", source) from None
    if not isinstance(description, dict):
        raise LutError("description is not a JSON object", source)
    if check is not None:
        check(description, specs)
    raw = inflater.read(data_bytes, "tensor data")
    inflater.finish()
    tensors = _local(tensorfile.read_tensors, source, specs, raw, "payload")
    return Container(tensors, description, signed_part, key, sig, version=signed_part[4])


def _local(fn, source: str, *args):
    """Call a tensorfile function, attributing its LutError to ``source``."""
    try:
        return fn(*args)
    except LutError as exc:
        raise LutError(exc.message, source) from None
