"""Imports of the optional packages, each failing with a :class:`LutError` that says what needs
it and how to install it (``import lutplug`` needs numpy alone)."""
from __future__ import annotations

from types import ModuleType

from lutplug.errors import LutError


def import_ocio(purpose: str = "this") -> ModuleType:
    """PyOpenColorIO; ``purpose`` completes "… needs OpenColorIO"."""
    try:
        import PyOpenColorIO
    except ImportError:  # pragma: no cover - depends on the environment
        raise LutError(f"{purpose} needs OpenColorIO: pip install opencolorio") from None
    return PyOpenColorIO


def import_oiio(purpose: str = "this") -> ModuleType:
    """OpenImageIO; ``purpose`` completes "… needs OpenImageIO"."""
    try:
        import OpenImageIO
    except ImportError:  # pragma: no cover - depends on the environment
        raise LutError(f"{purpose} needs OpenImageIO: pip install openimageio") from None
    return OpenImageIO


def import_torch(purpose: str = "this") -> ModuleType:
    """torch; ``purpose`` completes "… needs torch"."""
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise LutError(f"{purpose} needs torch (pip install torch==2.13.0 on a CPU machine)") from None
    return torch
