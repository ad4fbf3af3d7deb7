"""What :class:`~lutplug.widgets.CompareWidget` shows, computed once in numpy: both grades applied
to the picture at the current exposure and mix, display-size proxies, per-pixel ΔE00 and the
statistics (over the full-resolution image and over the LUT's input domain).

ΔE00 and PSNR follow :mod:`lutplug.metrics`: outputs read as sRGB-encoded display values clipped
to [0, 1].
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

from lutplug.metrics import QualityReport, delta_e2000_rgb, quality_report
from lutplug.widgets.grades import Grade, open_grade
from lutplug.widgets.images import MAX_DISPLAY_PIXELS, ImageLike, downscale, load_image

#: Values per pixel in :meth:`Frame.probe_bytes`: source RGB, original RGB, compressed RGB, ΔE00.
PROBE_CHANNELS = 10


def apply_grade(transform: Any, pixels: np.ndarray, exposure: float = 0.0, mix: float = 1.0) -> np.ndarray:
    """``pixels`` (..., 3) × 2**``exposure`` (stops), graded by ``transform``, blended with the
    exposed input: ``x + mix · (grade(x) − x)``; float32 (..., 3)."""
    x = np.asarray(pixels, dtype=np.float32) * np.float32(2.0 ** exposure)
    graded = np.asarray(transform.apply(x.reshape(-1, 3)), dtype=np.float32).reshape(x.shape)
    return graded if mix == 1.0 else x + np.float32(mix) * (graded - x)


@dataclasses.dataclass
class ImageStats:
    """ΔE00 and PSNR (dB) between the two graded versions of a whole image (every pixel)."""

    de_mean: float
    de_p99: float
    de_max: float
    psnr: float
    width: int
    height: int

    def as_dict(self) -> Dict[str, float]:
        return dataclasses.asdict(self)


def _squared_error(a: np.ndarray, b: np.ndarray) -> float:
    d = np.clip(a.astype(np.float64), 0, 1) - np.clip(b.astype(np.float64), 0, 1)
    return float(np.sum(d * d))


def _stats(de: np.ndarray, squared_error: float, shape: Tuple[int, int]) -> ImageStats:
    mse = squared_error / (de.size * 3)
    return ImageStats(de_mean=float(de.mean()), de_p99=float(np.percentile(de, 99)),
                      de_max=float(de.max()), psnr=math.inf if mse == 0 else -10 * math.log10(mse),
                      width=int(shape[1]), height=int(shape[0]))


def image_stats(original: Any, compressed: Any, pixels: np.ndarray, exposure: float = 0.0,
                mix: float = 1.0, chunk_pixels: int = 1 << 20) -> ImageStats:
    """:class:`ImageStats` of ``pixels`` (H, W, 3) graded by both transforms, row bands of about
    ``chunk_pixels`` at a time so a large image never holds ΔE2000's float64 temporaries whole."""
    h, w = pixels.shape[:2]
    rows = max(1, chunk_pixels // w)
    de = np.empty((h, w), np.float32)
    squared = 0.0
    for r in range(0, h, rows):
        a = apply_grade(original, pixels[r:r + rows], exposure, mix)
        b = apply_grade(compressed, pixels[r:r + rows], exposure, mix)
        de[r:r + rows] = delta_e2000_rgb(a, b)
        squared += _squared_error(a, b)
    return _stats(de, squared, (h, w))


@dataclasses.dataclass
class Frame:
    """Display-size pictures of one setting: float32 (h, w, 3) each, ΔE00 float32 (h, w)."""

    source: np.ndarray
    original: np.ndarray
    compressed: np.ndarray
    delta_e: np.ndarray

    def probe_bytes(self) -> bytes:
        """Per-pixel values for the hover readout: little-endian float16 (h, w, 10), rows top to
        bottom, pixels left to right, channels source RGB, original RGB, compressed RGB, ΔE00."""
        stack = np.concatenate([self.source, self.original, self.compressed,
                                self.delta_e[..., None]], axis=-1)
        return np.clip(stack, -65504, 65504).astype("<f2").tobytes()


class Comparison:
    """Two grades and a picture, evaluated the way the widget shows them.

    ``original`` / ``compressed``: paths or objects (see :func:`~lutplug.widgets.grades.open_grade`);
    ``image``: see :func:`~lutplug.widgets.images.load_image`. Pictures over
    ``max_display_pixels`` get a box-filtered display proxy; statistics always use every pixel.
    The domain report (``quality_report`` over lattice + ``n_random`` seeded points) is computed
    once per pair of grades.
    """

    def __init__(self, original: Any, compressed: Any, image: ImageLike = None, *,
                 max_display_pixels: int = MAX_DISPLAY_PIXELS, n_random: int = 200_000, seed: int = 0):
        self.max_display_pixels = int(max_display_pixels)
        self.n_random = n_random
        self.seed = seed
        self.set_grades(original, compressed)
        self.set_image(image)

    def set_grades(self, original: Any, compressed: Any) -> None:
        """Open both grades and measure them over the domain (nothing changes if either fails)."""
        a, b = open_grade(original, "original"), open_grade(compressed, "compressed")
        domain = quality_report(a.transform, b.transform, n_random=self.n_random, seed=self.seed)
        self.original: Grade = a
        self.compressed: Grade = b
        self.domain: QualityReport = domain

    def set_image(self, image: ImageLike) -> None:
        """Load the picture and its display proxy (nothing changes if loading fails)."""
        pixels, name = load_image(image)
        self.display = downscale(pixels, self.max_display_pixels)
        self.pixels, self.image_name = pixels, name

    @property
    def downscaled(self) -> bool:
        return self.display.shape != self.pixels.shape

    def evaluate(self, exposure: float = 0.0, mix: float = 1.0) -> Tuple[Frame, ImageStats]:
        """The display :class:`Frame` and the full-resolution :class:`ImageStats` of a setting."""
        a = apply_grade(self.original.transform, self.display, exposure, mix)
        b = apply_grade(self.compressed.transform, self.display, exposure, mix)
        de = delta_e2000_rgb(a, b).astype(np.float32)
        source = self.display * np.float32(2.0 ** exposure)
        frame = Frame(source, a, b, de)
        if self.downscaled:
            stats = image_stats(self.original.transform, self.compressed.transform, self.pixels,
                                exposure, mix)
        else:
            stats = _stats(de, _squared_error(a, b), de.shape)
        return frame, stats

    def sizes(self) -> Dict[str, Optional[float]]:
        """File sizes in bytes (None when unknown) and original / compressed ratio."""
        a, b = self.original.nbytes, self.compressed.nbytes
        return {"original_bytes": a, "compressed_bytes": b,
                "ratio": a / b if a and b else None}
