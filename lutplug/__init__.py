"""lutplug: compress 3D colour LUTs into tiny neural networks (.nlut) and ship them.

Importing this package needs numpy alone; torch, OpenColorIO, OpenImageIO and the widgets are
imported only by the modules that use them.
"""
from lutplug.core.lut import LUT1D, LUT3D, lattice
from lutplug.errors import LutError, SignatureError, UnsignedError
from lutplug.core.formats import read_lut, write_lut

__version__ = "0.1.0"

__all__ = ["LUT1D", "LUT3D", "LutError", "SignatureError", "UnsignedError", "lattice",
           "read_lut", "write_lut", "__version__"]
