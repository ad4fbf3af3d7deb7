"""Quality of a transform against a reference: the T1 protocol's points, ΔE2000 statistics and
PSNR, the named targets and whether figures meet them (numpy only).

ΔE00 is taken on outputs read as sRGB-encoded display values clipped to [0, 1]
(:mod:`lutplug.metrics.colour`); PSNR on the same clipped RGB with peak 1.0.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, Mapping, Optional, Protocol, Tuple, Union

import numpy as np

from lutplug.core.lut import lattice
from lutplug.metrics.colour import delta_e2000_rgb

class Transform(Protocol):
    """Anything that maps input RGB to output RGB: a LUT3D, a decoded .nlut, ..."""

    @property
    def input_domain(self) -> Tuple[np.ndarray, np.ndarray]: ...

    def apply(self, rgb: np.ndarray) -> np.ndarray: ...


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
        return meets(self.as_dict(), target)

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

    def as_dict(self) -> Dict[str, float]:
        """The thresholds by figure name (the form the codec's search and provenance use)."""
        return {"de_mean": self.de_mean, "de_p99": self.de_p99, "de_max": self.de_max,
                "psnr": self.psnr}


#: T1, "invisible": ΔE00 mean ≤ 0.45, p99 ≤ 1.5, max ≤ 3, PSNR ≥ 45 dB.
T1 = QualityTarget()

#: Named quality targets (``--quality`` on the command line).
QUALITY_TARGETS = {
    "invisible": T1,
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


def measure(pred: np.ndarray, target: np.ndarray, de: Optional[np.ndarray] = None) -> Dict[str, float]:
    """ΔE00 mean/p95/p99/max and PSNR between outputs ``pred`` and ``target`` (both (M, 3),
    clipped to [0, 1]) as a dict; ``de``: their per-point ΔE00 when already known."""
    p = np.clip(np.asarray(pred, np.float64), 0, 1)
    t = np.clip(np.asarray(target, np.float64), 0, 1)
    if de is None:
        de = delta_e2000_rgb(p, t)
    mse = float(np.mean((p - t) ** 2))
    psnr_db = float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)
    return {"de_mean": float(de.mean()), "de_p95": float(np.percentile(de, 95)),
            "de_p99": float(np.percentile(de, 99)), "de_max": float(de.max()), "psnr": psnr_db}


def meets(quality: Mapping[str, float], target: Union[QualityTarget, Mapping[str, float]] = T1) -> bool:
    """Whether figures ``quality`` (de_mean, de_p99, de_max, psnr) meet ``target`` (a
    :class:`QualityTarget`, or thresholds by name; a missing threshold always holds)."""
    limits = target.as_dict() if isinstance(target, QualityTarget) else target
    return (quality["de_mean"] <= limits.get("de_mean", np.inf)
            and quality["de_p99"] <= limits.get("de_p99", np.inf)
            and quality["de_max"] <= limits.get("de_max", np.inf)
            and quality["psnr"] >= limits.get("psnr", -np.inf))
