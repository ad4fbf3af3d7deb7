"""Host-free core of the GIMP filter: everything the plug-in calls, in one namespace (numpy only;
runs inside GIMP's own Python, unit-tested without GIMP).

Where each part lives:

* :mod:`.source` — open the file the user picked (:func:`load_source`: a .nlut through
  :func:`lutplug.codec.nlut.open_nlut`, or a plain LUT file), choose the evaluator
  (:meth:`Source.kernel`), the dialog's texts, error messages;
* :mod:`.settings` — the signature policy (:class:`Trust`: the plug-in's settings.json plus the
  environment's policy);
* :mod:`.kernels` — the evaluators (:class:`TetrahedralKernel`, :class:`GenericKernel`);
* :mod:`.runner` — :class:`Runner` applies a kernel to pixel blocks with strength, on threads;
* :mod:`.cache` — :class:`LutCache` keeps parsed LUT files;
* :mod:`.lutimage` — :func:`lut_from_image` reads Hald / lookup-strip images GIMP decoded.

Nothing here imports GIMP; :mod:`lutplug.hosts.gimp.plugin` does the GIMP side.
"""
from __future__ import annotations

from lutplug.errors import LutError
from lutplug.hosts.gimp.cache import LutCache
from lutplug.hosts.gimp.kernels import GenericKernel, Kernel, TetrahedralKernel, cube_kernel
from lutplug.hosts.gimp.lutimage import lut_from_image
from lutplug.hosts.gimp.runner import Runner
from lutplug.hosts.gimp.settings import SETTINGS_FILE, Trust
from lutplug.hosts.gimp.source import (AUTO_MLP_MAX_PIXELS, NLUT_CUBE_SIZE, EngineError,
                                       ImageReader, Source, describe, error_text, load_source)

__all__ = ["LutError", "EngineError", "LutCache", "Kernel", "GenericKernel", "TetrahedralKernel",
           "cube_kernel", "lut_from_image", "Runner", "SETTINGS_FILE", "Trust",
           "AUTO_MLP_MAX_PIXELS", "NLUT_CUBE_SIZE", "ImageReader", "Source", "describe",
           "error_text", "load_source"]
