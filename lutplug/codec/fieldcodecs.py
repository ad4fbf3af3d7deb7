"""How each field of a version 3 .nlut description record is stored (docs/nlut-format.md,
"Version 3: the description record"): one :class:`Codec` per kind of value — whether a value
can be held in binary (else it goes to the record's JSON extras), and its bytes."""
from __future__ import annotations

import json
import math
from typing import Any

from lutplug.codec import textcode, wire
from lutplug.codec.tensorfile import strict_json
from lutplug.codec.wire import Malformed, Reader, Writer

#: Longest JSON extras accepted (bytes).
MAX_EXTRAS = 1 << 20
#: Longest list of integers (``model.hidden``, ``provenance.shaper_entries``) held in binary.
MAX_LIST = 64
#: File extensions a source name's codec leaves out (".cube" costs nothing, the others a byte).
EXTENSIONS = (".cube", ".3dl", ".spi3d", ".spi1d", ".csp", ".clf", ".ctf", ".png", ".tif",
              ".tiff", ".exr", ".lut", ".txt", ".look", ".m3d", ".vlt")
UNIT_DOMAIN = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]


def same(a: object, b: object) -> bool:
    """Equality that also compares types (1 is not 1.0, True is not 1) and the sign of zero."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


class Codec:
    """How one field's value is stored. ``accepts``: whether a value can be (else it goes to the
    extras); ``write``/``read``: its bytes. Objects (:class:`Obj`) store no bytes themselves."""

    name = "?"

    def accepts(self, value: object) -> bool:
        raise NotImplementedError

    def write(self, w: Writer, value: Any) -> None:
        raise NotImplementedError

    def read(self, r: Reader, what: str) -> Any:
        raise NotImplementedError


class Obj(Codec):
    name = "object"

    def accepts(self, value: object) -> bool:
        return isinstance(value, dict)

    def write(self, w: Writer, value: Any) -> None:
        pass

    def read(self, r: Reader, what: str) -> Any:
        return {}


class UInt(Codec):
    name = "varint"

    def accepts(self, value: object) -> bool:
        return type(value) is int and 0 <= value <= wire.MAX_VARINT

    def write(self, w: Writer, value: Any) -> None:
        w.varint(value)

    def read(self, r: Reader, what: str) -> Any:
        return r.varint(what)


class UIntList(Codec):
    name = "varint count + varints"

    def accepts(self, value: object) -> bool:
        return type(value) is list and len(value) <= MAX_LIST and all(map(UInt().accepts, value))

    def write(self, w: Writer, value: Any) -> None:
        w.varint(len(value))
        for v in value:
            w.varint(v)

    def read(self, r: Reader, what: str) -> Any:
        return [r.varint(what) for _ in range(r.varint(what, MAX_LIST))]


class Real(Codec):
    name = "real"

    def accepts(self, value: object) -> bool:
        return type(value) is float and math.isfinite(value)

    def write(self, w: Writer, value: Any) -> None:
        w.real(value)

    def read(self, r: Reader, what: str) -> Any:
        return r.real(what)


class Dec4(Real):
    name = "dec4"

    def write(self, w: Writer, value: Any) -> None:
        w.dec4(value)

    def read(self, r: Reader, what: str) -> Any:
        return r.dec4(what)


class F32(Real):
    name = "f32"

    def accepts(self, value: object) -> bool:
        return type(value) is float and wire.is_f32(value)

    def write(self, w: Writer, value: Any) -> None:
        w.f32(value)

    def read(self, r: Reader, what: str) -> Any:
        return r.f32(what)


class Domain(Codec):
    """A (min, max) pair of RGB triples: 6 ``real``."""

    name = "6 real"

    def accepts(self, value: object) -> bool:
        return (type(value) is list and len(value) == 2
                and all(type(t) is list and len(t) == 3 and all(map(Real().accepts, t)) for t in value))

    def write(self, w: Writer, value: Any) -> None:
        for v in value[0] + value[1]:
            w.real(v)

    def read(self, r: Reader, what: str) -> Any:
        v = [r.real(what) for _ in range(6)]
        return [v[:3], v[3:]]


class Text(Codec):
    name = "text"

    def accepts(self, value: object) -> bool:
        return textcode.fits(value)

    def write(self, w: Writer, value: Any) -> None:
        textcode.write(w, value)

    def read(self, r: Reader, what: str) -> Any:
        return textcode.read(r, what)


class FileName(Text):
    """A file name: the varint ``2·h + e`` (``h``: the text header of the name without its
    extension, see :mod:`lutplug.codec.textcode`; ``e`` = 1 unless the name ends in ``.cube``),
    when ``e`` = 1 a varint ``k`` (0: no extension of :data:`EXTENSIONS` is left out, else
    ``EXTENSIONS[k]``), then the text's bytes."""

    name = "file name"

    def write(self, w: Writer, value: Any) -> None:
        k = next((i for i, e in enumerate(EXTENSIONS) if value.endswith(e)), None)
        h, data = textcode.header(value[:len(value) - len(EXTENSIONS[k])] if k is not None else value)
        w.varint(2 * h + (k != 0))
        if k != 0:
            w.varint(k or 0)
        w.raw(data)

    def read(self, r: Reader, what: str) -> Any:
        h = r.varint(what, 4 * textcode.MAX_TEXT + 3)
        k = r.varint(what, len(EXTENSIONS) - 1) if h & 1 else 0
        if h & 1 and k == 0:
            return textcode.read_after(r, h >> 1, what)
        return textcode.read_after(r, h >> 1, what) + EXTENSIONS[k]


