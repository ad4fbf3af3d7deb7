"""Judging a stored network: T1 figures at the evaluation points, directly and baked to the
table's grid (the worse of each counts), and how far figures are from a target."""
from __future__ import annotations

from typing import Dict, Mapping, Optional

import numpy as np

from lutplug.codec import layout, lean
from lutplug.codec import model as M
from lutplug.codec import quantize as Q
from lutplug.codec.train.points import INTERPOLATORS
from lutplug.codec.train.recipe import T1_LIMITS
from lutplug.metrics import measure
from lutplug.metrics.colour import delta_e2000_rgb


def badness(q: Dict[str, float], targets: Mapping[str, float] = T1_LIMITS) -> float:
    """How far a quality dict is from the targets (0 when met); used to pick 'best' failures."""
    r = 0.0
    for k in ("de_mean", "de_p99", "de_max"):
        if k in targets:
            r = max(r, q[k] / targets[k])
    if "psnr" in targets:
        r = max(r, 10 ** ((targets["psnr"] - q["psnr"]) / 20))
    return max(r - 1.0, 0.0)


def evaluate(config: dict, stored: dict, u: np.ndarray, t: np.ndarray,
             table: Optional[np.ndarray] = None, per_point: bool = False,
             interpolation: str = "tetrahedral"):
    """T1 metrics of the stored network at points ``u`` against ``t``; with ``table`` (N,N,N,3)
    also of the network baked to that N³ grid (read with ``interpolation`` between its nodes, as
    the hosts' cube fallback reads it), keeping the worse of each figure. ``per_point``: return
    (metrics, ΔE2000 per point float64 (M,), the worse of direct and baked)."""
    pred = M.forward_numpy(stored, config, u)
    de = delta_e2000_rgb(pred, t)
    q = measure(pred, t, de)
    if table is not None:
        baked = INTERPOLATORS[interpolation](M.forward_numpy_lattice(stored, config, table.shape[0], workers=1), u)
        de_b = delta_e2000_rgb(baked, t)
        qb = measure(baked, t, de_b)
        q = dict({k: (min if k == "psnr" else max)(q[k], qb[k]) for k in q},
                 direct_de_mean=q["de_mean"], baked_de_mean=qb["de_mean"])
        de = np.maximum(de, de_b)
    return (q, de) if per_point else q


def stored_size(config: dict, stored: Dict[str, np.ndarray]) -> int:
    """Bytes the tensor block of a .nlut holding this network would take (version 3, the shaper
    left out): what the candidates of one table are compared by."""
    tensors = layout.pack(config, stored, lattice_apart=True)
    if tensors is None:  # not packable (float tensors): zlib of the raw tensors
        return Q.stored_bytes(stored)
    return lean.packed_block_bytes(tensors)
