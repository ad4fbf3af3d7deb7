"""Byte-level primitives of .nlut format version 3 (docs/nlut-format.md, "Version 3"): unsigned
LEB128 varints, numbers, hashes, times and versions, written to a :class:`Writer` and read back
by a bounded :class:`Reader` that never allocates from a length before checking it against the
bytes that are left.

Encodings (all little-endian):

- ``varint``: unsigned LEB128, 7 bits a byte, low group first, at most 9 bytes (< 2^63); the
  shortest form only (no trailing ``0x80`` groups). The field map is a LEB128 of up to 16 bytes.
- ``real`` (a float64 value, exactly): a tag byte ``t`` then
  ``t`` ≤ 253: the decimal ``±m·10^e`` with sign = ``t & 1``, ``e = (t >> 1) − 63`` (−63..63)
  and ``m`` a varint (< 10^17, no trailing decimal zero, ``e = 0`` when ``m = 0``), read as the
  float64 nearest to that decimal; ``t`` = 254: 4 bytes IEEE float32; ``t`` = 255: 8 bytes IEEE
  float64 (finite only). The writer picks the shortest of the three (decimal first on a tie): a
  short decimal such as 0.45 takes 2 bytes, a float32 weight scale 5.
- ``dec4`` (a measured figure with at most 4 significant digits): a uint16 ``c``: 0 is 0.0;
  1..63000 is ``m·10^(d−7)`` with ``d = (c−1) // 9000`` (0..6), ``m = 1000 + (c−1) % 9000`` — every
  4-digit decimal from 0.0001 to 999.9 in 2 bytes; 65535 is followed by a ``real`` (anything
  else); 63001..65534 are refused.
- ``f32``: 4 bytes IEEE float32 of a value that is exactly a float32.
- ``hex(n)``: ``n`` raw bytes of a lowercase hexadecimal string of ``2n`` digits.
- ``time``: uint32 seconds since 1970-01-01 UTC, the text ``YYYY-MM-DDTHH:MM:SS+00:00``.
- ``version``: the text ``X.Y.Z`` (no leading zeros, Y and Z < 64) as the varint ``4096·X + 64·Y + Z``.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import struct
from decimal import Decimal
from typing import Optional, Tuple

import numpy as np

#: Largest varint value (9 bytes).
MAX_VARINT = (1 << 63) - 1
#: ``real`` tags of the binary forms, and the exponent bias of the decimal form.
TAG_F32, TAG_F64, EXP_BIAS = 254, 255, 63
#: ``dec4`` codes: the decimal range and the escape to a ``real``.
DEC4_LAST, DEC4_ESCAPE = 63000, 65535
_U16, _U32, _F32, _F64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<f"), struct.Struct("<d")
_VERSION = re.compile(r"(0|[1-9][0-9]{0,6})\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)")
_HEX = re.compile(r"[0-9a-f]*")


class Malformed(ValueError):
    """Bytes that do not follow the encoding (the caller names the file)."""


class Writer:
    """Append-only byte buffer with the encodings above."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def raw(self, data: bytes) -> None:
        self.buf += data

    def varint(self, value: int) -> None:
        if not 0 <= value <= MAX_VARINT:
            raise ValueError(f"varint {value} out of range")
        self.bitmap(value)

    def bitmap(self, value: int) -> None:
        """A LEB128 of any length (the field map's bits)."""
        while value >= 0x80:
            self.buf.append(value & 0x7F | 0x80)
            value >>= 7
        self.buf.append(value)

    def real(self, value: float) -> None:
        self.buf += real_bytes(value)

    def dec4(self, value: float) -> None:
        code = dec4_code(value)
        self.buf += _U16.pack(DEC4_ESCAPE if code is None else code)
        if code is None:
            self.real(value)

    def f32(self, value: float) -> None:
        self.buf += _F32.pack(value)

    def u32(self, value: int) -> None:
        self.buf += _U32.pack(value)


