"""The size search's last tier: a predictor network plus a residual lattice on the table's own
grid, at the coarsest step meeting the target."""
from __future__ import annotations

from typing import Callable, List, Mapping, Optional

import numpy as np

from lutplug.codec import model as M
from lutplug.codec import quantize as Q
from lutplug.codec.layout import MAX_LATTICE_GRID
from lutplug.codec.train.recipe import T1_LIMITS
from lutplug.metrics import measure, meets


#: Residual-lattice steps tried (coarsest first), in :func:`lutplug.codec.model.hdr_encode` units:
#: 1/16 to 1/4096, four a factor of 2.
LATTICE_STEPS = tuple(2.0 ** -(4 + i / 4) for i in range(33))


#: Largest table grid given a residual lattice (the .nlut reader's limit).
LATTICE_MAX_GRID = MAX_LATTICE_GRID


def lattice_tier(table: np.ndarray, u: np.ndarray, t: np.ndarray, predictors: List[tuple],
                 targets: Mapping[str, float] = T1_LIMITS, interpolation: str = "tetrahedral",
                 progress: Optional[Callable[[dict], None]] = None):
    """The last tier of the size search, for a table no network reproduces within ``targets``:
    a predictor network (node corrections dropped) plus a residual lattice on the table's own
    grid (see :mod:`lutplug.codec.model`), read with the table's ``interpolation``, so that the
    baked cube is the table itself to within the quantisation step. For each (config, stored)
    of ``predictors``: the coarsest :data:`LATTICE_STEPS` step meeting ``targets`` at the
    evaluation points ``u``/``t`` (bisection: the error grows with the step). Returns the
    (config, stored, quality) with the fewest stored bytes, or None (grid over
    :data:`LATTICE_MAX_GRID`, or no step meets the targets). ``progress`` gets a ``"lattice"``
    event (predictor's hidden widths, step, quality) per step measured."""
    n = table.shape[0]
    if n > LATTICE_MAX_GRID:
        return None
    goal = M.hdr_encode(table)
    best = None
    for config, stored in predictors:
        config = {k: v for k, v in config.items() if k not in ("fix", "lattice")}
        stored = {k: v for k, v in stored.items() if k not in ("fix", "lattice")}
        base = M.hdr_encode(M.forward_numpy_lattice(stored, config, n, workers=1), np.float32)

        def attempt(step: float):
            q = np.rint((goal - base) / step)
            if np.abs(q).max() > np.iinfo(np.int16).max:
                return None
            q = q.astype(np.int8 if np.abs(q).max() <= np.iinfo(np.int8).max else np.int16)
            nodes = M.corrected_nodes(base, step, q)
            cfg = dict(config, lattice={"grid": n, "step": float(step), "interpolation": interpolation})
            quality = measure(M.lattice_read(nodes, u, interpolation), t)
            if progress is not None:
                progress({"stage": "lattice", "hidden": config["hidden"], "step": float(step), **quality})
            return cfg, dict(stored, lattice=q), quality

        lo, hi, found = 0, len(LATTICE_STEPS) - 1, None
        while lo <= hi:  # the coarsest passing step
            mid = (lo + hi) // 2
            out = attempt(LATTICE_STEPS[mid])
            if out is not None and meets(out[2], targets):
                found, hi = out, mid - 1
            else:
                lo = mid + 1
        if found is not None and (best is None or Q.stored_bytes(found[1]) < Q.stored_bytes(best[1])):
            best = found
    return best
