"""The in-memory LUT model, its interpolation, the formats and :func:`load_lut3d` (numpy only)."""
from lutplug.core.interpolate import linear_1d, tetrahedral, trilinear
from lutplug.core.load import as_lut3d, load_lut3d
from lutplug.core.lut import LUT1D, LUT3D

__all__ = ["LUT1D", "LUT3D", "as_lut3d", "linear_1d", "load_lut3d", "tetrahedral", "trilinear"]
