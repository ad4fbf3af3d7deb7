"""Rising Sun Research Cinespace ``.csp`` LUTs (text), 1D and 3D, with per-channel pre-LUT.

Layout (blank lines are ignored everywhere)::

    CSPLUTV100
    3D                       (or 1D)
    BEGIN METADATA           (optional block, free text; kept as comments)
    ...
    END METADATA
    3                        pre-LUT for red: number of points,
    0.0 0.5 1.0              input values (strictly increasing, non-uniform allowed),
    0.0 0.7 1.0              output values (normalised lattice coordinate)
    ...                      the same for green, then blue
    17 17 17                 3D: grid size; then N³ lines "R G B", red fastest
                             (1D: entry count; then that many "R G B" lines)

The pre-LUT is interpolated with Cinespace's piecewise cubic (the ``rsr_Interpolator1D`` spline
OpenColorIO carries over from the original SDK: Hermite segments with slopes from the
neighbouring points, quadratic end segments; constant outside the input range). Like OpenColorIO
we resample it on 65536 uniform points per channel into a linear :class:`LUT1D` shaper over
``[first input, last input]`` — OCIO does exactly this, so evaluation agrees with it to float
precision (fewer points would let the linear resampling of the cubic drift from it). Also as OCIO:

* a channel whose outputs equal its inputs (relative 1e-6) is an identity; when all three are,
  no pre-LUT is applied at all and the cube spans 0..1;
* a pre-LUT of 0 points on a channel means identity over 0..1.

When every channel's pre-LUT is a straight line (2 points) whose output covers 0..1, the shaper
is exactly an input range and becomes the cube's domain instead (no resampling).
"""
from __future__ import annotations

from typing import List, Tuple, Union

import numpy as np

from lutplug.core.lut import LUT1D, LUT3D, MAX_GRID_3D, MAX_LENGTH_1D
from lutplug.errors import LutError, PathLike
from lutplug.fileio import is_count, parse_rows, read_text_lines

EXTENSIONS = (".csp",)
#: Pre-LUT resampling length (OpenColorIO's NUM_PRELUT_SAMPLES).
PRELUT_SAMPLES = 65536
#: Largest pre-LUT point count accepted.
MAX_PRELUT_POINTS = 65536


def sniff(head: bytes) -> bool:
    """True when ``head`` starts like a .csp file."""
    return head.lstrip().upper().startswith(b"CSPLUTV100")


def _floats(line: Tuple[int, str], count: int, what: str, path) -> np.ndarray:
    lineno, text = line
    data = parse_rows([line], len(text.split()), path, what=what)[0]
    if data.size != count:
        raise LutError(f"{what} line holds {data.size} values, expected {count}", path, lineno)
    return data


