"""Input stages of a look pack: one look expressed through another look's table (the pack's *base*).

Looks of a family — every camera of a show through the same display transform — differ by what
comes before the shared part: a per-channel log curve and a 3×3 primaries matrix. A *stage look*
stores only that, plus the small corrections that make it exact at its own nodes::

    u        (M, 3) lattice coordinates of the look's table, in [0, 1]
    e = A(u)                         per-channel curve, KNOTS values at k/(KNOTS-1) (look's own)
    m = M · log_decode(e)            3×3 mix in linear light (look's own)
    v = C(log_encode(m))             per-channel curve, CURVE_KNOTS values over [CURVE_LO, CURVE_HI]
                                     (one for the pack: into the base table's coordinates)
    predicted node = base(clamp(v, 0, 1))        the base look's nodes, read tetrahedrally
    node = hdr_decode(hdr_encode(predicted) + step · Q)          Q: integers, mostly 0

and the look is its N³ nodes read tetrahedrally, like the source table. Q is 0 wherever the
prediction is already close enough: the pack builder leaves nodes predicted within a display
ΔE00 floor (the largest that still meets the quality target) uncorrected. ``log_encode`` is a scaled
``asinh`` (logarithmic above ~0.01, linear through 0, so a matrix may yield negative light).
Nodes whose value and every neighbour's are below 0 (or above 1) in the source and the prediction
alike are free: ΔE is taken on display-clipped values, so Q stays 0 there.

Arrays are float32, lattices ``[b, g, r, c]`` (R fastest). Numpy only.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np

from lutplug.codec import model as M
from lutplug.codec.model.numpy_net import pwl_np
from lutplug.core.interpolate import tetrahedral
from lutplug.core.lut import lattice

#: Knots of a look's own curve ``A`` (over [0, 1]) and of the pack's curve ``C``.
KNOTS = 33
CURVE_KNOTS = 65
#: Domain of the pack's curve ``C`` (log-encoded light).
CURVE_LO, CURVE_HI = -0.3, 1.3
#: ``log_encode(v) = asinh(v / LOG_EPS) / LOG_SCALE``: 0 → 0, 222 → 1.
LOG_EPS = 0.01
LOG_SCALE = math.asinh(222.0 / LOG_EPS)
#: An extracted stage look stores its nodes over the identity at this fraction of its step.
EXTRACT_STEP_FRACTION = 1 / 8
#: Tensor shapes of one stage look (``lattice`` is added with the look's grid).
LOOK_SHAPES = {"a": (3, KNOTS), "M": (3, 3)}


def log_encode(v):
    """Scaled asinh of light ``v`` (numpy or torch)."""
    if isinstance(v, np.ndarray):
        return np.arcsinh(v / np.float32(LOG_EPS)) / np.float32(LOG_SCALE)
    import torch

    return torch.asinh(v / LOG_EPS) / LOG_SCALE


def log_decode(e):
    """Inverse of :func:`log_encode` (input clamped to ±1.5; numpy or torch)."""
    if isinstance(e, np.ndarray):
        return np.float32(LOG_EPS) * np.sinh(np.clip(e, -1.5, 1.5) * np.float32(LOG_SCALE))
    import torch

    return LOG_EPS * torch.sinh(torch.clamp(e, -1.5, 1.5) * LOG_SCALE)


def value_curve(c: np.ndarray, x: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Per-channel piecewise-linear curve: ``c`` (3, K) values at K uniform knots over [lo, hi],
    read at ``x`` (M, 3) clamped to [lo, hi] (the network's curves, rescaled). float32 (M, 3)."""
    x = np.asarray(x, np.float32)
    if (lo, hi) != (0.0, 1.0):
        x = (x - np.float32(lo)) / np.float32(hi - lo)
    return pwl_np(np.asarray(c, np.float32), x)


