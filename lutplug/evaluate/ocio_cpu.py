"""Dense-cube application through OpenColorIO's CPU processor.

A :class:`~lutplug.core.lut.LUT3D` becomes an in-memory OCIO ``GroupTransform``
(domain scale → optional ``Lut1DTransform`` shaper → scale → ``Lut3DTransform``, tetrahedral), so
images are processed by OCIO's optimised C++ loop on a packed image description — no Python loop
per pixel and no temp files.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from lutplug.core.lut import LUT1D, LUT3D
from lutplug.errors import LutError
from lutplug.optional import import_ocio


def _ocio():
    return import_ocio("applying a LUT to images")


def _scale_to_unit(ocio, dmin: np.ndarray, dmax: np.ndarray):
    """MatrixTransform mapping [dmin, dmax] per channel onto [0, 1] (None when already so)."""
    if np.all(dmin == 0) and np.all(dmax == 1):
        return None
    scale = 1.0 / (dmax - dmin)
    matrix = np.diag(list(scale) + [1.0]).reshape(-1).tolist()
    offset = list(-dmin * scale) + [0.0]
    return ocio.MatrixTransform(matrix, offset)


def _lut1d_transform(ocio, shaper: LUT1D):
    t = ocio.Lut1DTransform()
    t.setLength(shaper.size)
    t.setData(np.ascontiguousarray(shaper.table, dtype=np.float32).reshape(-1))
    t.setInterpolation(ocio.INTERP_LINEAR)
    return t


def group_transform(lut: LUT3D):
    """An OCIO ``GroupTransform`` equal to ``lut`` (with its interpolation)."""
    ocio = _ocio()
    steps = []
    if lut.shaper is not None:
        steps.append(_scale_to_unit(ocio, lut.shaper.domain_min, lut.shaper.domain_max))
        steps.append(_lut1d_transform(ocio, lut.shaper))
    steps.append(_scale_to_unit(ocio, lut.domain_min, lut.domain_max))
    t3 = ocio.Lut3DTransform()
    t3.setGridSize(lut.size)
    # OCIO stores blue fastest (data[r, g, b]); ours is table[b, g, r].
    t3.setData(np.ascontiguousarray(lut.table.transpose(2, 1, 0, 3), dtype=np.float32).reshape(-1))
    t3.setInterpolation(ocio.INTERP_TETRAHEDRAL if lut.interpolation == "tetrahedral"
                        else ocio.INTERP_LINEAR)
    steps.append(t3)
    return ocio.GroupTransform([s for s in steps if s is not None])


def cpu_processor(lut: LUT3D):
    """OCIO CPU processor (float32 in and out) applying ``lut``."""
    ocio = _ocio()
    config = ocio.Config.CreateRaw()
    proc = config.getProcessor(group_transform(lut))
    return proc.getOptimizedCPUProcessor(ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32,
                                         ocio.OPTIMIZATION_LOSSLESS)


def apply_image(lut: LUT3D, pixels: np.ndarray, mix: float = 1.0,
                processor: Optional[Any] = None) -> np.ndarray:
    """Apply ``lut`` to float32 ``pixels`` (H, W, C) with C in 1..4 (an alpha 4th channel is
    kept as is). ``mix`` in [0, 1] blends original (0) and graded (1). Returns a new array."""
    if not 0.0 <= mix <= 1.0:
        raise LutError(f"mix must be between 0 and 1, got {mix}")
    ocio = _ocio()
    src = np.asarray(pixels, dtype=np.float32)
    if src.ndim != 3 or src.shape[2] not in (3, 4):
        raise LutError(f"image must be (height, width, 3 or 4) RGB(A), got shape {src.shape}")
    out = np.array(src, dtype=np.float32, order="C", copy=True)
    if mix == 0.0:
        return out
    proc = processor or cpu_processor(lut)
    h, w, c = out.shape
    proc.apply(ocio.PackedImageDesc(out, w, h, c))
    if mix != 1.0:
        rgb = out[..., :3]
        rgb -= src[..., :3]
        rgb *= np.float32(mix)
        rgb += src[..., :3]
    return out