def read(path: PathLike) -> Union[LUT3D, LUT1D]:
    """Read a .csp file: a :class:`LUT3D` (with a :class:`LUT1D` shaper when the pre-LUT is not
    trivial) or, for a 1D .csp, a :class:`LUT1D`."""
    lines = [(n, raw.strip()) for n, raw in enumerate(read_text_lines(path), start=1)
             if raw.strip()]
    pos = 0

    def take(what: str) -> Tuple[int, str]:
        nonlocal pos
        if pos >= len(lines):
            raise LutError(f"file ends where {what} was expected (truncated?)", path)
        pos += 1
        return lines[pos - 1]

    lineno, text = take("the CSPLUTV100 header")
    if not text.upper().startswith("CSPLUTV100"):
        raise LutError("not a Cinespace LUT: the first line must be 'CSPLUTV100'", path, lineno)
    lineno, kind = take("'1D' or '3D'")
    kind = kind.upper()
    if kind not in ("1D", "3D"):
        raise LutError(f"LUT type must be '1D' or '3D', found {kind[:40]!r}", path, lineno)
    comments: List[str] = []
    if pos < len(lines) and lines[pos][1].upper().startswith("BEGIN METADATA"):
        pos += 1
        while True:
            lineno, text = take("'END METADATA'")
            if text.upper().startswith("END METADATA"):
                break
            comments.append(text)

    pre_in, pre_out, used = [], [], []
    for channel in "RGB":
        lineno, text = take(f"the {channel} pre-LUT size")
        if not is_count(text):
            raise LutError(f"{channel} pre-LUT size must be a non-negative integer, found "
                           f"{text[:40]!r}", path, lineno)
        count = int(text)
        if count == 0:
            xs, ys = np.array([0.0, 1.0]), np.array([0.0, 1.0])
        elif count == 1 or count > MAX_PRELUT_POINTS:
            raise LutError(f"{channel} pre-LUT size {count} is outside 2..{MAX_PRELUT_POINTS} "
                           "(or 0 for identity)", path, lineno)
        else:
            in_line = take(f"the {channel} pre-LUT inputs")
            xs = _floats(in_line, count, f"{channel} pre-LUT input", path)
            ys = _floats(take(f"the {channel} pre-LUT outputs"), count,
                         f"{channel} pre-LUT output", path)
            if np.any(np.diff(xs) <= 0):
                raise LutError(f"{channel} pre-LUT inputs must increase strictly", path,
                               in_line[0])
        pre_in.append(xs)
        pre_out.append(ys)
        used.append(count >= 2 and not _equal_rel(xs, ys))

    lineno, text = take("the table size")
    parts = text.split()
    if kind == "3D":
        if len(parts) != 3 or not all(is_count(p) for p in parts):
            raise LutError(f"3D size line needs three integers, found {text[:40]!r}", path, lineno)
        sizes = {int(p) for p in parts}
        if len(sizes) != 1:
            raise LutError(f"grid sizes {parts} differ per axis (only N N N is supported)",
                           path, lineno)
        n = sizes.pop()
        if not 2 <= n <= MAX_GRID_3D:
            raise LutError(f"grid size {n} is outside 2..{MAX_GRID_3D}", path, lineno)
        expected = n ** 3
    else:
        if len(parts) != 1 or not is_count(parts[0]):
            raise LutError(f"1D size line needs one integer, found {text[:40]!r}", path, lineno)
        expected = int(parts[0])
        if not 2 <= expected <= MAX_LENGTH_1D:
            raise LutError(f"1D size {expected} is outside 2..{MAX_LENGTH_1D}", path, lineno)
    rows = lines[pos:]
    if len(rows) != expected:
        raise LutError(f"expected {expected} data lines after the size line, found {len(rows)}",
                       path)
    data = parse_rows(rows, 3, path, what="csp")
    src = str(path)
    try:
        if kind == "3D":
            table = data.reshape(n, n, n, 3)  # red fastest: already [b, g, r]
            dmin, dmax, shaper = _prelut(pre_in, pre_out, used, src)
            return LUT3D(table, dmin, dmax, shaper=shaper, comments=comments, source=src)
        lut = LUT1D(data, comments=comments, source=src)
        dmin, dmax, shaper = _prelut(pre_in, pre_out, used, src)
        if shaper is None:
            return LUT1D(data, dmin, dmax, comments=comments, source=src)
        # Compose pre-LUT and 1D table on the pre-LUT's sampling (an approximation only where the
        # 1D table bends between the pre-LUT samples).
        composed = lut.apply(shaper.apply(_ramp(shaper.domain_min, shaper.domain_max)))
        return LUT1D(composed, shaper.domain_min, shaper.domain_max, comments=comments,
                     source=src)
    except LutError as exc:
        raise exc.with_path(path) from None


def _ramp(dmin: np.ndarray, dmax: np.ndarray, count: int = PRELUT_SAMPLES) -> np.ndarray:
    t = np.linspace(0.0, 1.0, count)[:, None]
    return dmin + t * (dmax - dmin)


def _equal_rel(a: np.ndarray, b: np.ndarray, tol: float = 1e-6) -> bool:
    """OCIO's VecsEqualWithRelError: every pair equal within ``tol`` relative to the first."""
    scale = np.where(np.abs(a) > 0, np.abs(a), 1.0)
    return bool(np.all(np.abs(a - b) <= tol * scale))


