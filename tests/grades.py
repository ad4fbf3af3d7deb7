"""Small smooth grades for quick training tests (a gain and a gamma per look)."""
import numpy as np

from lutplug import LUT3D


def smooth_grade(k: int, n: int = 5) -> LUT3D:
    """Look ``k`` on an ``n``³ lattice: output = 0.03 + 0.9 · rgb^(0.9 + 0.1k) · gain(k)."""
    g = np.linspace(0, 1, n)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    rgb = np.stack([r, gg, b], -1)
    gain = np.array([1.0, 0.9 + 0.05 * k, 0.8 + 0.1 * k])
    return LUT3D((0.03 + 0.9 * rgb ** (0.9 + 0.1 * k) * gain).astype(np.float32), title=f"g{k}")
