"""LUTs stored as images: Hald CLUTs and "lookup" strips (PNG/TIFF, 8 or 16 bit, or float TIFF).

* **Hald CLUT** of level ``L`` (2..16): a square image of ``L³ × L³`` pixels holding an
  ``N = L²`` node cube; in raster order (left to right, top to bottom) red varies fastest, then
  green, then blue — exactly cube order, so the pixels reshape to ``table[b, g, r]``.
* **Tiled lookup strip** (GPUImage ``lookup.png``, 512×512 = 64³): ``t × t`` tiles of ``N × N``
  pixels (``t² = N``); in tile ``b`` (row-major) x is red and y is green:
  ``x = (b mod t)·N + r``, ``y = (b div t)·N + g``. Every Hald size ``L³`` is also a tiled-strip
  size (``N = L²``, ``t = L``), so a square image is read both ways and the interpretation whose
  table is smoother (smaller mean step between neighbouring nodes along the three axes) wins —
  the wrong one jumps at every tile/row seam.
* **Horizontal strip** (``N² × N``, e.g. 1024×32): ``x = b·N + r``, ``y = g``.

Pixels are read with OpenImageIO at their stored bit depth (never through an 8-bit path): 8-bit
values / 255, 16-bit / 65535, float as is. Image dimensions are checked from the header before
any pixel is decoded. Input domain: 0..1 code values. :func:`write_hald` writes a 16-bit PNG
(or TIFF by extension) Hald image through OpenImageIO.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from lutplug.core.lut import LUT3D, MAX_GRID_3D, lattice
from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_path, check_decoded_size, check_file, library_error
from lutplug.optional import import_oiio

EXTENSIONS = (".png", ".tif", ".tiff")
#: Largest image file read (a level-16 16-bit Hald PNG is well under this).
MAX_IMAGE_BYTES = 1 << 30
_LEVELS = range(2, 17)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def sniff(head: bytes) -> bool:
    """True for PNG or TIFF data."""
    return head.startswith(_PNG_MAGIC) or head[:4] in _TIFF_MAGIC


def _oiio():
    return import_oiio("reading LUT images")


def _hald_level(width: int, height: int) -> Optional[int]:
    for level in _LEVELS:
        if width == height == level ** 3:
            return level
    return None


def _strip_size(width: int, height: int) -> Optional[int]:
    """Node count N of a horizontal N²×N strip, else None."""
    if 2 <= height <= MAX_GRID_3D and width == height * height:
        return height
    return None


def _read_pixels(path: PathLike, layout_ok) -> Tuple[np.ndarray, str]:
    """Validated float32 RGB pixels (H, W, 3) and a description of the stored depth.

    ``layout_ok(width, height)`` must accept the header's size before any pixel is decoded.
    """
    p = Path(path)
    check_file(p, MAX_IMAGE_BYTES)
    with open(p, "rb") as fh:
        head = fh.read(16)
    if not sniff(head):
        raise LutError("not a PNG or TIFF image", path)
    oiio = _oiio()
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)  # never premultiply colours by alpha
    inp = oiio.ImageInput.open(os.fspath(p), config)
    if inp is None:
        msg = library_error(oiio)
        raise LutError(f"cannot decode image: {msg[:200]}", path)
    try:
        spec = inp.spec()
        width, height, channels = spec.width, spec.height, spec.nchannels
        if spec.depth > 1:
            raise LutError("volume images are not LUT images", path)
        if not layout_ok(width, height):
            raise LutError(f"a {width}×{height} image is neither a Hald CLUT (L³×L³, L=2..16) "
                           "nor a lookup strip (tiled L³×L³, or N²×N)", path)
        if channels not in (3, 4):
            raise LutError(f"image has {channels} channel(s); a LUT image needs RGB", path)
        check_decoded_size(width, height, channels, p)
        base = spec.format.basetype
        native = {oiio.UINT8: ("uint8", 255.0, "8-bit"),
                  oiio.UINT16: ("uint16", 65535.0, "16-bit")}.get(base)
        if native is not None:
            fmt, scale, depth = native
        else:
            fmt, scale, depth = "float", 1.0, f"{spec.format} (read as float)"
        pixels = inp.read_image(0, 0, 0, 3, fmt)
        if pixels is None or not isinstance(pixels, np.ndarray):
            msg = library_error(inp) or "unknown error"
            raise LutError(f"cannot decode image pixels: {msg[:200]}", path)
    finally:
        inp.close()
    pixels = np.asarray(pixels).reshape(height, width, 3).astype(np.float32) / np.float32(scale)
    if not np.all(np.isfinite(pixels)):
        raise LutError("image holds NaN or infinite values", path)
    return pixels, depth


def _from_hald(pixels: np.ndarray, level: int) -> np.ndarray:
    n = level * level
    return pixels.reshape(n, n, n, 3)


def _from_tiles(pixels: np.ndarray, tiles: int) -> np.ndarray:
    n = tiles * tiles
    return pixels.reshape(tiles, n, tiles, n, 3).transpose(0, 2, 1, 3, 4).reshape(n, n, n, 3)


def _from_horizontal(pixels: np.ndarray, n: int) -> np.ndarray:
    return pixels.reshape(n, n, n, 3).transpose(1, 0, 2, 3)


def roughness(table: np.ndarray) -> float:
    """Mean absolute step between neighbouring nodes along b, g and r (summed)."""
    return float(sum(np.abs(np.diff(table, axis=a)).mean() for a in range(3)))


def _lut(table, layout: str, depth: str, path) -> LUT3D:
    try:
        return LUT3D(table, comments=[f"{layout}, {depth} image"], source=str(path))
    except LutError as exc:
        raise exc.with_path(path) from None


def _read_square_or_strip(path: PathLike):
    """(pixels, bit depth, square level or None, LUT3D or None): a horizontal N²×N strip is decoded
    at once; a square image is left to the caller (Hald or tiles)."""
    pixels, depth = _read_pixels(
        path, lambda w, h: _hald_level(w, h) is not None or _strip_size(w, h) is not None)
    h, w = pixels.shape[:2]
    n = _strip_size(w, h)
    if n is not None:
        lut = _lut(_from_horizontal(pixels, n), f"horizontal lookup strip ({n}³)", depth, path)
        return pixels, depth, None, lut
    return pixels, depth, _hald_level(w, h), None


def read_hald(path: PathLike) -> LUT3D:
    """Read a Hald CLUT image (or, detected from content, a lookup strip) into a LUT3D."""
    pixels, depth, level, strip_lut = _read_square_or_strip(path)
    if strip_lut is not None:
        return strip_lut
    hald = _from_hald(pixels, level)
    strip = _from_tiles(pixels, level)
    if roughness(strip) < roughness(hald):
        return _lut(strip, f"tiled lookup strip ({level}×{level} tiles, {level * level}³; "
                           "detected from content)", depth, path)
    return _lut(hald, f"Hald CLUT level {level} ({level * level}³)", depth, path)


def read_strip(path: PathLike) -> LUT3D:
    """Read a lookup-strip image (GPUImage 8×8 tiles, any ``t×t`` tiling, or a horizontal
    ``N²×N`` strip) into a LUT3D."""
    pixels, depth, tiles, strip_lut = _read_square_or_strip(path)
    if strip_lut is not None:
        return strip_lut
    return _lut(_from_tiles(pixels, tiles), f"tiled lookup strip ({tiles}×{tiles} tiles, "
                                            f"{tiles * tiles}³)", depth, path)


read = read_hald


def hald_level_for(size: int) -> int:
    """Smallest Hald level whose cube (level²) holds ``size`` nodes per axis."""
    level = max(2, math.isqrt(size - 1) + 1 if size > 1 else 2)
    if level > _LEVELS[-1]:
        raise LutError(f"a {size}³ LUT needs Hald level {level}; the largest is 16 (256³)")
    return level


def write_hald(lut: LUT3D, path: PathLike, level: Optional[int] = None, bake: bool = False
               ) -> None:
    """Write ``lut`` as a 16-bit Hald CLUT image (PNG, or TIFF by extension).

    The level is the smallest with ``level² >= lut.size`` (or ``level``); a table of another
    size is resampled tetrahedrally. A Hald image spans 0..1 inputs and holds no shaper: a LUT
    with a shaper or another domain is refused unless ``bake=True`` (then it is evaluated on the
    Hald lattice over 0..1). Values are clipped to 0..1 and rounded to 16 bit.
    """
    if not isinstance(lut, LUT3D):
        raise LutError("a Hald image holds a 3D LUT; got a 1D LUT", path)
    p = Path(path)
    if p.suffix.lower() not in EXTENSIONS:
        raise LutError(f"Hald images are written as .png or .tif, not {p.suffix!r}", path)
    level = hald_level_for(lut.size) if level is None else int(level)
    if level not in _LEVELS:
        raise LutError(f"Hald level {level} is outside 2..16", path)
    n = level * level
    plain = (lut.shaper is None and np.all(lut.domain_min == 0) and np.all(lut.domain_max == 1))
    if plain:
        table = lut.table if lut.size == n else lut.resample(n).table
    elif bake:
        table = lut.apply(lattice(n)).reshape(n, n, n, 3)
    else:
        raise LutError("a Hald image spans inputs 0..1 without a shaper; this LUT has "
                       f"{'a shaper' if lut.shaper is not None else 'another input domain'} "
                       "(pass bake=True to evaluate it on 0..1, or write .cube/.clf)", path)
    side = level ** 3
    pixels = np.round(np.clip(table, 0.0, 1.0) * 65535.0).astype(np.uint16).reshape(side, side, 3)
    oiio = _oiio()
    with atomic_path(p, suffix=".tmp" + p.suffix.lower()) as tmp:
        out = oiio.ImageOutput.create(os.fspath(tmp))
        if out is None:
            raise LutError(f"OpenImageIO cannot write {p.suffix} files: "
                           f"{library_error(oiio)}", path)
        spec = oiio.ImageSpec(side, side, 3, oiio.UINT16)
        spec.attribute("ImageDescription", f"Hald CLUT level {level} ({n}^3), lutplug")
        ok = out.open(os.fspath(tmp), spec) and out.write_image(pixels)
        err = library_error(out)
        out.close()
        if not ok:
            raise LutError(f"cannot write image: {err[:200]}", path)
