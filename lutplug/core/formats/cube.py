"""Resolve / Iridas / Adobe ``.cube`` (text).

Spec notes (Adobe Cube LUT Specification 1.0 and DaVinci Resolve's variant):

* ``TITLE "text"``; ``#`` comments; keywords before the data; blank lines ignored; CRLF allowed.
* ``LUT_3D_SIZE N`` / ``LUT_1D_SIZE M``; data lines are ``R G B`` with R varying fastest.
* Iridas/Adobe: ``DOMAIN_MIN r g b`` / ``DOMAIN_MAX r g b`` (per-channel input range).
* Resolve: ``LUT_1D_INPUT_RANGE min max`` / ``LUT_3D_INPUT_RANGE min max``; a file holding both a
  1D and a 3D table lists the 1D data first and applies it as a shaper before the 3D table.
"""
from __future__ import annotations

from typing import List, Optional, Tuple, Union

import numpy as np

from lutplug.core.lut import LUT1D, LUT3D, MAX_GRID_3D, MAX_LENGTH_1D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_write, is_count, is_number, parse_rows, read_text_lines

EXTENSIONS = (".cube",)
_VIDEO_RANGE_KEYWORDS = ("LUT_IN_VIDEO_RANGE", "LUT_OUT_VIDEO_RANGE")


def sniff(head: bytes) -> bool:
    """True when the first bytes look like a .cube file."""
    return b"LUT_3D_SIZE" in head or b"LUT_1D_SIZE" in head


def _size(tokens: List[str], limit: int, path, lineno: int) -> int:
    if len(tokens) != 2 or not is_count(tokens[1]):
        raise LutError(f"{tokens[0]} needs one positive integer", path, lineno)
    value = int(tokens[1])
    if not 2 <= value <= limit:
        raise LutError(f"{tokens[0]} {value} is outside 2..{limit}", path, lineno)
    return value


def _floats(tokens: List[str], count: int, path, lineno: int) -> np.ndarray:
    if len(tokens) != count + 1 or not all(is_number(t) for t in tokens[1:]):
        raise LutError(f"{tokens[0]} needs {count} numbers", path, lineno)
    values = np.array([float(t) for t in tokens[1:]])
    if not np.all(np.isfinite(values)):
        raise LutError(f"{tokens[0]} has NaN or infinite values", path, lineno)
    return values


def read(path: PathLike) -> Union[LUT3D, LUT1D]:
    """Read a .cube file: a :class:`LUT3D` (with shaper when a 1D table precedes it) or a
    :class:`LUT1D` when the file holds only a 1D table."""
    lines = read_text_lines(path)
    title = ""
    comments: List[str] = []
    size3: Optional[int] = None
    size1: Optional[int] = None
    domain_min = domain_max = None
    range1 = range3 = None
    rows: List[Tuple[int, str]] = []
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if not rows:
                comments.append(line[1:].strip())
            continue
        tokens = line.split()
        if is_number(tokens[0]):
            rows.append((lineno, line))
            continue
        if rows:
            raise LutError(f"unexpected {tokens[0][:40]!r} among data lines", path, lineno)
        key = tokens[0].upper()
        if key == "TITLE":
            title = line[5:].strip().strip('"')
        elif key == "LUT_3D_SIZE":
            size3 = _size(tokens, MAX_GRID_3D, path, lineno)
        elif key == "LUT_1D_SIZE":
            size1 = _size(tokens, MAX_LENGTH_1D, path, lineno)
        elif key == "DOMAIN_MIN":
            domain_min = _floats(tokens, 3, path, lineno)
        elif key == "DOMAIN_MAX":
            domain_max = _floats(tokens, 3, path, lineno)
        elif key == "LUT_1D_INPUT_RANGE":
            range1 = _floats(tokens, 2, path, lineno)
        elif key == "LUT_3D_INPUT_RANGE":
            range3 = _floats(tokens, 2, path, lineno)
        elif key in _VIDEO_RANGE_KEYWORDS:
            comments.append(line)
        else:
            raise LutError(f"unknown keyword {tokens[0][:40]!r}", path, lineno)
    if size3 is None and size1 is None:
        raise LutError("no LUT_3D_SIZE or LUT_1D_SIZE line: not a .cube LUT", path)
    expected = (size1 or 0) + (size3 ** 3 if size3 else 0)
    if len(rows) != expected:
        parts = []
        if size1:
            parts.append(f"{size1} (LUT_1D_SIZE)")
        if size3:
            parts.append(f"{size3 ** 3} (LUT_3D_SIZE {size3}³)")
        raise LutError(f"expected {' + '.join(parts)} = {expected} data lines, found {len(rows)}",
                       path)
    data = parse_rows(rows, 3, path)
    dmin = np.zeros(3) if domain_min is None else domain_min
    dmax = np.ones(3) if domain_max is None else domain_max
    src = str(path)
    try:
        if size3 is None:
            if range1 is not None:
                dmin, dmax = np.repeat(range1[0], 3), np.repeat(range1[1], 3)
            return LUT1D(data, dmin, dmax, title=title, comments=comments, source=src)
        shaper = None
        if size1 is not None:
            s_min, s_max = (range1[0], range1[1]) if range1 is not None else (dmin, dmax)
            shaper = LUT1D(data[:size1], s_min, s_max, source=src)
        if range3 is not None:
            dmin, dmax = np.repeat(range3[0], 3), np.repeat(range3[1], 3)
        table = data[size1 or 0:].reshape(size3, size3, size3, 3)
        return LUT3D(table, dmin, dmax, shaper=shaper, title=title, comments=comments, source=src)
    except LutError as exc:
        raise exc.with_path(path) from None


