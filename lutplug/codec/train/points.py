"""Where the codec learns and is judged: lattice coordinates, the T1 protocol's evaluation points,
and the training set (numpy)."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from lutplug.core.interpolate import tetrahedral, trilinear
from lutplug.metrics.colour import de2000_jacobian


#: Random points of the search's own evaluation (beside the table's nodes): enough to choose and
#: repair candidates; the one that is kept is judged on the report's 200,000 points.
EVAL_RANDOM_POINTS = 100_000


EVAL_SEED = 20240601


#: How the source table is read between its nodes (LUT3D.interpolation) -> the interpolator.
INTERPOLATORS = {"tetrahedral": tetrahedral, "trilinear": trilinear}


def lattice_coords(n: int) -> np.ndarray:
    """(n^3, 3) RGB coordinates of the lattice nodes in lutplug order (R fastest)."""
    g = np.linspace(0.0, 1.0, n, dtype=np.float32)
    b, gg, r = np.meshgrid(g, g, g, indexing="ij")
    return np.stack([r, gg, b], axis=-1).reshape(-1, 3)


#: ``to_lattice`` below: maps normalised input points x float (M, 3) in [0, 1]³ (the input domain
#: scaled to the unit cube) to the table's lattice coordinates u float (M, 3) — the LUT's shaper.
ToLattice = Callable[[np.ndarray], np.ndarray]


def _shaped(x: np.ndarray, to_lattice: Optional[ToLattice]) -> np.ndarray:
    if to_lattice is None:
        return x.astype(np.float32)
    return np.clip(to_lattice(x), 0.0, 1.0).astype(np.float32)


def eval_points(table: np.ndarray, n_random: int = EVAL_RANDOM_POINTS, seed: int = EVAL_SEED,
                to_lattice: Optional[ToLattice] = None, interpolation: str = "tetrahedral"):
    """(u, target) float32 (M, 3): the points of the T1 protocol in lattice coordinates, target =
    the table read with its ``interpolation``. Without ``to_lattice``: every table node, then
    seeded uniform random points. With it (a LUT with a shaper): the protocol's points as the
    user's inputs see them — a max(N, 17)³ lattice and uniform random points over the INPUT
    domain, mapped through the shaper — so that lattice regions the shaper squeezes count as
    little as they do there."""
    n = table.shape[0]
    interp = INTERPOLATORS[interpolation]
    rnd = np.random.default_rng(seed).random((n_random, 3), dtype=np.float32)
    if to_lattice is None:
        lat = lattice_coords(n)
        tl = table.reshape(-1, 3).astype(np.float32)
    else:
        lat = _shaped(lattice_coords(max(n, 17)), to_lattice)
        tl = interp(table, lat)
        rnd = _shaped(rnd, to_lattice)
    u = np.concatenate([lat, rnd], axis=0)
    t = np.concatenate([tl, interp(table, rnd)], axis=0)
    return u, t


def train_data(table: np.ndarray, recipe: dict, seed: int, interpolation: str = "tetrahedral"):
    """Training set: (u (M,3) lattice coordinates, targets (M,3) as in the table — not clipped,
    so that values outside [0,1] survive a bake —, ΔE2000 linearisation (M,10) at the display-
    clipped targets); lattice nodes (subsampled beyond ``max_lattice_train``) + seeded random
    points (targets read with the table's ``interpolation``). All float32."""
    n = table.shape[0]
    rng = np.random.default_rng(seed + 1)
    lat = lattice_coords(n)
    tl = table.reshape(-1, 3).astype(np.float32)
    if lat.shape[0] > recipe["max_lattice_train"]:
        idx = rng.choice(lat.shape[0], recipe["max_lattice_train"], replace=False)
        lat, tl = lat[idx], tl[idx]
    rnd = rng.random((recipe["n_random_train"], 3), dtype=np.float32)
    u = np.concatenate([lat, rnd], 0)
    t = np.concatenate([tl, INTERPOLATORS[interpolation](table, rnd)], 0)
    jac = de2000_jacobian(t)
    return u, t.astype(np.float32), jac.astype(np.float32)
