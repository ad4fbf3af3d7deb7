"""The description of a version 3 .nlut as a compact binary record (docs/nlut-format.md,
"Version 3: the description record").

The record knows the description fields (:data:`FIELDS`, in this order; objects before their
members) and what a file made by ``lutplug compress`` usually holds:

- *usual* fields are present: their value is written, nothing else;
- *optional* fields are absent: nothing is written;
- *defaulted* fields hold their default (a value, or one computed from the fields before):
  nothing is written.

A field that is otherwise sets one bit of the *field map* (a bit set, :data:`SLOTS`, ordered so
that the deviations lutplug's own files have come first): its *set* slot (an optional field that
is present, a defaulted one holding another value; its value is then written) or its *absent*
slot (a usual or defaulted field that is missing). The record is the values of every field that
is present and not at its default, in field order, each in its codec's encoding
(:mod:`lutplug.codec.wire`, :mod:`lutplug.codec.textcode`), and last, when the ``extras`` slot is
set, a varint length and a compact JSON object (sorted keys) holding everything else of the
description — unknown keys and values no codec takes — merged back over the fields on reading
(objects key by key; a key both hold is refused). Members of an absent object have no slots set.

Every description round-trips exactly (the JSON extras take what the binary fields cannot), and
a record reads back only from its one canonical encoding: a reader re-encodes what it decoded and
refuses any difference (overlong varints, a field in the extras that a codec takes, a default
written out ...).
"""
from __future__ import annotations

import dataclasses
import json
from typing import Callable, List, Optional, Sequence, Tuple, Union

from lutplug.codec.fieldcodecs import (UNIT_DOMAIN, Codec, Dec4, Domain, Enum, F32, FileName, Hex, Json, Obj,
                                       Real, Text, Time, UInt, UIntList, Version, same)
from lutplug.codec.wire import Malformed, Reader, Writer

USUAL, OPTIONAL, DEFAULTED = "usual", "optional", "defaulted"
#: The T1 ("invisible") target as it stood when version 3 was defined: a frozen default.
T1_TARGET = {"de_mean": 0.45, "de_p99": 1.5, "de_max": 3.0, "psnr": 45.0}
#: No default (the field then behaves as a usual one).
NO_DEFAULT = object()
Default = Union[object, Callable[[dict], object]]
#: The version of lutplug that defined format 3: ``provenance.lutplug``'s default.
LUTPLUG_DEFAULT = "0.1.0"


def _grid(description: dict) -> object:
    """``provenance.grid`` (the source table's grid) when the record held it, else NO_DEFAULT."""
    grid = (description.get("provenance") or {}).get("grid")
    return grid if type(grid) is int and 2 <= grid <= 1024 else NO_DEFAULT


def _points(description: dict) -> object:
    """T1's evaluation point count for the source grid: every node of a max(grid, 17)³ lattice
    plus 200,000 random points (:func:`lutplug.metrics.quality.evaluation_points`)."""
    grid = _grid(description)
    return max(grid, 17) ** 3 + 200_000 if isinstance(grid, int) else NO_DEFAULT


def _reading(description: dict) -> object:
    """The source table's reading: ``interpolation``, tetrahedral when absent."""
    value = description.get("interpolation", "tetrahedral")
    return value if value in ("tetrahedral", "trilinear") else NO_DEFAULT


def _in_curve(description: dict) -> object:
    value = (description.get("model") or {}).get("in_curve")
    return value if type(value) is int else NO_DEFAULT


@dataclasses.dataclass(frozen=True)
class Field:
    """A description field: its key path, codec, kind and (defaulted fields) default, a value or
    a function of the fields read before it."""

    path: Tuple[str, ...]
    codec: Codec
    kind: str = USUAL
    default: Default = NO_DEFAULT

    def default_in(self, so_far: dict) -> object:
        if self.kind != DEFAULTED:
            return NO_DEFAULT
        return self.default(so_far) if callable(self.default) else self.default

    @property
    def key(self) -> str:
        return ".".join(self.path)


