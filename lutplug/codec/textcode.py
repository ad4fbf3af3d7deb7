"""Short texts of .nlut format version 3 (titles, source names, colour-space tags): UTF-8, either
raw or packed with one fixed canonical Huffman code, whichever is shorter.

Layout: a varint ``h = 2·n + packed`` (``n``: UTF-8 byte count, at most :data:`MAX_TEXT`), then
``n`` raw bytes, or the ``n`` bytes' codes (most significant bit first, zero-padded to a whole
byte). The code gives every byte value a length of 4 to 13 bits (:data:`CODE_LENGTHS`, from
English letter frequencies, word separators, digits and capitals; not fitted to any file set);
codes are assigned canonically as in DEFLATE (RFC 1951 §3.2.2): by length, then byte value. A
lower-case file name costs about 4.8 bits a character instead of 8. Packed is written only when
strictly shorter; a reader refuses the other form, non-zero padding and invalid UTF-8.
"""
from __future__ import annotations

import string
from typing import Dict, List, Tuple

from lutplug.codec.wire import Malformed, Reader, Writer

#: Longest text (UTF-8 bytes) the binary record holds; a longer one goes to the JSON extras.
MAX_TEXT = 4096
_SHORT = {
    4: " _aeinot",
    5: "dhlrs",
    6: "-cfgmpuwy",
    7: ".0123456789ETbkv",
    8: "AHINORS",
    9: "CDLMUWjx",
    10: "BFGPYz",
    11: "KVq",
    12: "".join(c for c in string.punctuation if c not in "_-.") + "JQXZ",
}


def _lengths() -> Dict[int, int]:
    out = {ord(c): n for n, chars in _SHORT.items() for c in chars}
    out[0xC3] = 12  # the lead byte of UTF-8's accented Latin letters
    for b in range(256):
        out.setdefault(b, 13)
    return out


#: Code length (bits) of every byte value: a complete prefix code (Kraft sum exactly 1).
CODE_LENGTHS: Dict[int, int] = _lengths()


def _canonical() -> Tuple[Dict[int, Tuple[int, int]], Dict[Tuple[int, int], int]]:
    encode: Dict[int, Tuple[int, int]] = {}
    code, previous = 0, 0
    for symbol, length in sorted(CODE_LENGTHS.items(), key=lambda kv: (kv[1], kv[0])):
        code <<= length - previous
        previous = length
        encode[symbol] = (code, length)
        code += 1
    assert code == 1 << previous, "the code must be complete"
    return encode, {v: k for k, v in encode.items()}


_ENCODE, _DECODE = _canonical()
_MAX_LENGTH = max(CODE_LENGTHS.values())


def packed(data: bytes) -> bytes:
    """``data``'s codes, most significant bit first, zero-padded to a whole byte."""
    acc = bits = 0
    out = bytearray()
    for b in data:
        code, length = _ENCODE[b]
        acc = acc << length | code
        bits += length
        while bits >= 8:
            bits -= 8
            out.append(acc >> bits & 0xFF)
        acc &= (1 << bits) - 1
    if bits:
        out.append(acc << (8 - bits) & 0xFF)
    return bytes(out)


def fits(value: object) -> bool:
    """True for a string the record can hold (valid UTF-8, at most :data:`MAX_TEXT` bytes)."""
    if not isinstance(value, str):
        return False
    try:
        return len(value.encode("utf-8")) <= MAX_TEXT
    except UnicodeEncodeError:  # lone surrogates
        return False


def header(value: str) -> Tuple[int, bytes]:
    """(``h`` = 2·n + packed, the bytes that follow) of ``value`` (see :func:`fits`), in its
    shorter form."""
    raw = value.encode("utf-8")
    small = packed(raw)
    use_packed = len(small) < len(raw)
    return 2 * len(raw) + use_packed, small if use_packed else raw


def write(w: Writer, value: str) -> None:
    """Append ``value`` (see :func:`fits`): the varint ``h`` and the bytes."""
    h, data = header(value)
    w.varint(h)
    w.raw(data)


def read(r: Reader, what: str) -> str:
    """Read a text written by :func:`write`."""
    return read_after(r, r.varint(what, 2 * MAX_TEXT + 1), what)


def read_after(r: Reader, h: int, what: str) -> str:
    """Read the bytes of a text whose ``h`` was read already."""
    n, is_packed = h >> 1, h & 1
    if n > MAX_TEXT:
        raise Malformed(f"{what} claims {n} bytes, more than the {MAX_TEXT} accepted")
    if not is_packed:
        raw = r.take(n, what)
    else:
        raw = _unpack(r, n, what)
        if len(raw) <= len(packed(raw)):
            raise Malformed(f"{what} is packed although the raw form is not longer")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed(f"{what} is not valid UTF-8") from None


def _unpack(r: Reader, n: int, what: str) -> bytes:
    out: List[int] = []
    acc = bits = 0  # bits not yet used, in acc's low end
    code = length = 0
    while len(out) < n:
        if not bits:
            acc, bits = r.byte(what), 8
        bits -= 1
        code = code << 1 | (acc >> bits & 1)
        length += 1
        symbol = _DECODE.get((code, length))
        if symbol is not None:
            out.append(symbol)
            code = length = 0
        elif length >= _MAX_LENGTH:  # unreachable for a complete code; kept as a guard
            raise Malformed(f"{what} holds an invalid code")
    if acc & ((1 << bits) - 1):
        raise Malformed(f"{what} has non-zero padding bits")
    return bytes(out)