def stage_coords(look: Dict[str, np.ndarray], curve: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Base-table coordinates float32 (M, 3) in [0, 1] of the look's lattice coordinates ``u``."""
    light = log_decode(value_curve(np.asarray(look["a"], np.float32), np.asarray(u, np.float32)))
    mixed = light @ np.asarray(look["M"], np.float32).T
    return np.clip(value_curve(np.asarray(curve, np.float32), log_encode(mixed), CURVE_LO, CURVE_HI), 0, 1)


def predicted_nodes(base_nodes: np.ndarray, look: Dict[str, np.ndarray], curve: np.ndarray,
                    grid: int) -> np.ndarray:
    """The base read through the stage at every node of the look's ``grid``³ lattice: float32
    (grid, grid, grid, 3)."""
    coords = stage_coords(look, curve, lattice(grid).astype(np.float32))
    return tetrahedral(base_nodes, coords).astype(np.float32).reshape(grid, grid, grid, 3)


def _all_neighbours(mask: np.ndarray) -> np.ndarray:
    """True where ``mask`` (N, N, N, 3) holds at a node and all its 26 neighbours (borders count
    as holding)."""
    padded = np.pad(mask, ((1, 1), (1, 1), (1, 1), (0, 0)), constant_values=True)
    n = mask.shape[0]
    out = np.ones_like(mask)
    for db in range(3):
        for dg in range(3):
            for dr in range(3):
                out &= padded[db:db + n, dg:dg + n, dr:dr + n]
    return out


def free_nodes(target: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """bool (N, N, N, 3): channels whose value can stay as predicted however far it is from the
    target — target and prediction both ≤ 0 (or both ≥ 1) there and at every neighbour, so every
    point read between them clips alike."""
    low = _all_neighbours((target <= 0) & (predicted <= 0))
    high = _all_neighbours((target >= 1) & (predicted >= 1))
    return low | high


def residual(target: np.ndarray, predicted: np.ndarray, step: float,
             keep: Optional[np.ndarray] = None) -> np.ndarray:
    """Integer corrections (N, N, N, 3) at ``step`` (hdr-encoded units; int8, or int16 when a
    value needs it; 0 at :func:`free_nodes` and where ``keep``, bool (N, N, N), is True: the
    nodes left as predicted)."""
    goal, base = M.hdr_encode(target), M.hdr_encode(predicted)
    free = free_nodes(target, predicted)
    if keep is not None:
        free |= keep[..., None]
    goal[free] = base[free]
    return M.residual_steps(goal, base, step)


def look_nodes(predicted: np.ndarray, step: float, q: np.ndarray) -> np.ndarray:
    """The look's node values float32 (N, N, N, 3) from its prediction and corrections."""
    return M.corrected_nodes(M.hdr_encode(predicted, np.float32), step, q)


def check_look(params: Dict[str, np.ndarray], grid: int, field: str) -> Tuple[str, ...]:
    """Problems of a stage look's tensors (names, dtypes, shapes, finite values), as messages."""
    problems = []
    for name, shape in {**LOOK_SHAPES, "lattice": (grid,) * 3 + (3,)}.items():
        v = params.get(name)
        if v is None:
            problems.append(f"{field}: tensor {name!r} is missing")
        elif tuple(v.shape) != shape:
            problems.append(f"{field}: tensor {name!r} must be {shape}, got {tuple(v.shape)}")
        elif name == "lattice" and v.dtype not in (np.int8, np.int16):
            problems.append(f"{field}: tensor 'lattice' must be int8 or int16, got {v.dtype}")
        elif name != "lattice" and v.dtype != np.float16:
            problems.append(f"{field}: tensor {name!r} must be float16, got {v.dtype}")
    extra = sorted(set(params) - set(LOOK_SHAPES) - {"lattice"})
    if extra:
        problems.append(f"{field}: unexpected tensors {extra[:5]}")
    return tuple(problems)


def extracted_network(nodes: np.ndarray, step: float) -> Tuple[dict, Dict[str, np.ndarray]]:
    """(config, stored params) of an ordinary .nlut network reproducing a stage look's ``nodes``
    (N, N, N, 3) stored at ``step`` (what an extracted stage look is): the codec's identity network
    plus a residual lattice at :data:`EXTRACT_STEP_FRACTION` of ``step`` (at least 2⁻¹²), so every
    value is within that half-step of ``nodes`` in hdr-encoded units."""
    from lutplug.codec.train.fixes import identity_network

    config, stored = identity_network()
    grid = nodes.shape[0]
    predicted = M.forward_numpy_lattice(stored, config, grid)
    fine = max(step * EXTRACT_STEP_FRACTION, 2.0 ** -12)
    q = M.residual_steps(M.hdr_encode(nodes), M.hdr_encode(predicted), fine)
    config = dict(config, lattice={"grid": grid, "step": float(fine), "interpolation": "tetrahedral"})
    return config, dict(stored, lattice=q)


def extracted_nodes(nodes: np.ndarray, step: float) -> np.ndarray:
    """The node values float32 (N, N, N, 3) of :func:`extracted_network` (``nodes`` as an
    extracted look holds them)."""
    config, params = extracted_network(nodes, step)
    return M.forward_numpy_lattice(params, config, nodes.shape[0])
