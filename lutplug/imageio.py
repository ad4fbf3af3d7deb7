"""Image read/write through OpenImageIO, keeping bit depth (EXR half/float, 16-bit PNG/TIFF,
10-bit DPX, 8-bit JPEG).

Pixels travel as float32 ``(height, width, channels)`` arrays; integer formats are normalised to
[0, 1] on read and quantised back on write. Pillow is never used here: it silently drops 16-bit PNG
to 8 bit.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np

from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_path, check_decoded_size, library_error
from lutplug.optional import import_oiio

#: Largest image accepted (pixels), checked from the header before any pixel is decoded.
MAX_PIXELS = 1 << 28


@dataclasses.dataclass
class ImageInfo:
    """What we keep of a file's header so a written result keeps its depth and layout."""

    width: int
    height: int
    channels: int
    pixel_type: str  # OpenImageIO type name: "uint8", "uint16", "half", "float", ...
    bits_per_sample: int
    channel_names: tuple
    attributes: dict = dataclasses.field(default_factory=dict)


def _oiio():
    return import_oiio("image I/O")


def read_image(path: PathLike) -> tuple:
    """Read an image as float32 (H, W, C) plus its :class:`ImageInfo`."""
    oiio = _oiio()
    if not Path(path).is_file():
        raise LutError("image file not found", path)
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise LutError(f"cannot read image: {library_error(oiio) or 'unknown format'}", path)
    try:
        spec = inp.spec()
        if spec.width <= 0 or spec.height <= 0 or spec.nchannels <= 0:
            raise LutError("image has no pixels", path)
        if spec.width * spec.height > MAX_PIXELS:
            raise LutError(f"image is {spec.width}x{spec.height}, larger than the "
                           f"{MAX_PIXELS} pixels accepted", path)
        check_decoded_size(spec.width, spec.height, spec.nchannels, path)
        pixels = inp.read_image(0, 0, 0, spec.nchannels, "float")
        if pixels is None:
            raise LutError(f"cannot decode image: {library_error(inp)}", path)
        info = ImageInfo(spec.width, spec.height, spec.nchannels, str(spec.format),
                         int(spec.get_int_attribute("oiio:BitsPerSample", 0)) or spec.format.size() * 8,
                         tuple(spec.channelnames),
                         {k: spec.getattribute(k) for k in ("oiio:ColorSpace", "compression")
                          if spec.getattribute(k) is not None})
    finally:
        inp.close()
    pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, spec.nchannels)
    return pixels, info


_INTEGER_ONLY = {".jpg": "uint8", ".jpeg": "uint8"}


def write_image(path: PathLike, pixels: np.ndarray, like: Optional[ImageInfo] = None,
                pixel_type: Optional[str] = None) -> None:
    """Write float32 (H, W, C) ``pixels`` atomically.

    The pixel type is ``pixel_type`` if given, else that of ``like`` (the source image), else
    half for EXR and uint16 for PNG/TIFF; formats that cannot hold it fall back to what they can
    (JPEG: uint8).
    """
    oiio = _oiio()
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3:
        raise LutError(f"pixels must be (height, width, channels), got {pixels.shape}", path)
    ext = Path(path).suffix.lower()
    if pixel_type is None:
        pixel_type = like.pixel_type if like else ("half" if ext == ".exr" else "uint16")
    pixel_type = _INTEGER_ONLY.get(ext, pixel_type)
    if ext in (".png",) and pixel_type not in ("uint8", "uint16"):
        pixel_type = "uint16"
    h, w, c = pixels.shape
    spec = oiio.ImageSpec(w, h, c, pixel_type)
    if like is not None:
        if len(like.channel_names) == c:
            spec.channelnames = like.channel_names
        if like.bits_per_sample and like.bits_per_sample not in (8, 16, 32):
            spec.attribute("oiio:BitsPerSample", like.bits_per_sample)
        for key, value in like.attributes.items():
            spec.attribute(key, value)
    with atomic_path(path) as tmp:
        out = oiio.ImageOutput.create(str(path))
        if out is None:
            raise LutError(f"cannot write this image format: {library_error(oiio)}", path)
        try:
            if not out.open(str(tmp), spec):
                raise LutError(f"cannot write image: {library_error(out)}", path)
            if not out.write_image(pixels):
                raise LutError(f"cannot write image: {library_error(out)}", path)
        finally:
            out.close()
