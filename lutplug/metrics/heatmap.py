"""ΔE00 heat-map images for human review (8-bit PNG through Pillow; the picture is the point,
not the bit depth).

Colour scale: 0 → dark blue, the threshold → yellow, 2× threshold and above → red; a colour bar
with the threshold marked is drawn under the map.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from lutplug.core.lut import lattice
from lutplug.errors import PathLike
from lutplug.fileio import atomic_path
from lutplug.metrics.colour import delta_e2000_rgb
from lutplug.metrics.quality import Transform

_STOPS = np.array([[0.0, 0.05, 0.05, 0.35], [0.25, 0.1, 0.45, 0.85], [0.5, 0.95, 0.9, 0.15],
                   [0.75, 0.95, 0.45, 0.05], [1.0, 0.75, 0.0, 0.0]])


def colorize(de: np.ndarray, threshold: float = 1.5) -> np.ndarray:
    """Map ΔE values (H, W) to uint8 RGB (H, W, 3); ``threshold`` sits at mid-scale (yellow)."""
    t = np.clip(np.asarray(de, dtype=np.float64) / (2.0 * threshold), 0.0, 1.0)
    rgb = np.stack([np.interp(t, _STOPS[:, 0], _STOPS[:, c]) for c in (1, 2, 3)], axis=-1)
    return (rgb * 255 + 0.5).astype(np.uint8)


def _with_colour_bar(tile: np.ndarray, threshold: float, title: str):
    from PIL import Image, ImageDraw

    h, w = tile.shape[:2]
    bar_h, pad = 18, 40
    canvas = Image.new("RGB", (max(w, 320), h + bar_h + pad + 18), (24, 24, 24))
    canvas.paste(Image.fromarray(tile), (0, 18))
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 3), title, fill=(230, 230, 230))
    bw = canvas.width - 20
    ramp = colorize(np.linspace(0, 2 * threshold, bw)[None, :].repeat(bar_h, 0), threshold)
    y0 = h + 18 + 8
    canvas.paste(Image.fromarray(ramp), (10, y0))
    for frac, label in ((0.0, "0"), (0.5, f"{threshold:g} (threshold)"), (1.0, f"≥{2 * threshold:g}")):
        x = 10 + int(frac * (bw - 1))
        draw.line([(x, y0 - 3), (x, y0 + bar_h + 2)], fill=(255, 255, 255), width=2 if frac == 0.5 else 1)
        draw.text((min(x, canvas.width - 90), y0 + bar_h + 4), label.replace("≥", ">="),
                  fill=(230, 230, 230))
    return canvas


def save_heatmap(de: np.ndarray, path: PathLike, threshold: float = 1.5, title: str = "ΔE00") -> None:
    """Write a ΔE heat map (H, W) with a colour bar as PNG (atomically)."""
    image = _with_colour_bar(colorize(de, threshold), threshold, title.replace("Δ", "d"))
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def lut_slice_delta_e(reference: Transform, candidate: Transform, slices: Sequence[float] = (
        0.0, 0.25, 0.5, 0.75, 1.0), resolution: int = 96) -> np.ndarray:
    """ΔE00 over R×G planes at several B levels of the input domain, tiled side by side:
    float64 (resolution, resolution * len(slices)); R grows to the right, G downwards."""
    dmin, dmax = (np.asarray(d, dtype=np.float64) for d in reference.input_domain)
    plane = lattice(resolution, (0, 0, 0), (1, 1, 0))[: resolution * resolution]  # b = 0 plane
    tiles = []
    for b in slices:
        u = plane.copy()
        u[:, 2] = b
        x = (dmin + u * (dmax - dmin)).astype(np.float32)
        de = delta_e2000_rgb(reference.apply(x), candidate.apply(x))
        tiles.append(de.reshape(resolution, resolution))
    return np.concatenate(tiles, axis=1)


def image_delta_e(reference_rgb: np.ndarray, candidate_rgb: np.ndarray) -> np.ndarray:
    """Per-pixel ΔE00 (H, W) between two graded images (H, W, >=3)."""
    return delta_e2000_rgb(reference_rgb[..., :3], candidate_rgb[..., :3])
