"""Sony Pictures Imageworks ``.spi3d`` and ``.spi1d`` LUTs (text).

``.spi3d`` (as read by OpenColorIO's ``FileFormatSpi3D.cpp``)::

    SPILUT 1.0
    3 3
    32 32 32
    0 0 0 0.0132509 0.0158522 0.0156622      <- i j k  R G B
    0 0 1 0.0136178 0.018843 0.033921

* ``i j k`` are the explicit red, green and blue node indices; rows may come in any order, so the
  table is filled by index. Every node must appear exactly once (duplicates and gaps are refused).
* ``3 3`` means 3 inputs, 3 outputs; the size line must name one size for all three axes.
* The input domain is 0..1; ``#`` comment lines are kept as comments.

``.spi1d``::

    Version 1
    From -0.125 1.125        (input domain, default 0 1)
    Length 4096
    Components 1             (1: one curve for R, G and B; 2: R, G and B = 0; 3: R G B)
    {
        0.0312
        ...
    }

Both are LUTs without a shaper; ``write_spi3d`` therefore only writes plain 0..1 tables.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np

from lutplug.core.lut import LUT1D, LUT3D, MAX_GRID_3D, MAX_LENGTH_1D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_write, is_count, is_number, parse_rows, read_text_lines

EXTENSIONS = (".spi3d", ".spi1d")


def _first_lines(head: bytes, count: int) -> List[str]:
    text = head.decode("latin-1", "replace")
    return [ln.strip() for ln in text.splitlines() if ln.strip()][:count]


def sniff_spi3d(head: bytes) -> bool:
    """True when ``head`` starts like a .spi3d file."""
    lines = _first_lines(head, 1)
    return bool(lines) and lines[0].lower().startswith("spilut")


def sniff_spi1d(head: bytes) -> bool:
    """True when ``head`` starts like a .spi1d file."""
    lines = _first_lines(head, 1)
    return bool(lines) and lines[0].split()[0] in ("Version", "Version1") and b"Length" in head


#: The registry asks one ``sniff`` per module; it answers for .spi3d only, so that an .spi1d is
#: never detected as .spi3d (see :func:`sniff_spi1d`).
sniff = sniff_spi3d


def _content_lines(path: PathLike) -> Tuple[List[Tuple[int, str]], List[str]]:
    """Non-blank lines (number, stripped text) and the ``#`` comments."""
    out, comments = [], []
    for lineno, raw in enumerate(read_text_lines(path), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            comments.append(line[1:].strip())
            continue
        out.append((lineno, line))
    return out, comments


def read(path: PathLike):
    """Read an .spi3d or .spi1d file (chosen by its first line)."""
    for raw in read_text_lines(path):
        if raw.strip() and not raw.strip().startswith("#"):
            if raw.strip().lower().startswith("spilut"):
                return read_spi3d(path)
            break
    return read_spi1d(path)


def read_spi3d(path: PathLike) -> LUT3D:
    """Read an .spi3d file into a :class:`LUT3D` (domain 0..1)."""
    lines, comments = _content_lines(path)
    if not lines or not lines[0][1].lower().startswith("spilut"):
        where = lines[0][0] if lines else None
        raise LutError("not an .spi3d file: the first line must be 'SPILUT 1.0'", path, where)
    if len(lines) < 3:
        raise LutError("truncated .spi3d header: expected 'SPILUT 1.0', '3 3' and the size line",
                       path)
    lineno, dims = lines[1]
    if dims.split() != ["3", "3"]:
        raise LutError(f"expected '3 3' (3 inputs, 3 outputs), found {dims[:40]!r}", path, lineno)
    lineno, size_line = lines[2]
    parts = size_line.split()
    if len(parts) != 3 or not all(is_count(p) for p in parts):
        raise LutError(f"size line needs three integers, found {size_line[:40]!r}", path, lineno)
    sizes = [int(p) for p in parts]
    if len(set(sizes)) != 1:
        raise LutError(f"grid sizes {sizes} differ per axis (only N N N is supported)",
                       path, lineno)
    n = sizes[0]
    if not 2 <= n <= MAX_GRID_3D:
        raise LutError(f"grid size {n} is outside 2..{MAX_GRID_3D}", path, lineno)
    rows = lines[3:]
    if len(rows) != n ** 3:
        raise LutError(f"expected {n}³ = {n ** 3} data lines, found {len(rows)}", path)
    data = parse_rows(rows, 6, path, what="spi3d")
    idx = data[:, :3]
    bad = (idx != np.round(idx)) | (idx < 0) | (idx >= n)
    if bad.any():
        k = int(np.argmax(bad.any(axis=1)))
        raise LutError(f"node index outside 0..{n - 1} or not an integer: "
                       f"{rows[k][1][:60]!r}", path, rows[k][0])
    ii = idx.astype(np.int64)
    flat = (ii[:, 2] * n + ii[:, 1]) * n + ii[:, 0]  # [b, g, r] position, R fastest
    seen = np.zeros(n ** 3, dtype=np.int64)
    np.add.at(seen, flat, 1)
    if (seen != 1).any():
        # Equal counts: a duplicate implies a missing node; name the duplicate's second line.
        order = np.argsort(flat, kind="stable")
        dup = order[1:][flat[order][1:] == flat[order][:-1]]
        k = int(dup.min())
        raise LutError(f"node {ii[k].tolist()} appears more than once (every node must appear "
                       "exactly once)", path, rows[k][0])
    table = np.empty((n ** 3, 3), dtype=np.float32)
    table[flat] = data[:, 3:]
    try:
        return LUT3D(table.reshape(n, n, n, 3), comments=comments, source=str(path))
    except LutError as exc:
        raise exc.with_path(path) from None


def read_spi1d(path: PathLike) -> LUT1D:
    """Read an .spi1d file into a :class:`LUT1D` over its ``From`` range."""
    lines, comments = _content_lines(path)
    version = length = components = None
    dmin, dmax = 0.0, 1.0
    start = None
    for pos, (lineno, line) in enumerate(lines):
        tokens = line.split()
        if line.startswith("{"):
            if line != "{":
                raise LutError("values must start on the line after '{'", path, lineno)
            start = pos + 1
            break
        key = tokens[0]
        if key.startswith("Version"):
            rest = [key[7:]] if key != "Version" else tokens[1:]
            if len(rest) != 1 or rest[0] != "1":
                raise LutError("only 'Version 1' .spi1d files exist", path, lineno)
            version = 1
        elif key == "From":
            if len(tokens) != 3 or not all(is_number(t) for t in tokens[1:]):
                raise LutError("'From' needs two numbers (input range)", path, lineno)
            dmin, dmax = float(tokens[1]), float(tokens[2])
            if not (np.isfinite(dmin) and np.isfinite(dmax) and dmax > dmin):
                raise LutError(f"'From {tokens[1]} {tokens[2]}' is not an increasing finite "
                               "range", path, lineno)
        elif key == "Length":
            if len(tokens) != 2 or not is_count(tokens[1]):
                raise LutError("'Length' needs one positive integer", path, lineno)
            length = int(tokens[1])
            if not 2 <= length <= MAX_LENGTH_1D:
                raise LutError(f"Length {length} is outside 2..{MAX_LENGTH_1D}", path, lineno)
        elif key == "Components":
            if len(tokens) != 2 or tokens[1] not in ("1", "2", "3"):
                raise LutError("'Components' must be 1, 2 or 3", path, lineno)
            components = int(tokens[1])
        else:
            raise LutError(f"unknown .spi1d header line {line[:40]!r}", path, lineno)
    if version is None:
        raise LutError("no 'Version 1' line: not an .spi1d file", path)
    if length is None or components is None:
        raise LutError("the header needs 'Length' and 'Components' lines", path)
    if start is None:
        raise LutError("no '{' line opening the values", path)
    body = lines[start:]
    end = next((k for k, (_, text) in enumerate(body) if text.startswith("}")), None)
    if end is None:
        raise LutError("no '}' line closing the values (truncated file?)", path)
    if end + 1 != len(body):
        raise LutError("unexpected content after '}'", path, body[end + 1][0])
    if body[end][1] != "}":
        raise LutError("'}' must stand alone on its line", path, body[end][0])
    rows = body[:end]
    if len(rows) != length:
        raise LutError(f"expected Length {length} value lines, found {len(rows)}", path)
    data = parse_rows(rows, components, path, what="spi1d")
    if components == 1:
        table = np.repeat(data, 3, axis=1)
    elif components == 2:
        table = np.concatenate([data, np.zeros((length, 1))], axis=1)
    else:
        table = data
    try:
        return LUT1D(table, np.full(3, dmin), np.full(3, dmax), comments=comments, source=str(path))
    except LutError as exc:
        raise exc.with_path(path) from None


def write_spi3d(lut: LUT3D, path: PathLike) -> None:
    """Write a plain (no shaper, domain 0..1) :class:`LUT3D` as .spi3d, rows in the usual order
    (red slowest, blue fastest). Title and comments follow the data as ``#`` lines, which
    OpenColorIO ignores."""
    if not isinstance(lut, LUT3D):
        raise LutError(".spi3d holds 3D LUTs only (use .spi1d/.cube for a 1D LUT)", path)
    if lut.shaper is not None:
        raise LutError(".spi3d cannot hold a shaper; write .clf or .cube instead", path)
    if not (np.all(lut.domain_min == 0) and np.all(lut.domain_max == 1)):
        raise LutError(f".spi3d cannot hold the input domain {lut.domain_min.tolist()}.."
                       f"{lut.domain_max.tolist()} (always 0..1); write .clf or .cube instead",
                       path)
    n = lut.size
    r, g, b = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
    values = lut.table.transpose(2, 1, 0, 3).reshape(-1, 3)  # [r, g, b] order, blue fastest
    idx = np.stack([r, g, b], axis=-1).reshape(-1, 3)
    body = "\n".join(f"{i} {j} {k} {x:.9g} {y:.9g} {z:.9g}"
                     for (i, j, k), (x, y, z) in zip(idx.tolist(), values.tolist()))
    notes = ([lut.title] if lut.title else []) + [c for c in lut.comments if c]
    tail = "".join(f"# {' '.join(str(c).split())}\n" for c in notes)
    atomic_write(Path(path), f"SPILUT 1.0\n3 3\n{n} {n} {n}\n{body}\n{tail}")
