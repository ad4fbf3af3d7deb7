"""Open any file lutplug understands as a transform: a LUT file (→ LUT3D) or a .nlut
(→ NeuralLUT, imported lazily so plain LUT work never touches the codec)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

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


def is_nlut(path: PathLike) -> bool:
    """True when ``path`` is a .nlut (by magic bytes, or by extension if unreadable)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"NLUT"
    except OSError:
        return Path(path).suffix.lower() == ".nlut"


def load_transform(path: PathLike, trusted_keys: Sequence = (), require_signature: bool = False):
    """A :class:`LUT3D` or a decoded ``NeuralLUT`` — both offer ``input_domain``, ``apply`` and a
    ``size``; a NeuralLUT also ``bake(size)``."""
    if is_nlut(path):
        from lutplug.codec.nlut import load_nlut

        return load_nlut(path, trusted_keys, require_signature)
    return load_lut3d(path)


def to_cube(transform, size=None) -> LUT3D:
    """Dense :class:`LUT3D` of a transform (a NeuralLUT is baked; a LUT3D resampled if ``size``)."""
    if isinstance(transform, LUT3D):
        return transform if size in (None, transform.size) else transform.resample(size)
    return transform.bake(size)
