"""The one way to get a 3D table from any LUT file: :func:`load_lut3d`."""
from __future__ import annotations

from typing import Optional, Union

import numpy as np

from lutplug.core.formats import read_lut
from lutplug.core.lut import LUT1D, LUT3D
from lutplug.fileio import Source


def as_lut3d(lut: Union[LUT1D, LUT3D]) -> LUT3D:
    """A LUT3D equal to ``lut``: a 1D LUT becomes the shaper of an exact 2³ identity cube
    spanning the 1D output range.

    >>> from lutplug.core.lut import LUT1D
    >>> cube = as_lut3d(LUT1D(np.linspace(0, 1, 5)[:, None].repeat(3, 1) ** 2))
    >>> cube.size, round(float(cube.apply([[0.5, 0.5, 0.5]])[0, 0]), 4)
    (2, 0.25)
    """
    if isinstance(lut, LUT3D):
        return lut
    lo = lut.table.min(axis=0).astype(np.float64)
    hi = lut.table.max(axis=0).astype(np.float64)
    hi = np.where(hi > lo, hi, lo + 1.0)
    return LUT3D(LUT3D.identity(2, lo, hi).table, lo, hi, shaper=lut, title=lut.title,
                 comments=lut.comments, source=lut.source)


def load_lut3d(source: Source, format: Optional[str] = None) -> LUT3D:
    """Read any LUT file (a path, or its :class:`~lutplug.fileio.NamedBytes`) as a
    :class:`LUT3D`; a 1D file becomes an exact 3D equivalent (:func:`as_lut3d`)."""
    return as_lut3d(read_lut(source, format))
