"""Node corrections: the worst lattice nodes of the source grid corrected by least squares,
interpolated tetrahedrally like the table itself — what repairs the few sharp cells of a creative
grade that no small network follows; and a table of at most 5³ nodes stored as the identity
network plus a correction at every node."""
from __future__ import annotations

from typing import Dict, Mapping, Optional

import numpy as np

from lutplug.codec import model as M
from lutplug.codec import quantize as Q
from lutplug.codec.train.recipe import DEFAULT_RECIPE, FIT_RECIPE, T1_LIMITS, ladder_config, quant_config
from lutplug.codec.train.scoring import badness, evaluate
from lutplug.metrics import meets


#: Node-correction rounds: the number of corrected nodes after each round (see :func:`add_fixes`).
FIX_ROUNDS = (4, 8, 16, 32, 64, 128, 256, 512, 1024)


#: Tables of at most this many nodes (5³) are tried as identity + a correction at every node first.
LATTICE_ONLY_NODES = 125


#: Node coordinates are stored as int8: grids above this get no corrections.
FIX_MAX_GRID = 128


def fix_limit(config: dict) -> int:
    """Most node corrections :func:`fit` adds to a network of this size (6 bytes each, so at most
    about 3/4 of its weights' bytes; 16 to 1024)."""
    return int(min(max(M.n_params(config) // 8, 16), FIX_ROUNDS[-1]))


def worth_fixing(q: Dict[str, float], targets: Mapping[str, float] = T1_LIMITS) -> bool:
    """Whether node corrections may bring a network measured ``q`` to ``targets``: they repair
    the worst points (max, p99), barely the mean or PSNR — so those must already be close."""
    return (q["de_mean"] <= 1.08 * targets.get("de_mean", np.inf)
            and q["de_p99"] <= 1.5 * targets.get("de_p99", np.inf)
            and q["psnr"] >= targets.get("psnr", -np.inf) - 1.5)


def cell_corners(u: np.ndarray, n: int):
    """The 8 corners of each point's cell of the n³ lattice: flat node indices (R fastest) int64
    (M, 8) and their correction weights (:func:`lutplug.codec.model.kuhn_hat`) float64 (M, 8)."""
    t = np.clip(u, 0, 1).astype(np.float64) * (n - 1)
    i0 = np.minimum(t.astype(np.int64), n - 2)
    f = t - i0
    base = (i0[:, 2] * n + i0[:, 1]) * n + i0[:, 0]
    idx, wts = [], []
    for ob, og, orr in np.ndindex(2, 2, 2):
        idx.append(base + (ob * n + og) * n + orr)
        wts.append(M.kuhn_hat(f - np.array([orr, og, ob], np.float64)))
    return np.stack(idx, axis=1), np.stack(wts, axis=1)


#: Weight of the lattice nodes against the random points when solving node corrections (the baked
#: cube is exact where its nodes are).
FIX_NODE_WEIGHT = 4.0


def add_fixes(config: dict, stored: dict, table: np.ndarray, u: np.ndarray, t: np.ndarray,
              targets: Mapping[str, float] = T1_LIMITS, limit: Optional[int] = None, measured: Optional[tuple] = None,
              interpolation: str = "tetrahedral"):
    """Add node corrections (see :mod:`lutplug.codec.model`) to a trained network that misses
    ``targets``. ``u``/``t``: the evaluation points of :func:`eval_points`.

    Each round credits every node with the worst ΔE2000 (direct or baked) of the points in its
    cells, weighted by the node's correction weight there, adds the worst uncorrected nodes, and
    solves all corrections at once by least squares of the RGB error over the points they touch
    (points on table nodes weighted :data:`FIX_NODE_WEIGHT`), int8-quantised. Rounds stop at the
    first count of :data:`FIX_ROUNDS` (capped at ``limit``; the first round corrects about as
    many nodes as are credited over 3/4 of the target's max ΔE) that meets ``targets``. ``measured``: the
    network's :func:`evaluate` ``(quality, per-point ΔE)`` at ``u`` when known. Returns (config,
    stored, quality) of that count or of the best one tried, or None when the grid is too large."""
    n = table.shape[0]
    if n > FIX_MAX_GRID:
        return None
    limit = fix_limit(config) if limit is None else limit
    corners, weights = cell_corners(u, n)
    grid_u = np.asarray(u, np.float64) * (n - 1)
    on_node = np.all(np.abs(grid_u - np.rint(grid_u)) < 1e-4, axis=1)
    row_weight = np.where(on_node, FIX_NODE_WEIGHT, 1.0)
    resid = (t - M.forward_numpy(stored, config, u)).astype(np.float64)
    chosen = np.zeros(0, np.int64)
    best = None
    _, de = measured if measured is not None else evaluate(config, stored, u, t, table, True, interpolation)
    rounds = list(FIX_ROUNDS)
    for count in rounds:
        count = min(count, limit, n ** 3)
        if count <= chosen.size:  # a round the first one skipped, or the limit reached
            continue
        score = np.zeros(n ** 3)
        np.maximum.at(score, corners.ravel(), (de[:, None] * weights).ravel())
        score[chosen] = -1.0
        if not chosen.size:  # skip rounds too small to cover the clearly bad nodes
            bad = int(np.count_nonzero(score > 0.75 * targets.get("de_max", T1_LIMITS["de_max"])))
            count = min(max([c for c in rounds if c <= bad] or [count]), limit, n ** 3)
        chosen = np.concatenate([chosen, np.argsort(-score, kind="stable")[:count - chosen.size]])
        column = np.full(n ** 3, -1, np.int64)
        column[chosen] = np.arange(chosen.size)
        delta = solve_corrections(column[corners], weights, row_weight, resid, chosen.size)
        scale = float(np.float32(max(float(np.abs(delta).max()), 1e-6) / 127.0))
        nodes = np.stack([chosen % n, (chosen // n) % n, chosen // (n * n)], axis=1)
        fix = np.concatenate([nodes, np.clip(np.rint(delta / scale), -127, 127)], axis=1)
        cfg = dict(config, fix={"grid": n, "count": int(chosen.size), "scale": scale})
        st = dict(stored, fix=fix.astype(np.int8))
        q, de = evaluate(cfg, st, u, t, table, True, interpolation)
        if best is None or badness(q, targets) < badness(best[2], targets):
            best = (cfg, st, q)
        if meets(q, targets):
            break
    return best


def solve_corrections(cols: np.ndarray, weights: np.ndarray, row_weight: np.ndarray,
                       resid: np.ndarray, k: int) -> np.ndarray:
    """Weighted least-squares corrections float64 (k, 3): minimise Σ_i row_weight_i ·
    |resid_i − Σ_j weights_ij · δ_cols_ij|² over the corners j of point i whose column
    ``cols`` (M, 8) is ≥ 0 (a corrected node). Through the normal equations, built from the
    ≤ 8 nonzeros of each row (the design matrix itself would be M × k dense); a tiny ridge keeps
    nodes no point reaches at 0."""
    rows = np.flatnonzero((cols >= 0).any(axis=1))
    cols, w = cols[rows], weights[rows] * (cols[rows] >= 0)
    rw, r = row_weight[rows], resid[rows]
    c = np.where(cols >= 0, cols, 0)
    pair_index = (c[:, :, None] * k + c[:, None, :]).ravel()
    pair_weight = (rw[:, None, None] * w[:, :, None] * w[:, None, :]).ravel()
    normal = np.bincount(pair_index, pair_weight, minlength=k * k).reshape(k, k).astype(np.float64, copy=False)
    rhs = np.stack([np.bincount(c.ravel(), (rw[:, None] * w * r[:, ch:ch + 1]).ravel(), minlength=k)
                    for ch in range(3)], axis=1)
    normal[np.diag_indices(k)] += 1e-9 * max(float(np.mean(np.diag(normal))), 1e-12)
    return np.linalg.solve(normal, rhs)


def identity_network() -> tuple:
    """(config, stored params) of the identity: the smallest ladder model with every weight 0
    but the skip (stored the way :func:`fit` stores networks)."""
    config = ladder_config(0)
    params = {k: (np.eye(3, dtype=np.float32) if k == "A" else np.zeros(s, np.float32))
              for k, s in M.param_shapes(config).items()}
    qconf = quant_config(config, dict(DEFAULT_RECIPE, **FIT_RECIPE))
    return dict(config, quant=qconf), Q.quantize_params(params, qconf)


def lattice_only(table: np.ndarray, u: np.ndarray, t: np.ndarray, targets: Mapping[str, float] = T1_LIMITS,
                 interpolation: str = "tetrahedral"):
    """For a table of at most :data:`LATTICE_ONLY_NODES` nodes (5³): the identity network
    (:func:`identity_network`) plus a correction at every node —
    the table itself as int8 deltas, interpolated tetrahedrally (exactly the original's reading
    unless it is trilinear; the fit then measures whether that is close enough). Returns
    (config, stored, quality), or None for larger tables. No training."""
    n = table.shape[0]
    if n ** 3 > LATTICE_ONLY_NODES:
        return None
    config, stored = identity_network()
    return add_fixes(config, stored, table, u, t, targets, limit=n ** 3, interpolation=interpolation)
