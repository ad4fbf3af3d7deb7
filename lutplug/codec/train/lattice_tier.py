"""Residual lattices: a predictor network (the identity, or a trained network) plus integer
residuals on a k³ grid (see :mod:`lutplug.codec.model`), read with the table's interpolation.

Two uses in the size search:

* the **lattice bound** (:func:`coarse_lattice`, before any training): the identity plus a
  residual lattice on the coarsest grid meeting the target — in effect the table resampled to k³
  and stored as small integers — gives an upper bound on the file's bytes, so that no network
  larger than it is trained (a near-identity 17³ table needs a 4³ grid, not a network);
* the **last tier** (:func:`lattice_tier`), when no network meets the target: each trained
  network as the predictor of the table's own grid (and of the coarse grid), the smallest file wins.

For each (predictor, grid) the coarsest :data:`LATTICE_STEPS` step meeting the target is found by
bisection on a subsample of the evaluation points, then checked on all of them (and by the
caller's judge) — going finer until it passes.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from lutplug.codec import model as M
from lutplug.codec.layout import MAX_LATTICE_GRID
from lutplug.codec.train.points import INTERPOLATORS, lattice_coords
from lutplug.codec.train.recipe import T1_LIMITS
from lutplug.codec.train.scoring import stored_size
from lutplug.metrics import measure, meets

#: Residual-lattice steps tried (coarsest first), in :func:`lutplug.codec.model.hdr_encode` units:
#: 1/16 to 1/4096, four a factor of 2.
LATTICE_STEPS = tuple(2.0 ** -(4 + i / 4) for i in range(33))
#: Largest grid given a residual lattice (the .nlut reader's limit).
LATTICE_MAX_GRID = MAX_LATTICE_GRID
#: Evaluation points used while bisecting (every candidate is then checked on all of them).
SEARCH_POINTS = 40_000
#: Largest grid the lattice bound considers: a residual lattice over the identity on a finer grid
#: costs ~100 KB or more, which networks (or the last tier's predictors) beat.
BOUND_MAX_GRID = 33

#: A candidate: (config with its ``lattice``, stored params, quality at all evaluation points).
Candidate = Tuple[dict, Dict[str, np.ndarray], Dict[str, float]]
#: Optional final check of a candidate (the report's points): its figures, or None to skip.
Judge = Callable[[dict, Dict[str, np.ndarray]], Dict[str, float]]


def grid_targets(table: np.ndarray, grid: int, interpolation: str) -> np.ndarray:
    """The table's values at the nodes of a ``grid``³ lattice over its domain, float32
    (grid, grid, grid, 3) ``[b, g, r]``: its own nodes at its own grid, else the table read with
    its ``interpolation`` there."""
    n = table.shape[0]
    if grid == n:
        return np.asarray(table, np.float32)
    return INTERPOLATORS[interpolation](table, lattice_coords(grid)).reshape(grid, grid, grid, 3)


class _Grid:
    """One (predictor, grid) pair: the encoded target and prediction at the grid's nodes."""

    def __init__(self, table: np.ndarray, config: dict, stored: Dict[str, np.ndarray], grid: int,
                 interpolation: str):
        self.config = {k: v for k, v in config.items() if k not in ("fix", "lattice")}
        self.stored = {k: v for k, v in stored.items() if k not in ("fix", "lattice")}
        self.grid, self.interpolation = grid, interpolation
        self.goal = M.hdr_encode(grid_targets(table, grid, interpolation))
        self.base = M.hdr_encode(M.forward_numpy_lattice(self.stored, self.config, grid, workers=1),
                                 np.float32)

    def candidate(self, step: float) -> Optional[Tuple[dict, Dict[str, np.ndarray], np.ndarray]]:
        """(config, stored, node values) at ``step``, or None when the residual exceeds int16."""
        steps = np.rint((self.goal - self.base) / step)
        if np.abs(steps).max() > np.iinfo(np.int16).max:
            return None
        q = M.residual_ints(steps)
        cfg = dict(self.config, lattice={"grid": self.grid, "step": float(step),
                                         "interpolation": self.interpolation})
        return cfg, dict(self.stored, lattice=q), M.corrected_nodes(self.base, step, q)


def _coarsest(g: _Grid, u: np.ndarray, t: np.ndarray, targets: Mapping[str, float],
              sub: np.ndarray, progress: Optional[Callable[[dict], None]],
              judge: Optional[Judge] = None, start: int = 0) -> Optional[Tuple[Candidate, int]]:
    """(candidate, step index): the coarsest step of ``g`` from ``start`` on meeting ``targets``
    at the subsample ``sub`` of the evaluation points (bisection), then checked — by ``judge``
    when given (the report's points), else at all evaluation points — going finer until the
    check passes."""
    found = _bisect(g, u, t, targets, sub, start)
    if found is None:
        return None
    for i in range(found, len(LATTICE_STEPS)):  # the check: finer until it passes
        out = g.candidate(LATTICE_STEPS[i])
        if out is None:
            continue
        q = judge(out[0], out[1]) if judge is not None else \
            measure(M.lattice_read(out[2], u, g.interpolation), t)
        if progress is not None:
            progress({"stage": "lattice", "hidden": g.config["hidden"], "grid": g.grid,
                      "step": LATTICE_STEPS[i], **q})
        if meets(q, targets):
            return (out[0], out[1], q), i
    return None