class Enum(Codec):
    """One of a few values: a varint index."""

    name = "varint index"

    def __init__(self, *choices: object):
        self.choices = choices

    def accepts(self, value: object) -> bool:
        return any(same(value, c) for c in self.choices)

    def write(self, w: Writer, value: Any) -> None:
        w.varint(next(i for i, c in enumerate(self.choices) if same(value, c)))

    def read(self, r: Reader, what: str) -> Any:
        return self.choices[r.varint(what, len(self.choices) - 1)]


class Hex(Codec):
    name = "raw bytes"

    def __init__(self, n: int):
        self.n = n
        self.name = f"{n} raw bytes"

    def accepts(self, value: object) -> bool:
        return wire.hex_ok(value, self.n)

    def write(self, w: Writer, value: Any) -> None:
        w.raw(bytes.fromhex(value))

    def read(self, r: Reader, what: str) -> Any:
        return r.take(self.n, what).hex()


class Time(Codec):
    name = "uint32 seconds"

    def accepts(self, value: object) -> bool:
        return wire.time_seconds(value) is not None

    def write(self, w: Writer, value: Any) -> None:
        w.u32(wire.time_seconds(value) or 0)

    def read(self, r: Reader, what: str) -> Any:
        return wire.time_text(r.u32(what))


class Version(Codec):
    name = "version varint"

    def accepts(self, value: object) -> bool:
        return wire.version_number(value) is not None

    def write(self, w: Writer, value: Any) -> None:
        w.varint(wire.version_number(value) or 0)

    def read(self, r: Reader, what: str) -> Any:
        return wire.version_text(r.varint(what, 4096 * 10 ** 7))


class Json(Codec):
    name = "varint length + JSON"

    def accepts(self, value: object) -> bool:
        return isinstance(value, dict) and bool(value)

    def write(self, w: Writer, value: Any) -> None:
        raw = json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
        w.varint(len(raw))
        w.raw(raw)

    def read(self, r: Reader, what: str) -> Any:
        raw = r.take(r.varint(what, MAX_EXTRAS), what)
        try:
            value = strict_json(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise Malformed(f"{what} is not valid JSON ({str(exc)[:200]})") from None
        if not self.accepts(value):
            raise Malformed(f"{what} must be a non-empty JSON object")
        return value
