"""Vectorised interpolation of LUT tables (numpy only).

Layouts used throughout lutplug:

* 3D table: float32 ``(N, N, N, 3)`` indexed ``table[b, g, r, channel]`` — R varies fastest
  in memory, which is the order of .cube files.
* 1D table: float32 ``(M, 3)`` — one curve per channel, entry ``i`` sits at ``i / (M - 1)``.
* Coordinates ``u``: float ``(..., 3)`` RGB, already normalised so the lattice spans [0, 1];
  values outside are clamped to the edge (as OpenColorIO does).
"""
from __future__ import annotations

import numpy as np


def _prepare(table: np.ndarray, u: np.ndarray):
    table = np.asarray(table)
    if table.ndim != 4 or table.shape[3] != 3 or not (table.shape[0] == table.shape[1] == table.shape[2]):
        raise ValueError(f"3D table must have shape (N, N, N, 3), got {table.shape}")
    n = table.shape[0]
    if n < 2:
        raise ValueError("3D table needs at least 2 nodes per axis")
    u = np.asarray(u, dtype=np.float32)
    if u.shape[-1] != 3:
        raise ValueError(f"coordinates must have shape (..., 3), got {u.shape}")
    shape = u.shape
    x = np.clip(u.reshape(-1, 3), 0.0, 1.0) * np.float32(n - 1)
    x = np.nan_to_num(x, nan=0.0)
    i0 = np.minimum(x.astype(np.int64), n - 2)
    frac = (x - i0).astype(np.float32)
    flat = np.ascontiguousarray(table, dtype=np.float32).reshape(-1, 3)
    base = (i0[:, 2] * n + i0[:, 1]) * n + i0[:, 0]
    return flat, n, base, frac, shape


def _rows(flat: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``flat[index]`` for a (K, 3) table and an index vector: ``np.take`` along rows, the same
    values in a sixth of fancy indexing's time on 8 M rows."""
    return np.take(flat, index, axis=0)


def tetrahedral(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Tetrahedral interpolation of a 3D table at normalised RGB ``u``.

    Args:
        table: float32 (N, N, N, 3), ``table[b, g, r]`` (R fastest).
        u: (..., 3) RGB lattice coordinates in [0, 1] (clamped).

    Returns:
        float32 array of the same shape as ``u``.

    >>> import numpy as np
    >>> n = 5; g = np.linspace(0, 1, n, dtype=np.float32)
    >>> b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    >>> identity = np.stack([r, gg, b], axis=-1)
    >>> tetrahedral(identity, np.array([0.3, 0.6, 0.9])).round(6).tolist()
    [0.3, 0.6, 0.9]
    """
    flat, n, base, frac, shape = _prepare(table, u)
    fr, fg, fb = frac[:, 0], frac[:, 1], frac[:, 2]
    # the cell's tetrahedron: walk from the base node along the axes by descending fraction
    # (largest x, middle y, smallest z; ties in r, g, b order — a tie gives its step no weight)
    r_top = (fr >= fg) & (fr >= fb)
    first = np.where(r_top, 1, np.where(fg >= fb, n, n * n))
    b_low = (fb <= fr) & (fb <= fg)
    last = np.where(b_low, n * n, np.where(fg <= fr, n, 1))
    x = np.maximum(np.maximum(fr, fg), fb)
    z = np.minimum(np.minimum(fr, fg), fb)
    y = np.maximum(np.minimum(fr, fg), np.minimum(np.maximum(fr, fg), fb))
    i1 = base + first
    i3 = base + (1 + n + n * n)
    i2 = i3 - last
    w0 = 1.0 - x
    w1 = x - y
    w2 = y - z
    w3 = z
    out = (_rows(flat, base) * w0[:, None] + _rows(flat, i1) * w1[:, None]
           + _rows(flat, i2) * w2[:, None] + _rows(flat, i3) * w3[:, None])
    return out.astype(np.float32, copy=False).reshape(shape)


def trilinear(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of a 3D table at normalised RGB ``u`` (same layouts as
    :func:`tetrahedral`)."""
    flat, n, base, frac, shape = _prepare(table, u)
    fr, fg, fb = frac[:, 0:1], frac[:, 1:2], frac[:, 2:3]
    sg, sb = n, n * n
    c00 = _rows(flat, base) * (1 - fr) + _rows(flat, base + 1) * fr
    c10 = _rows(flat, base + sg) * (1 - fr) + _rows(flat, base + sg + 1) * fr
    c01 = _rows(flat, base + sb) * (1 - fr) + _rows(flat, base + sb + 1) * fr
    c11 = _rows(flat, base + sb + sg) * (1 - fr) + _rows(flat, base + sb + sg + 1) * fr
    c0 = c00 * (1 - fg) + c10 * fg
    c1 = c01 * (1 - fg) + c11 * fg
    out = c0 * (1 - fb) + c1 * fb
    return out.astype(np.float32, copy=False).reshape(shape)


def trilinear_resample(table: np.ndarray, size: int) -> np.ndarray:
    """:func:`trilinear` of ``table`` (N, N, N, 3) at every node of the ``size``³ lattice over
    [0, 1]³, float32 (size, size, size, 3) ``[b, g, r]`` — the same values, one axis at a time
    (trilinear interpolation is three linear ones, R then G then B): a 48³ table at 65³ in a
    third of the time."""
    flat, n, _, _, _ = _prepare(table, np.zeros((1, 3), np.float32))  # checks the table
    x = np.linspace(0.0, 1.0, size).astype(np.float32) * np.float32(n - 1)  # lattice()'s ramp
    i0 = np.minimum(x.astype(np.int64), n - 2)
    f = (x - i0).astype(np.float32)[:, None]  # per output node, as _prepare's fractions
    out = flat.reshape(n, n, n, 3)
    for axis in (2, 1, 0):  # r, g, b
        lo = np.take(out, i0, axis=axis)
        hi = np.take(out, i0 + 1, axis=axis)
        w = f.reshape((-1,) + (1,) * (3 - axis))
        out = lo * (1 - w) + hi * w
    return out


def linear_1d(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per-channel linear interpolation of a 1D table.

    Args:
        table: float32 (M, 3), one curve per channel, entry i at i / (M - 1).
        u: (..., 3) normalised inputs in [0, 1] (clamped).
    """
    table = np.asarray(table, dtype=np.float32)
    if table.ndim != 2 or table.shape[1] != 3 or table.shape[0] < 2:
        raise ValueError(f"1D table must have shape (M>=2, 3), got {table.shape}")
    m = table.shape[0]
    u = np.asarray(u, dtype=np.float32)
    shape = u.shape
    x = np.nan_to_num(np.clip(u.reshape(-1, 3), 0.0, 1.0) * np.float32(m - 1), nan=0.0)
    i0 = np.minimum(x.astype(np.int64), m - 2)
    f = x - i0
    cols = np.arange(3)
    out = table[i0, cols] * (1 - f) + table[i0 + 1, cols] * f
    return out.astype(np.float32, copy=False).reshape(shape)
