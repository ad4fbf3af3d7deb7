"""Colour-difference metrics and quality reports (numpy only).

Conventions: RGB outputs are read as sRGB-encoded display values (IEC 61966-2-1), clipped to
[0, 1], converted to CIE L*a*b* (D65 white) for CIEDE2000. PSNR uses the same clipped RGB with
peak 1.0.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, Optional, Protocol, Tuple

import numpy as np

from lutplug.core.lut import lattice

#: sRGB (linear, D65) -> CIE XYZ, IEC 61966-2-1.
_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805],
                         [0.2126, 0.7152, 0.0722],
                         [0.0193, 0.1192, 0.9505]])
#: D65 white point, XYZ with Y = 1, from CIE 1931 xy (0.3127, 0.3290) as in IEC 61966-2-1.
_WHITE_D65 = np.array([0.3127 / 0.3290, 1.0, (1 - 0.3127 - 0.3290) / 0.3290])


class Transform(Protocol):
    """Anything that maps input RGB to output RGB: a LUT3D, a decoded .nlut, ..."""

    @property
    def input_domain(self) -> Tuple[np.ndarray, np.ndarray]: ...

    def apply(self, rgb: np.ndarray) -> np.ndarray: ...


def srgb_to_lab(rgb: np.ndarray, clip: bool = True) -> np.ndarray:
    """sRGB-encoded values (..., 3) -> CIE Lab (D65), float64 (..., 3). Clips to [0, 1] first."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if clip:
        rgb = np.clip(rgb, 0.0, 1.0)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _SRGB_TO_XYZ.T / _WHITE_D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16,
                     500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1) between Lab arrays (..., 3), float64 (...).

    Follows Sharma, Wu & Dalal (2005), including the hue-angle conventions their test data checks.

    >>> round(float(delta_e2000([50, 2.6772, -79.7751], [50, 0, -82.7485])), 4)
    2.0425
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    c7 = c_bar ** 7
    g = 0.5 * (1 - np.sqrt(c7 / (c7 + 25.0 ** 7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    L_bar = (L1 + L2) / 2
    cp_bar = (c1p + c2p) / 2
    hsum = h1p + h2p
    h_bar = np.where(np.abs(h1p - h2p) > 180,
                     np.where(hsum < 360, hsum + 360, hsum - 360) / 2, hsum / 2)
    h_bar = np.where(c1p * c2p == 0, hsum, h_bar)
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    cp7 = cp_bar ** 7
    r_c = 2 * np.sqrt(cp7 / (cp7 + 25.0 ** 7))
    s_l = 1 + 0.015 * (L_bar - 50) ** 2 / np.sqrt(20 + (L_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((dLp / s_l) ** 2 + (dCp / s_c) ** 2 + (dHp / s_h) ** 2
                   + r_t * (dCp / s_c) * (dHp / s_h))


def delta_e2000_rgb(rgb1: np.ndarray, rgb2: np.ndarray) -> np.ndarray:
    """ΔE00 between two arrays of sRGB-encoded values (..., 3), clipped to [0, 1]."""
    return delta_e2000(srgb_to_lab(rgb1), srgb_to_lab(rgb2))


def psnr(reference: np.ndarray, candidate: np.ndarray, peak: float = 1.0, clip: bool = True) -> float:
    """Peak signal-to-noise ratio in dB (inf when identical)."""
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(candidate, dtype=np.float64)
    if clip:
        a, b = np.clip(a, 0, 1), np.clip(b, 0, 1)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


@dataclasses.dataclass
class QualityReport:
    """Quality of a candidate transform against a reference, over lattice + random points.

    ΔE00 on sRGB-encoded outputs clipped to [0, 1]; PSNR in dB on the same; max_abs on raw
    (unclipped) outputs.
    """

    de_mean: float
    de_p95: float
    de_p99: float
    de_max: float
    psnr: float
    max_abs: float
    points: int

    def as_dict(self) -> Dict[str, float]:
        return dataclasses.asdict(self)

    def meets(self, target: "QualityTarget") -> bool:
        """True when every threshold of ``target`` holds."""
        return (self.de_mean <= target.de_mean and self.de_p99 <= target.de_p99
                and self.de_max <= target.de_max and self.psnr >= target.psnr)

    def summary(self) -> str:
        return (f"ΔE00 mean {self.de_mean:.3f}  p95 {self.de_p95:.3f}  p99 {self.de_p99:.3f}  "
                f"max {self.de_max:.3f}  PSNR {self.psnr:.2f} dB  max|Δ| {self.max_abs:.2e}  "
                f"({self.points} points)")


@dataclasses.dataclass(frozen=True)
class QualityTarget:
    """Thresholds a compressed LUT must meet. The default is T1, "invisible"."""

    de_mean: float = 0.45
    de_p99: float = 1.5
    de_max: float = 3.0
    psnr: float = 45.0


#: Named quality targets (``--quality`` on the command line).
QUALITY_TARGETS = {
    "invisible": QualityTarget(),
    "high": QualityTarget(de_mean=0.8, de_p99=2.5, de_max=5.0, psnr=40.0),
    "draft": QualityTarget(de_mean=1.5, de_p99=4.0, de_max=8.0, psnr=35.0),
}


def evaluation_points(reference: Transform, lattice_size: Optional[int] = None,
                      n_random: int = 200_000, seed: int = 0) -> np.ndarray:
    """Input points for a quality report, float32 (M, 3): every node of a ``lattice_size``³
    lattice over the input domain (default: the reference's own grid size, at least 17) plus
    ``n_random`` seeded uniform random points of the input domain."""
    dmin, dmax = (np.asarray(d, dtype=np.float64) for d in reference.input_domain)
    size = lattice_size or max(int(getattr(reference, "size", 17)), 17)
    rng = np.random.default_rng(seed)
    rand = dmin + rng.random((n_random, 3)) * (dmax - dmin)
    return np.concatenate([lattice(size, dmin, dmax), rand.astype(np.float32)])


def compare_outputs(reference_rgb: np.ndarray, candidate_rgb: np.ndarray) -> QualityReport:
    """Quality report from two output arrays (M, 3) of the same inputs."""
    ref = np.asarray(reference_rgb, dtype=np.float64).reshape(-1, 3)
    cand = np.asarray(candidate_rgb, dtype=np.float64).reshape(-1, 3)
    de = delta_e2000_rgb(ref, cand)
    p95, p99 = np.percentile(de, [95, 99])
    return QualityReport(de_mean=float(de.mean()), de_p95=float(p95), de_p99=float(p99),
                         de_max=float(de.max()), psnr=psnr(ref, cand),
                         max_abs=float(np.abs(ref - cand).max()), points=int(len(ref)))


def quality_report(reference: Transform, candidate: Transform, n_random: int = 200_000,
                   seed: int = 0, lattice_size: Optional[int] = None) -> QualityReport:
    """Compare ``candidate`` with ``reference`` over lattice + ``n_random`` seeded points of the
    reference's input domain (see :func:`evaluation_points`)."""
    x = evaluation_points(reference, lattice_size, n_random, seed)
    return compare_outputs(reference.apply(x), candidate.apply(x))