def _fields() -> List[Field]:
    u, text, real, dec, flag = UInt(), Text(), Real(), Dec4(), Enum(False, True)
    p, s, t, m, q = ("provenance",), ("provenance", "settings"), \
        ("provenance", "settings", "target"), ("model",), ("quality",)
    return [
        Field(("format",), text, DEFAULTED, "nlut"),
        Field(("interpolation",), Enum("tetrahedral", "trilinear"), OPTIONAL),
        Field(p, Obj()),
        Field(p + ("grid",), u),
        Field(p + ("created",), Time()),
        Field(p + ("lutplug",), Version(), DEFAULTED, LUTPLUG_DEFAULT),
        Field(p + ("parent",), Hex(32), DEFAULTED, None),
        Field(s, Obj()),
        Field(t, Obj()),
        *(Field(t + (k,), real, DEFAULTED, v) for k, v in T1_TARGET.items()),
        Field(s + ("budget_bytes",), u, DEFAULTED, None),
        Field(s + ("seed",), u, DEFAULTED, 0),
        Field(s + ("device",), Enum("cpu", "cuda"), DEFAULTED, "cpu"),
        Field(p + ("source",), FileName()),
        Field(p + ("source_bytes",), u),
        Field(p + ("source_sha256",), Hex(32)),
        Field(p + ("shaper_entries",), UIntList(), OPTIONAL),
        Field(p + ("job",), Hex(32), OPTIONAL),
        Field(m, Obj()),
        Field(m + ("format",), text, DEFAULTED, "lutplug-mlp"),
        Field(m + ("version",), u, DEFAULTED, 1),
        Field(m + ("in_curve",), u),
        Field(m + ("out_curve",), u, DEFAULTED, _in_curve),
        Field(m + ("fourier",), u, DEFAULTED, 0),
        Field(m + ("hidden",), UIntList()),
        Field(m + ("act",), Enum("relu", "silu", "tanh", "sin"), DEFAULTED, "relu"),
        Field(m + ("skip",), Enum("identity", "linear", "none"), DEFAULTED, "linear"),
        Field(m + ("center",), flag, DEFAULTED, True),
        Field(m + ("minmax",), flag, DEFAULTED, False),
        Field(m + ("fix",), Obj(), OPTIONAL),
        Field(m + ("fix", "grid"), u, DEFAULTED, _grid),
        Field(m + ("fix", "count"), u),
        Field(m + ("fix", "scale"), F32()),
        Field(m + ("lattice",), Obj(), OPTIONAL),
        Field(m + ("lattice", "grid"), u, DEFAULTED, _grid),
        Field(m + ("lattice", "step"), real),
        Field(m + ("lattice", "interpolation"), Enum("tetrahedral", "trilinear"), DEFAULTED, _reading),
        Field(("domain",), Domain(), DEFAULTED, UNIT_DOMAIN),
        Field(("shaper_domain",), Domain(), OPTIONAL),
        Field(("title",), text, OPTIONAL),
        Field(("colorspace",), Obj(), OPTIONAL),
        Field(("colorspace", "input"), text, OPTIONAL),
        Field(("colorspace", "output"), text, OPTIONAL),
        Field(q, Obj()),
        *(Field(q + (k,), dec) for k in ("de_mean", "de_p95", "de_p99", "de_max", "psnr", "max_abs")),
        Field(q + ("points",), u, DEFAULTED, _points),
        Field(q + ("meets_target",), flag, DEFAULTED, True),
        Field(("signer",), Hex(8), OPTIONAL),
    ]


#: The known fields, in record order.
FIELDS: Sequence[Field] = tuple(_fields())
SET, ABSENT = "set", "absent"
EXTRAS = "extras"
#: The set slots of lutplug's usual deviations, first (the field map's low bits).
_FIRST = ("title", "model.fix", "quality.meets_target", "colorspace",
          "colorspace.input", "colorspace.output", "shaper_domain", "model.lattice",
          "provenance.parent", "interpolation", "domain",
          "signer", "provenance.shaper_entries", "provenance.job", "provenance.settings.budget_bytes",
          "provenance.settings.device", "provenance.settings.seed", "provenance.lutplug")


def _slots() -> List[Tuple[str, str]]:
    """Every slot, (field key or :data:`EXTRAS`, :data:`SET` or :data:`ABSENT`), in bit order:
    :data:`_FIRST`, the other set slots in field order, the extras, the absent slots in field
    order."""
    settable = [f.key for f in FIELDS if f.kind != USUAL and f.key not in _FIRST]
    absent = [f.key for f in FIELDS if f.kind != OPTIONAL]
    return ([(k, SET) for k in _FIRST + tuple(settable)] + [(EXTRAS, SET)]
            + [(k, ABSENT) for k in absent])


