"""Pixel evaluators of the GIMP filter (numpy only; they run inside GIMP's own Python).

A kernel evaluates a transform on float32 pixel rows: ``kernel.apply(src, dst, strength)`` reads
(m, C) pixels, C >= 3, and writes ``rgb + strength * (lut(rgb) - rgb)`` into channels 0..2 of
``dst`` (which may be ``src`` itself; other channels are left to the caller); ``kernel(rgb)``
evaluates (m, 3) RGB into a new array.

* :class:`TetrahedralKernel` is the fast dense-cube evaluator: float32 channel planes holding
  the node values and precomputed edge differences (one gather and one multiply-add per
  tetrahedron vertex), branch-free tetrahedron selection through an 8-entry table, only 1-D
  operations with scalar operands. It matches :func:`lutplug.core.interpolate.tetrahedral` to
  float32 rounding, for about a tenth of its CPU time (benchmarks/gimp_speed.py prints both).
* :class:`GenericKernel` runs anything with ``apply(rgb)`` (a .nlut's network, a trilinear cube).
* :func:`cube_kernel` picks the fastest exact one for a LUT3D.
"""
from __future__ import annotations

import itertools
from typing import Any, List, Protocol, Tuple, Union

import numpy as np

from lutplug.core.lut import LUT1D, LUT3D

#: Largest packed difference table (bytes); bigger cubes use the plain packed table.
MAX_DIFF_TABLE_BYTES = 128 << 20


class Kernel(Protocol):
    """What :class:`~lutplug.hosts.gimp.runner.Runner` needs of an evaluator."""

    def apply(self, src: np.ndarray, dst: np.ndarray, strength: float = 1.0) -> None: ...

    def __call__(self, rgb: np.ndarray) -> np.ndarray: ...


