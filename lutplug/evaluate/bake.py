"""Bake a transform to a dense cube (the fallback every host can use)."""
from __future__ import annotations

import numpy as np

from lutplug.core.lut import LUT3D, MAX_GRID_3D, lattice
from lutplug.errors import LutError
from lutplug.metrics import Transform


def flatten(transform: Transform, size: int, chunk: int = 1 << 18) -> LUT3D:
    """Sample ``transform`` on a plain ``size``³ lattice over its input domain (no shaper).

    Exact at the nodes; between nodes it is only as good as the lattice — prefer keeping a shaper
    (``LUT3D.resample``) where the destination format can hold one.
    """
    if not 2 <= size <= MAX_GRID_3D:
        raise LutError(f"cube size must be between 2 and {MAX_GRID_3D}, got {size}")
    dmin, dmax = (np.asarray(d, dtype=np.float64) for d in transform.input_domain)
    x = lattice(size, dmin, dmax)
    out = np.empty_like(x)
    for start in range(0, len(x), chunk):
        out[start:start + chunk] = transform.apply(x[start:start + chunk])
    title = getattr(transform, "title", "") or ""
    return LUT3D(out.reshape(size, size, size, 3), dmin, dmax, title=title,
                 comments=[f"baked by lutplug to {size}^3"])
