"""sRGB display values → CIE L*a*b* → CIEDE2000, and the terms the training loss linearises
(numpy, float64).

Conventions: RGB values are read as sRGB-encoded display values (IEC 61966-2-1), clipped to
[0, 1], converted to XYZ (D65 white) and L*a*b*. The same functions serve the quality reports and
the codec's training loss (:mod:`lutplug.codec.train.loss`), so both measure one ΔE2000.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

#: sRGB (linear, D65) -> CIE XYZ, IEC 61966-2-1.
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805],
                        [0.2126, 0.7152, 0.0722],
                        [0.0193, 0.1192, 0.9505]])
#: D65 white, XYZ with Y = 1: CIE 1931 xy (0.3127, 0.3290) as in IEC 61966-2-1, to 8 decimals
#: (the codec has trained with these digits from the start; L*a*b* differs from the exact
#: quotient's by < 1e-6).
WHITE_D65 = np.array([0.95045593, 1.0, 1.08905775])


def srgb_to_lab(rgb: np.ndarray, clip: bool = True) -> np.ndarray:
    """sRGB-encoded values (..., 3) -> CIE Lab (D65), float64 (..., 3). Clips to [0, 1] first.

    >>> [round(float(v), 2) for v in srgb_to_lab([1.0, 1.0, 1.0])]
    [100.0, -0.0, 0.0]
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if clip:
        rgb = np.clip(rgb, 0.0, 1.0)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ SRGB_TO_XYZ.T / WHITE_D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16,
                     500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def de2000_g(chroma: np.ndarray) -> np.ndarray:
    """CIEDE2000's a* stretch G of a (mean) chroma C*ab: a' = (1 + G) a."""
    c7 = chroma ** 7
    return 0.5 * (1 - np.sqrt(c7 / (c7 + 25.0 ** 7)))


def de2000_weighting(lightness: np.ndarray, chroma_p: np.ndarray,
                     hue_p: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIEDE2000's weighting functions (S_L, S_C, S_H, R_T) at a (mean) lightness L', chroma C'
    and hue h' in degrees."""
    t = (1 - 0.17 * np.cos(np.radians(hue_p - 30)) + 0.24 * np.cos(np.radians(2 * hue_p))
         + 0.32 * np.cos(np.radians(3 * hue_p + 6)) - 0.20 * np.cos(np.radians(4 * hue_p - 63)))
    d_theta = 30 * np.exp(-(((hue_p - 275) / 25) ** 2))
    cp7 = chroma_p ** 7
    r_c = 2 * np.sqrt(cp7 / (cp7 + 25.0 ** 7))
    s_l = 1 + 0.015 * (lightness - 50) ** 2 / np.sqrt(20 + (lightness - 50) ** 2)
    s_c = 1 + 0.045 * chroma_p
    s_h = 1 + 0.015 * chroma_p * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return s_l, s_c, s_h, r_t


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
    g = de2000_g((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2)
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
    hsum = h1p + h2p
    h_bar = np.where(np.abs(h1p - h2p) > 180,
                     np.where(hsum < 360, hsum + 360, hsum - 360) / 2, hsum / 2)
    h_bar = np.where(c1p * c2p == 0, hsum, h_bar)
    s_l, s_c, s_h, r_t = de2000_weighting((L1 + L2) / 2, (c1p + c2p) / 2, h_bar)
    return np.sqrt((dLp / s_l) ** 2 + (dCp / s_c) ** 2 + (dHp / s_h) ** 2
                   + r_t * (dCp / s_c) * (dHp / s_h))


def delta_e2000_rgb(rgb1: np.ndarray, rgb2: np.ndarray) -> np.ndarray:
    """ΔE00 between two arrays of sRGB-encoded values (..., 3), clipped to [0, 1]."""
    return delta_e2000(srgb_to_lab(rgb1), srgb_to_lab(rgb2))


def de2000_weights(lab: np.ndarray) -> np.ndarray:
    """CIEDE2000's weighting terms at one colour per row, float64 (M, 5): columns (1 + G, S_L,
    S_C, S_H, R_T) of Lab ``lab`` (M, 3). With them fixed at the target colour, ΔE2000(pred,
    target) is a smooth quadratic form of (ΔL', ΔC', ΔH') — the exact formula's weights barely
    move between two close colours — which the training loss uses."""
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    G = de2000_g(np.hypot(a, b))
    ap = (1 + G) * a
    Cp = np.hypot(ap, b)
    hp = np.degrees(np.arctan2(b, ap)) % 360
    SL, SC, SH, RT = de2000_weighting(L, Cp, hp)
    return np.stack([1 + G, SL, SC, SH, RT], axis=1)


def de2000_jacobian(rgb_t: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """Per-sample linearisation of ΔE2000 around the target colour ``rgb_t`` (M, 3), float64.

    Returns (M, 10): a 3x3 matrix R (row-major, rows = dL'/S_L, dC'/S_C, dH'/S_H as linear forms
    of the RGB error) and R_T, so that ΔE2000(t + e, t)^2 ≈ |R e|^2 + R_T (R e)_1 (R e)_2. The
    Jacobian of sRGB -> Lab is taken by central differences (inside [0, 1])."""
    t = np.clip(np.asarray(rgb_t, np.float64), 0, 1)
    lab = srgb_to_lab(t)
    w = de2000_weights(lab)
    g, SL, SC, SH, RT = (w[:, i] for i in range(5))
    J = np.empty((t.shape[0], 3, 3))  # J[n, lab_k, rgb_j]
    for j in range(3):
        hi, lo = t.copy(), t.copy()
        hi[:, j] = np.minimum(t[:, j] + eps, 1.0)
        lo[:, j] = np.maximum(t[:, j] - eps, 0.0)
        d = (hi[:, j] - lo[:, j])[:, None]
        J[:, :, j] = (srgb_to_lab(hi) - srgb_to_lab(lo)) / d
    ap = g * lab[:, 1]
    b = lab[:, 2]
    C = np.hypot(ap, b)
    safe = C > 1e-6
    ca = np.where(safe, ap / np.where(safe, C, 1), 1.0)
    cb = np.where(safe, b / np.where(safe, C, 1), 0.0)
    Ja = g[:, None] * J[:, 1, :]   # d a' / d rgb
    Jb = J[:, 2, :]
    R = np.empty_like(J)
    R[:, 0, :] = J[:, 0, :] / SL[:, None]
    R[:, 1, :] = (ca[:, None] * Ja + cb[:, None] * Jb) / SC[:, None]
    R[:, 2, :] = (-cb[:, None] * Ja + ca[:, None] * Jb) / SH[:, None]
    return np.concatenate([R.reshape(-1, 9), RT[:, None]], axis=1)