def _bisect(g: _Grid, u: np.ndarray, t: np.ndarray, targets: Mapping[str, float],
            sub: np.ndarray, start: int = 0) -> Optional[int]:
    """Index (from ``start`` on) of the coarsest step of ``g`` meeting ``targets`` on the
    subsample ``sub`` of the evaluation points (the error grows with the step), or None."""
    lo, hi, found = start, len(LATTICE_STEPS) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        out = g.candidate(LATTICE_STEPS[mid])
        if out is not None and meets(measure(M.lattice_read(out[2], u[sub], g.interpolation), t[sub]),
                                     targets):
            found, hi = mid, mid - 1
        else:
            lo = mid + 1
    return found


def _subsample(n: int) -> np.ndarray:
    if n <= SEARCH_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, SEARCH_POINTS, replace=False))


def _smallest(found: List[Tuple[Candidate, _Grid, int]]) -> List[Tuple[Candidate, _Grid, int]]:
    """``found`` ordered by stored bytes, each size computed once."""
    sizes = [stored_size(c[0], c[1]) for c, _, _ in found]
    return [f for _, f in sorted(zip(sizes, found), key=lambda pair: pair[0])]


def coarse_lattice(table: np.ndarray, u: np.ndarray, t: np.ndarray, identity: tuple,
                   targets: Mapping[str, float] = T1_LIMITS, interpolation: str = "tetrahedral",
                   progress: Optional[Callable[[dict], None]] = None
                   ) -> Tuple[Optional[Candidate], Optional[int]]:
    """The identity (``identity`` = (config, stored)) plus a residual lattice on the coarsest grid
    that can meet ``targets`` (and the grid above it): (the smallest candidate meeting them at
    all evaluation points, its grid), or (None, None) when no grid up to :data:`BOUND_MAX_GRID`
    does. Not judged: the search asks its judge of the candidate it keeps."""
    n = table.shape[0]
    top = min(n, LATTICE_MAX_GRID, BOUND_MAX_GRID)
    if top < 2:
        return None, None
    sub = _subsample(len(u))
    finest = LATTICE_STEPS[-1]
    config, stored = identity

    def feasible(k: int) -> bool:
        out = _Grid(table, config, stored, k, interpolation).candidate(finest)
        return out is not None and meets(measure(M.lattice_read(out[2], u[sub], interpolation), t[sub]),
                                         targets)

    lo, hi = 2, top
    if not feasible(hi):
        return None, None
    while lo < hi:  # the smallest grid meeting the target at the finest step (on the subsample)
        mid = (lo + hi) // 2
        if feasible(mid):
            hi = mid
        else:
            lo = mid + 1
    found: List[Tuple[Candidate, _Grid, int]] = []
    for k in sorted({hi, min(hi + 1, top)}):
        g = _Grid(table, config, stored, k, interpolation)
        step = _bisect(g, u, t, targets, sub)  # on the subsample: the search judges what it keeps
        out = g.candidate(LATTICE_STEPS[step]) if step is not None else None
        if out is not None and step is not None:
            found.append(((out[0], out[1], {}), g, step))
    for _, g, step in _smallest(found):  # checked at all points, smallest first (finer until it passes)
        checked = _coarsest(g, u, t, targets, sub, None, start=step)
        if checked is not None:
            return checked[0], g.grid
    return None, None


def lattice_tier(table: np.ndarray, u: np.ndarray, t: np.ndarray, predictors: Sequence[tuple],
                 targets: Mapping[str, float] = T1_LIMITS, interpolation: str = "tetrahedral",
                 progress: Optional[Callable[[dict], None]] = None, judge: Optional[Judge] = None,
                 grids: Sequence[int] = ()) -> Optional[Candidate]:
    """The last tier of the size search, for a table no network reproduces within ``targets``:
    each of ``predictors`` ((config, stored) pairs; node corrections and lattices dropped) plus a
    residual lattice on the table's own grid and on each of ``grids``, at the coarsest step
    meeting ``targets`` at the evaluation points ``u``/``t``. Returns the candidate with the
    fewest stored bytes that ``judge`` accepts (asked smallest first; a refused one goes finer
    until the judge agrees), or None (no grid within the reader's limit, or no step
    meets the targets). ``progress`` gets a ``"lattice"`` event per step measured in full."""
    n = table.shape[0]
    sizes = sorted({k for k in (n, *grids) if 2 <= k <= LATTICE_MAX_GRID})
    sub = _subsample(len(u))
    found: List[Tuple[Candidate, _Grid, int]] = []
    for config, stored in predictors:
        for k in sizes:
            g = _Grid(table, config, stored, k, interpolation)
            step = _bisect(g, u, t, targets, sub)
            if step is not None:
                out = g.candidate(LATTICE_STEPS[step])
                if out is not None:
                    found.append(((out[0], out[1], {}), g, step))
    for _, g, step in _smallest(found):  # checked (the judge, when given) smallest first
        checked = _coarsest(g, u, t, targets, sub, progress, judge, start=step)
        if checked is not None:
            return checked[0]
    return None