class Reader:
    """Bounded reader over ``data[pos:end]``; every method raises :class:`Malformed` rather than
    reading past ``end``."""

    def __init__(self, data: bytes, pos: int = 0, end: Optional[int] = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    @property
    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int, what: str) -> bytes:
        """The next ``n`` bytes (checked against what is left before slicing)."""
        if n < 0 or n > self.left:
            raise Malformed(f"{what} needs {n} bytes, {self.left} are left (truncated or a lying length)")
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def varint(self, what: str, limit: int = MAX_VARINT) -> int:
        """A shortest-form varint, refused above ``limit``."""
        value = shift = 0
        for i in range(9):
            b = self.byte(what)
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                if b == 0 and i:
                    raise Malformed(f"{what} is not in its shortest form")
                if value > limit:
                    raise Malformed(f"{what} = {value} is more than the {limit} accepted")
                return value
            shift += 7
        raise Malformed(f"{what} is longer than 9 bytes")

    def bitmap(self, what: str, max_bits: int) -> int:
        """A shortest-form LEB128 of at most ``max_bits`` bits (the field map)."""
        value = shift = 0
        while True:
            b = self.byte(what)
            value |= (b & 0x7F) << shift
            shift += 7
            if value >> max_bits:
                raise Malformed(f"{what} sets bits beyond the {max_bits} defined")
            if not b & 0x80:
                if b == 0 and shift > 7:
                    raise Malformed(f"{what} is not in its shortest form")
                return value
            if shift >= max_bits:
                raise Malformed(f"{what} is longer than its {max_bits} bits need")

    def real(self, what: str) -> float:
        tag = self.byte(what)
        if tag == TAG_F32:
            value = float(_F32.unpack(self.take(4, what))[0])
        elif tag == TAG_F64:
            value = float(_F64.unpack(self.take(8, what))[0])
        else:
            m = self.varint(what, 10 ** 17 - 1)
            sign, e = tag & 1, (tag >> 1) - EXP_BIAS
            if (m % 10 == 0 and m) or (m == 0 and e):
                raise Malformed(f"{what} is not a canonical decimal")
            value = float(f"{'-' if sign else ''}{m}e{e}")
        if not math.isfinite(value):
            raise Malformed(f"{what} is not finite")
        return value

    def dec4(self, what: str) -> float:
        (code,) = _U16.unpack(self.take(2, what))
        if code == DEC4_ESCAPE:
            return self.real(what)
        if code > DEC4_LAST:
            raise Malformed(f"{what}: code {code} is reserved")
        return dec4_value(code)

    def f32(self, what: str) -> float:
        value = float(_F32.unpack(self.take(4, what))[0])
        if not math.isfinite(value):
            raise Malformed(f"{what} is not finite")
        return value

    def u32(self, what: str) -> int:
        return int(_U32.unpack(self.take(4, what))[0])


# ----------------------------------------------------------------------------- numbers

def decimal_parts(value: float) -> Optional[Tuple[int, int, int]]:
    """(sign, m, e) of the shortest decimal that reads back as ``value`` (Python's ``repr``),
    ``m`` without trailing zeros; None when it does not fit the ``real`` decimal form."""
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    if not isinstance(exponent, int):  # inf / nan
        return None
    m = int("".join(map(str, digits)) or "0")
    e = exponent
    while m and m % 10 == 0:
        m //= 10
        e += 1
    if m == 0:
        e = 0
    if m >= 10 ** 17 or not -EXP_BIAS <= e <= EXP_BIAS:
        return None
    return sign, m, e


def real_bytes(value: float) -> bytes:
    """The shortest ``real`` encoding of a finite float (decimal, then float32, then float64)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not finite")
    options = []
    parts = decimal_parts(value)
    if parts is not None:
        w = Writer()
        w.buf.append(2 * (parts[2] + EXP_BIAS) + parts[0])
        w.varint(parts[1])
        options.append(bytes(w.buf))
    if is_f32(value):
        options.append(bytes([TAG_F32]) + _F32.pack(value))
    options.append(bytes([TAG_F64]) + _F64.pack(value))
    return min(options, key=len)  # min keeps the first of equal lengths


def is_f32(value: float) -> bool:
    """True when the float64 ``value`` is exactly a finite float32."""
    with np.errstate(over="ignore"):
        narrow = np.float32(value)
    return bool(np.isfinite(narrow)) and float(narrow) == value


def dec4_code(value: float) -> Optional[int]:
    """The ``dec4`` code of ``value``, or None when it needs the ``real`` escape."""
    if value == 0 and math.copysign(1.0, value) > 0:
        return 0
    if not 1e-4 <= value < 1000:
        return None
    text = f"{value:.3e}"  # d.ddde±XX
    if float(text) != value:
        return None
    m, d = int(text[0] + text[2:5]), int(text[6:]) + 4  # value = m·10^(exponent − 3)
    if not 0 <= d <= 6:
        return None
    code = 1 + d * 9000 + (m - 1000)
    return code if dec4_value(code) == value else None


def dec4_value(code: int) -> float:
    """The value of a ``dec4`` code 0..63000."""
    if code == 0:
        return 0.0
    d, m = divmod(code - 1, 9000)
    return float(f"{m + 1000}e{d - 7}")


# ----------------------------------------------------------------------------- text-like values

def hex_ok(value: object, n: int) -> bool:
    """True for a lowercase hexadecimal string of exactly ``2n`` digits."""
    return isinstance(value, str) and len(value) == 2 * n and bool(_HEX.fullmatch(value))


def time_seconds(value: object) -> Optional[int]:
    """Seconds since the epoch of an ISO-8601 UTC time written to the second
    (``YYYY-MM-DDTHH:MM:SS+00:00``, as :func:`time_text` renders it), else None."""
    if not isinstance(value, str) or len(value) != 25:
        return None
    try:
        t = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if t.tzinfo is None or t.utcoffset() != _dt.timedelta(0):
        return None
    seconds = int(t.timestamp())
    ok = 0 <= seconds < 1 << 32 and time_text(seconds) == value
    return seconds if ok else None


def time_text(seconds: int) -> str:
    """The ISO-8601 UTC text of ``seconds`` since the epoch."""
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).isoformat()


def version_number(value: object) -> Optional[int]:
    """The ``version`` varint of a text ``X.Y.Z``, or None when it is not of that form."""
    match = _VERSION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    x, y, z = (int(g) for g in match.groups())
    return 4096 * x + 64 * y + z if y < 64 and z < 64 else None


def version_text(number: int) -> str:
    return f"{number // 4096}.{number // 64 % 64}.{number % 64}"