def _fmt(rows: np.ndarray) -> str:
    return "\n".join(" ".join(f"{v:.9g}" for v in row) for row in rows.tolist())


def _uniform(dmin: np.ndarray, dmax: np.ndarray) -> bool:
    return bool(np.all(dmin == dmin[0]) and np.all(dmax == dmax[0]))


def write(lut: Union[LUT3D, LUT1D], path: PathLike) -> None:
    """Write ``lut`` as a .cube file (Iridas DOMAIN_* for a plain table; Resolve
    LUT_1D/3D_INPUT_RANGE when a shaper is present). Values keep float32 precision."""
    out: List[str] = []
    has_shaper = isinstance(lut, LUT3D) and lut.shaper is not None
    if lut.title:
        # OCIO refuses TITLE in a Resolve 1D+3D file: keep the title as a comment there.
        out.append(f"# TITLE {lut.title}" if has_shaper else f'TITLE "{lut.title}"')
    out += [f"# {c}" for c in lut.comments if c]
    if isinstance(lut, LUT1D):
        out.append(f"LUT_1D_SIZE {lut.size}")
        out += _domain_lines(lut.domain_min, lut.domain_max, "LUT_1D_INPUT_RANGE")
        out.append(_fmt(lut.table))
    elif lut.shaper is not None:
        sh = lut.shaper
        if not (_uniform(sh.domain_min, sh.domain_max) and _uniform(lut.domain_min, lut.domain_max)):
            raise LutError(".cube cannot store a shaper with per-channel ranges; use .clf", path)
        out.append(f"LUT_1D_SIZE {sh.size}")
        out.append(f"LUT_1D_INPUT_RANGE {sh.domain_min[0]:.9g} {sh.domain_max[0]:.9g}")
        out.append(f"LUT_3D_SIZE {lut.size}")
        out.append(f"LUT_3D_INPUT_RANGE {lut.domain_min[0]:.9g} {lut.domain_max[0]:.9g}")
        out.append(_fmt(sh.table))
        out.append(_fmt(lut.table.reshape(-1, 3)))
    else:
        out.append(f"LUT_3D_SIZE {lut.size}")
        out += _domain_lines(lut.domain_min, lut.domain_max, None)
        out.append(_fmt(lut.table.reshape(-1, 3)))
    atomic_write(path, "\n".join(out) + "\n")


def _domain_lines(dmin, dmax, range_keyword) -> List[str]:
    if np.all(dmin == 0) and np.all(dmax == 1):
        return []
    if range_keyword and _uniform(dmin, dmax):
        return [f"{range_keyword} {dmin[0]:.9g} {dmax[0]:.9g}"]
    return ["DOMAIN_MIN " + " ".join(f"{v:.9g}" for v in dmin),
            "DOMAIN_MAX " + " ".join(f"{v:.9g}" for v in dmax)]
