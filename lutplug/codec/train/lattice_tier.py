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
bisection on a subsample of the evaluation points; at it and the :data:`FINER_STEPS` after it,
nodes the prediction already gets within a display ΔE00 floor are left uncorrected (the largest
of :data:`DE_FLOORS` still meeting the target), and the form with the fewest bytes is checked on
all points (and by the caller's judge) — when that fails, every node corrected, going finer
until it passes.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

import numpy as np

from lutplug.codec import model as M
from lutplug.codec.layout import MAX_LATTICE_GRID
from lutplug.codec.train.points import INTERPOLATORS, lattice_coords
from lutplug.codec.train.recipe import T1_LIMITS
from lutplug.codec.train.scoring import stored_size
from lutplug.metrics import delta_e2000_rgb, measure, meets

#: Residual-lattice steps tried (coarsest first), in :func:`lutplug.codec.model.hdr_encode` units:
#: 1/16 to 1/4096, four a factor of 2.
LATTICE_STEPS = tuple(2.0 ** -(4 + i / 4) for i in range(33))
#: Display ΔE00 floors of a residual lattice: nodes predicted within the floor (and inside the
#: display range) keep their prediction — T1's mean and p99 leave room that its max does not.
#: 0: every node off by half a step is corrected.
DE_FLOORS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75)
#: Steps after the coarsest one meeting the target at floor 0 that are also tried with floors.
FINER_STEPS = 2
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


T = TypeVar("T")


