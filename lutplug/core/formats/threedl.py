"""Autodesk ``.3dl`` 3D LUTs (Lustre, Flame/Discreet and the Foundry/Nuke variant).

Format notes (Autodesk Lustre/Flame documentation as implemented by OpenColorIO's
``FileFormat3DL.cpp``, the de-facto reference):

* ``#`` comments; blank lines ignored; CRLF allowed.
* Lustre: ``3DMESH`` then ``Mesh a b``: the table has ``2^a + 1`` nodes per axis and integer output
  values of ``b`` bits (scale ``2^b - 1``). A trailer ``LUT8`` / ``gamma 1.0`` may follow the data.
* Flame/Discreet and Foundry: no ``Mesh`` line. The output bit depth is inferred from the largest
  value the way OCIO does: 8/10/12/16 bit when the maximum lies in ``[2^(b-1), 2^(b+1) - 1]``
  (a 14-bit guess becomes 16 bit), refusing maxima below 128 (float data is not 3DL).
* An optional line of more than 3 integers lists the input code values of the mesh points
  ("0 64 128 … 1023", "0 4096 … 65535"); its bit depth is inferred from its maximum. OpenColorIO
  drops it when it is uniform within 2 code values (it always is in practice), otherwise applies
  it as a 1D LUT (values / scale at uniform inputs) before the cube; we do the same, so a
  non-uniform line becomes a :class:`LUT1D` shaper.
* Data lines are ``R G B`` integers, **blue index fastest** (red slowest) — the transpose of
  .cube order. The input domain is normalised code values 0..1.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

import numpy as np

from lutplug.core.lut import LUT1D, LUT3D, MAX_GRID_3D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import parse_rows, read_text_lines

EXTENSIONS = (".3dl",)
_INT = re.compile(r"^[+-]?[0-9]{1,18}$")  # ASCII digits: int() reads them, and no huge ones
_TRAILER = re.compile(r"^(lut\d+|gamma)$", re.IGNORECASE)
#: Lowest plausible maximum of integer code values (OpenColorIO's screen against float data).
_LOWEST_PLAUSIBLE_MAX = 128


def sniff(head: bytes) -> bool:
    """True when the first bytes look like a .3dl file (3DMESH header, or a breakpoint line of
    integers followed by rows of three integers)."""
    text = head.decode("latin-1", "replace")
    if re.search(r"^\s*3DMESH\b", text, re.MULTILINE | re.IGNORECASE):
        return True
    lines = [ln.split() for ln in text.splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 3:
        return False
    ints = [all(_INT.match(t) for t in parts) for parts in lines[:3]]
    return all(ints) and len(lines[0]) > 3 and len(lines[1]) == 3 and len(lines[2]) == 3


def likely_bit_depth(max_value: int) -> int:
    """OpenColorIO's bit-depth guess from the largest code value (8, 10, 12 or 16; 2x overshoot
    allowed; 14 bit is taken as 16)."""
    for bits in (8, 10, 12, 14):
        if max_value <= (1 << bits) * 2 - 1:
            return 16 if bits == 14 else bits
    return 16


def _is_uniform(raw: np.ndarray, scale: float) -> bool:
    """OCIO's loose identity test for a breakpoint line (every point within 2 code values)."""
    step = scale / (raw.size - 1)
    return bool(np.all(np.abs(np.arange(raw.size) * step - raw) < 2.0))