class TetrahedralKernel:
    """Tetrahedral interpolation of a :class:`~lutplug.core.lut.LUT3D` (shaper and domain
    included), fast in pure numpy.

    ``kernel.apply(src, dst, strength)`` reads float32 pixels (m, C), C >= 3, and writes
    ``rgb + strength * (lut(rgb) - rgb)`` into channels 0..2 of ``dst`` (which may be ``src``
    itself; other channels are left to the caller). Every step is a 1-D
    numpy operation with scalar operands (no broadcasting over a length-3 axis, which numpy runs
    as a slow inner loop), on channel planes.
    """

    def __init__(self, lut: LUT3D):
        table = np.ascontiguousarray(lut.table, dtype=np.float32)
        n = int(table.shape[0])
        self.n = n
        n3 = n ** 3
        flat = table.reshape(n3, 3)
        steps = (1, n, n * n)
        self.diff = 3 * 4 * n3 * 4 <= MAX_DIFF_TABLE_BYTES
        # One float32 plane per output channel. Diff mode: [values | d/dr | d/dg | d/db], the
        # edge differences at every node (the far edge is never read: lattice indices stop at
        # n-2 along the axis of a step), so a vertex costs one gather and one multiply-add.
        self._planes: List[np.ndarray] = []
        for c in range(3):
            if self.diff:
                plane = np.zeros(4 * n3, np.float32)
                plane[:n3] = flat[:, c]
                for a, s in enumerate(steps):
                    lo = (a + 1) * n3
                    plane[lo:lo + n3 - s] = flat[s:, c] - flat[:n3 - s, c]
            else:
                plane = np.ascontiguousarray(flat[:, c])
            self._planes.append(plane)
        # For each ordering code ((fr>=fg) | (fg>=fb)<<1 | (fr>=fb)<<2) the tetrahedron's path:
        # axes by descending fraction (a, b, c). Diff mode: offsets of the three differences to
        # add; plain mode: offsets of vertices 1, 2 and 3.
        o1, o2, o3 = (np.zeros(8, np.intp) for _ in range(3))
        for code in range(8):
            a, b, c = _order_for_code(code)
            if self.diff:
                o1[code] = (a + 1) * n3
                o2[code] = (b + 1) * n3 + steps[a]
                o3[code] = (c + 1) * n3 + steps[a] + steps[b]
            else:
                o1[code] = steps[a]
                o2[code] = steps[a] + steps[b]
                o3[code] = steps[0] + steps[1] + steps[2]
        self._o1, self._o2, self._o3 = o1, o2, o3
        # input (after the shaper) -> lattice position x = v * scale + offset, per channel
        dmin = np.asarray(lut.domain_min, np.float64)
        dmax = np.asarray(lut.domain_max, np.float64)
        scale = (n - 1) / (dmax - dmin)
        self._scale = [np.float32(v) for v in scale]
        self._offset = [np.float32(v) for v in -dmin * scale]
        self._shaper = _ShaperKernel(lut.shaper) if lut.shaper is not None else None

    def lattice_position(self, v: np.ndarray, c: int) -> Tuple[np.ndarray, np.ndarray]:
        """Channel c of the input (m,) -> (lower node index int32, fraction float32)."""
        n = self.n
        if self._shaper is not None:
            x = self._shaper(v, c)
            x *= self._scale[c]
        else:
            x = np.multiply(v, self._scale[c], dtype=np.float32)
        x += self._offset[c]
        np.fmax(x, np.float32(0.0), out=x)      # fmax/fmin also send NaN to the low edge
        np.fmin(x, np.float32(n - 1), out=x)
        i = x.astype(np.int32)
        np.minimum(i, np.int32(n - 2), out=i)
        x -= i
        return i, x

    def apply(self, src: np.ndarray, dst: np.ndarray, strength: float = 1.0) -> None:
        """Write the graded RGB of ``src`` (m, C) into channels 0..2 of ``dst``."""
        n = self.n
        m = src.shape[0]
        (ir, fr), (ig, fg), (ib, fb) = (self.lattice_position(src[:, c], c) for c in range(3))
        base = ib.astype(np.intp)
        base *= n * n
        ig = ig.astype(np.intp)
        ig *= n
        base += ig
        base += ir
        code = np.greater_equal(fr, fg).view(np.uint8).astype(np.intp)
        code += np.greater_equal(fg, fb).view(np.uint8) * np.intp(2)
        code += np.greater_equal(fr, fb).view(np.uint8) * np.intp(4)
        fmax = np.maximum(fr, fg)
        np.maximum(fmax, fb, out=fmax)
        fmin = np.minimum(fr, fg)
        np.minimum(fmin, fb, out=fmin)
        fmid = fr + fg
        fmid += fb
        fmid -= fmax
        fmid -= fmin
        i1 = self._o1.take(code)
        i1 += base
        i2 = self._o2.take(code)
        i2 += base
        i3 = self._o3.take(code)
        i3 += base
        res = np.empty(m, np.float32)
        tmp = np.empty(m, np.float32)
        tmp2 = tmp if self.diff else np.empty(m, np.float32)  # a 2nd buffer: plain mode only
        for c in range(3):
            p = self._planes[c]
            p.take(base, out=res)
            if self.diff:   # c0 + fmax d1 + fmid d2 + fmin d3
                p.take(i1, out=tmp)
                tmp *= fmax
                res += tmp
                p.take(i2, out=tmp)
                tmp *= fmid
                res += tmp
                p.take(i3, out=tmp)
                tmp *= fmin
                res += tmp
            else:           # (1-fmax) c0 + (fmax-fmid) c1 + (fmid-fmin) c2 + fmin c3
                res *= np.float32(1.0) - fmax
                p.take(i1, out=tmp)
                np.subtract(fmax, fmid, out=tmp2)
                tmp *= tmp2
                res += tmp
                p.take(i2, out=tmp)
                np.subtract(fmid, fmin, out=tmp2)
                tmp *= tmp2
                res += tmp
                p.take(i3, out=tmp)
                tmp *= fmin
                res += tmp
            _store(src[:, c], dst[:, c], res, strength)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Evaluate at RGB (m, 3); a new float32 (m, 3) array."""
        rgb = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
        out = np.empty_like(rgb)
        self.apply(rgb, out)
        return out


def _store(column: np.ndarray, target: np.ndarray, res: np.ndarray, strength: float) -> None:
    """target = column + strength * (res - column) (res itself at strength 1; res is spent)."""
    if strength >= 1.0:
        target[...] = res
    else:
        res -= column
        res *= np.float32(strength)
        res += column
        target[...] = res


def _order_for_code(code: int) -> Tuple[int, int, int]:
    """Axes (0=r, 1=g, 2=b) by descending fraction for an ordering code; the two codes no
    ordering produces get any valid path (never used)."""
    want = (bool(code & 1), bool(code & 2), bool(code & 4))
    for perm in itertools.permutations(range(3)):
        rank = [0, 0, 0]
        for r, axis in enumerate(perm):
            rank[axis] = 3 - r
        if (rank[0] >= rank[1], rank[1] >= rank[2], rank[0] >= rank[2]) == want:
            return perm[0], perm[1], perm[2]
    return (0, 1, 2)


class _ShaperKernel:
    """Per-channel linear 1D LUT (a LUT3D's shaper): ``shaper(v, c)`` maps channel c's
    values (m,) to a new float32 (m,) array."""

    def __init__(self, shaper: LUT1D):
        table = np.asarray(shaper.table, np.float32)
        m = table.shape[0]
        self.m = m
        dmin = np.asarray(shaper.domain_min, np.float64)
        dmax = np.asarray(shaper.domain_max, np.float64)
        scale = (m - 1) / (dmax - dmin)
        self._scale = [np.float32(v) for v in scale]
        self._offset = [np.float32(v) for v in -dmin * scale]
        self._lo = [np.ascontiguousarray(table[:, c]) for c in range(3)]
        self._step = [np.ascontiguousarray(np.append(np.diff(table[:, c]), np.float32(0)))
                      for c in range(3)]

    def __call__(self, v: np.ndarray, c: int) -> np.ndarray:
        x = np.multiply(v, self._scale[c], dtype=np.float32)
        x += self._offset[c]
        np.fmax(x, np.float32(0.0), out=x)
        np.fmin(x, np.float32(self.m - 1), out=x)
        i = x.astype(np.intp)
        np.minimum(i, self.m - 2, out=i)
        x -= i
        out = self._step[c].take(i)
        out *= x
        out += self._lo[c].take(i)
        return out


class GenericKernel:
    """Any transform with ``apply(rgb) -> rgb`` (a NeuralLUT's network, a trilinear LUT3D)."""

    def __init__(self, transform: Any):
        self.transform = transform

    def apply(self, src: np.ndarray, dst: np.ndarray, strength: float = 1.0) -> None:
        """Write the graded RGB of ``src`` (m, C) into channels 0..2 of ``dst``."""
        out = np.asarray(self.transform.apply(np.ascontiguousarray(src[:, :3])), np.float32)
        for c in range(3):
            _store(src[:, c], dst[:, c], np.array(out[:, c]), strength)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Evaluate at RGB (m, 3); a float32 (m, 3) array."""
        return np.asarray(self.transform.apply(np.ascontiguousarray(rgb)), np.float32)


def cube_kernel(lut: LUT3D) -> Union[TetrahedralKernel, GenericKernel]:
    """The fastest exact evaluator of a LUT3D (tetrahedral, or the LUT's own trilinear)."""
    if getattr(lut, "interpolation", "tetrahedral") == "tetrahedral":
        return TetrahedralKernel(lut)
    return GenericKernel(lut)
