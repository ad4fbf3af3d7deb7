"""Pictures for the widgets: load one (a file OpenImageIO reads, an array, or the bundled review
plate), shrink it for display, encode it as 8-bit PNG.

Pixels travel as float32 ``(height, width, 3)`` RGB arrays; alpha is dropped, grey is repeated
into three channels, integer arrays are normalised to [0, 1].
"""
from __future__ import annotations

import io
import math
import os
from importlib import resources
from pathlib import Path
from typing import Tuple, Union

import numpy as np

from lutplug.errors import LutError

#: Largest picture sent to the browser (pixels); larger images are shown downscaled.
MAX_DISPLAY_PIXELS = 2_000_000

ImageLike = Union[None, str, "os.PathLike[str]", np.ndarray]


def review_plate_path() -> Path:
    """The bundled default picture: four public-domain / CC0 photographs (skin tones, foliage,
    sky, neutrals), 1024×768 sRGB; see ``lutplug/widgets/data/LICENSE.md``."""
    return Path(str(resources.files("lutplug.widgets") / "data" / "review_plate.jpg"))


def as_rgb(pixels: np.ndarray, where: str = "image") -> np.ndarray:
    """Any (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array as float32 (H, W, 3).

    uint8 / uint16 are scaled to [0, 1]; NaN becomes 0 and ±inf the largest half float (what an
    EXR can hold), so every later step sees finite numbers."""
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise LutError(f"{where}: expected (height, width[, 1|3|4]) pixels, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    else:
        raise LutError(f"{where}: pixels must be float, uint8 or uint16, got {arr.dtype}")
    rgb = np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr[:, :, :3]
    return np.nan_to_num(rgb, nan=0.0, posinf=65504.0, neginf=-65504.0).astype(np.float32, copy=False)


def load_image(image: ImageLike = None) -> Tuple[np.ndarray, str]:
    """Pixels float32 (H, W, 3) and a display name for ``image``: ``None`` (the review plate), a
    path to anything OpenImageIO reads (EXR, PNG, TIFF, DPX, JPEG…) or an array."""
    if image is None:
        image = review_plate_path()
    if isinstance(image, (str, os.PathLike)):
        from lutplug.imageio import read_image

        pixels, _ = read_image(image)
        return as_rgb(pixels, os.fspath(image)), Path(image).name
    if isinstance(image, np.ndarray):
        return as_rgb(image, "image array"), f"array {image.shape[1]}×{image.shape[0]}"
    raise LutError(f"image must be None, a path or a numpy array, got {type(image).__name__}")


def display_shape(height: int, width: int, max_pixels: int = MAX_DISPLAY_PIXELS) -> Tuple[int, int]:
    """(height, width) after shrinking to at most ``max_pixels``, aspect kept (never enlarged)."""
    if height * width <= max_pixels:
        return height, width
    scale = math.sqrt(max_pixels / (height * width))
    h, w = max(1, int(height * scale)), max(1, int(width * scale))
    return h, w


def downscale(pixels: np.ndarray, max_pixels: int = MAX_DISPLAY_PIXELS) -> np.ndarray:
    """``pixels`` (H, W, 3) float32 box-filtered (area average) to at most ``max_pixels``; the
    same array when it is small enough already."""
    h, w = pixels.shape[:2]
    h2, w2 = display_shape(h, w, max_pixels)
    if (h2, w2) == (h, w):
        return pixels
    from PIL import Image

    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(pixels[:, :, c], np.float32))
                           .resize((w2, h2), Image.Resampling.BOX)) for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.float32, copy=False)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Display values (..., 3), clipped to [0, 1], as uint8 (round to nearest)."""
    return (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def encode_png(rgb8: np.ndarray) -> bytes:
    """uint8 (H, W, 3) as PNG bytes (fast zlib level: these only travel to the browser)."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb8).save(out, format="PNG", compress_level=1)
    return out.getvalue()