def read(path: PathLike) -> LUT3D:
    """Read a .3dl file into a :class:`LUT3D` (input domain 0..1 normalised code values)."""
    lines = read_text_lines(path)
    comments: List[str] = []
    mesh: Optional[Tuple[int, int, int]] = None  # (input bits, output bits, line)
    breakpoints: Optional[Tuple[int, List[str]]] = None
    rows: List[Tuple[int, str]] = []
    trailer = False
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if not rows:
                comments.append(line[1:].strip())
            continue
        if line.startswith("<"):
            raise LutError("a line starts with '<' (XML?): not a .3dl file", path, lineno)
        tokens = line.split()
        if _INT.match(tokens[0]) or _looks_numeric(tokens[0]):
            if trailer:
                raise LutError("data after the LUT8/gamma trailer", path, lineno)
            if len(tokens) > 3:
                if breakpoints is not None:
                    raise LutError("a second line of input breakpoints (only one allowed)",
                                   path, lineno)
                if rows:
                    raise LutError("input breakpoint line after the table data", path, lineno)
                if len(tokens) > MAX_GRID_3D * 4:
                    raise LutError(f"breakpoint line holds {len(tokens)} values, too many",
                                   path, lineno)
                breakpoints = (lineno, tokens)
            elif len(tokens) == 3:
                rows.append((lineno, line))
            else:
                raise LutError(f"line with {len(tokens)} value(s); 3DL data lines hold 3 "
                               "integers", path, lineno)
            continue
        key = tokens[0].lower()
        if rows and not (key == "3dmesh" or _TRAILER.match(key)):
            raise LutError(f"unexpected {tokens[0][:40]!r} among data lines", path, lineno)
        if key == "3dmesh":
            if len(tokens) != 1:
                raise LutError("3DMESH takes no values", path, lineno)
        elif key == "mesh":
            if len(tokens) != 3 or not all(_INT.match(t) for t in tokens[1:]):
                raise LutError("'Mesh' needs two integers: input bits and output bits",
                               path, lineno)
            in_bits, out_bits = int(tokens[1]), int(tokens[2])
            grid_limit = int(np.log2(MAX_GRID_3D - 1))
            if not 1 <= in_bits <= grid_limit:
                raise LutError(f"'Mesh {tokens[1][:20]} …' claims a 2^{tokens[1][:20]}+1 node "
                               f"grid; accepted: 1..{grid_limit} (3..{2 ** grid_limit + 1} nodes)",
                               path, lineno)
            if not 1 <= out_bits <= 32:
                raise LutError(f"output bit depth {out_bits} in 'Mesh' is outside 1..32",
                               path, lineno)
            mesh = (in_bits, out_bits, lineno)
        elif _TRAILER.match(key):
            if rows:
                trailer = True
        else:
            raise LutError(f"unknown keyword {tokens[0][:40]!r}", path, lineno)

    if not rows:
        raise LutError("no data lines of three integers: not a .3dl LUT", path)
    count = len(rows)
    size = int(round(count ** (1.0 / 3.0)))
    if size ** 3 != count:
        raise LutError(f"{count} data lines is not a cube number (N×N×N)", path)
    if not 2 <= size <= MAX_GRID_3D:
        raise LutError(f"grid of {size} nodes is outside 2..{MAX_GRID_3D}", path)
    if mesh is not None and size != (1 << mesh[0]) + 1:
        raise LutError(f"'Mesh {mesh[0]} {mesh[1]}' announces {(1 << mesh[0]) + 1}³ nodes but "
                       f"the file holds {size}³ data lines", path, mesh[2])

    data = parse_rows(rows, 3, path, what="3DL")
    _require_integers(data, rows, path)
    max_value = int(data.max())
    if mesh is not None:
        out_bits = mesh[1]
        comments.append(f"3DL output {out_bits}-bit integers (from 'Mesh {mesh[0]} {mesh[1]}')")
    else:
        if max_value < _LOWEST_PLAUSIBLE_MAX:
            raise LutError(f"largest table value {max_value} is implausibly low for integer "
                           "3DL code values (float data is not a .3dl LUT)", path)
        out_bits = likely_bit_depth(max_value)
        comments.append(f"3DL output {out_bits}-bit integers (inferred from the maximum "
                        f"{max_value})")
    scale = float((1 << out_bits) - 1)

    shaper = None
    if breakpoints is not None:
        shaper = _shaper(breakpoints, path, comments)

    # Blue fastest: row index = (r * N + g) * N + b, i.e. data[r, g, b]; ours is table[b, g, r].
    table = (data / scale).reshape(size, size, size, 3).transpose(2, 1, 0, 3)
    try:
        return LUT3D(table, shaper=shaper, comments=comments, source=str(path))
    except LutError as exc:
        raise exc.with_path(path) from None


def _looks_numeric(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _require_integers(data: np.ndarray, rows, path) -> None:
    frac = data != np.round(data)
    if frac.any():
        k = int(np.argmax(frac.any(axis=1)))
        raise LutError(f"3DL values must be integers, found {rows[k][1].strip()[:60]!r}",
                       path, rows[k][0])


def _shaper(breakpoints, path, comments: List[str]) -> Optional[LUT1D]:
    lineno, tokens = breakpoints
    if not all(_INT.match(t) for t in tokens):
        raise LutError("input breakpoints must be integers", path, lineno)
    raw = np.array([int(t) for t in tokens], dtype=np.float64)
    top = int(raw.max())
    if top < _LOWEST_PLAUSIBLE_MAX:
        raise LutError(f"largest input breakpoint {top} is implausibly low for integer code "
                       "values", path, lineno)
    bits = likely_bit_depth(top)
    scale = float((1 << bits) - 1)
    if _is_uniform(raw, scale):
        comments.append(f"3DL input {bits}-bit, mesh breakpoints 0..{top} (uniform)")
        return None
    comments.append(f"3DL input {bits}-bit, non-uniform breakpoints applied as a 1D pre-LUT "
                    "(as OpenColorIO does)")
    try:
        return LUT1D(raw / scale, source=str(path))
    except LutError as exc:
        raise LutError(exc.message, path, lineno) from None
