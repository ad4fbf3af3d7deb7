"""Open any file lutplug understands as a transform (LUT files now; .nlut via the codec)."""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np

from lutplug.core.formats import read_lut
from lutplug.core.lut import LUT1D, LUT3D
from lutplug.errors import PathLike


def as_lut3d(lut: Union[LUT1D, LUT3D]) -> LUT3D:
    """A LUT3D equal to ``lut``: a 1D LUT becomes the shaper of an exact 2³ identity cube
    spanning the 1D output range."""
    if isinstance(lut, LUT3D):
        return lut
    lo = lut.table.min(axis=0).astype(np.float64)
    hi = lut.table.max(axis=0).astype(np.float64)
    hi = np.where(hi > lo, hi, lo + 1.0)
    return LUT3D(LUT3D.identity(2, lo, hi).table, lo, hi, shaper=lut, title=lut.title,
                 comments=lut.comments, source=lut.source)


def load_lut3d(path: PathLike) -> LUT3D:
    """Read any LUT file as a :class:`LUT3D` (1D files become an exact 3D equivalent)."""
    return as_lut3d(read_lut(path))
