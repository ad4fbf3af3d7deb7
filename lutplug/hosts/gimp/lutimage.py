"""LUT images decoded by the host (GIMP's own file loaders): a Hald CLUT or a lookup strip, read
with the same layout rules as lutplug's Hald reader (:mod:`lutplug.core.formats.hald`)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from lutplug.core.lut import LUT3D
from lutplug.errors import LutError


def _hald_level(width: int, height: int) -> Optional[int]:
    """L when the image is an L³×L³ square (a Hald CLUT, or an L×L tiled strip)."""
    for level in range(2, 17):
        if width == height == level ** 3:
            return level
    return None


def _strip_size(width: int, height: int) -> Optional[int]:
    """N when the image is an N²×N horizontal lookup strip."""
    if 2 <= height <= 256 and width == height * height:
        return height
    return None


def _roughness(table: np.ndarray) -> float:
    """Mean step between neighbouring nodes (a wrong layout reads as a rough table)."""
    return float(sum(np.abs(np.diff(table, axis=a)).mean() for a in range(3)))


def lut_from_image(pixels: np.ndarray, path: str, depth: str = "", strip_only: bool = False) -> LUT3D:
    """A LUT3D from the RGB pixels (H, W, 3), 0..1, of a LUT image — the same layout rules as
    lutplug's Hald reader: an N²×N horizontal strip; or an L³×L³ square read as a Hald CLUT and as
    an L×L tiled lookup strip, the smoother interpretation winning."""
    px = np.asarray(pixels, np.float32)
    if px.ndim != 3 or px.shape[2] < 3:
        raise LutError(f"a LUT image needs RGB pixels, got shape {px.shape}", path)
    px = px[..., :3]
    if not np.all(np.isfinite(px)):
        raise LutError("image holds NaN or infinite values", path)
    h, w = px.shape[:2]
    n = _strip_size(w, h)
    suffix = f", {depth} image" if depth else ""
    if n is not None:
        table = px.reshape(n, n, n, 3).transpose(1, 0, 2, 3)
        layout = f"horizontal lookup strip ({n}^3){suffix}"
    else:
        level = _hald_level(w, h)
        if level is None:
            raise LutError(f"a {w}x{h} image is neither a Hald CLUT (L^3 x L^3, L=2..16) nor a "
                           f"lookup strip (tiled L^3 x L^3, or N^2 x N)", path)
        n = level * level
        hald = px.reshape(n, n, n, 3)
        tiles = px.reshape(level, n, level, n, 3).transpose(0, 2, 1, 3, 4).reshape(n, n, n, 3)
        if strip_only or _roughness(tiles) < _roughness(hald):
            table = tiles
            layout = f"tiled lookup strip ({level}x{level} tiles, {n}^3){suffix}"
        else:
            table = hald
            layout = f"Hald CLUT level {level} ({n}^3){suffix}"
    try:
        return LUT3D(np.ascontiguousarray(table), comments=[layout], source=str(path))
    except LutError as exc:
        raise exc.with_path(path) from None
