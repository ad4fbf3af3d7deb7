"""The in-memory LUT model and its interpolation (numpy only)."""
from lutplug.core.lut import LUT1D, LUT3D
from lutplug.core.interpolate import tetrahedral, trilinear, linear_1d

__all__ = ["LUT1D", "LUT3D", "tetrahedral", "trilinear", "linear_1d"]