def node_de(target: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Display ΔE00 float64 (N, N, N) between ``predicted`` and ``target`` (N, N, N, 3) at each
    node (values clipped to [0, 1], as the quality figures take them)."""
    return delta_e2000_rgb(np.clip(predicted, 0, 1).reshape(-1, 3),
                           np.clip(target, 0, 1).reshape(-1, 3)).reshape(target.shape[:3])


def settled_nodes(target: np.ndarray, predicted: np.ndarray, floor: float,
                  de: Optional[np.ndarray] = None, inside_only: bool = True) -> np.ndarray:
    """bool (N, N, N): the nodes a residual lattice may leave as predicted at ΔE00 ``floor`` —
    within ``floor`` of ``target`` (``de``: :func:`node_de`, computed when not given) and, with
    ``inside_only``, every value of both inside [0, 1]: the clipped ΔE00 does not see a value
    beyond the display range, which a scene-referred table needs (a display look clipped on
    output can leave them). None at ``floor`` ≤ 0."""
    if floor <= 0:
        return np.zeros(target.shape[:3], bool)
    de = node_de(target, predicted) if de is None else de
    if not inside_only:
        return de <= floor
    inside = ((target >= 0) & (target <= 1) & (predicted >= 0) & (predicted <= 1)).all(axis=-1)
    return (de <= floor) & inside


def last_true(n: int, holds: Callable[[int], bool]) -> Optional[int]:
    """The largest ``i`` < ``n`` with ``holds(i)``, by bisection (``holds`` true up to some index,
    false after), or None when ``holds(0)`` is false."""
    lo, hi, found = 0, n - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if holds(mid):
            found, lo = mid, mid + 1
        else:
            hi = mid - 1
    return found


def largest_floor(step: float, meeting: Callable[[float, float], Optional[T]]) -> Optional[Tuple[T, float]]:
    """(result, floor): the largest of :data:`DE_FLOORS` at which ``meeting(step, floor)`` gives a
    result (bisection; None where the target is missed), or None when even floor 0 misses it."""
    found: Dict[int, Optional[T]] = {}

    def holds(k: int) -> bool:
        found[k] = meeting(step, DE_FLOORS[k])
        return found[k] is not None

    j = last_true(len(DE_FLOORS), holds)
    result = None if j is None else found[j]
    return None if j is None or result is None else (result, DE_FLOORS[j])


def fewest_bytes(steps: Sequence[float], meeting: Callable[[float, float], Optional[T]],
                 size: Callable[[T], int]) -> Optional[Tuple[T, float, float]]:
    """(result, step, floor) of the smallest ``size`` over ``steps``, each at its
    :func:`largest_floor`, or None when no step meets the target."""
    best: Optional[Tuple[int, T, float, float]] = None
    for step in steps:
        found = largest_floor(step, meeting)
        if found is None:
            continue
        n = size(found[0])
        if best is None or n < best[0]:
            best = (n, found[0], step, found[1])
    return None if best is None else best[1:]


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
        self.target = grid_targets(table, grid, interpolation)
        self.goal = M.hdr_encode(self.target)
        self.base = M.hdr_encode(M.forward_numpy_lattice(self.stored, self.config, grid, workers=1),
                                 np.float32)
        self._de: Optional[Tuple[np.ndarray, np.ndarray]] = None

    def candidate(self, step: float, floor: float = 0.0
                  ) -> Optional[Tuple[dict, Dict[str, np.ndarray], np.ndarray]]:
        """(config, stored, node values) at ``step``, nodes predicted within ΔE00 ``floor``
        left as predicted (:func:`settled_nodes`), or None when the residual exceeds int16."""
        steps = np.rint((self.goal - self.base) / step)
        if floor > 0:
            if self._de is None:  # (prediction, its ΔE00) once a grid
                predicted = M.hdr_decode(self.base, np.float32)
                self._de = predicted, node_de(self.target, predicted)
            steps[settled_nodes(self.target, self._de[0], floor, self._de[1])] = 0
        if np.abs(steps).max() > np.iinfo(np.int16).max:
            return None
        q = M.residual_ints(steps)
        cfg = dict(self.config, lattice={"grid": self.grid, "step": float(step),
                                         "interpolation": self.interpolation})
        return cfg, dict(self.stored, lattice=q), M.corrected_nodes(self.base, step, q)


def _checked(g: _Grid, u: np.ndarray, t: np.ndarray, targets: Mapping[str, float],
             progress: Optional[Callable[[dict], None]], judge: Optional[Judge], step: float,
             floor: float = 0.0) -> Optional[Candidate]:
    """``g``'s candidate at ``step`` and ``floor`` when it meets ``targets`` — by ``judge`` when
    given (the report's points), else at all evaluation points — or None."""
    out = g.candidate(step, floor)
    if out is None:
        return None
    q = judge(out[0], out[1]) if judge is not None else measure(M.lattice_read(out[2], u, g.interpolation), t)
    if progress is not None:
        progress({"stage": "lattice", "hidden": g.config["hidden"], "grid": g.grid, "step": step,
                  "floor": floor, **q})
    return (out[0], out[1], q) if meets(q, targets) else None


def _meeting(g: _Grid, u: np.ndarray, t: np.ndarray, targets: Mapping[str, float], sub: np.ndarray):
    """``meeting(step, floor)``: ``g``'s candidate when it meets ``targets`` on the subsample
    ``sub`` of the evaluation points, else None."""
    def meeting(step: float, floor: float):
        out = g.candidate(step, floor)
        ok = out is not None and meets(measure(M.lattice_read(out[2], u[sub], g.interpolation), t[sub]), targets)
        return out if ok else None
    return meeting


def _cheapest(g: _Grid, u: np.ndarray, t: np.ndarray, targets: Mapping[str, float], sub: np.ndarray,
              start: int) -> Optional[Tuple[Candidate, float, float]]:
    """((config, stored, {}), step, floor) of ``g`` with the fewest stored bytes among the step
    ``start`` and the :data:`FINER_STEPS` after it, each at the largest ΔE00 floor meeting
    ``targets`` on the subsample ``sub`` (:func:`fewest_bytes`)."""
    best = fewest_bytes(LATTICE_STEPS[start:start + 1 + FINER_STEPS], _meeting(g, u, t, targets, sub),
                        lambda out: stored_size(out[0], out[1]))
    return None if best is None else ((best[0][0], best[0][1], {}), best[1], best[2])


def _settle(found: List[Tuple[Candidate, _Grid, int, float, float]], u: np.ndarray, t: np.ndarray,
            targets: Mapping[str, float], sub: np.ndarray, progress: Optional[Callable[[dict], None]],
            judge: Optional[Judge]) -> Optional[Tuple[Candidate, _Grid]]:
    """The first of ``found`` ((candidate, grid, coarsest step index at floor 0, cheapest step,
    its floor), smallest stored bytes first) that passes the check — by ``judge`` when given
    (the report's points), else at all evaluation points: its cheapest form, else from the
    coarsest step on, going finer, each step at its largest floor meeting the subsample and
    then at floor 0, until the check passes."""
    sizes = [stored_size(f[0][0], f[0][1]) for f in found]
    for _, (_, g, start, step, floor) in sorted(zip(sizes, found), key=lambda pair: pair[0]):
        meeting = _meeting(g, u, t, targets, sub)

        def forms():
            yield step, floor  # the cheapest form first
            for s in LATTICE_STEPS[start:]:
                best = largest_floor(s, meeting)
                yield s, best[1] if best is not None else 0.0
                yield s, 0.0

        tried = set()
        for form in forms():  # lazily: a step's floor is only searched once the coarser ones fail
            if form not in tried:
                tried.add(form)
                checked = _checked(g, u, t, targets, progress, judge, *form)
                if checked is not None:
                    return checked, g
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
    found = [_found(_Grid(table, config, stored, k, interpolation), u, t, targets, sub)
             for k in sorted({hi, min(hi + 1, top)})]
    # checked at all points (the search judges what it keeps), smallest first
    settled = _settle([f for f in found if f is not None], u, t, targets, sub, None, None)
    return (settled[0], settled[1].grid) if settled is not None else (None, None)


def _found(g: _Grid, u: np.ndarray, t: np.ndarray, targets: Mapping[str, float],
           sub: np.ndarray) -> Optional[Tuple[Candidate, _Grid, int, float, float]]:
    """(cheapest candidate, ``g``, coarsest step index at floor 0, cheapest step, its floor) on
    the subsample ``sub``, or None when no step meets ``targets`` there."""
    start = _bisect(g, u, t, targets, sub)
    cheap = _cheapest(g, u, t, targets, sub, start) if start is not None else None
    return None if cheap is None or start is None else (cheap[0], g, start, cheap[1], cheap[2])


def lattice_tier(table: np.ndarray, u: np.ndarray, t: np.ndarray, predictors: Sequence[tuple],
                 targets: Mapping[str, float] = T1_LIMITS, interpolation: str = "tetrahedral",
                 progress: Optional[Callable[[dict], None]] = None, judge: Optional[Judge] = None,
                 grids: Sequence[int] = ()) -> Optional[Candidate]:
    """The last tier of the size search, for a table no network reproduces within ``targets``:
    each of ``predictors`` ((config, stored) pairs; node corrections and lattices dropped) plus a
    residual lattice on the table's own grid and on each of ``grids``, in its cheapest form
    meeting ``targets`` at the evaluation points ``u``/``t`` (step and ΔE00 floor, see the
    module). Returns the candidate with the fewest stored bytes that ``judge`` accepts (asked
    smallest first; a refused one goes finer, each step at its largest floor and then at floor
    0, until the judge agrees), or None (no grid within the reader's limit, or no step meets the targets).
    ``progress`` gets a ``"lattice"`` event per candidate measured in full."""
    n = table.shape[0]
    sizes = sorted({k for k in (n, *grids) if 2 <= k <= LATTICE_MAX_GRID})
    sub = _subsample(len(u))
    found = [_found(_Grid(table, config, stored, k, interpolation), u, t, targets, sub)
             for config, stored in predictors for k in sizes]
    settled = _settle([f for f in found if f is not None], u, t, targets, sub, progress, judge)
    return None if settled is None else settled[0]