def _prelut(pre_in, pre_out, used, src):
    """(3D domain min, max, shaper or None) for the three per-channel pre-LUTs."""
    if not any(used):
        return np.zeros(3), np.ones(3), None
    if all(len(x) == 2 for x in pre_in) and all(y[0] <= 0.0 and y[1] >= 1.0 for y in pre_out):
        # Straight lines covering the lattice: an exact input range.
        dmin = np.array([x[0] + (0.0 - y[0]) * (x[1] - x[0]) / (y[1] - y[0])
                         for x, y in zip(pre_in, pre_out)])
        dmax = np.array([x[0] + (1.0 - y[0]) * (x[1] - x[0]) / (y[1] - y[0])
                         for x, y in zip(pre_in, pre_out)])
        return dmin, dmax, None
    lo = np.array([x[0] for x in pre_in])
    hi = np.array([x[-1] for x in pre_in])
    # OCIO interpolates in float32: lerp(from_min, from_max, i / 65535).
    t = (np.arange(PRELUT_SAMPLES, dtype=np.float32) / np.float32(PRELUT_SAMPLES - 1))
    table = np.empty((PRELUT_SAMPLES, 3), dtype=np.float64)
    for c in range(3):
        lo32, hi32 = np.float32(lo[c]), np.float32(hi[c])
        x = (lo32 + t * (hi32 - lo32)).astype(np.float64)
        table[:, c] = cinespace_spline(pre_in[c], pre_out[c], x)
    shaper = LUT1D(table, lo, hi, source=src)
    return np.zeros(3), np.ones(3), shaper


def cinespace_spline(stims: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Evaluate the Cinespace pre-LUT interpolator (``rsr_Interpolator1D``) at ``x``.

    ``stims`` strictly increasing, ``len >= 2``. Constant beyond the ends.
    """
    s = np.asarray(stims, dtype=np.float64)
    f = np.asarray(values, dtype=np.float64)
    n = s.size
    x = np.asarray(x, dtype=np.float64)
    seg = np.clip(np.searchsorted(s, x, side="right") - 1, 0, n - 2)
    delta = s[1:] - s[:-1]
    a = f[:-1].copy()
    b = f[1:] - f[:-1]
    c = np.zeros(n - 1)
    d = np.zeros(n - 1)
    if n > 2:
        f0, f1 = f[:-1], f[1:]
        # Slopes in segment-normalised units at each segment's start (dfdx0) and end (dfdx1).
        dfdx0 = np.full(n - 1, np.nan)
        dfdx1 = np.full(n - 1, np.nan)
        i = np.arange(1, n - 1)  # segments with a left neighbour
        dfdx0[i] = (f[i + 1] - f[i - 1]) / (1.0 + (s[i] - s[i - 1]) / delta[i])
        j = np.arange(0, n - 2)  # segments with a right neighbour
        dfdx1[j] = (f[j + 2] - f[j]) / (1.0 + (s[j + 2] - s[j + 1]) / delta[j])
        mid = np.arange(1, n - 2)
        b[mid] = dfdx0[mid]
        c[mid] = -3 * f0[mid] - 2 * dfdx0[mid] + 3 * f1[mid] - dfdx1[mid]
        d[mid] = 2 * f0[mid] + dfdx0[mid] - 2 * f1[mid] + dfdx1[mid]
        # First segment: quadratic matching the slope at its end.
        b[0] = -2 * f0[0] + 2 * f1[0] - dfdx1[0]
        c[0] = f0[0] - f1[0] + dfdx1[0]
        # Last segment: quadratic matching the slope at its start.
        k = n - 2
        b[k] = dfdx0[k]
        c[k] = -f0[k] + f1[k] - dfdx0[k]
    z = (x - s[seg]) / delta[seg]
    y = a[seg] + z * (b[seg] + z * (c[seg] + d[seg] * z))
    y = np.where(x < s[0], f[0], y)
    return np.where(x > s[-1], f[-1], y)