#: The field map's bits, lowest first.
SLOTS: Sequence[Tuple[str, str]] = tuple(_slots())
_BIT = {slot: i for i, slot in enumerate(SLOTS)}
_MISSING = object()


def _node(tree: dict, path: Sequence[str]) -> Optional[dict]:
    """The dict at ``path`` in ``tree``, or None."""
    for key in path:
        nxt = tree.get(key) if isinstance(tree, dict) else None
        if not isinstance(nxt, dict):
            return None
        tree = nxt
    return tree


def encode(description: dict) -> Tuple[int, bytes]:
    """(field map, record bytes) of ``description`` (a JSON-able dict; tuples are stored as
    lists)."""
    try:
        description = json.loads(json.dumps(description, allow_nan=False))
    except ValueError:
        raise ValueError("a description holding NaN or Infinity cannot be stored (not JSON)") from None
    rest = json.loads(json.dumps(description))  # what no field takes: the extras
    built: dict = {}  # the fields taken, as a reader rebuilds them (for computed defaults)
    objects: List[Tuple[str, ...]] = []
    slots = 0
    values = Writer()
    for field in FIELDS:
        *parents, key = field.path
        target, source = _node(built, parents), _node(description, parents)
        if target is None or source is None:
            continue  # its object is not in the binary record
        value = source.get(key, _MISSING)
        default = field.default_in(built)
        at_default = default is not NO_DEFAULT and same(value, default)
        if value is _MISSING or not (at_default or field.codec.accepts(value)):
            if field.kind != OPTIONAL:
                slots |= 1 << _BIT[field.key, ABSENT]
            continue
        is_object = isinstance(field.codec, Obj)
        target[key] = {} if is_object else value
        if is_object:
            objects.append(field.path)
        else:
            _node(rest, parents).pop(key)  # type: ignore[union-attr]
        if at_default:
            continue
        if field.kind == OPTIONAL or default is not NO_DEFAULT:
            slots |= 1 << _BIT[field.key, SET]
        field.codec.write(values, value)
    for path in reversed(objects):  # objects the binary record rebuilds, left empty
        holder = _node(rest, path[:-1])
        if holder is not None and holder.get(path[-1]) == {}:
            holder.pop(path[-1])
    if rest:
        slots |= 1 << _BIT[EXTRAS, SET]
        Json().write(values, rest)
    return slots, bytes(values.buf)


def decode(r: Reader, slots: int, what: str = "description record") -> dict:
    """The description whose field map is ``slots``, reading its record from ``r`` (its end is
    found by parsing). Raises :class:`Malformed` for anything that is not the canonical encoding
    of a description."""
    if slots >> len(SLOTS):
        raise Malformed(f"{what}: the field map sets undefined bits")
    start = r.pos
    description: dict = {}
    used = 0
    for field in FIELDS:
        *parents, key = field.path
        target = _node(description, parents)
        if target is None:
            continue  # its object is absent: the encoder sets none of its slots (checked below)
        default = field.default_in(description)
        usual = field.kind == USUAL or (field.kind == DEFAULTED and default is NO_DEFAULT)
        is_set = _flag(slots, (field.key, SET))
        if _flag(slots, (field.key, ABSENT)):
            if is_set:
                raise Malformed(f"{what}: {field.key} is both set and absent")
            used |= 1 << _BIT[field.key, ABSENT]
            continue
        if is_set:
            used |= 1 << _BIT[field.key, SET]
            if usual:
                raise Malformed(f"{what}: {field.key} has no default to differ from")
        elif field.kind == OPTIONAL:
            continue
        elif not usual:
            target[key] = json.loads(json.dumps(default))
            continue
        target[key] = field.codec.read(r, f"{what}: {field.key}")
    if _flag(slots, (EXTRAS, SET)):
        used |= 1 << _BIT[EXTRAS, SET]
        _merge(description, Json().read(r, f"{what}: extras"), what)
    if slots != used:
        raise Malformed(f"{what}: the field map sets slots of absent objects")
    if encode(description) != (slots, bytes(r.data[start:r.pos])):
        raise Malformed(f"{what} is not in its canonical encoding")
    return description


def _flag(slots: int, slot: Tuple[str, str]) -> bool:
    bit = _BIT.get(slot)
    return bit is not None and bool(slots >> bit & 1)


def _merge(into: dict, extras: dict, what: str) -> None:
    for key, value in extras.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, what)
        else:
            raise Malformed(f"{what}: extras repeat the field {key[:40]!r}")
